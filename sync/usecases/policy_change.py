"""Changing a clinic's policy: check it, preview it over stored bookings, save it (SPEC §3, §8).

Every way a policy changes — the command line's ``clinics set --policy``, the editor's
form, an uploaded TOML file, restoring an old version, going back to the default —
ends in :func:`change_policy`: the text is read by the one loader, stored as the
clinic's next policy version (with the patient-id key and staff domains when they
change too), and one ``policy.changed`` line of the audit trail says who did it, how,
and what changed (:func:`sync.usecases.policy_diff.describe_changes`). Storing a new
version raises the clinic's version, which is how every worker and feed picks the new
policy up (:class:`sync.clinics.directory.ClinicDirectory`).

Before saving, :func:`preview` says what the proposal would do: the pure rules engine
runs over the clinic's stored bookings once with the policy in force and once with the
proposal, and the conflicts only the proposal finds would appear, those only the
current policy finds would resolve. Nothing is written, to the store or a calendar.

Errors::

    InputError
    └── PolicyProblem   the proposal cannot be used: the loader's words, and the form field
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Engine
from sqlmodel import Session

from rules.assess import Scope, assess
from rules.model import Conflict, Policy
from rules.patients import IdentityOptions
from rules.policy import PolicyError, parse_policy
from sync.clinics.model import ClinicSettings
from sync.clinics.profile import ClinicProfile, load_profile
from sync.clinics.settings import read_setting
from sync.errors import InputError, PolicyFileError
from sync.policy_file import DEFAULT_POLICY_NAME, default_policy_text
from sync.store.audit import record_audit_event
from sync.store.clinics import (
    clinic_by_id,
    clinic_policy,
    set_clinic_policy,
    update_clinic_settings,
)
from sync.store.conflicts import load_copies
from sync.store.database import session_scope
from sync.usecases.affected import choose_copies
from sync.usecases.policy_diff import describe_changes
from sync.usecases.policy_draft import PolicyDraft, draft_text

__all__ = [
    "FORM_SOURCE",
    "PolicyChange",
    "PolicyProblem",
    "Preview",
    "PreviewItem",
    "Proposal",
    "change_policy",
    "current_profile",
    "describe_proposal",
    "editor_settings",
    "preview",
    "propose_default",
    "propose_draft",
    "propose_text",
]

FORM_SOURCE = "the policy form"
_EDITOR_SETTINGS = ("patient_id_property", "staff_domains")


class PolicyProblem(InputError):
    """A proposed policy the loader refuses: ``problem`` in its words, ``field`` at fault."""

    def __init__(self, message: str, problem: str, field_id: str | None = None) -> None:
        super().__init__(message)
        self.problem = problem
        self.field_id = field_id


@dataclass(frozen=True, slots=True)
class Proposal:
    """A checked policy ready to preview or save; ``text`` ``None`` is the shipped default."""

    text: str | None
    policy: Policy
    settings: Mapping[str, object] = field(default_factory=dict)
    """Clinic settings the proposal changes (checked values), by name."""


def propose_draft(draft: PolicyDraft, current: ClinicSettings) -> Proposal:
    """The editor's form as a proposal; :class:`PolicyProblem` naming the field at fault."""
    text, fields = draft_text(draft)
    try:
        policy = parse_policy(text, FORM_SOURCE)
    except PolicyError as err:
        field_id = None if err.line is None else fields.get(err.line)
        raise PolicyProblem(err.problem, err.problem, field_id) from err
    return Proposal(text, policy, editor_settings(draft, current))


def editor_settings(draft: PolicyDraft, current: ClinicSettings) -> dict[str, object]:
    """The patient-id key and staff domains of ``draft`` that differ from ``current``."""
    changed: dict[str, object] = {}
    for name in _EDITOR_SETTINGS:
        try:
            value = read_setting(name, getattr(draft, name))
        except InputError as err:
            raise PolicyProblem(str(err), str(err), name) from err
        if value != getattr(current, name):
            changed[name] = value
    return changed


def propose_text(text: str, source: str) -> Proposal:
    """A TOML file's text as a proposal; :class:`PolicyProblem` with ``source:line: problem``."""
    text = text.replace("\r\n", "\n")
    try:
        return Proposal(text, parse_policy(text, source))
    except PolicyError as err:
        raise PolicyProblem(str(err), err.problem) from err


def propose_default() -> Proposal:
    """Back to the policy shipped with the rules package."""
    shipped = parse_policy(default_policy_text(), f"rules/{DEFAULT_POLICY_NAME}")
    return Proposal(None, shipped)


