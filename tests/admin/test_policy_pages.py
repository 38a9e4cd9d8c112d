"""The policy editor over HTTP: the form, its checks, the preview, versions, import and export.

The clinic of these tests has the seeded conflict: microneedling on 10 January, Botox a
week later, against the shipped rule "botox-after-microneedling" (14 days).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from rules.policy import PolicyError, parse_policy
from sync.bootstrap import Services
from sync.policy_file import default_policy_text
from sync.store.audit import list_audit_events
from sync.store.clinics import get_clinic, policy_history
from sync.store.conflicts import list_conflicts
from sync.store.database import session_scope
from tests.admin.conftest import ADMIN, AUDITOR, Accounts, Seeded, csrf_of, sign_in
from tests.admin.forms import form_fields

SHIPPED_RULE = "botox-after-microneedling"


def _editor(web: httpx.Client) -> dict[str, str]:
    page = web.get("/admin/policy")
    assert page.status_code == 200
    return form_fields(page.text, "/admin/policy/preview")


def _rule_row(fields: dict[str, str], name: str) -> str:
    """The form prefix (``rule-N``) of the rule called ``name``."""
    for key, value in fields.items():
        if key.endswith("-name") and key.startswith("rule-") and value == name:
            return key.removesuffix("-name")
    raise AssertionError(f"no rule {name} in the form")


def _text(answer: httpx.Response) -> str:
    """The page's text with its markup's entities decoded (what a person reads)."""
    return html.unescape(answer.text)


def _loader_problem(text: str) -> str:
    try:
        parse_policy(text, "file.toml")
    except PolicyError as err:
        return err.problem
    raise AssertionError("the loader accepted the policy")


def _preview(web: httpx.Client, fields: dict[str, str]) -> httpx.Response:
    return web.post("/admin/policy/preview", data=fields)


def _save(web: httpx.Client, preview: httpx.Response) -> httpx.Response:
    assert preview.status_code == 200, preview.text
    return web.post("/admin/policy/save", data=form_fields(preview.text, "/admin/policy/save"))


def _audited(services: Services, action: str = "policy.changed") -> list[Any]:
    with session_scope(services.engine) as session:
        events = list_audit_events(session, get_clinic(session, "default").id)
    return [event for event in events if event.action == action]


def _history(services: Services) -> list[Any]:
    with session_scope(services.engine) as session:
        return policy_history(session, get_clinic(session, "default").id)


def test_the_editor_shows_the_policy_and_the_optional_rules_switched_off_with_their_sources(
    web: httpx.Client, accounts: Accounts
) -> None:
    sign_in(web, ADMIN)
    page = web.get("/admin/policy")
    fields = form_fields(page.text, "/admin/policy/preview")
    retreatment = _rule_row(fields, "neuromodulator-retreatment")
    assert f"{retreatment}-enabled" not in fields  # offered, switched off
    assert f"{_rule_row(fields, SHIPPED_RULE)}-enabled" in fields
    assert "https://hcp.botoxcosmetic.com/product-information" in fields[f"{retreatment}-source"]
    after_filler = _rule_row(fields, "microneedling-after-filler")
    assert fields[f"{after_filler}-source"].startswith("Clinic protocol")
    assert "The shipped default policy is in force" in _text(page)


@pytest.mark.parametrize(
    ("row_field", "typed", "toml_line"),
    [
        ("min_days", "abc", 'min_days = "abc"'),
        ("min_days", "-3", "min_days = -3"),
        ("ideal_low", "10", "ideal_days = [10, 28]"),
        ("later", "peel", 'later = "peel"'),
    ],
)
def test_a_bad_rule_is_refused_with_the_toml_loaders_own_words_at_its_field(
    web: httpx.Client, accounts: Accounts, row_field: str, typed: str, toml_line: str
) -> None:
    sign_in(web, ADMIN)
    fields = _editor(web)
    row = _rule_row(fields, SHIPPED_RULE)
    refused = _preview(web, {**fields, f"{row}-{row_field}": typed})
    assert refused.status_code == 422
    shipped = {"min_days": "min_days = 14", "ideal_low": "ideal_days = [14, 28]"}.get(
        row_field, 'later = "neuromodulator"'
    )
    file_text = default_policy_text().replace(shipped, toml_line, 1)
    assert f"Not saved: {_loader_problem(file_text)}" in _text(refused)
    field_id = f"{row}-{row_field}"
    assert re.search(rf'id="{field_id}"[^>]*aria-invalid="true"', refused.text)
    assert _history_is_empty(web)


def _history_is_empty(web: httpx.Client) -> bool:
    return "No version saved yet" in web.get("/admin/policy").text


def test_a_category_phrase_without_letters_and_a_bad_staff_domain_are_refused(
    web: httpx.Client, accounts: Accounts
) -> None:
    sign_in(web, ADMIN)
    fields = _editor(web)
    refused = _preview(web, {**fields, "cat-0-phrases": "microneedling\n!!!"})
    assert refused.status_code == 422
    assert "Not saved: phrase '!!!' has no letters or digits to match" in _text(refused)
    assert re.search(r'id="cat-0-phrases"[^>]*aria-invalid="true"', refused.text)
    domains = _preview(web, {**fields, "staff_domains": "clinic.example, not a domain"})
    assert domains.status_code == 422
    assert "staff_domains: not a domain: not a domain" in _text(domains)


def test_the_preview_lists_what_would_resolve_and_saves_nothing(
    web: httpx.Client, accounts: Accounts, seeded: Seeded, services: Services
) -> None:
    sign_in(web, ADMIN)
    fields = _editor(web)
    row = _rule_row(fields, SHIPPED_RULE)
    shown = _preview(web, {**fields, f"{row}-min_days": "5", f"{row}-ideal_low": "5"})
    assert shown.status_code == 200
    text = _text(shown)
    assert "0 conflicts would appear, 1 would resolve, 0 stay" in text
    resolving = text.split("Conflicts that would resolve (1)")[1]
    assert "Jane Doe" in resolving
    assert "2030-01-10" in resolving
    assert "2030-01-17" in resolving
    assert f"rule '{SHIPPED_RULE}': min_days 14 → 5" in text
    assert _history(services) == []
    with session_scope(services.engine) as session:
        [conflict] = list_conflicts(session, 1)
    assert conflict.facts.public_id == seeded.public_id
    assert conflict.state.value == "flagged"


def test_a_new_rule_over_the_same_bookings_would_appear_in_the_preview(
    web: httpx.Client, accounts: Accounts, seeded: Seeded
) -> None:
    sign_in(web, ADMIN)
    fields = _editor(web)
    new = f"rule-{sum(1 for key in fields if key.endswith('-name') and key.startswith('rule-'))}"
    row = {
        f"{new}-name": "botox-a-month-after-mn", f"{new}-earlier": "microneedling",
        f"{new}-later": "neuromodulator", f"{new}-min_days": "30", f"{new}-ideal_low": "30",
        f"{new}-ideal_high": "40", f"{new}-enabled": "1",
    }  # fmt: skip
    text = _text(_preview(web, {**fields, **row}))
    assert "1 conflict would appear, 0 would resolve, 1 stay" in text
    assert "rule 'botox-a-month-after-mn' added" in text


def test_saving_makes_a_version_audited_with_who_and_what_and_the_conflict_resolves(
    web: httpx.Client, accounts: Accounts, seeded: Seeded, services: Services
) -> None:
    sign_in(web, ADMIN)
    fields = _editor(web)
    row = _rule_row(fields, SHIPPED_RULE)
    saved = _save(web, _preview(web, {**fields, f"{row}-min_days": "5", f"{row}-ideal_low": "5"}))
    assert saved.status_code == 200
    assert "Saved as version 1." in _text(saved)
    [version] = _history(services)
    assert (version.version, version.created_by) == (1, ADMIN)
    assert version.text is not None
    [event] = _audited(services)
    assert event.actor == ADMIN
    assert event.detail["policy_version"] == 1
    assert event.detail["how"] == "the policy form"
    assert f"rule '{SHIPPED_RULE}': min_days 14 → 5" in event.detail["changes"]
    assert f"rule '{SHIPPED_RULE}': ideal_days [14, 28] → [5, 28]" in event.detail["changes"]
    assert re.search(r"Version 1</a> \(in force\)", saved.text)


def test_switching_an_optional_rule_on_is_saved_and_audited(
    web: httpx.Client, accounts: Accounts, services: Services
) -> None:
    sign_in(web, ADMIN)
    fields = _editor(web)
    row = _rule_row(fields, "neuromodulator-retreatment")
    _save(web, _preview(web, {**fields, f"{row}-enabled": "1"}))
    [event] = _audited(services)
    assert event.detail["changes"] == ["rule 'neuromodulator-retreatment' switched on"]
    fields = _editor(web)
    assert f"{_rule_row(fields, 'neuromodulator-retreatment')}-enabled" in fields


def test_a_version_is_viewed_reset_to_default_and_restored_as_a_new_version(
    web: httpx.Client, accounts: Accounts, services: Services
) -> None:
    sign_in(web, ADMIN)
    fields = _editor(web)
    row = _rule_row(fields, SHIPPED_RULE)
    _save(web, _preview(web, {**fields, f"{row}-min_days": "21", f"{row}-ideal_low": "21"}))
    first = web.get("/admin/policy/versions/1")
    assert first.status_code == 200
    assert "min_days = 21" in _text(first)
    csrf = csrf_of(first.text)
    reset = web.post("/admin/policy/reset", data={"csrf_token": csrf})
    assert "back to the shipped default policy" in _text(reset)
    _save(web, reset)
    restored = web.post("/admin/policy/versions/1/restore", data={"csrf_token": csrf})
    assert "Preview: restored from version 1" in _text(restored)
    _save(web, restored)
    history = _history(services)
    assert [v.version for v in history] == [3, 2, 1]
    assert history[1].text is None
    assert history[0].text == history[2].text
    assert [e.detail["how"] for e in _audited(services)] == [
        "the policy form", "reset to the default", "restored from version 1",
    ]  # fmt: skip
    assert web.get("/admin/policy/versions/4").status_code == 404


def test_export_then_import_round_trips_the_file_exactly(
    web: httpx.Client, accounts: Accounts, services: Services
) -> None:
    sign_in(web, ADMIN)
    exported = web.get("/admin/policy.toml")
    assert exported.status_code == 200
    assert "attachment" in exported.headers["content-disposition"]
    assert exported.text == default_policy_text()
    shipped = "min_days = 14\nideal_days = [14, 28]"
    edited = exported.text.replace(shipped, "min_days = 15 # ours\nideal_days = [15, 28]", 1)
    csrf = csrf_of(web.get("/admin/policy").text)
    files = {"policy_file": ("ours.toml", edited.encode(), "application/toml")}
    shown = web.post("/admin/policy/import", data={"csrf_token": csrf}, files=files)
    assert shown.status_code == 200
    assert "Preview: imported from ours.toml" in _text(shown)
    assert f"rule '{SHIPPED_RULE}': min_days 14 → 15" in _text(shown)
    _save(web, shown)
    assert web.get("/admin/policy.toml").text == edited
    assert _history(services)[0].text == edited


def test_an_imported_file_the_loader_refuses_shows_its_file_line_and_problem(
    web: httpx.Client, accounts: Accounts, services: Services
) -> None:
    sign_in(web, ADMIN)
    bad = default_policy_text().replace("min_days = 14", "min_days = 14.5", 1)
    csrf = csrf_of(web.get("/admin/policy").text)
    files = {"policy_file": ("bad.toml", bad.encode(), "application/toml")}
    refused = web.post("/admin/policy/import", data={"csrf_token": csrf}, files=files)
    assert refused.status_code == 422
    try:
        parse_policy(bad, "bad.toml")
    except PolicyError as err:
        expected = str(err)
    assert f"Not saved: {expected}" in _text(refused)
    assert _history(services) == []


def test_a_forged_save_is_checked_again_by_the_loader(
    web: httpx.Client, accounts: Accounts, services: Services
) -> None:
    sign_in(web, ADMIN)
    csrf = csrf_of(web.get("/admin/policy").text)
    forged = {"csrf_token": csrf, "policy_text": "name = 3", "staff_domains": ""}
    answer = web.post("/admin/policy/save", data={**forged, "patient_id_property": "patient_id"})
    assert answer.status_code == 422
    assert _history(services) == []


def test_an_auditor_reads_the_policy_but_every_change_is_refused(
    web: httpx.Client, accounts: Accounts, services: Services
) -> None:
    sign_in(web, AUDITOR)
    page = web.get("/admin/policy")
    assert page.status_code == 200
    assert "Preview the changes" not in page.text
    assert "Upload and preview" not in page.text
    assert web.get("/admin/policy.toml").status_code == 200
    csrf = csrf_of(page.text)
    fields = form_fields(page.text, "/admin/policy/preview")
    files = {"policy_file": ("p.toml", default_policy_text().encode(), "application/toml")}
    posts: list[Callable[[], httpx.Response]] = [
        lambda: web.post("/admin/policy/preview", data=fields),
        lambda: web.post("/admin/policy/save", data={"csrf_token": csrf, "policy": "default"}),
        lambda: web.post("/admin/policy/import", data={"csrf_token": csrf}, files=files),
        lambda: web.post("/admin/policy/reset", data={"csrf_token": csrf}),
        lambda: web.post("/admin/policy/versions/0/restore", data={"csrf_token": csrf}),
    ]
    assert [post().status_code for post in posts] == [403] * len(posts)
    assert _history(services) == []


def test_a_change_without_the_csrf_token_is_refused(
    web: httpx.Client, accounts: Accounts, services: Services
) -> None:
    sign_in(web, ADMIN)
    fields = _editor(web)
    del fields["csrf_token"]
    assert web.post("/admin/policy/preview", data=fields).status_code == 403
    assert web.post("/admin/policy/save", data={"policy": "default"}).status_code == 403
    assert _history(services) == []


def test_hostile_policy_text_renders_inert_on_every_policy_page(
    web: httpx.Client, accounts: Accounts
) -> None:
    sign_in(web, ADMIN)
    fields = _editor(web)
    hostile = '<script>alert("x")</script>'
    image = "<img src=x onerror=alert(1)>"
    changed = {
        **fields,
        "cat-0-phrases": f"microneedling\n{hostile}",
        "cat-0-label": image,
        f"{_rule_row(fields, SHIPPED_RULE)}-description": f'"><b>{hostile}',
    }
    preview = _preview(web, changed)
    _save(web, preview)
    for answer in (preview, web.get("/admin/policy"), web.get("/admin/policy/versions/1")):
        assert answer.status_code == 200
        assert "<script>" not in answer.text
        assert "<img" not in answer.text
        assert "<b>" not in answer.text
        assert "<script>alert(" in _text(answer)  # shown as text (TOML escapes its quotes)


def test_restoring_a_version_the_loader_now_refuses_shows_why_and_stores_nothing(
    web: httpx.Client, accounts: Accounts, services: Services
) -> None:
    """A version saved under laxer rules can be viewed but not restored as it is."""
    from datetime import UTC, datetime

    from sync.store.clinics import set_clinic_policy

    old = default_policy_text().replace('name = "default"', 'name = "old"\nlegacy = 1', 1)
    with session_scope(services.engine) as session:
        clinic_id = get_clinic(session, "default").id
        now = datetime.now(UTC)
        set_clinic_policy(session, clinic_id, old, by="command line", now=now)
        set_clinic_policy(session, clinic_id, None, by="command line", now=now)
    sign_in(web, ADMIN)
    assert "legacy = 1" in web.get("/admin/policy/versions/1").text
    csrf = csrf_of(web.get("/admin/policy").text)
    refused = web.post("/admin/policy/versions/1/restore", data={"csrf_token": csrf})
    assert refused.status_code == 422
    assert "Not saved: version 1:" in _text(refused)
    assert "unknown key 'legacy'" in _text(refused)
    assert len(_history(services)) == 2


def test_a_policy_in_force_the_loader_now_refuses_is_replaced_from_the_editor(
    web: httpx.Client, accounts: Accounts, services: Services
) -> None:
    """The editor is how a clinic without a shell fixes a policy the rules grew out of."""
    from datetime import UTC, datetime

    from sync.clinics.profile import open_profile
    from sync.store.clinics import set_clinic_policy

    old = default_policy_text().replace('name = "default"', 'name = "old"\nlegacy = 1', 1)
    with session_scope(services.engine) as session:
        clinic_id = get_clinic(session, "default").id
        set_clinic_policy(session, clinic_id, old, by="command line", now=datetime.now(UTC))
    sign_in(web, ADMIN)
    page = web.get("/admin/policy")
    assert page.status_code == 200
    assert "The policy in force cannot be read" in _text(page)
    assert "unknown key 'legacy'" in _text(page)
    saved = _save(web, _preview(web, form_fields(page.text, "/admin/policy/preview")))
    assert "Saved as version 2." in _text(saved)
    assert "cannot be read" not in _text(saved)
    assert open_profile(services.engine, clinic_id=clinic_id).policy_version == 2
