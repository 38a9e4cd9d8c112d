"""A policy as the editor's form holds it, and its TOML (SPEC §3).

The policy editor (:mod:`sync.web.admin.policy_pages`) shows a clinic's policy as form
fields — categories with their phrases and exclusions, rules, the patient-id key and
staff domains — and checks what comes back the way every policy is checked: the form is
written out as policy TOML (:func:`draft_text`) and read by the one loader,
:func:`rules.policy.parse_policy`, so the form says exactly what the loader says of a
file. The TOML is written one key to a line and each line remembers the form field it
came from, so a problem is shown next to its field. Values are written as typed: a
``min_days`` of ``"abc"`` becomes the string ``"abc"`` and the loader answers that
``min_days`` must be a whole number.

Pure: no I/O; the form's fields come in as a mapping of names to text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from rules.model import Category, Policy, Rule
from sync.clinics.model import ClinicSettings
from sync.policy_file import toml_string

__all__ = [
    "MAX_CATEGORIES",
    "MAX_RULES",
    "CategoryDraft",
    "PolicyDraft",
    "RuleDraft",
    "draft_from_form",
    "draft_of",
    "draft_text",
]

MAX_CATEGORIES = 100
MAX_RULES = 200
_WHOLE = re.compile(r"[+-]?[0-9]{1,9}")
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class CategoryDraft:
    """One category's fields: ``phrases`` and ``exclusions`` one per line, as typed."""

    name: str = ""
    label: str = ""
    phrases: tuple[str, ...] = ()
    exclusions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RuleDraft:
    """One rule's fields; the numbers are text until the loader has read them."""

    name: str = ""
    earlier: str = ""
    later: str = ""
    min_days: str = ""
    ideal_low: str = ""
    ideal_high: str = ""
    description: str = ""
    source: str = ""
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class PolicyDraft:
    """The whole form: the policy's fields and the two clinic settings it shows."""

    name: str = "policy"
    exclusions: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    categories: tuple[CategoryDraft, ...] = ()
    rules: tuple[RuleDraft, ...] = ()
    patient_id_property: str = "patient_id"
    staff_domains: str = ""


def draft_of(policy: Policy, settings: ClinicSettings) -> PolicyDraft:
    """The form showing ``policy`` and the clinic's patient-id key and staff domains."""
    return PolicyDraft(
        name=policy.name,
        exclusions=policy.exclusions,
        services=policy.services,
        categories=tuple(_category_draft(c) for c in (*policy.categories, *policy.dormant)),
        rules=(
            *(_rule_draft(rule, enabled=True) for rule in policy.rules),
            *(_rule_draft(rule, enabled=False) for rule in policy.switched_off),
        ),
        patient_id_property=settings.patient_id_property,
        staff_domains=", ".join(sorted(settings.staff_domains)),
    )


def _category_draft(category: Category) -> CategoryDraft:
    label = "" if category.label == category.name else category.label
    return CategoryDraft(category.name, label, category.phrases, category.exclusions)


def _rule_draft(rule: Rule, *, enabled: bool) -> RuleDraft:
    low, high = rule.ideal_days
    return RuleDraft(
        rule.name, rule.earlier, rule.later, str(rule.min_days), str(low), str(high),
        rule.description, rule.source, enabled,
    )  # fmt: skip


def draft_from_form(fields: Mapping[str, str]) -> PolicyDraft:
    """The draft a submitted form holds; blank rows and rows ticked "remove" are left out."""
    return PolicyDraft(
        name=fields.get("name", "").strip(),
        exclusions=_lines(fields.get("exclusions", "")),
        services=_lines(fields.get("services", "")),
        categories=tuple(_rows(fields, "cat", MAX_CATEGORIES, _category_row)),
        rules=tuple(_rows(fields, "rule", MAX_RULES, _rule_row)),
        patient_id_property=fields.get("patient_id_property", "").strip(),
        staff_domains=fields.get("staff_domains", "").strip(),
    )


