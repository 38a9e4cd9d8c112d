"""``clinic-sync demo``: the whole product on one machine, against a generated clinic.

:mod:`sync.demo.clinic` generates a realistic clinic (deterministic for a seed);
:mod:`sync.demo.run` serves it from the built-in Google Calendar emulator, syncs it,
serves the web app, runs the worker and keeps adding bookings so that flags appear live.
"""
