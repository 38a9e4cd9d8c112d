"""The words of a notification: e-mail subject and body, webhook JSON and Slack text (SPEC §8).

Minimum health data by default: a subject line never holds a patient (it shows in inbox
lists, lock screens and forwarding chains), only the treatment, the date and the calendar.
The body names the patient as the clinic's feed label says (:mod:`sync.notify.facts`) and
links to the conflict, where a signed-in admin sees the rest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Outgoing", "email_body", "email_subject", "slack_text", "webhook_document"]

Facts = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to send: a single notification or a day's digest of them.

    ``identity`` stays the same on every attempt: the e-mail's Message-ID and the
    webhook's delivery header are made from it, so a receiver can drop a repeat.
    """

    identity: str
    clinic_id: int
    channel: str
    recipient: str
    items: Sequence[Facts] = field(hash=False)
    digest: bool = False
    attempt: int = 1


def email_subject(message: Outgoing) -> str:
    """The subject line: what and when, never who."""
    first = message.items[0]
    if message.digest:
        count = len(message.items)
        return f"[{first['clinic']}] Daily digest: {count} notification{'s' * (count != 1)}"
    return f"[{first['clinic']}] {_headline(first)}"


def email_body(message: Outgoing) -> str:
    """The plain-text body: each item's lines and its link."""
    intro = "Today's notifications:\n\n" if message.digest else ""
    items = "\n\n".join("\n".join(_lines(item)) for item in message.items)
    return f"{intro}{items}\n\n-- \nclinic-sync, {message.items[0]['clinic']}\n"


def webhook_document(message: Outgoing, delivery: str) -> dict[str, Any]:
    """The JSON a ``json`` webhook receives."""
    item = dict(message.items[0])
    kind = item.pop("kind")
    item.pop("calendar_id", None)
    return {"delivery": delivery, "type": _TYPES.get(kind, kind), "data": item}


def slack_text(message: Outgoing) -> dict[str, str]:
    """A Slack-compatible ``{"text": …}`` in mrkdwn."""
    item = message.items[0]
    lines = _lines(item)[1:-1]
    text = f"*{_mrkdwn(_headline(item))}*\n" + "\n".join(_mrkdwn(line) for line in lines)
    return {"text": f"{text}\n<{item['link']}|Open in clinic-sync>"}


def encoded(document: Mapping[str, Any]) -> bytes:
    """The exact bytes sent (and signed)."""
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode("utf-8")


__all__ += ["encoded"]

_TYPES = {
    "conflict": "conflict.flagged",
    "conflict_resolved": "conflict.resolved",
    "calendar_failing": "calendar.sync_failing",
    "grant_reconnect": "grant.reconnect_required",
    "test": "test",
}


def _headline(item: Facts) -> str:
    kind = item["kind"]
    if kind == "conflict":
        return f"Conflict flagged: {item['treatment']} on {item['date']} ({item['calendar']})"
    if kind == "conflict_resolved":
        return f"Conflict resolved: {item['treatment']} on {item['date']} ({item['calendar']})"
    if kind == "calendar_failing":
        return f"Calendar not syncing: {item['calendar']}"
    if kind == "grant_reconnect":
        return f"Reconnect {item['provider'].capitalize()}: the calendar grant was refused"
    return "Test notification"


def _lines(item: Facts) -> list[str]:
    kind = item["kind"]
    if kind == "conflict":
        body = _conflict_lines(item)
    elif kind == "conflict_resolved":
        body = [f"Resolved: {item['reason']}" if item.get("reason") else "Resolved."]
    elif kind == "calendar_failing":
        body = [
            f"The calendar {item['calendar']} has not synced since {item['since']} "
            f"({item['failures']} failed attempts).",
            f"Last error: {item['error']}",
        ]
    elif kind == "grant_reconnect":
        body = [
            f"{item['provider'].capitalize()} refused the clinic's grant ({item['account']}): "
            f"{item['reason']}",
            "Connect the account again (clinic-sync connect) to resume syncing.",
        ]
    else:
        body = ["This is a test notification from clinic-sync: the channel works."]
    return [_headline(item), *body, f"Open: {item['link']}"]


def _conflict_lines(item: Facts) -> list[str]:
    rule = f"{item['rule']}" + (f" — {item['rule_text']}" if item.get("rule_text") else "")
    lines = [
        f"Patient: {item['patient']}",
        f"Treatment: {item['treatment']}, {item['date']}, calendar {item['calendar']}",
        f"Gap: {item['gap_days']} days after {item['earlier_treatment']}"
        + (f" (at least {item['min_days']} needed)" if item.get("min_days") is not None else ""),
        f"Rule: {rule}",
    ]
    if item.get("earliest"):
        lines.append(f"Earliest eligible date: {item['earliest']}")
    if "slots_from" in item:
        lines.append(_slots_line(item))
    return lines


def _slots_line(item: Facts) -> str:
    slots = item.get("slots")
    where = f"on {item['calendar']} from {item['slots_from']}"
    if slots is None:
        return f"Free slots {where}: not known (the calendar's free/busy could not be read)"
    if not slots:
        return f"Free slots {where}: none until {item['slots_to']}"
    return f"First free slots {where}: " + "; ".join(slots)


def _mrkdwn(text: str) -> str:
    # Slack reads & < > as control characters in mrkdwn; everything else is literal.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
