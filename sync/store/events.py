"""A provider event as the store keeps it: a core :class:`~rules.model.Booking` plus extras.

Sync adapters hand the store :class:`~sync.sources.events.StoredEvent` records (defined
beside the port, and named here too); the store maps them to ``bookings`` rows and back,
so table classes never leave ``sync.store``. The content
hash covers everything the rules engine or a flag depends on, and leaves out what
changes without the booking changing (ETag, the provider's ``updated`` stamp, its web
link), so a re-read of an unchanged event is recognised as such. The web link is a
column all the same: an upsert refreshes it on an unchanged row as it does the ETag, so
rows stored before it was kept get it without counting as changed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Result, Row

from rules.model import Attendee, Booking, MatchKind, PatientKey
from sync.sources.events import EventStatus, StoredEvent
from sync.store.tables import BookingRow

__all__ = [
    "COLUMN_LIMITS",
    "EventStatus",
    "StoredEvent",
    "booking_from_row",
    "content_columns",
    "event_from_row",
    "plain_records",
    "record_type",
    "storable_columns",
]


def _lengths() -> dict[str, int]:
    lengths: dict[str, int] = {}
    for column in BookingRow.__table__.columns:  # type: ignore[attr-defined]
        length = getattr(column.type, "length", None)
        if isinstance(length, int):
            lengths[column.name] = length
    return lengths


COLUMN_LIMITS: Mapping[str, int] = _lengths()
"""The length of each bounded ``bookings`` column, in characters, read off the table itself
so the ingest boundary (:mod:`sync.ingest.text`) and the schema cannot drift apart."""


def content_columns(event: StoredEvent) -> dict[str, Any]:
    """The ``bookings`` columns that hold the event's content, with their hash."""
    return _content(event)[0]


def storable_columns(event: StoredEvent) -> dict[str, Any] | None:
    """:func:`content_columns`, or ``None`` when some text of the event cannot be encoded as
    UTF-8 (an unpaired surrogate), which neither database stores.

    The hash's text is ASCII JSON, where every code point beyond the basic plane is written
    as escaped surrogates: without ``\\ud`` in it, no text it covers holds one, and only
    the few events with such an escape (an emoji, say) have their texts looked through.
    """
    columns, text = _content(event)
    link = columns["html_link"]
    if "\\ud" in text or (link and _SURROGATE.search(link)):
        texts: list[str] = []
        _gather_texts(columns.values(), texts)
        if _SURROGATE.search("".join(texts)):
            return None
    return columns


_SURROGATE = re.compile("[\ud800-\udfff]")
"""A code point UTF-8 cannot encode: in a Python string, any surrogate is unpaired."""


def _gather_texts(values: Iterable[Any], texts: list[str]) -> None:
    """Add every text among ``values`` (nested in lists and mappings, keys too) to ``texts``."""
    for value in values:
        if isinstance(value, str):
            texts.append(value)
        elif not value:  # nothing, or an empty document (most are): no text inside
            continue
        elif isinstance(value, Mapping):
            _gather_texts(value.keys(), texts)
            _gather_texts(value.values(), texts)
        elif isinstance(value, list | tuple):
            _gather_texts(value, texts)


def _content(event: StoredEvent) -> tuple[dict[str, Any], str]:
    """The content columns with their hash, and the text hashed."""
    booking = event.booking
    status = EventStatus.CANCELLED if booking.cancelled else event.status
    start, end, day = event.start, event.end, booking.day
    # In the order of their names: the hash's text is their JSON with sorted keys, and an
    # encoder that need not sort them writes it in two thirds of the time.
    columns: dict[str, Any] = {
        "all_day": event.all_day,
        "attendees": [_attendee_columns(attendee) for attendee in booking.attendees],
        "calendar": booking.calendar,
        "calendar_email": booking.calendar_email,
        "categories": sorted(set(event.categories)) if event.categories else [],
        "cut_fields": sorted(set(event.cut)) if event.cut else [],
        "day": day,
        "description": booking.description,
        "end_at": end,
        "explicit_patient_id": booking.patient_id,
        "ical_uid": booking.uid,
        "match_kind": event.match.value if event.match else None,
        "organizer_email": booking.organizer_email,
        "patient_kind": event.patient.kind.value if event.patient else None,
        "patient_value": event.patient.value if event.patient else None,
        "private_properties": (
            dict(sorted(event.private_properties.items())) if event.private_properties else {}
        ),
        "recurring_event_id": event.recurring_event_id,
        "start_at": start,
        "status": status.value,
        "summary": booking.summary,
    }
    # Hashed as they are but for the instants and the day, written as ``_plain`` would give
    # them, up front (each keeps its place): the same text, without a call back from the
    # encoder for each.
    text = _HASH_TEXT.encode(
        {
            **columns,
            "start_at": None if start is None else _plain(start),
            "end_at": None if end is None else _plain(end),
            "day": None if day is None else _plain(day),
        }
    )
    # Unhashed: where the event opens is not what it says.
    columns["html_link"] = event.html_link
    columns["content_hash"] = hashlib.sha256(text.encode()).hexdigest()
    return columns, text


