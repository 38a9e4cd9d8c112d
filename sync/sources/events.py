"""The provider-neutral event record every source hands back (SPEC §9).

A :class:`StoredEvent` is a core :class:`~rules.model.Booking` plus what the provider says
about it beyond that record (status, ETag, private properties, what the rules engine read
in it). Sources build it, the ingest boundary bounds it and the store maps it to its rows
(:mod:`sync.store.events`). It lives here, beside the port, and not in the store, so that
reading calendar data — the offline audit reading .ics exports — does not load the
database layer it never touches.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from rules.model import Booking, MatchKind, PatientKey

__all__ = ["EventStatus", "NaiveDatetimeError", "StoredEvent"]


class NaiveDatetimeError(ValueError):
    """A datetime without a time zone was given where an instant is required."""


class EventStatus(enum.StrEnum):
    """The provider's status of an event (Google ``status``, iCalendar ``STATUS``)."""

    CONFIRMED = "confirmed"
    TENTATIVE = "tentative"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One booking with what the provider says about it beyond the core record.

    ``start`` and ``end`` must be aware; an all-day event gives midnight in the calendar's
    zone. ``categories``, ``patient``, ``match`` and ``identity_keys`` are what the rules
    engine read in it. A ``cancelled`` booking is stored with status ``cancelled`` whatever
    ``status`` says.
    """

    booking: Booking
    start: datetime
    end: datetime
    all_day: bool = False
    status: EventStatus = EventStatus.CONFIRMED
    etag: str | None = None
    updated: datetime | None = None
    recurring_event_id: str | None = None
    private_properties: Mapping[str, str] = field(default_factory=dict, hash=False)
    categories: tuple[str, ...] = ()
    patient: PatientKey | None = None
    match: MatchKind | None = None
    identity_keys: tuple[PatientKey, ...] | None = None
    """Every key that can tie the booking to a patient (SPEC §4): its explicit id, each
    patient e-mail, its compared name — where ``patient`` keeps only the strongest.
    ``None`` when not read (an event read back from a row): the stored keys are kept."""
    cut: tuple[str, ...] = ()
    """Fields cut to fit the store at the ingest boundary (:mod:`sync.ingest.text`)."""
    html_link: str | None = None
    """Where the event opens in the provider's web UI (Google's ``htmlLink``), if it says."""

    def read_as(
        self,
        categories: tuple[str, ...],
        patient: PatientKey | None,
        match: MatchKind | None,
        identity_keys: tuple[PatientKey, ...] | None,
    ) -> StoredEvent:
        """This event with what the rules engine read in it: ``dataclasses.replace`` spelt
        out, which costs half as much (every event of a pull is read once)."""
        return StoredEvent(
            self.booking,
            self.start,
            self.end,
            self.all_day,
            self.status,
            self.etag,
            self.updated,
            self.recurring_event_id,
            self.private_properties,
            categories,
            patient,
            match,
            identity_keys,
            self.cut,
            self.html_link,
        )

    def __post_init__(self) -> None:
        # Spelt out rather than a loop over the names: every event of a pull is made twice.
        start, end, updated = self.start, self.end, self.updated
        if (
            (start is not None and start.utcoffset() is None)
            or (end is not None and end.utcoffset() is None)
            or (updated is not None and updated.utcoffset() is None)
        ):
            self._naive()

    def _naive(self) -> None:
        for name in ("start", "end", "updated"):
            value = getattr(self, name)
            if value is not None and value.utcoffset() is None:
                raise NaiveDatetimeError(f"{name} of booking {self.booking.id!r} has no time zone")
