"""The safe-date line of a flag: written, found again, and read as ours (SPEC §6)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from rules.flag import FLAG_END, conflict_id, flag_safe_lines, render_flag, split_flag, with_flag
from rules.model import Conflict, Policy
from rules.slots import SafeDate, render_safe_date
from tests.factories import booking, run

STAFF = "Forehead only."
SAFE = SafeDate(
    date(2026, 12, 15),
    date(2026, 12, 29),
    (datetime(2026, 12, 15, 9, tzinfo=UTC), datetime(2026, 12, 15, 9, 30, tzinfo=UTC)),
)


def _conflict(policy: Policy) -> Conflict:
    result = run(
        [
            booking("mn", "2026-12-01", "Microneedling - Jane Doe", calendar="Room 1"),
            booking("bo", "2026-12-08", "Botox - Jane Doe"),
        ],
        policy,
    )
    (conflict,) = result.conflicts
    return conflict


def test_the_block_names_the_first_free_slots_after_the_ideal_window(
    default_policy: Policy,
) -> None:
    conflict = _conflict(default_policy)
    block = render_flag(
        [conflict], default_policy, "https://cs.example", {conflict_id(conflict): SAFE}
    )
    lines = block.splitlines()
    window = lines.index("Ideal window: 2026-12-15 to 2026-12-29")
    assert lines[window + 1] == (
        "First free slots (from 2026-12-15 to 2026-12-29): "
        "Tue 2026-12-15 09:00, Tue 2026-12-15 09:30"
    )


def test_a_block_without_a_safe_date_has_no_slot_line(default_policy: Policy) -> None:
    block = render_flag([_conflict(default_policy)], default_policy, "https://cs.example")
    assert "First free slots" not in block


def test_the_safe_date_line_is_found_again_for_its_conflict(default_policy: Policy) -> None:
    conflict = _conflict(default_policy)
    block = render_flag(
        [conflict], default_policy, "https://cs.example", {conflict_id(conflict): SAFE}
    )
    assert flag_safe_lines(with_flag(STAFF, block)) == {
        conflict_id(conflict): render_safe_date(SAFE)
    }
    assert flag_safe_lines(STAFF) == {}


def test_a_lone_marker_takes_the_slot_line_as_ours_and_keeps_staff_text_below(
    default_policy: Policy,
) -> None:
    conflict = _conflict(default_policy)
    block = render_flag(
        [conflict], default_policy, "https://cs.example", {conflict_id(conflict): SAFE}
    )
    lone = with_flag(STAFF, block).replace(FLAG_END, "Call back Tuesday")
    assert split_flag(lone) == (f"{STAFF}\n\nCall back Tuesday", True)


def test_a_lone_marker_of_a_flag_written_before_slots_existed_is_still_read(
    default_policy: Policy,
) -> None:
    block = render_flag([_conflict(default_policy)], default_policy, "https://cs.example")
    lone = with_flag(STAFF, block).replace(FLAG_END, "Call back Tuesday")
    assert split_flag(lone) == (f"{STAFF}\n\nCall back Tuesday", True)
