"""colors.get: the palette behind ``colorId`` on calendars and events.

Follows https://developers.google.com/calendar/api/v3/reference/colors (a ``calendar#colors``
resource: ``calendar`` ids 1–24 and ``event`` ids 1–11, each with background and foreground).
The values are the ones Google serves; event colour 11 is the red clinic-sync flags with.
"""

from __future__ import annotations

from typing import Any

__all__ = ["EVENT_COLOR_IDS", "colors_resource"]

_CALENDAR_BACKGROUNDS = (
    "#ac725e", "#d06b64", "#f83a22", "#fa573c", "#ff7537", "#ffad46", "#42d692", "#16a765",
    "#7bd148", "#b3dc6c", "#fbe983", "#fad165", "#92e1c0", "#9fe1e7", "#9fc6e7", "#4986e7",
    "#9a9cff", "#b99aff", "#c2c2c2", "#cabdbf", "#cca6ac", "#f691b2", "#cd74e6", "#a47ae2",
)  # fmt: skip
_EVENT_BACKGROUNDS = (
    "#a4bdfc", "#7ae7bf", "#dbadff", "#ff887c", "#fbd75b", "#ffb878", "#46d6db", "#e1e1e1",
    "#5484ed", "#51b749", "#dc2127",
)  # fmt: skip
EVENT_COLOR_IDS = frozenset(str(n) for n in range(1, len(_EVENT_BACKGROUNDS) + 1))
_UPDATED = "2012-02-14T00:00:00.000Z"  # the palette has not changed since the API's v3


def colors_resource() -> dict[str, Any]:
    """The ``calendar#colors`` resource."""
    return {
        "kind": "calendar#colors",
        "updated": _UPDATED,
        "calendar": _palette(_CALENDAR_BACKGROUNDS, "#000000"),
        "event": _palette(_EVENT_BACKGROUNDS, "#1d1d1d"),
    }


def _palette(backgrounds: tuple[str, ...], foreground: str) -> dict[str, dict[str, str]]:
    return {
        str(n): {"background": bg, "foreground": foreground}
        for n, bg in enumerate(backgrounds, start=1)
    }
