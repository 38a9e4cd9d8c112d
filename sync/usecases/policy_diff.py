"""What changed between two versions of a clinic's policy, in plain lines (SPEC §3, §8).

The audit trail records who changed a clinic's policy and what they changed: one line
per change ("rule 'x': min_days 14 → 21", "category 'filler': phrases added: …"), in
a fixed order (policy name, word lists, categories, rules, settings), so the trail reads
like a review of the change. Pure: two policies (and settings) in, lines out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from rules.model import Category, Policy, Rule

__all__ = ["describe_changes"]

_RULE_FIELDS = ("earlier", "later", "min_days", "ideal_days", "description", "source")


def describe_changes(
    old: Policy, new: Policy, settings: Mapping[str, tuple[str, str]] | None = None
) -> list[str]:
    """Each change from ``old`` to ``new``; ``settings``: name → (before, after) as text."""
    lines: list[str] = []
    if old.name != new.name:
        lines.append(f"name: {old.name!r} → {new.name!r}")
    lines += _words("exclusions", old.exclusions, new.exclusions)
    lines += _words("services", old.services, new.services)
    lines += _categories(_all_categories(old), _all_categories(new))
    lines += _rules(old, new)
    for name, (before, after) in (settings or {}).items():
        lines.append(f"{name}: {before or '—'} → {after or '—'}")
    return lines


def _words(what: str, old: Sequence[str], new: Sequence[str]) -> Iterator[str]:
    added = [word for word in new if word not in old]
    removed = [word for word in old if word not in new]
    if added:
        yield f"{what} added: {', '.join(added)}"
    if removed:
        yield f"{what} removed: {', '.join(removed)}"


def _all_categories(policy: Policy) -> dict[str, Category]:
    return {c.name: c for c in (*policy.categories, *policy.dormant)}


def _categories(old: dict[str, Category], new: dict[str, Category]) -> Iterator[str]:
    for name in sorted(new.keys() - old.keys()):
        yield f"category {name!r} added ({', '.join(new[name].phrases)})"
    for name in sorted(old.keys() - new.keys()):
        yield f"category {name!r} removed"
    for name in sorted(old.keys() & new.keys()):
        before, after = old[name], new[name]
        if before.label != after.label:
            yield f"category {name!r}: label {before.label!r} → {after.label!r}"
        yield from _words(f"category {name!r}: phrases", before.phrases, after.phrases)
        yield from _words(f"category {name!r}: exclusions", before.exclusions, after.exclusions)


def _rules(old: Policy, new: Policy) -> Iterator[str]:
    before = _all_rules(old)
    after = _all_rules(new)
    for name, (rule, on) in after.items():
        if name not in before:
            state = "" if on else ", switched off"
            yield f"rule {name!r} added ({_rule_text(rule)}{state})"
    for name in sorted(before.keys() - after.keys()):
        yield f"rule {name!r} removed"
    for name, (rule, on) in after.items():
        if name in before:
            yield from _rule_changes(name, before[name], (rule, on))


def _all_rules(policy: Policy) -> dict[str, tuple[Rule, bool]]:
    found = {rule.name: (rule, True) for rule in policy.rules}
    found.update((rule.name, (rule, False)) for rule in policy.switched_off)
    return found


def _rule_changes(name: str, old: tuple[Rule, bool], new: tuple[Rule, bool]) -> Iterator[str]:
    (before, was_on), (after, is_on) = old, new
    if was_on != is_on:
        yield f"rule {name!r} switched {'on' if is_on else 'off'}"
    for key in _RULE_FIELDS:
        then, now = getattr(before, key), getattr(after, key)
        if then != now:
            yield f"rule {name!r}: {key} {_shown(then)} → {_shown(now)}"


def _rule_text(rule: Rule) -> str:
    return f"{rule.later} at least {rule.min_days} days after {rule.earlier}"


def _shown(value: object) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(str(part) for part in value) + "]"
    return repr(value) if isinstance(value, str) else str(value)