def current_profile(session: Session, clinic_id: int) -> tuple[ClinicProfile, str | None]:
    """The clinic's profile to edit its policy from, and why its policy in force cannot be
    read (``None`` when it can). A stored policy the loader now refuses (the rules grew
    stricter since it was saved) stops the clinic's sync; the editor shows the shipped
    default in its place and compares with it, so an admin can save one that reads."""
    clinic = clinic_by_id(session, clinic_id)
    try:
        return load_profile(session, clinic), None
    except PolicyFileError as err:
        stored = clinic_policy(session, clinic_id)
        version = 0 if stored is None else stored.version
        return ClinicProfile(clinic, propose_default().policy, version), str(err)


@dataclass(frozen=True, slots=True, order=True)
class PreviewItem:
    """A conflict the proposal would open or resolve, as the preview lists it (by day)."""

    later: date
    earlier: date
    rule: str
    patient: str
    gap_days: int


@dataclass(frozen=True, slots=True)
class Preview:
    """What saving a proposal would change over the clinic's current bookings."""

    appear: list[PreviewItem]
    resolve: list[PreviewItem]
    unchanged: int
    bookings: int


def preview(engine: Engine, clinic_id: int, proposal: Proposal, now: datetime) -> Preview:
    """The conflicts that would appear and resolve with ``proposal`` (nothing is written)."""
    with session_scope(engine) as session:
        profile, _ = current_profile(session, clinic_id)
        copies = load_copies(session, clinic_id)
    chosen = choose_copies(copy for copy in copies if not copy.deleted)
    bookings = [copy.booking for copy in chosen.values()]
    scope = _scope(profile, now)
    domains = proposal.settings.get("staff_domains")
    options = IdentityOptions(domains) if isinstance(domains, frozenset) else profile.identity
    before = _found(assess(bookings, profile.policy, scope, options=profile.identity).conflicts)
    after = _found(assess(bookings, proposal.policy, scope, options=options).conflicts)
    return Preview(
        appear=sorted(_item(after[key]) for key in after.keys() - before.keys()),
        resolve=sorted(_item(before[key]) for key in before.keys() - after.keys()),
        unchanged=len(after.keys() & before.keys()),
        bookings=len(bookings),
    )


def _scope(profile: ClinicProfile, now: datetime) -> Scope:
    """The days a sync pass scans (as :mod:`sync.usecases.cycle` does)."""
    return Scope(
        today=profile.today(now),
        days_back=profile.settings.scan_days_back,
        days_ahead=profile.settings.scan_days_ahead,
    )


def _found(conflicts: list[Conflict]) -> dict[tuple[str, str, str], Conflict]:
    return {conflict.key: conflict for conflict in conflicts}


def _item(conflict: Conflict) -> PreviewItem:
    return PreviewItem(
        rule=conflict.rule.name,
        patient=conflict.patient.label,
        earlier=conflict.earlier.day,
        later=conflict.later.day,
        gap_days=conflict.gap_days,
    )


@dataclass(frozen=True, slots=True)
class PolicyChange:
    """A saved policy version and what it changed, one plain line per change."""

    version: int
    changes: list[str]


def change_policy(
    session: Session,
    clinic_id: int,
    proposal: Proposal,
    *,
    by: str,
    how: str,
    now: datetime,
) -> PolicyChange:
    """Store ``proposal`` as the clinic's next policy version and audit who, how and what."""
    changes = describe_proposal(current_profile(session, clinic_id)[0], proposal)
    if proposal.settings:
        update_clinic_settings(session, clinic_id, proposal.settings, now=now)
    stored = set_clinic_policy(session, clinic_id, proposal.text, by=by, now=now)
    detail = {"policy_version": stored.version, "how": how, "changes": changes or ["no change"]}
    record_audit_event(session, clinic_id, by, "policy.changed", detail=detail, at=now)
    return PolicyChange(stored.version, changes)


def describe_proposal(current: ClinicProfile, proposal: Proposal) -> list[str]:
    """What saving ``proposal`` changes in the clinic ``current`` shows, one line per change."""
    shown = {
        name: (_text(getattr(current.settings, name)), _text(value))
        for name, value in proposal.settings.items()
    }
    changes = describe_changes(current.policy, proposal.policy, shown)
    if proposal.text is None:
        changes.insert(0, "back to the shipped default policy")
    return changes


def _text(value: object) -> str:
    if isinstance(value, frozenset):
        return ",".join(sorted(value))
    return str(value)
