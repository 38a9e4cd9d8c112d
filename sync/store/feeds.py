"""Feeds in the store: token hashes, the fetch log, event sequences, change times (SPEC §7).

Small repositories and queries, all serving :mod:`sync.feeds` (the clinic's data version
it caches on is :mod:`sync.store.data_version`):

- **tokens**: a feed URL's secret is never stored, only its SHA-256 hash; a token is
  found by that hash, revoked by id, and a rotation links the new row to the old one;
- **fetch log**: every request for a feed (when, which token or none, HTTP status),
  written in batches by the web app;
- **event sequences**: the content hash and ``SEQUENCE`` last published for each event
  UID, so a changed event gets a higher ``SEQUENCE`` (RFC 5545 §3.8.7.4);
- **label key**: each clinic's secret for the ``initials-tag`` label's keyed hash, made
  on first use;
- **change times**: when each booking last changed, the stamps of the feed's events.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import bindparam, insert, update
from sqlmodel import Session, col, select

from sync.store.bulk import BulkStatement
from sync.store.errors import RecordNotFound
from sync.store.tables import BookingRow, ClinicRow, FeedEventRow, FeedFetchRow, FeedTokenRow

__all__ = [
    "EventSequence",
    "FeedFetch",
    "FeedToken",
    "add_feed_token",
    "booking_change_times",
    "feed_label_key",
    "find_feed_token",
    "get_feed_token",
    "list_feed_tokens",
    "load_event_sequences",
    "record_fetches",
    "revoke_feed_token",
    "row_change_times",
    "save_event_sequences",
    "source_booking_ids",
]

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class FeedToken:
    """A feed token as the service sees it: what it opens, never the secret itself."""

    id: int
    clinic_id: int
    token_hash: str
    scope_kind: str
    scope_value: str
    label: str | None
    created_at: datetime
    revoked_at: datetime | None
    last_fetched_at: datetime | None
    rotated_from_id: int | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


class FeedFetch(NamedTuple):
    """One request for a feed; ``token_id`` is ``None`` when the token was unknown.

    A named tuple: one is made per request, and the batch insert reads its fields by place.
    """

    at: datetime
    token_id: int | None
    status: int


@dataclass(frozen=True, slots=True)
class EventSequence:
    """What was last published under one event UID."""

    uid: str
    content_hash: str
    sequence: int


def add_feed_token(
    session: Session,
    clinic_id: int,
    token_hash: str,
    scope_kind: str,
    scope_value: str,
    *,
    now: datetime,
    label: str | None = None,
    rotated_from_id: int | None = None,
) -> FeedToken:
    """Store a new token's hash and scope."""
    row = FeedTokenRow(
        clinic_id=clinic_id,
        token_hash=token_hash,
        scope_kind=scope_kind,
        scope_value=scope_value,
        label=label,
        created_at=now,
        rotated_from_id=rotated_from_id,
    )
    session.add(row)
    session.flush()
    return _token(row)


def find_feed_token(session: Session, token_hash: str) -> FeedToken | None:
    """The token whose hash is ``token_hash`` (revoked or not), or ``None``."""
    row = session.exec(select(FeedTokenRow).where(FeedTokenRow.token_hash == token_hash)).first()
    return None if row is None else _token(row)


def get_feed_token(session: Session, token_id: int) -> FeedToken:
    """The token with ``token_id``; :class:`RecordNotFound` if there is none."""
    row = session.get(FeedTokenRow, token_id)
    if row is None:
        raise RecordNotFound(f"no feed token with id {token_id}")
    return _token(row)


def list_feed_tokens(session: Session, clinic_id: int) -> list[FeedToken]:
    """A clinic's tokens, oldest first."""
    query = (
        select(FeedTokenRow)
        .where(FeedTokenRow.clinic_id == clinic_id)
        .order_by(col(FeedTokenRow.id))
    )
    return [_token(row) for row in session.exec(query)]


def revoke_feed_token(session: Session, token_id: int, *, now: datetime) -> FeedToken:
    """Revoke a token (a token revoked already keeps its first revocation time)."""
    row = session.get(FeedTokenRow, token_id)
    if row is None:
        raise RecordNotFound(f"no feed token with id {token_id}")
    if row.revoked_at is None:
        row.revoked_at = now
        session.flush()
    return _token(row)


def record_fetches(session: Session, fetches: Sequence[FeedFetch]) -> None:
    """Append fetches to the log and move each token's ``last_fetched_at`` forward.

    One set-based insert for the batch, through the driver's executemany
    (:class:`~sync.store.bulk.BulkStatement`): a busy feed logs thousands of fetches a
    second, and SQLAlchemy's parameter dictionary per row cost more than answering a 304 —
    while the writer thread held the interpreter, the event loop answered nothing.
    """
    _INSERT_FETCHES.execute(session, fetches)
    latest: dict[int, datetime] = {}
    for fetch in fetches:
        if fetch.token_id is not None:
            latest[fetch.token_id] = max(fetch.at, latest.get(fetch.token_id, fetch.at))
    for token_id, at in latest.items():
        statement = (
            update(FeedTokenRow)
            .where(col(FeedTokenRow.id) == token_id)
            .where(
                (col(FeedTokenRow.last_fetched_at).is_(None))
                | (col(FeedTokenRow.last_fetched_at) < at)
            )
            .values(last_fetched_at=at)
            .execution_options(synchronize_session=False)
        )
        session.exec(statement)
    session.flush()


