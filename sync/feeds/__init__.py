"""iCalendar feeds of the dates patients are eligible for a treatment (SPEC §7).

One concept per module: ``scope`` (what a feed covers: a patient, a calendar, the
clinic), ``tokens`` (the secret in a feed URL: issue, rotate, revoke), ``labels`` (how much
of a patient's name a feed shows), ``events`` (the feed's events, decided from the rules
engine's eligibility; pure), ``render`` (RFC 5545 / RFC 7986 text through the
``icalendar`` library), ``sequences`` (SEQUENCE that rises when an event changes),
``cache`` (rendered feeds kept per data version), ``service`` (a token in, a rendered
feed out) and ``fetch_log`` (every fetch recorded, in batches). Importing builds nothing.
"""
