"""Notifications: conflicts and calendar trouble told by e-mail and webhooks (SPEC §8; issue 15).

The audit trail drives them. :mod:`sync.notify.planning` reads each clinic's trail after
its cursor and plans deliveries (one per record and recipient); :mod:`sync.notify.delivery`
claims the due ones under a lease, sends them through a channel (:mod:`sync.notify.mail`,
:mod:`sync.notify.webhooks`) and settles them, retrying with back-off; :mod:`sync.notify.job`
is what the worker and ``clinic-sync notify run`` call.
"""