_INSERT_FETCHES = BulkStatement(
    lambda _dialect: insert(FeedFetchRow.__table__),  # type: ignore[attr-defined]
    ("at", "token_id", "status"),
)


def load_event_sequences(
    session: Session, clinic_id: int, uids: Collection[str]
) -> dict[str, EventSequence]:
    """The stored hash and sequence of each of ``uids`` that was published before."""
    found: dict[str, EventSequence] = {}
    for chunk in _chunks(sorted(uids)):
        query = (
            select(FeedEventRow)
            .where(col(FeedEventRow.clinic_id) == clinic_id)
            .where(col(FeedEventRow.uid).in_(chunk))
        )
        for row in session.exec(query):
            found[row.uid] = EventSequence(row.uid, row.content_hash, row.sequence)
    return found


def save_event_sequences(
    session: Session, clinic_id: int, sequences: Iterable[EventSequence], *, now: datetime
) -> None:
    """Insert or update the hash and sequence of each UID (in bulk: a clinic has thousands)."""
    wanted = {item.uid: item for item in sequences}
    ids: dict[str, int] = {}
    for chunk in _chunks(sorted(wanted)):
        query = (
            select(FeedEventRow.uid, FeedEventRow.id)
            .where(col(FeedEventRow.clinic_id) == clinic_id)
            .where(col(FeedEventRow.uid).in_(chunk))
        )
        ids.update((uid, row_id) for uid, row_id in session.exec(query) if row_id is not None)
    values = [
        {"uid": uid, "content_hash": item.content_hash, "sequence": item.sequence}
        for uid, item in wanted.items()
    ]
    fresh = [
        {**v, "clinic_id": clinic_id, "changed_at": now} for v in values if v["uid"] not in ids
    ]
    known = [{**v, "row_id": ids[v["uid"]], "at": now} for v in values if v["uid"] in ids]
    connection = session.connection()
    if fresh:
        connection.execute(insert(FeedEventRow), fresh)
    if known:
        connection.execute(_UPDATE_SEQUENCE, known)


_UPDATE_SEQUENCE = (
    update(FeedEventRow)
    .where(col(FeedEventRow.id) == bindparam("row_id"))
    .values(
        content_hash=bindparam("content_hash"),
        sequence=bindparam("sequence"),
        changed_at=bindparam("at"),
    )
)


def feed_label_key(session: Session, clinic_id: int) -> bytes:
    """The clinic's secret for feed label tags, made (256 random bits) the first time it is asked.

    Two processes asking at once make one key: the write only fills an empty column, and
    both read back what is stored. :class:`RecordNotFound` for an unknown clinic.
    """
    query = select(ClinicRow.feed_label_key).where(col(ClinicRow.id) == clinic_id)
    stored = session.exec(query).first()
    if stored is None:
        fresh = (
            update(ClinicRow)
            .where(col(ClinicRow.id) == clinic_id)
            .where(col(ClinicRow.feed_label_key).is_(None))
            .values(feed_label_key=secrets.token_hex(32))
            .execution_options(synchronize_session=False)
        )
        session.exec(fresh)
        stored = session.exec(query).first()
        if stored is None:
            raise RecordNotFound(f"no clinic with id {clinic_id}")
    return bytes.fromhex(stored)


def booking_change_times(
    session: Session, clinic_id: int, first_day: date, last_day: date
) -> dict[str, datetime]:
    """When each live booking of a clinic between two days (inclusive) last changed, by id."""
    query = (
        select(BookingRow.provider_event_id, BookingRow.changed_at)
        .where(col(BookingRow.clinic_id) == clinic_id)
        .where(col(BookingRow.deleted_at).is_(None))
        .where(col(BookingRow.day) >= first_day)
        .where(col(BookingRow.day) <= last_day)
    )
    times: dict[str, datetime] = {}
    for booking_id, changed_at in session.exec(query):
        times[booking_id] = max(changed_at, times.get(booking_id, changed_at))
    return times


def row_change_times(session: Session, row_ids: Collection[int]) -> dict[str, datetime]:
    """When each of the booking rows ``row_ids`` last changed, by provider event id."""
    times: dict[str, datetime] = {}
    ordered = sorted(row_ids)
    for start in range(0, len(ordered), _CHUNK):
        query = select(BookingRow.provider_event_id, BookingRow.changed_at).where(
            col(BookingRow.id).in_(ordered[start : start + _CHUNK])
        )
        for booking_id, changed_at in session.exec(query):
            times[booking_id] = max(changed_at, times.get(booking_id, changed_at))
    return times


def source_booking_ids(
    session: Session, source_id: int, first_day: date, last_day: date
) -> frozenset[str]:
    """The ids of the live bookings on one calendar between two days (inclusive)."""
    query = (
        select(BookingRow.provider_event_id)
        .where(col(BookingRow.source_id) == source_id)
        .where(col(BookingRow.deleted_at).is_(None))
        .where(col(BookingRow.day) >= first_day)
        .where(col(BookingRow.day) <= last_day)
    )
    return frozenset(session.exec(query))


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _token(row: FeedTokenRow) -> FeedToken:
    assert row.id is not None, "a stored token has an id"
    return FeedToken(
        id=row.id,
        clinic_id=row.clinic_id,
        token_hash=row.token_hash,
        scope_kind=row.scope_kind,
        scope_value=row.scope_value,
        label=row.label,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        last_fetched_at=row.last_fetched_at,
        rotated_from_id=row.rotated_from_id,
    )
