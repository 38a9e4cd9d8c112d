"""A full re-check goes a part at a time; the parts are independent (SPEC §4, §5)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, delete, event

from rules.model import MatchKind, PatientKey
from rules.patients import name_key
from sync.store.conflicts import ReadCopy, conflicts_touching, copies_by_row
from sync.store.database import session_scope
from sync.store.identity_keys import keys_by_row
from sync.store.tables import BookingIdentityKeyRow
from sync.usecases.detect import Detection, load_part
from sync.usecases.partition import Partition, partition_clinic
from tests.cycle.test_incremental import booking
from tests.cycle.twins import Twins


def _parts(twins: Twins, batch_rows: int = 1) -> tuple[list[set[str]], frozenset[str]]:
    """Each batch of the full twin as the event ids it holds (one part a batch at size 1)."""
    clinic = twins.full
    with session_scope(twins.engine) as session:
        parts = partition_clinic(
            session, clinic.id, twins.reader, twins.scope, batch_rows=batch_rows
        )
        rows = {row for batch in parts.batches for row in batch}
        ids = {row: copy.event.booking.id for row, copy in copies_by_row(session, rows).items()}
    return [{ids[row] for row in batch} for batch in parts.batches], parts.ambiguous


def test_a_crowded_name_neither_links_nor_joins_its_carriers_into_one_part(engine: Engine) -> None:
    twins = Twins(engine)
    for n in range(5):
        twins.put(booking(f"jane{n}", "Hydrafacial Jane Doe", n, emails=(f"j{n}@example.com",)))
    twins.put(booking("tox", "Botox Jane Doe", 9))
    twins.put(booking("mn", "Microneedling Ann Lee", 2))
    twins.put(booking("tox2", "Botox Ann Lee", 9, calendar="room"))
    parts, ambiguous = _parts(twins)
    assert ambiguous == {name_key("Jane Doe")}
    assert {"mn", "tox2"} in parts
    assert all(len(part) == 1 for part in parts if part != {"mn", "tox2"})


def test_identified_bookings_joined_through_one_without_a_name_are_one_patient(
    engine: Engine,
) -> None:
    """An e-mail and an id are one patient through a booking naming nobody: the name links."""
    twins = Twins(engine)
    twins.put(booking("a", "Consultation Jane Doe", 3, emails=("jane@example.com",)))
    twins.put(booking("bridge", "Consultation", 4, patient_id="P1", emails=("jane@example.com",)))
    twins.put(booking("c", "Microneedling Jane Doe", 10, patient_id="P1"))
    twins.put(booking("tox", "Botox Jane Doe", 17, calendar="room"))
    parts, ambiguous = _parts(twins)
    assert ambiguous == frozenset()
    assert parts == [{"a", "bridge", "c", "tox"}]
    twins.detect(full_first=True)
    assert twins.open() == {("c", "tox")}


def test_small_parts_are_batched_up_to_the_size_asked(engine: Engine) -> None:
    twins = Twins(engine)
    for n in range(7):
        twins.put(booking(f"b{n}", f"Hydrafacial Person {chr(65 + n)}x", n))
    parts, _ = _parts(twins, batch_rows=3)
    assert [len(part) for part in parts] == [3, 3, 1]


def _streamed(twins: Twins, title: str) -> tuple[Partition, list[int], dict[int, ReadCopy]]:
    """A microneedling and a ``title`` booking streamed, and the copies of their batch."""
    twins.put(booking("mn", "Microneedling Ann Lee", 2))
    twins.put(booking("tox", title, 9, calendar="room"))
    with session_scope(twins.engine) as session:
        parts = partition_clinic(session, twins.full.id, twins.reader, twins.scope)
    [rows] = parts.batches
    read = parts.take(rows)
    assert set(read) == set(rows)
    assert not parts.take(rows)  # handed over once
    return parts, rows, read


def _load(
    twins: Twins, parts: Partition, rows: list[int], read: dict[int, ReadCopy], *, version: bool
) -> Detection:
    with session_scope(twins.engine) as session:
        detection, _ = load_part(
            session,
            twins.full.id,
            *twins._rules,
            rows=rows,
            read=read,
            titles=parts.titles,
            read_version=parts.version if version else None,
        )
    return detection


@pytest.mark.parametrize("version", [False, True], ids=["by revision", "by data version"])
def test_a_batch_reads_again_what_changed_since_the_stream_and_keeps_the_rest(
    engine: Engine, version: bool
) -> None:
    """The stream's copies stand for their rows only while those rows are unchanged."""
    twins = Twins(engine)
    parts, rows, read = _streamed(twins, "Hydrafacial Ann Lee")
    twins.put(booking("tox", "Botox Ann Lee", 9, calendar="room"))  # after the stream
    detection = _load(twins, parts, rows, read, version=version)
    by_id = {copy.booking.id: copy for copy in detection.chosen.values()}
    assert by_id["tox"].booking.summary == "Botox Ann Lee"  # read again
    assert by_id["mn"] is read[by_id["mn"].row_id].copy  # unchanged: the stream's copy
    assert [(c.earlier.id, c.later.id) for c in detection.assessment.conflicts] == [("mn", "tox")]


