"""The flag block, colour and properties on a conflicting booking (SPEC §6)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rules.flag import (
    CONFLICT_PROPERTY,
    FLAG_BEGIN,
    FLAG_END,
    PREVIOUS_COLOR_PROPERTY,
    EventFlagState,
    conflict_id,
    flag_patch,
    render_flag,
    strip_flag,
    with_flag,
)
from rules.model import Conflict, Policy
from rules.vocabulary import Matcher
from tests.factories import booking, run

STAFF = "Forehead only.\nPatient prefers mornings."


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


def test_block_says_rule_dates_gap_window_match_and_link(default_policy: Policy) -> None:
    block = render_flag([_conflict(default_policy)], default_policy, "https://cs.example/admin/")
    lines = block.splitlines()
    assert lines[0] == FLAG_BEGIN
    assert lines[-1] == FLAG_END
    text = "\n".join(lines)
    assert "Botox booked 7 days after Microneedling" in text
    assert "at least 14" in text
    assert "Microneedling: 2026-12-01 (Room 1)" in text
    assert "Earliest eligible date: 2026-12-15" in text
    assert "Ideal window: 2026-12-15 to 2026-12-29" in text
    assert "Patient matched by name: Jane Doe" in text
    assert f"https://cs.example/admin/conflicts/{conflict_id(_conflict(default_policy))}" in text


def test_flag_is_added_after_staff_text_and_removed_leaving_it_untouched(
    default_policy: Policy,
) -> None:
    conflict = _conflict(default_policy)
    block = render_flag([conflict], default_policy, "https://cs.example")
    before = EventFlagState(description=STAFF, color_id="5")
    patch = flag_patch(before, [conflict], block, "11")
    assert patch is not None
    assert patch.description.startswith(STAFF + "\n\n" + FLAG_BEGIN)
    assert patch.color_id == "11"
    assert patch.private[CONFLICT_PROPERTY] == conflict_id(conflict)
    assert patch.private[PREVIOUS_COLOR_PROPERTY] == "5"
    flagged = EventFlagState(patch.description, patch.color_id, dict(patch.private))  # type: ignore[arg-type]
    off = flag_patch(flagged, [], None, "11")
    assert off is not None
    assert off.description == STAFF
    assert off.color_id == "5"
    assert all(value is None for value in off.private.values())


def test_writing_the_same_flag_twice_changes_nothing(default_policy: Policy) -> None:
    conflict = _conflict(default_policy)
    block = render_flag([conflict], default_policy, "https://cs.example")
    patch = flag_patch(EventFlagState(STAFF, None), [conflict], block, "11")
    assert patch is not None
    flagged = EventFlagState(patch.description, patch.color_id, dict(patch.private))  # type: ignore[arg-type]
    assert flag_patch(flagged, [conflict], block, "11") is None


def test_an_event_without_colour_gets_no_colour_back(default_policy: Policy) -> None:
    conflict = _conflict(default_policy)
    block = render_flag([conflict], default_policy, "https://cs.example")
    patch = flag_patch(EventFlagState("", None), [conflict], block, "11")
    assert patch is not None
    assert patch.description == block
    flagged = EventFlagState(patch.description, patch.color_id, dict(patch.private))  # type: ignore[arg-type]
    off = flag_patch(flagged, [], None, "11")
    assert off is not None
    assert (off.description, off.color_id) == ("", None)


def test_unflagged_event_needs_no_unflag() -> None:
    assert flag_patch(EventFlagState(STAFF, "3"), [], None, "11") is None


def test_staff_text_written_after_the_block_survives_its_removal() -> None:
    described = f"Intro\n\n{FLAG_BEGIN}\nold words\n{FLAG_END}\nAdded later by staff"
    assert strip_flag(described) == "Intro\n\nAdded later by staff"


def test_a_lone_start_marker_takes_only_the_marker_when_nothing_below_is_ours() -> None:
    assert strip_flag(f"Intro\n\n{FLAG_BEGIN}\nold words") == "Intro\n\nold words"


def test_a_block_inside_html_line_breaks_is_still_found() -> None:
    described = f"Intro<br><br>{FLAG_BEGIN}<br>words<br>{FLAG_END}"
    assert strip_flag(described) == "Intro<br><br>"


def test_the_flag_text_is_never_read_as_booking_text(
    default_policy: Policy, matcher: Matcher
) -> None:
    block = render_flag([_conflict(default_policy)], default_policy, "https://cs.example")
    description = with_flag("Service: Hydrafacial", block.replace("Ideal", "Service: Botox\nIdeal"))
    assert matcher.categories("Facial - Jane Doe", description) == frozenset()


@given(st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=80))
def test_adding_then_removing_a_flag_gives_back_the_staff_text(staff: str) -> None:
    staff = strip_flag(staff)
    block = f"{FLAG_BEGIN}\nsome words\n{FLAG_END}"
    assert strip_flag(with_flag(staff, block)) == staff
    assert strip_flag(with_flag(with_flag(staff, block), block)) == staff
