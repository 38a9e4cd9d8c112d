"""The identity keys of stored bookings: every key that can tie a booking to a patient (SPEC §4).

A booking carries its explicit patient id, each patient e-mail and its compared name,
one row each in ``booking_identity_keys``. Upserts write them with the booking
(:mod:`sync.store.bookings`); detection follows shared keys to find which bookings a
change can reach (:mod:`sync.usecases.affected`), and its full re-check rewrites the keys that no
longer agree with how the bookings read now (:func:`refresh_keys`).

A value longer than the column is stored as its SHA-256 digest: keys are only ever
compared for equality, and a digest keeps two long names apart as surely as the text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import date
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Date, Select, and_, bindparam, delete, insert, or_
from sqlalchemy import select as sql_select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from rules.model import MatchKind, PatientKey
from sync.store.bulk import BulkStatement
from sync.store.events import EventStatus
from sync.store.tables import BookingIdentityKeyRow, BookingRow

__all__ = [
    "IN_CHUNK",
    "KeyPair",
    "chunked",
    "key_pairs_by_row",
    "keys_by_row",
    "keys_of",
    "name_carriers",
    "refresh_keys",
    "replace_keys",
    "rows_with_keys",
    "stored_key",
    "stored_keys",
    "stored_value",
]

IN_CHUNK = 500
"""Members of one ``IN (...)`` list: far below SQLite's and PostgreSQL's parameter limits."""
_VALUE_LENGTH = 512
_T = TypeVar("_T")
_KINDS = {kind.value: kind for kind in MatchKind}
"""A stored kind's member, looked up: calling the enum for each of a clinic's keys is slow."""


def stored_key(key: PatientKey) -> PatientKey:
    """``key`` as the store keeps it: a value too long for the column becomes its digest."""
    if len(key.value) <= _VALUE_LENGTH:
        return key
    return PatientKey(key.kind, stored_value(key.value))


def stored_value(value: str) -> str:
    """A key's ``value`` as the store keeps it (see :func:`stored_key`)."""
    if len(value) <= _VALUE_LENGTH:
        return value
    return f"sha256:{hashlib.sha256(value.encode()).hexdigest()}"


def stored_keys(keys: Iterable[PatientKey]) -> frozenset[PatientKey]:
    """Each of ``keys`` as the store keeps it."""
    return frozenset(stored_key(key) for key in keys)


def keys_by_row(session: Session, row_ids: Collection[int]) -> dict[int, frozenset[PatientKey]]:
    """The stored keys of each booking row in ``row_ids`` (rows without keys are left out)."""
    return {row_id: keys_of(pairs) for row_id, pairs in key_pairs_by_row(session, row_ids).items()}


KeyPair = tuple[str, str]
"""A stored key as its row holds it: the kind's value ("id", "email", "name") and the value."""


def keys_of(pairs: Iterable[KeyPair]) -> frozenset[PatientKey]:
    """Stored keys held as pairs (:func:`key_pairs_by_row`), as keys."""
    return frozenset(PatientKey(_KINDS[kind], value) for kind, value in pairs)


def key_pairs_by_row(session: Session, row_ids: Collection[int]) -> dict[int, frozenset[KeyPair]]:
    """The stored keys of each row in ``row_ids`` as pairs, no :class:`PatientKey` made.

    What a full re-check reads for every row of the clinic. Rows close together (a page of
    the clinic's rows by id, most of the ids in between its own) are read as one range of
    the ``(booking_id, kind, value)`` index, the rows not asked for left out; scattered
    rows, by ``IN`` lists on it.
    """
    wanted = set(row_ids)
    if not wanted:
        return {}
    table = BookingIdentityKeyRow.__table__  # type: ignore[attr-defined]
    columns = (table.c.booking_id, table.c.kind, table.c.value)
    low, high = min(wanted), max(wanted)
    if high - low < 2 * len(wanted) + IN_CHUNK:
        queries = [sql_select(*columns).where(table.c.booking_id.between(low, high))]
    else:
        queries = [
            sql_select(*columns).where(table.c.booking_id.in_(chunk)) for chunk in chunked(wanted)
        ]
    found: dict[int, set[KeyPair]] = {}
    connection = session.connection()  # plain rows: no ORM loading for a clinic's keys
    for query in queries:
        for row_id, kind, value in connection.execute(query):
            if row_id in wanted:
                found.setdefault(row_id, set()).add((kind, value))
    return {row_id: frozenset(pairs) for row_id, pairs in found.items()}