def test_while_the_clinic_data_version_stands_a_batch_reads_not_even_revisions(
    engine: Engine,
) -> None:
    """No booking of the clinic changed since the stream: its copies are used unread."""
    twins = Twins(engine)
    parts, rows, read = _streamed(twins, "Botox Ann Lee")
    statements: list[str] = []

    def listen(*args: object) -> None:
        statements.append(str(args[2]))  # the statement's text

    event.listen(twins.engine, "before_cursor_execute", listen)
    try:
        detection = _load(twins, parts, rows, read, version=True)
    finally:
        event.remove(twins.engine, "before_cursor_execute", listen)
    assert not [text for text in statements if "FROM bookings" in text]
    assert all(copy is read[copy.row_id].copy for copy in detection.chosen.values())
    assert [(c.earlier.id, c.later.id) for c in detection.assessment.conflicts] == [("mn", "tox")]


def test_the_stream_rewrites_only_the_keys_that_read_otherwise_now(engine: Engine) -> None:
    """Every kind of key, a digest of a long name too, compares equal to the stored one;
    a key lost from the store is found missing and written back, and only that row's."""
    twins = Twins(engine)
    long_name = f"Anna {'R' * 300} {'L' * 300}"  # longer than the column
    twins.put(booking("a", f"Botox {long_name}", 9, emails=("anna@example.com",)))
    twins.put(booking("b", "Consultation Jane Doe", 3, patient_id="P7", emails=("j@x.example",)))
    twins.put(booking("c", "Hydrafacial", 4))

    def stream() -> tuple[int, dict[int, frozenset[PatientKey]]]:
        with session_scope(twins.engine) as session:
            parts = partition_clinic(session, twins.full.id, twins.reader, twins.scope)
            rows = [row for batch in parts.batches for row in batch]
            return parts.refreshed, keys_by_row(session, rows)

    refreshed, keys = stream()
    assert refreshed == 0
    assert sorted(len(found) for found in keys.values()) == [2, 3]  # "c" carries none
    assert any(key.value.startswith("sha256:") for found in keys.values() for key in found)
    row, lost = next((row, found) for row, found in keys.items() if len(found) == 3)
    with session_scope(twins.engine) as session:
        table = BookingIdentityKeyRow.__table__  # type: ignore[attr-defined]
        session.execute(
            delete(table).where(table.c.booking_id == row, table.c.kind == MatchKind.ID.value)
        )
    assert stream() == (1, keys)
    assert stream() == (0, keys)
    assert keys[row] == lost


@pytest.mark.parametrize("moved", [False, True], ids=["version stands", "version moved"])
def test_a_batch_reconciles_with_the_stored_conflicts_touching_its_rows(
    engine: Engine, moved: bool
) -> None:
    """The stream names each batch's stored conflicts (resolved ones too), loaded by id
    while the data version stands; once it moves they are searched by row again."""
    twins = Twins(engine)
    twins.put(booking("mn", "Microneedling Ann Lee", 2))
    twins.put(booking("tox", "Botox Ann Lee", 9, calendar="room"))
    twins.put(booking("mn2", "Microneedling Bo Park", 2))
    twins.put(booking("tox2", "Botox Bo Park", 9, calendar="room"))
    twins.detect(full_first=True)
    twins.put(booking("tox2", "Hydrafacial Bo Park", 9, calendar="room"))  # resolves one
    twins.detect(full_first=True)
    assert twins.open() == {("mn", "tox")}
    with session_scope(twins.engine) as session:
        parts = partition_clinic(session, twins.full.id, twins.reader, twins.scope)
    [rows], [touching] = parts.batches, parts.touching
    assert len(touching) == 2  # the open conflict and the resolved one
    if moved:
        twins.put(booking("other", "Hydrafacial Cy Lo", 5))
    statements: list[str] = []

    def listen(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(twins.engine, "before_cursor_execute", listen)
    try:
        with session_scope(twins.engine) as session:
            _, stored = load_part(
                session,
                twins.full.id,
                *twins._rules,
                rows=rows,
                read=parts.take(rows),
                titles=parts.titles,
                read_version=parts.version,
                touching=touching,
            )
    finally:
        event.remove(twins.engine, "before_cursor_execute", listen)
    with session_scope(twins.engine) as session:
        expected = conflicts_touching(session, twins.full.id, rows)
    assert {c.id for c in stored} == touching == {c.id for c in expected}
    by_row = [text for text in statements if "earlier_booking_id IN" in text]
    assert bool(by_row) is moved
