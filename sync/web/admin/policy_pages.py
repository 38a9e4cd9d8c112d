"""The policy editor: a clinic's policy in a form, previewed before it is saved (SPEC §3, §8).

``/admin/policy`` shows the policy of the clinic in view — categories with their phrases
and exclusions, rules (with the optional ones and their sources), the patient-id key and
the staff domains — with its versions. Every change goes the same way: the form, an
uploaded TOML file, an old version or the shipped default becomes a proposal, checked by
the policy loader (:mod:`sync.usecases.policy_change`), and is shown with its *preview*:
the conflicts it would open and resolve over the clinic's stored bookings. Only the
preview's "Save as new version" stores it, re-checked, as the clinic's next version,
audited with the admin's e-mail and what changed. Export downloads the policy in force
as TOML.

Reading needs a member of the clinic; anything else needs its admin and the session's
CSRF token (403 for an auditor). Versions are looked up within the clinic in view only,
so another clinic's version answers 404 like a missing one. Policy text is the clinic's
own but rendered inert like calendar text (autoescape, no script).
"""

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Request, Response, UploadFile

from sync.clinics.profile import ClinicProfile
from sync.errors import PolicyFileError
from sync.policy_file import default_policy_text
from sync.store.clinics import StoredPolicy, policy_history
from sync.store.database import session_scope
from sync.store.users import WebSession
from sync.usecases.policy_change import (
    PolicyProblem,
    Proposal,
    change_policy,
    current_profile,
    describe_proposal,
    editor_settings,
    preview,
    propose_default,
    propose_draft,
    propose_text,
)
from sync.usecases.policy_draft import PolicyDraft, draft_from_form, draft_of
from sync.web.admin.access import NotAllowed, page_caller
from sync.web.admin.auth import PageError, check_csrf
from sync.web.admin.context import AdminContext
from sync.web.admin.pages import not_allowed, page_values, signed_in_for
from sync.web.admin.views import SECURITY_HEADERS, render

__all__ = ["policy_pages"]

MAX_UPLOAD_BYTES = 200_000
_DEFAULT = "default"


async def _form_fields(request: Request) -> dict[str, str]:
    """Every text field of a URL-encoded form (the editor's rows are numbered, not declared)."""
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


def policy_pages(context: AdminContext) -> APIRouter:
    """The policy editor's router."""
    router = APIRouter(prefix="/admin", include_in_schema=False)
    signed_in = Annotated[WebSession, Depends(signed_in_for(context))]
    fields_of = Annotated[dict[str, str], Depends(_form_fields)]

    @router.get("/policy")
    def editor(web: signed_in) -> Response:
        return _editor(context, web)

    @router.post("/policy/preview")
    def preview_form(web: signed_in, fields: fields_of) -> Response:
        profile = _acting(context, web, fields.get("csrf_token"))
        draft = draft_from_form(fields)
        try:
            proposal = propose_draft(draft, profile.settings)
        except PolicyProblem as err:
            return _editor(context, web, draft=draft, problem=err, status=422)
        return _preview(context, web, profile, proposal, "the policy form", draft=draft)

    @router.post("/policy/import")
    def upload(
        web: signed_in,
        csrf_token: Annotated[str | None, Form()] = None,
        policy_file: Annotated[UploadFile | None, File()] = None,
    ) -> Response:
        profile = _acting(context, web, csrf_token)
        name = (policy_file.filename if policy_file else None) or "upload.toml"
        try:
            proposal = propose_text(_uploaded(policy_file), name[:200])
        except PolicyProblem as err:
            return _editor(context, web, problem=err, status=422)
        return _preview(context, web, profile, proposal, f"imported from {name[:200]}")

    @router.post("/policy/reset")
    def reset(web: signed_in, csrf_token: Annotated[str | None, Form()] = None) -> Response:
        profile = _acting(context, web, csrf_token)
        return _preview(context, web, profile, propose_default(), "reset to the default")

    @router.get("/policy/versions/{version}")
    def version(web: signed_in, version: Annotated[int, Path(ge=0, le=2**31 - 1)]) -> Response:
        profile = _viewing(context, web)
        stored = _version(context, profile, version)
        text = default_policy_text() if stored.text is None else stored.text
        values = page_values(web, "policy", f"Policy version {version}")
        return render(
            "policy_version.html", **values, stored=stored, text=text,
            in_force=stored.version == profile.policy_version,
        )  # fmt: skip

    @router.post("/policy/versions/{version}/restore")
    def restore(
        web: signed_in,
        version: Annotated[int, Path(ge=0, le=2**31 - 1)],
        csrf_token: Annotated[str | None, Form()] = None,
    ) -> Response:
        profile = _acting(context, web, csrf_token)
        stored = _version(context, profile, version)
        try:
            proposal = _stored(stored)
        except PolicyProblem as err:  # saved under older, laxer rules
            return _editor(context, web, problem=err, status=422)
        return _preview(context, web, profile, proposal, f"restored from version {version}")

    @router.post("/policy/save")
    def save(web: signed_in, fields: fields_of) -> Response:
        profile = _acting(context, web, fields.get("csrf_token"))
        how = fields.get("how", "")[:200] or "the policy form"
        try:
            proposal = _saved_proposal(fields, profile)
        except PolicyProblem as err:
            return _editor(context, web, problem=err, status=422)
        with session_scope(context.engine) as session:
            change = change_policy(
                session, profile.id, proposal, by=web.user.email, how=how, now=context.now()
            )
        context.clinics.forget(profile.id)
        notice = f"Saved as version {change.version}."
        return _editor(context, web, notice=notice, changes=change.changes)

    @router.get("/policy.toml")
    def export(web: signed_in) -> Response:
        profile = _viewing(context, web)
        headers = {
            **SECURITY_HEADERS,
            "Content-Disposition": f'attachment; filename="{profile.slug}-policy.toml"',
        }
        text = _export_text(context, profile)
        return Response(text, media_type="application/toml", headers=headers)

    return router


