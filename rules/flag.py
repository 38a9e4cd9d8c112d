"""The flag block clinic-sync writes into an event description (SPEC §6).

The block sits between two fixed marker lines so it can be found, replaced and removed
without touching the text staff wrote around it. Text inside the block is never read as
booking text (SPEC §3).
"""

from __future__ import annotations

__all__ = ["FLAG_BEGIN", "FLAG_END", "strip_flag"]

FLAG_BEGIN = "⚠ ── clinic-sync flag ── do not edit below ──"
FLAG_END = "── end of clinic-sync flag ──"


def strip_flag(description: str) -> str:
    """Return ``description`` without any clinic-sync flag block (and the markers)."""
    lines = description.splitlines()
    kept: list[str] = []
    inside = False
    for line in lines:
        marker = line.strip()
        if marker == FLAG_BEGIN:
            inside = True
        elif marker == FLAG_END and inside:
            inside = False
        elif not inside:
            kept.append(line)
    return "\n".join(kept)