def _rows(
    fields: Mapping[str, str], prefix: str, most: int, read: Callable[[dict[str, str]], _T]
) -> Iterator[_T]:
    for number in range(most + 1):
        row = {
            key[len(f"{prefix}-{number}-") :]: value.strip()
            for key, value in fields.items()
            if key.startswith(f"{prefix}-{number}-")
        }
        if row.get("remove") or not any(v for k, v in row.items() if k != "enabled"):
            continue
        yield read(row)


def _category_row(row: dict[str, str]) -> CategoryDraft:
    return CategoryDraft(
        name=row.get("name", ""),
        label=row.get("label", ""),
        phrases=_lines(row.get("phrases", "")),
        exclusions=_lines(row.get("exclusions", "")),
    )


def _rule_row(row: dict[str, str]) -> RuleDraft:
    return RuleDraft(
        name=row.get("name", ""), earlier=row.get("earlier", ""), later=row.get("later", ""),
        min_days=row.get("min_days", ""), ideal_low=row.get("ideal_low", ""),
        ideal_high=row.get("ideal_high", ""), description=row.get("description", ""),
        source=row.get("source", ""), enabled=bool(row.get("enabled")),
    )  # fmt: skip


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.splitlines() if line.strip())


@dataclass(slots=True)
class _Writer:
    lines: list[str] = field(default_factory=list)
    fields: dict[int, str] = field(default_factory=dict)

    def add(self, line: str, field_id: str = "") -> None:
        self.lines.append(line)
        if field_id:
            self.fields[len(self.lines)] = field_id


def draft_text(draft: PolicyDraft) -> tuple[str, dict[int, str]]:
    """The draft as policy TOML, and the form field (its ``id``) of each numbered line."""
    out = _Writer()
    out.add(f"name = {toml_string(draft.name)}", "name")
    out.add(f"exclusions = {_array(draft.exclusions)}", "exclusions")
    out.add(f"services = {_array(draft.services)}", "services")
    for number, category in enumerate(draft.categories):
        _write_category(out, f"cat-{number}", category)
    for number, rule in enumerate(draft.rules):
        _write_rule(out, f"rule-{number}", rule)
    return "\n".join(out.lines) + "\n", out.fields


def _write_category(out: _Writer, row: str, category: CategoryDraft) -> None:
    out.add("")
    out.add(f"[categories.{toml_string(category.name)}]", f"{row}-name")
    if category.label:
        out.add(f"label = {toml_string(category.label)}", f"{row}-label")
    out.add(f"phrases = {_array(category.phrases)}", f"{row}-phrases")
    out.add(f"exclusions = {_array(category.exclusions)}", f"{row}-exclusions")


def _write_rule(out: _Writer, row: str, rule: RuleDraft) -> None:
    out.add("")
    out.add("[[rules]]", f"{row}-name")
    for key in ("name", "earlier", "later"):
        out.add(f"{key} = {toml_string(getattr(rule, key))}", f"{row}-{key}")
    out.add(f"min_days = {_number(rule.min_days)}", f"{row}-min_days")
    ideal = f"[{_number(rule.ideal_low)}, {_number(rule.ideal_high)}]"
    out.add(f"ideal_days = {ideal}", f"{row}-ideal_low")
    if rule.description:
        out.add(f"description = {toml_string(rule.description)}", f"{row}-description")
    if rule.source:
        out.add(f"source = {toml_string(rule.source)}", f"{row}-source")
    out.add(f"enabled = {'true' if rule.enabled else 'false'}", f"{row}-enabled")


def _array(items: Sequence[str]) -> str:
    return "[" + ", ".join(toml_string(item) for item in items) + "]"


def _number(text: str) -> str:
    """A whole number as TOML writes one; anything else as text, for the loader to refuse."""
    return str(int(text)) if _WHOLE.fullmatch(text) else toml_string(text)
