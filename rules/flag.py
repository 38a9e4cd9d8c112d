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
from rules.slots import SAFE_DATE_LINE, SafeDate, render_safe_date

__all__ = [
    "CONFLICT_PROPERTY",
    "FLAG_BEGIN",
    "FLAG_END",
    "FLAG_HASH_PROPERTY",
    "LONE_MARKER_WARNING",
    "PREVIOUS_COLOR_PROPERTY",
    "EventFlagState",
    "FlagPatch",
    "carries_flag",
    "conflict_id",
    "flag_patch",
    "flag_safe_lines",
    "render_flag",
    "split_flag",
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
# so it is found by its markers wherever they stand.
#
# A start marker whose end marker staff deleted is read conservatively: only whole
# conflict entries in the exact form :func:`_describe` writes are taken for ours, and the
# first line that is not part of one ends the block — what follows is staff text, kept.
_ENTRY: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern)
    for pattern in (
        r".+ booked \d+ days after .+; the rule '.+' asks for at least \d+\.",
        r".+: \d{4}-\d{2}-\d{2} \(.*\)",
        r"Earliest eligible date: \d{4}-\d{2}-\d{2}",
        r"Ideal window: \d{4}-\d{2}-\d{2} to \d{4}-\d{2}-\d{2}",
        SAFE_DATE_LINE.pattern,
        r"Patient matched by [^:\n]+: .*",
        r"Review: \S*/conflicts/c[0-9a-f]{20}",
    )
)
_OPTIONAL = frozenset({SAFE_DATE_LINE.pattern})
"""Entry lines a flag written before they existed lacks (the safe date's)."""
_REVIEW = re.compile(r"Review: \S*/conflicts/(c[0-9a-f]{20})")
LONE_MARKER_WARNING = (
    "the flag's end marker was deleted: text below the flag was kept as staff text"
)


def strip_flag(description: str) -> str:
    """``description`` without any clinic-sync flag block: the staff's text, as written."""
    return split_flag(description)[0]


def split_flag(description: str) -> tuple[str, bool]:
    """The staff's text, and whether text below a lone start marker was kept as theirs."""
    text, kept_below = description, False
    while (start := text.find(FLAG_BEGIN)) >= 0:
        after = start + len(FLAG_BEGIN)
        following = text.find(FLAG_BEGIN, after)
        limit = len(text) if following < 0 else following
        end = text.find(FLAG_END, after, limit)
        if end >= 0:
            stop = end + len(FLAG_END)
            stop += text.startswith("\n", stop)
            text = _join(text[:start], text[stop:])
            continue
        stop = _entries_end(text, after, limit)
        below = text[stop:limit].strip() != ""
        kept_below = kept_below or below
        text = _join(text[:start], text[stop:], below=below)
    return text, kept_below


def _entries_end(text: str, start: int, limit: int) -> int:
    """Where the whole conflict entries written after a start marker at ``start`` end."""
    lines = text[start:limit].split("\n")
    at, position, taken = start, 0, start
    if lines and lines[0] == "":  # the newline right after the marker
        at += 1
        position = 1
    while (used := _entry_at(lines, position)) > 0:
        at += sum(len(line) + 1 for line in lines[position : position + used])
        position += used
        taken = min(at, limit)
    return taken


def _entry_at(lines: Sequence[str], position: int) -> int:
    """How many lines from ``position`` make one whole entry; 0 when they do not."""
    used = 0
    for pattern in _ENTRY:
        line = lines[position + used] if position + used < len(lines) else None
        if line is not None and pattern.fullmatch(line):
            used += 1
        elif pattern.pattern not in _OPTIONAL:
            return 0
    return used


def _join(head: str, tail: str, *, below: bool = False) -> str:
    # The blank line before the block is ours when the block ends the text; when staff
    # wrote on after it, it now separates their two paragraphs.
    separated = head.endswith("\n\n")
    if separated:
        head = head[:-2]
    if below:
        head, tail = head.rstrip("\n"), tail.lstrip("\n")
        return f"{head}\n\n{tail}" if head else tail
    if not tail:
        return head
    return f"{head}\n\n{tail}" if separated else head + tail


def with_flag(description: str, block: str) -> str:
    """The staff's text followed by ``block`` (replacing any block already there)."""
    staff = strip_flag(description)
    return f"{staff}\n\n{block}" if staff else block


def conflict_id(conflict: Conflict) -> str:
    """A stable, opaque id for a conflict: the same (rule, earlier, later) gives the same id."""
    digest = hashlib.sha256("\x1f".join(conflict.key).encode()).hexdigest()
    return f"c{digest[:20]}"


def render_flag(
    conflicts: Sequence[Conflict],
    policy: Policy,
    link_base: str,
    safe_dates: Mapping[str, SafeDate] | None = None,
) -> str:
    """The block for one booking that is the later side of ``conflicts`` (SPEC §6).

    ``safe_dates`` maps conflict ids to the first free slots to rebook on; a conflict
    without one gets no such line.
    """
    lines = [FLAG_BEGIN]
    for conflict in sorted(conflicts, key=lambda c: (c.earlier.day, c.key)):
        safe = (safe_dates or {}).get(conflict_id(conflict))
        lines += _describe(conflict, policy, link_base.rstrip("/"), safe)
    lines.append(FLAG_END)
    return "\n".join(lines)


