"""Google push notifications: channels kept open per calendar, notifications making it due.

Follows https://developers.google.com/calendar/api/guides/push (SPEC §9: push where a
public URL is configured, polling as the fallback). Modules: ``options`` (when push is on,
where Google posts, how long channels live), ``channels`` (opening, renewing and stopping
channels), ``notifications`` (checking a notification and marking its calendar due) and
``cycle`` (a worker's poll that keeps its calendar's channel open and polls less often
while it is). Importing this package opens nothing.
"""

from __future__ import annotations

from sync.push.channels import PushChannels
from sync.push.cycle import PushAwareCycle
from sync.push.notifications import Notification, Receipt, read_notification, receive
from sync.push.options import WEBHOOK_PATH, PushOptions

__all__ = [
    "WEBHOOK_PATH",
    "Notification",
    "PushAwareCycle",
    "PushChannels",
    "PushOptions",
    "Receipt",
    "read_notification",
    "receive",
]
