"""Booking noise: the words of a title that are neither a treatment nor a name (SPEC §4 point 4).

SPEC §4 names units ("20u", "50 units"), "appt", "appointment", "session", "#2",
"follow-up", "touch-up", volumes ("1ml") and descriptive notes ("new pt", "full face",
"review"). Staff add more of the same kind beside a treatment: who the patient is to the
clinic, the area treated, the booking's state. All are joined forms (tokens without the
spaces and hyphens between them), matched exactly.
"""

from __future__ import annotations

__all__ = ["CONNECTORS", "NOISE", "NOISE_MAX_TOKENS", "UNITS"]

CONNECTORS = frozenset({"w", "with", "for"})
"""The words that join a title's parts ("w/ Jane Doe", "Botox for Jane Doe")."""
NOISE = frozenset(
    {
        "newpt",
        "newpts",
        "newclient",
        "newclients",
        "existingpt",
        "existingpatient",
        "existingclient",
        "returningpt",
        "returningpatient",
        "returningclient",
        "pt",
        "fullface",
        "halfface",
        "upperface",
        "lowerface",
        "midface",
        "forehead",
        "glabella",
        "frownlines",
        "crowsfeet",
        "crow'sfeet",
        "undereye",
        "undereyes",
        "jawline",
        "masseter",
        "masseters",
        "maintenance",
        "moved",
        "rescheduled",
        "resched",
        "tbc",
        "confirmed",
        "unconfirmed",
        "depositpaid",
        "walkin",
        "reviews",
        "appt",
        "appts",
        "appointment",
        "appointments",
        "session",
        "sessions",
        "treatment",
        "treatments",
        "followup",
        "followups",
        "touchup",
        "touchups",
        "topup",
        "topups",
        "review",
        "newpatient",
    }
)
# Units and counters only count as noise next to a number ("20 u", "x2", "2nd").
UNITS = frozenset(
    {
        "u",
        "iu",
        "unit",
        "units",
        "vial",
        "vials",
        "syringe",
        "syringes",
        "area",
        "areas",
        "ml",
        "cc",
        "mg",
        "x",
        "st",
        "nd",
        "rd",
        "th",
    }
)
NOISE_MAX_TOKENS = 2
"""A noise form spans at most this many tokens ("new pt", "crow's feet")."""
