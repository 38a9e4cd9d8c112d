"""A conflict's audit trail told as sentences, for its page (SPEC §8).

Each action the trail records about a conflict (:mod:`sync.usecases.detect`,
:mod:`sync.usecases.flagging`, :mod:`sync.usecases.flag_settlement`,
:mod:`sync.store.review`, :mod:`sync.notify.delivery`) has a sentence saying who did what
in plain words — "Flagged on the calendar Room 2 by the worker", "Overridden by
ana@clinic.example: consultant approved" — and an action this module does not know yet
(one added later) still reads as words, "Safe date found by the worker", never as the
record's dictionary. Times are the clinic's. The record itself stays as it is in the
audit log and the API.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sync.store.audit import AuditEvent
from sync.web.admin.wording import moment

__all__ = ["Sentence", "tell", "who"]

_ACTORS = {
    "service": "the worker",
    "notifier": "the notifier",
    "cli": "the command line",
    "command line": "the command line",
}


@dataclass(frozen=True, slots=True)
class Sentence:
    """One entry of a conflict's history, worded."""

    at: datetime
    when: str
    """``at`` in the clinic's time zone, as people read it."""
    text: str


def tell(events: list[AuditEvent], zone: ZoneInfo) -> list[Sentence]:
    """The history ``events`` as sentences, in their order."""
    return [Sentence(event.at, moment(event.at, zone), _sentence(event)) for event in events]


def who(actor: str) -> str:
    """The actor of a record as a person reads it: the e-mail of a user, else the part."""
    return _ACTORS.get(actor, actor or "someone")


def _sentence(event: AuditEvent) -> str:
    words = _WORDS.get(event.action)
    detail: Mapping[str, Any] = event.detail if isinstance(event.detail, Mapping) else {}
    return words(who(event.actor), detail) if words else _generic(event.action, who(event.actor))


def _generic(action: str, actor: str) -> str:
    what = " ".join(action.replace("_", " ").replace(".", " ").split()) or "Something recorded"
    return f"{what[:1].upper()}{what[1:]} by {actor}"


def _text(detail: Mapping[str, Any], key: str) -> str:
    value = detail.get(key)
    return " ".join(str(value).split()) if value not in (None, "") else ""


def _with(sentence: str, note: str) -> str:
    return f"{sentence}: {note}" if note else sentence


def _on(detail: Mapping[str, Any]) -> str:
    calendar = _text(detail, "calendar")
    return f"the calendar {calendar}" if calendar else "the calendar"


def _detected(actor: str, detail: Mapping[str, Any]) -> str:
    gap = detail.get("gap_days")
    sentence = f"Detected by {actor}"
    if isinstance(gap, int):
        sentence += f": the bookings are {gap} day{'' if gap == 1 else 's'} apart"
    matched = _text(detail, "matched_by")
    return f"{sentence} (patient matched by {matched})" if matched else sentence


def _review(verb: str) -> Callable[[str, Mapping[str, Any]], str]:
    return lambda actor, detail: _with(f"{verb} by {actor}", _text(detail, "reason"))


def _warnings(actor: str, detail: Mapping[str, Any]) -> str:
    found = detail.get("warnings")
    listed = "; ".join(map(str, found)) if isinstance(found, list) else ""
    return _with(f"Flag on {_on(detail)} written by {actor} with a warning", listed)


def _notified(actor: str, detail: Mapping[str, Any]) -> str:
    channel, to = _text(detail, "channel") or "message", _text(detail, "recipient")
    return f"Told {to} by {channel}" if to else f"Notification sent by {channel}"


def _not_notified(actor: str, detail: Mapping[str, Any]) -> str:
    channel, to = _text(detail, "channel") or "message", _text(detail, "recipient")
    sentence = f"Could not tell {to} by {channel}" if to else f"A {channel} could not be sent"
    return _with(sentence, _text(detail, "reason"))


_WORDS: dict[str, Callable[[str, Mapping[str, Any]], str]] = {
    "conflict.detected": _detected,
    "conflict.reopened": lambda actor, d: f"Found again by {actor}: the bookings conflict again",
    "conflict.resolved": lambda actor, d: _with(f"Resolved by {actor}", _text(d, "reason")),
    "flag.written": lambda actor, d: f"Flagged on {_on(d)} by {actor}",
    "flag.changed": lambda actor, d: f"Flag on {_on(d)} brought up to date by {actor}",
    "flag.removed": lambda actor, d: f"Flag taken off {_on(d)} by {actor}",
    "flag.warning": _warnings,
    "flag.failed": lambda actor, d: _with(
        f"Flag on {_on(d)} could not be written by {actor}", _text(d, "error")
    ),
    "flag.skipped": lambda actor, d: _with(
        f"Flag on {_on(d)} not written by {actor}", _text(d, "reason")
    ),
    "review.acknowledged": _review("Acknowledged"),
    "review.overridden": _review("Overridden"),
    "review.reopened": _review("Re-opened"),
    "notification.sent": _notified,
    "notification.failed": _not_notified,
}