def replace_keys(
    session: Session,
    clinic_id: int,
    keys: Mapping[int, Iterable[PatientKey]],
    *,
    holding: Collection[int] | None = None,
) -> None:
    """Make ``keys[row]`` the only keys of each booking row named in ``keys``.

    ``holding`` names the rows that may hold keys now (``None``: any may): the others, rows
    just inserted, have none to delete.
    """
    table = BookingIdentityKeyRow.__table__  # type: ignore[attr-defined]
    held = keys if holding is None else [row_id for row_id in keys if row_id in holding]
    for chunk in chunked(held):
        session.execute(delete(table).where(table.c.booking_id.in_(chunk)))
    rows = [
        (row_id, key.kind.value, key.value)
        for row_id, row_keys in keys.items()
        for key in sorted(stored_keys(row_keys))  # PatientKey's own order: kind, then value
    ]
    _INSERT.execute(session, rows, {"clinic_id": clinic_id})


_INSERT = BulkStatement(
    lambda _dialect: insert(BookingIdentityKeyRow.__table__),  # type: ignore[attr-defined]
    ("booking_id", "kind", "value"),
    ("clinic_id",),
)


def rows_with_keys(session: Session, clinic_id: int, keys: Collection[PatientKey]) -> set[int]:
    """The live booking rows of a clinic that carry any of ``keys``."""
    table = BookingIdentityKeyRow
    found: set[int] = set()
    for chunk in chunked(stored_keys(keys)):
        query = (
            select(col(table.booking_id))
            .join(BookingRow, col(BookingRow.id) == col(table.booking_id))
            .where(col(table.clinic_id) == clinic_id)
            .where(_any_key(chunk))
            .where(col(BookingRow.deleted_at).is_(None))
        )
        found.update(session.exec(query))
    return found


def name_carriers(
    session: Session,
    clinic_id: int,
    name: str,
    *,
    days: tuple[date, date],
    after: int = 0,
    limit: int = IN_CHUNK,
) -> list[int]:
    """Live rows carrying the compared ``name`` and an id or an e-mail too, by row id.

    Only not-cancelled bookings on ``days`` (first, last): the others are never linked.
    Read a page at a time (rows after ``after``), so a name carried by thousands of
    identified bookings is never read whole when its first few settle the question.
    """
    first, last = days
    values = {"clinic_id": clinic_id, "name": name, "after": after, "first": first, "last": last}
    return list(session.execute(_carriers_statement(limit), values).scalars())


@cache
def _carriers_statement(limit: int) -> Select[Any]:
    """:func:`name_carriers`' statement, built once for each page size with its values
    bound at execution: a change's cycle asks it several times, and building it (an
    alias of the keys table, an ``EXISTS``) cost 2 ms, against 0.1 ms for the query."""
    table = BookingIdentityKeyRow
    strong = aliased(BookingIdentityKeyRow)
    identified = (
        select(col(strong.id))
        .where(col(strong.booking_id) == col(table.booking_id))
        .where(col(strong.kind).in_([MatchKind.ID.value, MatchKind.EMAIL.value]))
        .exists()
    )
    return (
        sql_select(col(table.booking_id))
        .join(BookingRow, col(BookingRow.id) == col(table.booking_id))
        .where(col(table.clinic_id) == bindparam("clinic_id"))
        .where(col(table.kind) == MatchKind.NAME.value, col(table.value) == bindparam("name"))
        .where(col(table.booking_id) > bindparam("after"))
        .where(col(BookingRow.deleted_at).is_(None))
        .where(col(BookingRow.status) != EventStatus.CANCELLED.value)
        .where(col(BookingRow.day) >= bindparam("first", type_=Date()))
        .where(col(BookingRow.day) <= bindparam("last", type_=Date()))
        .where(identified)
        .order_by(col(table.booking_id))
        .limit(limit)
    )


def refresh_keys(
    session: Session, clinic_id: int, fresh: Mapping[int, Iterable[PatientKey]]
) -> int:
    """Rewrite the keys of the rows in ``fresh`` that differ from it; returns how many did."""
    table = BookingIdentityKeyRow
    stored: dict[int, set[PatientKey]] = {}
    query = select(col(table.booking_id), col(table.kind), col(table.value)).where(
        col(table.clinic_id) == clinic_id
    )
    for row_id, kind, value in session.exec(query):
        stored.setdefault(row_id, set()).add(PatientKey(_KINDS[kind], value))
    stale = {
        row_id: keys
        for row_id, keys in ((row_id, stored_keys(keys)) for row_id, keys in fresh.items())
        if keys != stored.get(row_id, set())
    }
    replace_keys(session, clinic_id, stale)
    return len(stale)


def _any_key(keys: Sequence[PatientKey]) -> ColumnElement[bool]:
    by_kind: dict[str, list[str]] = {}
    for key in keys:
        by_kind.setdefault(key.kind.value, []).append(key.value)
    table = BookingIdentityKeyRow
    return or_(
        *(
            and_(col(table.kind) == kind, col(table.value).in_(values))
            for kind, values in by_kind.items()
        )
    )


def chunked(items: Iterable[_T], size: int = IN_CHUNK) -> Iterator[list[_T]]:
    """``items`` in lists of at most ``size``, for ``IN (...)`` clauses."""
    chunk: list[_T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
