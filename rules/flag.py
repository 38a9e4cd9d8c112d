"""The flag clinic-sync puts on a conflicting booking, and how it comes off (SPEC §6).

A flag is three things on the later booking of a conflict:

* a block of plain words in the description between two fixed marker lines — found,
  replaced and removed without touching the text staff wrote around it, and never read
  as booking text (SPEC §3);
* a colour (``colorId``), the previous one remembered so it can be restored;
* private extended properties naming the conflicts and a hash of the block, so the
  service recognises its own writes when they come back through sync.

Everything here is pure: :func:`flag_patch` compares what an event holds with what it
should hold and returns the one change to make, or ``None`` when there is nothing to do —
which is what makes writes idempotent.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rules.model import Conflict, Policy

__all__ = [
    "CONFLICT_PROPERTY",
    "FLAG_BEGIN",
    "FLAG_END",
    "FLAG_HASH_PROPERTY",
    "PREVIOUS_COLOR_PROPERTY",
    "EventFlagState",
    "FlagPatch",
    "conflict_id",
    "flag_patch",
    "render_flag",
    "strip_flag",
    "with_flag",
]

FLAG_BEGIN = "⚠ ── clinic-sync flag ── do not edit below ──"
FLAG_END = "── end of clinic-sync flag ──"

CONFLICT_PROPERTY = "clinicSyncConflict"
FLAG_HASH_PROPERTY = "clinicSyncFlag"
PREVIOUS_COLOR_PROPERTY = "clinicSyncPreviousColor"
_OUR_PROPERTIES = (CONFLICT_PROPERTY, FLAG_HASH_PROPERTY, PREVIOUS_COLOR_PROPERTY)

# The block may have been re-wrapped by a calendar client (HTML line breaks around it),
# so it is found by its markers wherever they stand. A block whose end marker staff
# deleted runs to the end of the text.
_BLOCK = re.compile(
    rf"(?:\n\n)?{re.escape(FLAG_BEGIN)}.*?(?:{re.escape(FLAG_END)}\n?|\Z)", re.DOTALL
)


def strip_flag(description: str) -> str:
    """``description`` without any clinic-sync flag block: the staff's text, as written."""
    return _BLOCK.sub(_cut, description)


def _cut(match: re.Match[str]) -> str:
    # The blank line before the block is ours when the block ends the text; when staff
    # wrote on after it, it now separates their two paragraphs.
    at_end = match.end() == len(match.string)
    return "" if at_end or not match.group().startswith("\n\n") else "\n\n"


def with_flag(description: str, block: str) -> str:
    """The staff's text followed by ``block`` (replacing any block already there)."""
    staff = strip_flag(description)
    return f"{staff}\n\n{block}" if staff else block


def conflict_id(conflict: Conflict) -> str:
    """A stable, opaque id for a conflict: the same (rule, earlier, later) gives the same id."""
    digest = hashlib.sha256("\x1f".join(conflict.key).encode()).hexdigest()
    return f"c{digest[:20]}"


def render_flag(conflicts: Sequence[Conflict], policy: Policy, link_base: str) -> str:
    """The block for one booking that is the later side of ``conflicts`` (SPEC §6)."""
    lines = [FLAG_BEGIN]
    for conflict in sorted(conflicts, key=lambda c: (c.earlier.day, c.key)):
        lines += _describe(conflict, policy, link_base.rstrip("/"))
    lines.append(FLAG_END)
    return "\n".join(lines)


def _describe(conflict: Conflict, policy: Policy, link_base: str) -> list[str]:
    rule = conflict.rule
    later, earlier = _label(policy, rule.later), _label(policy, rule.earlier)
    low, high = conflict.ideal_window
    return [
        f"{later} booked {conflict.gap_days} days after {earlier}; "
        f"the rule '{rule.name}' asks for at least {rule.min_days}.",
        f"{earlier}: {conflict.earlier.day.isoformat()} ({conflict.earlier.calendar})",
        f"Earliest eligible date: {conflict.earliest_eligible.isoformat()}",
        f"Ideal window: {low.isoformat()} to {high.isoformat()}",
        f"Patient matched by {conflict.match.value}: {conflict.patient.label}",
        f"Review: {link_base}/conflicts/{conflict_id(conflict)}",
    ]


def _label(policy: Policy, category: str) -> str:
    try:
        return policy.category(category).label
    except KeyError:
        return category


@dataclass(frozen=True, slots=True)
class EventFlagState:
    """What a booking's event holds now, as far as flags are concerned."""

    description: str
    color_id: str | None
    private: Mapping[str, str] = field(default_factory=dict)

    @property
    def flagged(self) -> bool:
        return FLAG_BEGIN in self.description or any(k in self.private for k in _OUR_PROPERTIES)


@dataclass(frozen=True, slots=True)
class FlagPatch:
    """The one change to make to an event; ``None`` values remove a property or colour."""

    description: str
    color_id: str | None
    private: Mapping[str, str | None]


def flag_patch(
    current: EventFlagState, conflicts: Sequence[Conflict], block: str | None, color: str
) -> FlagPatch | None:
    """The change that makes ``current`` carry ``block`` (or no flag when ``block`` is None).

    Returns ``None`` when the event already holds exactly that, so a second run writes
    nothing and the service's own writes, seen again through sync, cause no new write.
    """
    if block is None:
        return _unflag(current) if current.flagged else None
    ids = ",".join(sorted(conflict_id(c) for c in conflicts))
    digest = hashlib.sha256(block.encode()).hexdigest()[:16]
    previous = current.private.get(PREVIOUS_COLOR_PROPERTY)
    if previous is None:
        previous = current.color_id or ""
    wanted = FlagPatch(
        description=with_flag(current.description, block),
        color_id=color,
        private={
            CONFLICT_PROPERTY: ids,
            FLAG_HASH_PROPERTY: digest,
            PREVIOUS_COLOR_PROPERTY: previous,
        },
    )
    return None if _holds(current, wanted) else wanted


def _unflag(current: EventFlagState) -> FlagPatch:
    previous = current.private.get(PREVIOUS_COLOR_PROPERTY)
    color = (previous or None) if previous is not None else current.color_id
    return FlagPatch(
        description=strip_flag(current.description),
        color_id=color,
        private=dict.fromkeys(_OUR_PROPERTIES),
    )


def _holds(current: EventFlagState, wanted: FlagPatch) -> bool:
    return (
        current.description == wanted.description
        and current.color_id == wanted.color_id
        and all(current.private.get(k) == v for k, v in wanted.private.items())
    )