def _describe(
    conflict: Conflict, policy: Policy, link_base: str, safe: SafeDate | None
) -> list[str]:
    rule = conflict.rule
    later, earlier = _label(policy, rule.later), _label(policy, rule.earlier)
    low, high = conflict.ideal_window
    return [
        f"{later} booked {conflict.gap_days} days after {earlier}; "
        f"the rule '{rule.name}' asks for at least {rule.min_days}.",
        f"{earlier}: {conflict.earlier.day.isoformat()} ({conflict.earlier.calendar})",
        f"Earliest eligible date: {conflict.earliest_eligible.isoformat()}",
        f"Ideal window: {low.isoformat()} to {high.isoformat()}",
        *([render_safe_date(safe)] if safe is not None else []),
        f"Patient matched by {conflict.match.value}: {conflict.patient.label}",
        f"Review: {link_base}/conflicts/{conflict_id(conflict)}",
    ]


def flag_safe_lines(description: str) -> dict[str, str]:
    """The safe-date line a flag in ``description`` carries for each conflict id it names.

    Read so a flag's slots, once written, can be written again unchanged (SPEC §6).
    """
    found: dict[str, str] = {}
    start = description.find(FLAG_BEGIN)
    end = description.find(FLAG_END, start) if start >= 0 else -1
    if end < 0:
        return found
    line: str | None = None
    for text in description[start:end].split("\n"):
        if SAFE_DATE_LINE.fullmatch(text):
            line = text
        elif (review := _REVIEW.fullmatch(text)) is not None:
            if line is not None:
                found[review[1]] = line
            line = None
    return found


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
        return carries_flag(self.description, self.private)


def carries_flag(description: str, private: Mapping[str, str]) -> bool:
    """Whether an event with this description and these private properties carries any of
    a flag's parts (:attr:`EventFlagState.flagged`, asked of every booking a pass reads)."""
    return FLAG_BEGIN in description or any(key in private for key in _OUR_PROPERTIES)


@dataclass(frozen=True, slots=True)
class FlagPatch:
    """The one change to make to an event; ``None`` values remove a property or colour."""

    description: str
    color_id: str | None
    private: Mapping[str, str | None]
    warnings: tuple[str, ...] = ()
    """What the write should tell an admin about (staff text kept below a lone marker)."""


def flag_patch(
    current: EventFlagState, conflicts: Sequence[Conflict], block: str | None, color: str
) -> FlagPatch | None:
    """The change that makes ``current`` carry ``block`` (or no flag when ``block`` is None).

    Returns ``None`` when the event already holds exactly that, so a second run writes
    nothing and the service's own writes, seen again through sync, cause no new write.
    """
    if block is None:
        return _unflag(current, color) if current.flagged else None
    ids = ",".join(sorted(conflict_id(c) for c in conflicts))
    digest = hashlib.sha256(block.encode()).hexdigest()[:16]
    previous = current.private.get(PREVIOUS_COLOR_PROPERTY)
    if previous is None:
        previous = current.color_id or ""
    staff, kept_below = split_flag(current.description)
    wanted = FlagPatch(
        description=f"{staff}\n\n{block}" if staff else block,
        color_id=_flag_color(current, color),
        private={
            CONFLICT_PROPERTY: ids,
            FLAG_HASH_PROPERTY: digest,
            PREVIOUS_COLOR_PROPERTY: previous,
        },
        warnings=(LONE_MARKER_WARNING,) if kept_below else (),
    )
    return None if _holds(current, wanted) else wanted


def _staff_recoloured(current: EventFlagState, color: str) -> bool:
    """Whether staff chose a colour for the event since it was flagged (SPEC §6)."""
    ours = PREVIOUS_COLOR_PROPERTY in current.private
    return ours and current.color_id is not None and current.color_id != color


def _flag_color(current: EventFlagState, color: str) -> str | None:
    # A colour staff picked while the flag was on is theirs: the flag's block and
    # properties still say it is flagged, and rewriting the block keeps their colour.
    return current.color_id if _staff_recoloured(current, color) else color


def _unflag(current: EventFlagState, color: str) -> FlagPatch:
    previous = current.private.get(PREVIOUS_COLOR_PROPERTY)
    if _staff_recoloured(current, color) or previous is None:
        restored = current.color_id
    else:
        restored = previous or None
    staff, kept_below = split_flag(current.description)
    return FlagPatch(
        description=staff,
        color_id=restored,
        private=dict.fromkeys(_OUR_PROPERTIES),
        warnings=(LONE_MARKER_WARNING,) if kept_below else (),
    )


def _holds(current: EventFlagState, wanted: FlagPatch) -> bool:
    return (
        current.description == wanted.description
        and current.color_id == wanted.color_id
        and all(current.private.get(k) == v for k, v in wanted.private.items())
    )