def _attendee_columns(attendee: Attendee) -> dict[str, Any]:
    """``dataclasses.asdict`` of an attendee, whose fields are all plain values, without its
    recursive deep copy."""
    return {name: getattr(attendee, name) for name in _ATTENDEE_FIELDS}


_ATTENDEE_FIELDS = tuple(sorted(item.name for item in fields(Attendee)))
"""In the order of their names, as the hash's text writes them."""


def _plain(value: Any) -> str:
    # Instants hash by the instant, not by the zone they were written in.
    if isinstance(value, datetime):
        return value.timestamp().hex()
    return str(value)


_HASH_TEXT = json.JSONEncoder(separators=(",", ":"), default=_plain)
"""What ``json.dumps`` with these options builds anew for every call: one, kept. It writes
keys in the order given, which :func:`_content` makes the order of their names: the text is
``json.dumps(..., sort_keys=True)``'s, as the store has always hashed."""


_STATUSES = {status.value: status for status in EventStatus}
_KINDS = {kind.value: kind for kind in MatchKind}
"""Stored values' members, looked up: calling an enum (or reading a member's value) for
each row of a clinic is a measurable part of reading it."""
_CANCELLED = EventStatus.CANCELLED.value


def plain_records(result: Result[Any]) -> Callable[[Row[Any]], Any]:
    """What turns each row of ``result`` into a record read by attribute at tuple speed.

    A row's own attribute access looks each name up through the result's key map (about
    0.3 µs a name): :func:`event_from_row` reads some 25 names, over every booking of a
    clinic on a full re-check. The record holds the same values under the same names.
    """
    make: Callable[[Row[Any]], Any] = record_type(tuple(result.keys()))._make
    return make


@cache
def record_type(names: tuple[str, ...]) -> Any:
    """A record of ``names`` read by attribute at tuple speed, one type per set of names."""
    return namedtuple("_Record", names)


def booking_from_row(row: BookingRow | Row[Any]) -> Booking:
    """The core record of a stored booking (an ORM row or a plain row of its columns)."""
    return Booking(
        id=row.provider_event_id,
        uid=row.ical_uid,
        calendar=row.calendar,
        day=row.day,
        summary=row.summary,
        description=row.description,
        cancelled=row.status == _CANCELLED,
        attendees=tuple(map(_attendee, row.attendees)) if row.attendees else (),
        calendar_email=row.calendar_email,
        organizer_email=row.organizer_email,
        patient_id=row.explicit_patient_id,
    )


def event_from_row(row: BookingRow | Row[Any], *, booking: Booking | None = None) -> StoredEvent:
    """The stored booking with its provider extras, as sync adapters passed it in.

    ``booking``: the row's core record, when already made (:func:`booking_from_row`)."""
    patient = None
    if row.patient_kind is not None and row.patient_value is not None:
        patient = PatientKey(_KINDS[row.patient_kind], row.patient_value)
    return StoredEvent(
        booking=booking_from_row(row) if booking is None else booking,
        start=row.start_at,
        end=row.end_at,
        all_day=row.all_day,
        status=_STATUSES[row.status],
        etag=row.etag,
        updated=row.provider_updated_at,
        recurring_event_id=row.recurring_event_id,
        private_properties=dict(row.private_properties),
        categories=tuple(row.categories),
        patient=patient,
        match=_KINDS[row.match_kind] if row.match_kind else None,
        cut=tuple(row.cut_fields),
        html_link=row.html_link,
    )


def _attendee(item: Mapping[str, Any]) -> Attendee:
    return Attendee(
        email=str(item["email"]),
        organizer=bool(item.get("organizer", False)),
        is_self=bool(item.get("is_self", False)),
        resource=bool(item.get("resource", False)),
        response=str(item.get("response", "needsAction")),
    )
