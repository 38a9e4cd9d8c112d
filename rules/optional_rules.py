"""Rules a clinic can switch on, each with its source; shipped switched off (SPEC §3).

The shipped policy (``rules/default_policy.toml``) carries these as ``[[rules]]`` blocks
with ``enabled = false`` and the ``filler`` category they need, which stays dormant —
its words remain a service, never a treatment — until one of them is on
(:class:`rules.model.Policy`). A clinic switches one on in the policy editor or by
writing ``enabled = true``. The engine needs nothing special for them: a rule whose two
categories are the same (re-treatment) pairs each two bookings once
(:mod:`rules.conflicts`), and a rule may run in either direction between two
categories.

Sources:

* Neuromodulator re-treatment: BOTOX Cosmetic's product information says treatments
  should be spaced at least 90 days apart
  (https://hcp.botoxcosmetic.com/product-information), and its label that repeat
  treatments more often than every 3 months were not evaluated.
* Toxin or filler at least 14 days before microneedling: a common clinic protocol
  (let the product settle before the skin is needled), not a product label.
"""

from __future__ import annotations

from rules.model import Category, Rule

__all__ = ["FILLER", "FILLER_BEFORE_MN", "OPTIONAL_RULES", "RETREATMENT", "TOXIN_BEFORE_MN"]

_LABEL_SOURCE = (
    "BOTOX Cosmetic product information: treatments spaced at least 90 days apart "
    "(https://hcp.botoxcosmetic.com/product-information)"
)
_PROTOCOL_SOURCE = "Clinic protocol: let toxin or filler settle before the skin is needled"

FILLER = Category(
    name="filler",
    label="Filler",
    phrases=("filler", "fillers", "dermal filler", "dermal fillers", "lip filler", "lip fillers"),
)
"""The category the filler rule needs; dormant while only switched-off rules name it."""

RETREATMENT = Rule(
    name="neuromodulator-retreatment",
    earlier="neuromodulator",
    later="neuromodulator",
    min_days=90,
    ideal_days=(90, 120),
    description="Botox re-treatment should wait at least 90 days after the last treatment.",
    source=_LABEL_SOURCE,
)


def _needling_after(earlier: str, label: str) -> Rule:
    """The clinic-protocol rule: microneedling at least 14 days after ``earlier``."""
    return Rule(
        name=f"microneedling-after-{earlier}",
        earlier=earlier,
        later="microneedling",
        min_days=14,
        ideal_days=(14, 28),
        description=f"Microneedling should wait at least 14 days after {label}.",
        source=_PROTOCOL_SOURCE,
    )


TOXIN_BEFORE_MN = _needling_after("neuromodulator", "Botox")
FILLER_BEFORE_MN = _needling_after("filler", "filler")

OPTIONAL_RULES = (RETREATMENT, TOXIN_BEFORE_MN, FILLER_BEFORE_MN)
"""Every optional rule, in the order the shipped policy lists them."""
