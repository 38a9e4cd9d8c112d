"""A flag as iCalendar properties: reading it off a VEVENT and writing a patch into one (SPEC §6).

The flag's three parts map to RFC 5545 / RFC 7986 properties of the booking's VEVENT
(the override of one instance, for a recurring booking):

- the description block → ``DESCRIPTION`` (the block itself is built by :mod:`rules.flag`);
- the colour → ``COLOR`` (RFC 7986 §5.9: a CSS3 colour name). The flag speaks Google's
  ``colorId``; :data:`CSS_COLORS` gives each of Google's eleven event colours its CSS3
  name (11 is "tomato", as Google calls it) and a value that is not an id passes
  through as the name it is, so any colour staff set is restored as it was;
- private properties → ``X-CLINIC-SYNC-*`` properties (:func:`sync.ical.mapping.x_name`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rules.flag import EventFlagState, FlagPatch
from sync.ical.mapping import FLAG_PREFIX, private_name, x_name

__all__ = ["CSS_COLORS", "apply_patch", "color_id", "css_color", "flag_state"]

CSS_COLORS: Mapping[str, str] = {
    "1": "lavender",
    "2": "darkseagreen",
    "3": "mediumpurple",
    "4": "lightcoral",
    "5": "gold",
    "6": "orangered",
    "7": "darkturquoise",
    "8": "gray",
    "9": "royalblue",
    "10": "seagreen",
    "11": "tomato",
}
_IDS = {name: identifier for identifier, name in CSS_COLORS.items()}


def css_color(identifier: str) -> str:
    """The ``COLOR`` value for a flag colour (a Google colorId, or a CSS name as it is)."""
    return CSS_COLORS.get(identifier, identifier)


def color_id(color: str | None) -> str | None:
    """The flag colour a ``COLOR`` value stands for; ``None`` when the event has none."""
    if not color:
        return None
    return _IDS.get(color.strip().lower(), color.strip())


def flag_state(event: Any) -> EventFlagState:
    """What a VEVENT holds, as far as flags are concerned."""
    private = {
        private_name(str(name)): str(value)
        for name, value in event.items()
        if str(name).upper().startswith(FLAG_PREFIX)
    }
    color = event.get("COLOR")
    return EventFlagState(
        description=str(event.get("DESCRIPTION") or ""),
        color_id=color_id(str(color) if color is not None else None),
        private=private,
    )


def apply_patch(event: Any, patch: FlagPatch) -> None:
    """Write ``patch`` into ``event``: description, colour and X- properties; ``None`` removes."""
    _set(event, "DESCRIPTION", patch.description or None)
    _set(event, "COLOR", css_color(patch.color_id) if patch.color_id else None)
    for name, value in patch.private.items():
        _set(event, x_name(name), value)


def _set(event: Any, name: str, value: str | None) -> None:
    if name in event:
        del event[name]
    if value is not None:
        event.add(name, value)
