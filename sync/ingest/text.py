"""The ingest boundary: where text from any provider becomes a storable booking (SPEC §9).

Every event a pull brings in — from Google, CalDAV or an .ics URL — passes through
:func:`admit` before the rules engine reads it, and through :func:`fit_reading` after, so
what reaches the store is the same on SQLite and PostgreSQL:

- control characters (C0, DEL, C1; free text keeps tab and line breaks) and unpaired
  surrogates are removed. PostgreSQL cannot store the NUL character in text or ``jsonb``
  (https://www.postgresql.org/docs/current/datatype-character.html, and psycopg refuses it
  before sending), and a lone surrogate cannot be encoded as UTF-8 for either database;
- every field is bounded to what its column holds (:data:`~sync.store.events.COLUMN_LIMITS`,
  counted in characters as PostgreSQL's ``varchar(n)`` counts them); free text and lists
  to generous bounds, so matching stays linear in what the store keeps. A field is cut,
  never rejected, and its name recorded on the booking (``StoredEvent.cut``);
- identifiers are never altered: the provider knows the event by its id (flags are written
  by it, deletions name it), so an id that would have to change to be stored makes the
  event :class:`Unadmissible`, for the pull to quarantine with the reason.

The patient keys the rules engine derives from the cleaned text can still be long (a
600-character word becomes a 600-character name key): :func:`fit_reading` cuts them the
same way, so a long name still matches itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from rules.model import Attendee, Booking, PatientKey
from sync.store.events import COLUMN_LIMITS, StoredEvent

__all__ = [
    "MAX_ATTENDEES",
    "MAX_DESCRIPTION",
    "MAX_PROPERTIES",
    "MAX_SUMMARY",
    "Unadmissible",
    "admit",
    "calendar_name",
    "clean_line",
    "clean_text",
    "first_line",
    "fit_reading",
]

MAX_SUMMARY = 4096
"""Characters of a title kept: far beyond any real title, small enough to match quickly."""
MAX_DESCRIPTION = 65536
MAX_ATTENDEES = 1000
MAX_PROPERTIES = 300
_MAX_PROPERTY = 1024
_MAX_RESPONSE = 32

# One pass each, linear in the text. Surrogates are matched as code points: Python decodes
# a well-formed pair (in JSON or UTF-16) into one astral character, so any left is unpaired.
_CONTROLS = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff"
_LINE_UNSAFE = re.compile(f"[{_CONTROLS}\t\n\r]")
_TEXT_UNSAFE = re.compile(f"[{_CONTROLS}]")
_ID_LIMIT = COLUMN_LIMITS["provider_event_id"]
_CALENDAR_NAME_LIMIT = 200  # calendar_sources.display_name
_SPACE = re.compile(r"\s")
"""Any white space, as ``str.isspace`` tells it: one scan of a link, not a call a character."""


class Unadmissible(ValueError):
    """An event the store cannot keep without changing what identifies it; says why."""


def clean_line(text: str) -> str:
    """``text`` without control characters (tab and line breaks too) or lone surrogates."""
    return _LINE_UNSAFE.sub("", text)


def first_line(text: str, limit: int = 300) -> str:
    """The first line of a provider's message (an error, a refusal), cleaned and cut.

    Such text reaches the audit trail and the messages people read; only its first line
    says what happened, the rest is the provider's detail.
    """
    lines = text.strip().splitlines()
    return clean_line(lines[0])[:limit] if lines else ""


def calendar_name(summary: str) -> str:
    """A calendar's name as the provider lists it, cleaned and cut to what the store holds.

    The name reaches the store when a calendar is connected, outside any pull, so it passes
    here: a NUL in a calendar's name must not stop `calendars discover` on PostgreSQL.
    """
    return clean_line(summary)[:_CALENDAR_NAME_LIMIT]


def clean_text(text: str) -> str:
    """Free text without control characters or lone surrogates; tabs and line breaks kept."""
    return _TEXT_UNSAFE.sub("", text)


@dataclass
class _Cuts:
    """The names of the fields cut so far, in the order met."""

    names: list[str] = field(default_factory=list)

    def line(self, name: str, text: str, limit: int) -> str:
        return self.bound(name, clean_line(text), limit)

    def text(self, name: str, text: str, limit: int) -> str:
        return self.bound(name, clean_text(text), limit)

    def bound(self, name: str, text: str, limit: int) -> str:
        if len(text) <= limit:
            return text
        self.mark(name)
        return text[:limit]

    def mark(self, name: str) -> None:
        if name not in self.names:
            self.names.append(name)


def admit(event: StoredEvent) -> StoredEvent:
    """``event`` as the store can hold it; :class:`Unadmissible` when its ids do not fit.

    An event that is already clean and within bounds — nearly every one — is returned as it
    is: nothing is copied when nothing changed.
    """
    booking = event.booking
    _check_id("id", booking.id)
    if event.recurring_event_id is not None:
        _check_id("recurring event id", event.recurring_event_id)
    return event if _as_it_is(event) else _cleaned(event)


def _cleaned(event: StoredEvent) -> StoredEvent:
    """``event`` with each field cleaned and bounded, one at a time (itself if none changed)."""
    booking = event.booking
    cuts = _Cuts(list(event.cut))
    admitted = _booking(booking, cuts)
    etag, link = _etag(event.etag), _web_link(event.html_link)
    properties = _properties(event.private_properties, cuts)
    cut = tuple(cuts.names)
    if (admitted, etag, link, properties, cut) == (
        booking,
        event.etag,
        event.html_link,
        event.private_properties,
        event.cut,
    ):
        return event
    return replace(
        event,
        booking=admitted,
        etag=etag,
        html_link=link,
        private_properties=properties,
        cut=cut,
    )


def _as_it_is(event: StoredEvent) -> bool:
    """Whether :func:`_cleaned` would hand ``event`` back unchanged: every field within its
    bound, one scan of all the one-line fields and one of the free text finding nothing to
    remove, the link an https URL without white space. Field by field, the same check was
    most of what the boundary cost a first sync."""
    booking, etag, link = event.booking, event.etag, event.html_link
    lines = [booking.uid, booking.calendar, booking.calendar_email, booking.organizer_email]
    texts = [booking.summary, booking.description]
    if not (
        len(booking.uid) <= _UID
        and len(booking.calendar) <= _CALENDAR
        and len(booking.calendar_email) <= _EMAIL
        and len(booking.organizer_email) <= _EMAIL
        and len(booking.summary) <= MAX_SUMMARY
        and len(booking.description) <= MAX_DESCRIPTION
        and len(booking.attendees) <= MAX_ATTENDEES
        and len(event.private_properties) <= MAX_PROPERTIES
        and (etag is None or len(etag) <= _ETAG)
        and (link is None or _plain_link(link))
        and _fits(booking.patient_id, _PATIENT_ID)
    ):
        return False
    lines += filter(None, (etag, link, booking.patient_id))
    for attendee in booking.attendees:
        if len(attendee.email) > _EMAIL or len(attendee.response) > _MAX_RESPONSE:
            return False
        lines += (attendee.email, attendee.response)
    for key, value in event.private_properties.items():
        if len(key) > _MAX_PROPERTY or len(value) > _MAX_PROPERTY:
            return False
        lines.append(key)
        texts.append(value)
    return not (_LINE_UNSAFE.search("".join(lines)) or _TEXT_UNSAFE.search("".join(texts)))


def _plain_link(link: str) -> bool:
    """A link :func:`_web_link` keeps as it is (its control characters aside)."""
    return (
        len(link) <= COLUMN_LIMITS["html_link"]
        and link.startswith("https://")
        and not _SPACE.search(link)
    )


def _fits(patient_id: str | None, limit: int) -> bool:
    # An empty id is stored as none: it would change.
    return patient_id is None or 0 < len(patient_id) <= limit


def _booking(booking: Booking, cuts: _Cuts) -> Booking:
    """The core record with every text field cleaned and bounded (itself when none changed)."""
    cleaned: dict[str, Any] = {
        "uid": cuts.line("uid", booking.uid, COLUMN_LIMITS["ical_uid"]),
        "calendar": cuts.line("calendar", booking.calendar, COLUMN_LIMITS["calendar"]),
        "summary": cuts.text("summary", booking.summary, MAX_SUMMARY),
        "description": cuts.text("description", booking.description, MAX_DESCRIPTION),
        "attendees": _attendees(booking.attendees, cuts),
        "calendar_email": cuts.line("calendar_email", booking.calendar_email, _EMAIL),
        "organizer_email": cuts.line("organizer_email", booking.organizer_email, _EMAIL),
        "patient_id": _patient_id(booking.patient_id, cuts),
    }
    if all(getattr(booking, name) == value for name, value in cleaned.items()):
        return booking
    return replace(booking, **cleaned)


def _patient_id(patient_id: str | None, cuts: _Cuts) -> str | None:
    if patient_id is None:
        return None
    return cuts.line("patient_id", patient_id, COLUMN_LIMITS["explicit_patient_id"]) or None


def fit_reading(event: StoredEvent) -> StoredEvent:
    """``event`` with the patient keys the rules engine read in it cut to their columns."""
    cuts = _Cuts(list(event.cut))
    patient = _key(event.patient, cuts) if event.patient else None
    keys = event.identity_keys
    fitted = None if keys is None else tuple(dict.fromkeys(_key(key, cuts) for key in keys))
    if cuts.names == list(event.cut):
        return event
    return replace(event, patient=patient, identity_keys=fitted, cut=tuple(cuts.names))


_EMAIL = COLUMN_LIMITS["calendar_email"]
_KEY = COLUMN_LIMITS["patient_value"]
_UID = COLUMN_LIMITS["ical_uid"]
_CALENDAR = COLUMN_LIMITS["calendar"]
_ETAG = COLUMN_LIMITS["etag"]
_PATIENT_ID = COLUMN_LIMITS["explicit_patient_id"]


def _check_id(what: str, value: str) -> None:
    if clean_line(value) != value:
        raise Unadmissible(f"the event's {what} contains control characters or lone surrogates")
    if len(value) > _ID_LIMIT:
        raise Unadmissible(f"the event's {what} is {len(value)} characters (at most {_ID_LIMIT})")


def _etag(etag: str | None) -> str | None:
    # An ETag only saves a request when it is exact; one that does not fit is dropped.
    if etag is None or clean_line(etag) != etag or len(etag) > COLUMN_LIMITS["etag"]:
        return None
    return etag


def _web_link(link: str | None) -> str | None:
    # A link is shown as one to click: only an exact https URL is kept, never one cut short.
    if link is None or clean_line(link) != link or len(link) > COLUMN_LIMITS["html_link"]:
        return None
    return link if link.startswith("https://") and not _SPACE.search(link) else None


def _attendees(attendees: tuple[Attendee, ...], cuts: _Cuts) -> tuple[Attendee, ...]:
    kept = attendees
    if len(kept) > MAX_ATTENDEES:
        kept = kept[:MAX_ATTENDEES]
        cuts.mark("attendees")
    return tuple(_attendee(attendee, cuts) for attendee in kept)


def _attendee(attendee: Attendee, cuts: _Cuts) -> Attendee:
    email = cuts.line("attendees", attendee.email, _EMAIL)
    response = cuts.line("attendees", attendee.response, _MAX_RESPONSE)
    if email == attendee.email and response == attendee.response:
        return attendee
    return replace(attendee, email=email, response=response)


def _properties(properties: Mapping[str, str], cuts: _Cuts) -> dict[str, str]:
    items = list(properties.items())
    if len(items) > MAX_PROPERTIES:
        items = items[:MAX_PROPERTIES]
        cuts.mark("private_properties")
    kept: dict[str, str] = {}
    for key, value in items:
        name = cuts.line("private_properties", key, _MAX_PROPERTY)
        kept[name] = cuts.text("private_properties", value, _MAX_PROPERTY)
    return kept


def _key(key: PatientKey, cuts: _Cuts) -> PatientKey:
    value = cuts.line("patient", key.value, _KEY)
    return key if value == key.value else PatientKey(key.kind, value)
