"""What staff do to a flagged event is theirs: colour, text below a lone marker (SPEC §6)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from rules.flag import (
    FLAG_END,
    LONE_MARKER_WARNING,
    PREVIOUS_COLOR_PROPERTY,
    EventFlagState,
    FlagPatch,
    flag_patch,
    render_flag,
    split_flag,
)
from rules.model import Conflict, Policy
from tests.rules.test_flag import _conflict

STAFF = "Forehead only."
RED = "11"


def _flagged(policy: Policy, color: str | None = "5") -> tuple[Conflict, str, FlagPatch]:
    conflict = _conflict(policy)
    block = render_flag([conflict], policy, "https://cs.example/admin")
    patch = flag_patch(EventFlagState(STAFF, color), [conflict], block, RED)
    assert patch is not None
    return conflict, block, patch


def _state(
    patch: FlagPatch, *, color: str | None = None, text: str | None = None
) -> EventFlagState:
    private = {k: v for k, v in patch.private.items() if v is not None}
    return EventFlagState(
        patch.description if text is None else text, color or patch.color_id, private
    )


def test_a_colour_staff_chose_while_flagged_is_kept_when_the_flag_comes_off(
    default_policy: Policy,
) -> None:
    _, _, flagged = _flagged(default_policy)
    unflag = flag_patch(_state(flagged, color="7"), [], None, RED)
    assert unflag is not None
    assert unflag.color_id == "7"
    assert unflag.description == STAFF


def test_our_colour_still_on_at_unflag_gives_back_the_colour_before_the_flag(
    default_policy: Policy,
) -> None:
    _, _, flagged = _flagged(default_policy)
    unflag = flag_patch(_state(flagged), [], None, RED)
    assert unflag is not None
    assert unflag.color_id == "5"


def test_rewriting_a_flag_keeps_a_colour_staff_chose_while_flagged(default_policy: Policy) -> None:
    conflict, block, flagged = _flagged(default_policy)
    recoloured = _state(flagged, color="7")
    assert flag_patch(recoloured, [conflict], block, RED) is None
    changed = flag_patch(recoloured, [conflict], block + "\nnew line", RED)
    assert changed is not None
    assert changed.color_id == "7"
    assert changed.private[PREVIOUS_COLOR_PROPERTY] == "5"


def test_staff_text_below_a_deleted_end_marker_is_kept_with_a_warning(
    default_policy: Policy,
) -> None:
    conflict, block, flagged = _flagged(default_policy)
    mangled = flagged.description.replace(FLAG_END, "") + "Call the patient first."
    unflag = flag_patch(_state(flagged, text=mangled), [], None, RED)
    assert unflag is not None
    assert unflag.description == f"{STAFF}\n\nCall the patient first."
    assert unflag.warnings == (LONE_MARKER_WARNING,)
    reflag = flag_patch(_state(flagged, text=mangled), [conflict], block, RED)
    assert reflag is not None
    assert reflag.description == f"{STAFF}\n\nCall the patient first.\n\n{block}"
    assert reflag.warnings == (LONE_MARKER_WARNING,)


def test_a_deleted_end_marker_with_nothing_below_warns_of_nothing(default_policy: Policy) -> None:
    _, _, flagged = _flagged(default_policy)
    mangled = flagged.description.replace("\n" + FLAG_END, "")
    unflag = flag_patch(_state(flagged, text=mangled), [], None, RED)
    assert unflag is not None
    assert (unflag.description, unflag.warnings) == (STAFF, ())


def test_a_staff_line_shaped_like_half_an_entry_is_not_taken(default_policy: Policy) -> None:
    _, _, flagged = _flagged(default_policy)
    start = flagged.description.index("⚠")
    lone = flagged.description[:start] + flagged.description[start:].split("\n")[0]
    text = f"{lone}\nEarliest eligible date: 2030-01-01\nStaff note"
    assert split_flag(text) == (f"{STAFF}\n\nEarliest eligible date: 2030-01-01\nStaff note", True)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_staff_text_below_a_lone_marker_always_survives(below: str) -> None:
    policy_free = "⚠ ── clinic-sync flag ── do not edit below ──"
    staff, _ = split_flag(f"{STAFF}\n\n{policy_free}\n{below}")
    assert below.strip() in staff
