"""Finding one booking's VEVENT inside a CalDAV resource (RFC 4791 §4.1, RFC 5545 §3.8.4.4).

A resource holds one UID: the master event and its overrides (``RECURRENCE-ID``). A
booking id is ``UID`` or ``UID@<recurrence key>`` (:func:`sync.ical.properties.recurrence_key`).
The flag of one instance of a series goes into that instance's override; when the
instance has none yet, one is made from the expanded occurrence (same start, end and
text, no RRULE), as calendar clients do when one instance is edited. An instance a
``RANGE=THISANDFUTURE`` override reaches keeps its own identity
(:func:`sync.ical.expand.instance_start`): its new override carries its own start.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import icalendar
import recurring_ical_events

from sync.ical.expand import instance_start
from sync.ical.properties import recurrence_key

__all__ = ["event_component", "event_id_parts"]

_KEY = re.compile(r"^\d{8}(T\d{6}Z?)?$")
_SERIES_ONLY = ("RRULE", "RDATE", "EXDATE", "EXRULE")


def event_id_parts(event_id: str) -> tuple[str, str | None]:
    """``(UID, recurrence key)`` of a booking id; the key is ``None`` for a single event."""
    uid, at, key = event_id.rpartition("@")
    if at and uid and _KEY.match(key):
        return uid, key
    return event_id, None


def event_component(document: icalendar.Calendar, event_id: str, *, create: bool) -> Any | None:
    """The VEVENT that holds booking ``event_id``; with ``create``, an instance's new override."""
    uid, key = event_id_parts(event_id)
    members: list[Any] = [
        c for c in document.walk("VEVENT") if str(c.get("UID", "")).strip() == uid
    ]
    if key is None:
        return next((c for c in members if "RECURRENCE-ID" not in c), None)
    for member in members:
        if "RECURRENCE-ID" in member and recurrence_key(member["RECURRENCE-ID"].dt) == key:
            return member
    occurrence = _occurrence(document, uid, key)
    if occurrence is not None and create:
        for name in _SERIES_ONLY:
            occurrence.pop(name, None)
        document.add_component(occurrence)
    return occurrence


def _occurrence(document: icalendar.Calendar, uid: str, key: str) -> Any | None:
    day = _day(key)
    series = icalendar.Calendar()
    for component in document.subcomponents:
        if component.name == "VTIMEZONE" or str(component.get("UID", "")).strip() == uid:
            series.add_component(component)
    members = list(series.walk("VEVENT"))
    for occurrence in recurring_ical_events.of(series).between(
        day - timedelta(days=2), day + timedelta(days=2)
    ):
        original = instance_start(occurrence, members)
        if original is not None and recurrence_key(original) == key:
            return _own_recurrence_id(occurrence, original)
    return None


def _own_recurrence_id(occurrence: Any, original: date) -> Any:
    """An instance a RANGE=THISANDFUTURE override reaches is overridden by its own start."""
    if occurrence["RECURRENCE-ID"].dt != original:
        occurrence.pop("RECURRENCE-ID")
        occurrence.add("RECURRENCE-ID", original)
    return occurrence


def _day(key: str) -> date:
    return date(int(key[:4]), int(key[4:6]), int(key[6:8]))