# --- who may do what --------------------------------------------------------------------


def _viewing(context: AdminContext, web: WebSession) -> ClinicProfile:
    """The profile of the clinic in view; 404 for a user of no clinic."""
    return _readable(context, web)[0]


def _readable(context: AdminContext, web: WebSession) -> tuple[ClinicProfile, str | None]:
    """The clinic in view's profile, and why its policy in force cannot be read (if so)."""
    current = page_caller(web).current
    if current is None:
        raise PageError(404, "You are not a member of any clinic yet.")
    try:
        return context.clinics.profile(current.clinic_id), None
    except PolicyFileError:
        with session_scope(context.engine) as session:
            return current_profile(session, current.clinic_id)


def _acting(context: AdminContext, web: WebSession, csrf_token: str | None) -> ClinicProfile:
    """The clinic in view, for an admin of it who sent the form's CSRF token."""
    check_csrf(web, csrf_token)
    profile = _viewing(context, web)
    try:
        page_caller(web).require_admin(profile.id)
    except NotAllowed as err:
        raise not_allowed(err) from err
    return profile


# --- proposals --------------------------------------------------------------------------


def _version(context: AdminContext, profile: ClinicProfile, version: int) -> StoredPolicy:
    with session_scope(context.engine) as session:
        history = policy_history(session, profile.id)
    found = next((stored for stored in history if stored.version == version), None)
    if found is None:
        raise PageError(404, f"This clinic has no policy version {version}.")
    return found


def _stored(stored: StoredPolicy) -> Proposal:
    if stored.text is None:
        return propose_default()
    return propose_text(stored.text, f"version {stored.version}")


def _uploaded(upload: UploadFile | None) -> str:
    if upload is None:
        raise PolicyProblem("choose a TOML file to upload", "choose a TOML file to upload")
    data = upload.file.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        problem = f"the file is larger than {MAX_UPLOAD_BYTES // 1000} kB"
        raise PolicyProblem(problem, problem)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        problem = f"the file is not UTF-8 text ({err.reason})"
        raise PolicyProblem(problem, problem) from err


def _saved_proposal(fields: dict[str, str], profile: ClinicProfile) -> Proposal:
    """What the preview's save form carries, checked again: the form may be old or forged."""
    if fields.get("policy") == _DEFAULT:
        proposal = propose_default()
    else:
        proposal = propose_text(fields.get("policy_text", ""), "the saved policy")
    draft = PolicyDraft(
        patient_id_property=fields.get("patient_id_property", "").strip(),
        staff_domains=fields.get("staff_domains", "").strip(),
    )
    return replace(proposal, settings=editor_settings(draft, profile.settings))


def _export_text(context: AdminContext, profile: ClinicProfile) -> str:
    with session_scope(context.engine) as session:
        history = policy_history(session, profile.id)
    if not history or history[0].text is None:
        return default_policy_text()
    return history[0].text


# --- pages ------------------------------------------------------------------------------


def _editor(
    context: AdminContext,
    web: WebSession,
    *,
    draft: PolicyDraft | None = None,
    problem: PolicyProblem | None = None,
    status: int = 200,
    **extra: Any,
) -> Response:
    profile, unreadable = _readable(context, web)
    values = page_values(web, "policy", "Policy")
    values["notice"] = extra.pop("notice", None)
    with session_scope(context.engine) as session:
        history = policy_history(session, profile.id)
    extra.setdefault("changes", None)
    extra.setdefault("preview", None)
    return render(
        "policy.html", status, **values,
        draft=draft or draft_of(profile.policy, profile.settings),
        problem=problem, history=history, in_force=profile.policy_version,
        unreadable=unreadable, **extra,
    )  # fmt: skip


def _preview(
    context: AdminContext,
    web: WebSession,
    profile: ClinicProfile,
    proposal: Proposal,
    how: str,
    *,
    draft: PolicyDraft | None = None,
) -> Response:
    found = preview(context.engine, profile.id, proposal, context.now())
    changes = describe_proposal(profile, proposal)
    draft = draft or draft_of(proposal.policy, profile.settings)
    saved = {
        "policy": _DEFAULT if proposal.text is None else "",
        "policy_text": "" if proposal.text is None else proposal.text,
        "patient_id_property": draft.patient_id_property,
        "staff_domains": draft.staff_domains,
        "how": how,
    }
    return _editor(context, web, draft=draft, preview=found, changes=changes, saved=saved, how=how)
