"""Two clinics in one store: a member of one never sees the other's objects (SPEC §8).

Clinics Alpha and Beta each have two calendars, a flagged conflict, a feed token and a
push channel, made the way production makes them (the emulator, the real cycle). Every
route of the app — taken from ``app.routes``, so a route added later without a case
here fails :func:`test_every_route_has_an_isolation_case` — is asked by a member of
Alpha for Beta's objects: the answer is 404 or 403, never Beta's data, and another
clinic's object answers exactly like a missing one (same status, same body). Roles are
per clinic, an operator sees counts and no patient, and a feed or a push channel acts
in its own clinic only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlmodel import select

from sync.accounts.service import Actor, create_user, grant_role, issue_api_token
from sync.bootstrap import Services, booking_reader
from sync.config import Settings
from sync.feeds.scope import FeedScope, ScopeKind
from sync.feeds.tokens import hash_token, issue_token
from sync.sources.google import GoogleCalendarSource
from sync.store.audit import list_audit_events
from sync.store.channels import PushChannel, add_channel
from sync.store.clinics import Clinic, get_clinic
from sync.store.conflicts import ConflictState
from sync.store.database import session_scope
from sync.store.feeds import add_feed_token, get_feed_token
from sync.store.review import ConflictFilter, find_conflict, find_conflicts
from sync.store.sources import get_source
from sync.store.users import Role
from sync.usecases.cycle import run_clinic_pass
from sync.web.app import create_app
from sync.web.server import WebServer
from tests.admin.conftest import NOW, PASSWORD, Clock, Json, api, csrf_of, sign_in
from tests.clinics import clinic_profile
from tests.google.conftest import connect

ALPHA_ADMIN = "al@alpha.example"
ALPHA_AUDITOR = "au@alpha.example"
BETA_ADMIN = "be@beta.example"
BOTH = "mo@both.example"  # admin of Alpha, auditor of Beta
OPERATOR = "op@service.example"  # runs the service, member of no clinic
CHANNEL_TOKEN = "a-channel-token-of-256-bits-or-so"
# What of Beta must never reach a member of Alpha only.
BETA_DATA = ("bea.beta", "Bea Beta", "Beta Room", "Beta Clinic", "Beta feed")
ALPHA_DATA = ("jane.doe", "Jane Doe", "Alpha Room", "Alpha feed")


@dataclass
class Side:
    """One clinic's objects."""

    clinic: Clinic
    conflict: str
    sources: tuple[int, int]
    feed_token_id: int
    feed_secret: str
    channel_id: str


@dataclass
class World:
    server: WebServer
    engine: Engine
    alpha: Side
    beta: Side
    tokens: dict[str, str] = field(default_factory=dict)

    def api(self, email: str) -> httpx.Client:
        return api(self.server, self.tokens[email])

    @contextmanager
    def web(self, email: str) -> Iterator[httpx.Client]:
        """A browser signed in as ``email``."""
        with httpx.Client(base_url=self.server.url) as client:
            assert sign_in(client, email).status_code == 303
            yield client

    def conflict_state(self, side: Side) -> ConflictState:
        with session_scope(self.engine) as session:
            return find_conflict(session, side.conflict, clinic_ids=(side.clinic.id,)).state


@pytest.fixture
def app(settings: Settings, engine: Engine) -> FastAPI:
    """The app with every optional route on (the API documentation too)."""
    return create_app(settings.model_copy(update={"api_docs": True}), engine, clock=Clock())


def _side(
    slug: str,
    name: str,
    patient: str,
    ctx: tuple[Settings, Engine, GoogleCalendarSource, Callable[..., str], Callable[..., Json]],
) -> Side:
    settings, engine, source, new_calendar, insert = ctx
    profile = clinic_profile(engine, slug, name=name)
    short = name.split()[0]
    first, second = new_calendar(f"{short} Room 1"), new_calendar(f"{short} Room 2")
    sources = (connect(engine, first, slug).id, connect(engine, second, slug).id)
    with session_scope(engine) as session:
        for number, source_id in enumerate(sources, start=1):
            _rename(session, source_id, f"{short} Room {number}")
    people = [{"email": f"{patient.lower().replace(' ', '.')}@example.com"}]
    insert(first, f"Microneedling {patient}", "2030-01-10T10:00:00+00:00", attendees=people)
    insert(second, f"Botox {patient}", "2030-01-17T10:00:00+00:00", attendees=people)
    run_clinic_pass(Services(settings, engine, profile, booking_reader(profile), source), now=NOW)
    with session_scope(engine) as session:
        [conflict] = find_conflicts(session, ConflictFilter(clinic_ids=(profile.id,))).items
        scope = FeedScope(ScopeKind.CLINIC)
        issued = issue_token(
            session, profile.id, scope, actor="test", now=NOW, label=f"{short} feed"
        )
        channel = PushChannel(
            f"chan-{slug}", f"res-{slug}", profile.id, sources[1], NOW, NOW + timedelta(days=7), 0
        )
        add_channel(session, channel, CHANNEL_TOKEN)
        clinic = get_clinic(session, slug)
    return Side(
        clinic, conflict.public_id, sources, issued.token.id, issued.secret, channel.channel_id
    )


def _rename(session: Any, source_id: int, name: str) -> None:
    """The calendar's name as the clinic sees it (``connect`` names it by its id)."""
    from sync.store.tables import CalendarSourceRow

    session.get(CalendarSourceRow, source_id).display_name = name


@pytest.fixture
def world(
    settings: Settings,
    engine: Engine,
    source: GoogleCalendarSource,
    new_calendar: Callable[..., str],
    insert: Callable[..., Json],
    server: WebServer,
) -> World:
    ctx = (settings, engine, source, new_calendar, insert)
    alpha = _side("alpha", "Alpha Clinic", "Jane Doe", ctx)
    beta = _side("beta", "Beta Clinic", "Bea Beta", ctx)
    found = World(server, engine, alpha, beta)
    with session_scope(engine) as session:
        in_alpha = Actor("cli", alpha.clinic.id, NOW)
        in_beta = Actor("cli", beta.clinic.id, NOW)
        create_user(session, in_alpha, ALPHA_ADMIN, Role.ADMIN, PASSWORD)
        create_user(session, in_alpha, ALPHA_AUDITOR, Role.AUDITOR, PASSWORD)
        create_user(session, in_beta, BETA_ADMIN, Role.ADMIN, PASSWORD)
        create_user(session, in_alpha, BOTH, Role.ADMIN, PASSWORD)
        grant_role(session, in_alpha, BOTH, beta.clinic, Role.AUDITOR)
        create_user(session, in_alpha, OPERATOR, None, PASSWORD, operator=True)
        for email in (ALPHA_ADMIN, ALPHA_AUDITOR, BETA_ADMIN, BOTH, OPERATOR):
            found.tokens[email] = issue_api_token(session, in_alpha, email).secret
    return found


def test_an_auditor_of_alpha_cannot_list_or_open_betas_conflicts(world: World) -> None:
    """The reported leak: Alpha's auditor listed Beta's patients and opened Beta's conflict."""
    with world.api(ALPHA_AUDITOR) as http:
        listed = http.get("/api/v1/conflicts")
        assert [c["id"] for c in listed.json()["items"]] == [world.alpha.conflict]
        _no_beta(listed)
        _like_missing(http.get, "/api/v1/conflicts/{}", world.beta.conflict, "c0ffee")
    with world.web(ALPHA_AUDITOR) as web:
        _no_beta(web.get("/admin/conflicts"))
        _like_missing(web.get, "/admin/conflicts/{}", world.beta.conflict, "c0ffee")


# --- every route ----------------------------------------------------------------------

Case = Callable[[World], None]


def _no_beta(answer: httpx.Response) -> None:
    for text in BETA_DATA:
        assert text not in answer.text, f"{answer.request.url}: shows {text!r}"


def _like_missing(
    call: Callable[..., httpx.Response], path: str, foreign: str, missing: str, **kwargs: Any
) -> httpx.Response:
    """The answer for another clinic's object is the answer for a missing one."""
    theirs = call(path.format(foreign), **_fill(kwargs, foreign))
    nothing = call(path.format(missing), **_fill(kwargs, missing))
    assert theirs.status_code in (403, 404, 422), f"{path}: {theirs.status_code}"
    assert theirs.status_code == nothing.status_code
    assert _masked(theirs.text, foreign) == _masked(nothing.text, missing)
    _no_beta(theirs)
    return theirs


def _masked(text: str, value: str) -> str:
    """``text`` with ``value`` (as a whole word: not the 3 in 2030) replaced."""
    return re.sub(rf"(?<![\w-]){re.escape(value)}(?![\w-])", "<id>", text)


def _fill(kwargs: dict[str, Any], value: str) -> dict[str, Any]:
    """Replace ``{}`` in form or JSON values by ``value``."""

    def fill(item: Any) -> Any:
        if isinstance(item, str):
            return item.format(value)
        if isinstance(item, dict):
            return {k: fill(v) for k, v in item.items()}
        return item

    return {key: fill(item) for key, item in kwargs.items()}


def _ui_list(path: str, *, filtered: bool = False) -> Case:
    """A page listing the clinic in view; ``filtered``: it takes ``?clinic=`` too."""

    def case(w: World) -> None:
        with w.web(ALPHA_ADMIN) as web:
            answer = web.get(path)
            assert answer.status_code == 200
            _no_beta(answer)
            assert any(text in answer.text for text in ALPHA_DATA) or path.endswith("audit")
            if filtered:
                _like_missing(web.get, path + "?clinic={}", "beta", "nope")
            else:  # the page shows the clinic in view, whatever is asked
                _no_beta(web.get(path + "?clinic=beta"))

    return case


def _ui_conflict(w: World) -> None:
    with w.web(ALPHA_ADMIN) as web:
        _like_missing(web.get, "/admin/conflicts/{}", w.beta.conflict, "c0ffee")


def _ui_review(w: World) -> None:
    with w.web(ALPHA_ADMIN) as web:
        csrf = csrf_of(web.get("/admin/conflicts").text)
        for action in ("acknowledge", "override", "reopen"):
            data = {"csrf_token": csrf, "reason": "not ours"}
            _like_missing(
                web.post, f"/admin/conflicts/{{}}/{action}", w.beta.conflict, "c0f", data=data
            )
    assert w.conflict_state(w.beta) is ConflictState.FLAGGED


def _ui_audit(w: World) -> None:
    _ui_list("/admin/audit")(w)
    with w.web(ALPHA_ADMIN) as web:
        answer = web.get(f"/admin/audit?conflict={w.beta.conflict}")
        nothing = web.get("/admin/audit?conflict=c0ffee")
        assert answer.text.replace(w.beta.conflict, "c0ffee") == nothing.text


def _ui_feed_tokens(w: World) -> None:
    _ui_list("/admin/feed-tokens")(w)


def _ui_issue_feed(w: World) -> None:
    with w.web(ALPHA_ADMIN) as web:
        csrf = csrf_of(web.get("/admin/feed-tokens").text)
        data = {"csrf_token": csrf, "scope": "calendar", "value": "{}"}
        _like_missing(web.post, "/admin/feed-tokens", str(w.beta.sources[0]), "999999", data=data)


def _ui_revoke_feed(w: World) -> None:
    with w.web(ALPHA_ADMIN) as web:
        data = {"csrf_token": csrf_of(web.get("/admin/feed-tokens").text)}
        path = "/admin/feed-tokens/{}/revoke"
        _like_missing(web.post, path, str(w.beta.feed_token_id), "999999", data=data)
    with session_scope(w.engine) as session:
        assert not get_feed_token(session, w.beta.feed_token_id).revoked


def _ui_rotate_feed(w: World) -> None:
    with w.web(ALPHA_ADMIN) as web:
        data = {"csrf_token": csrf_of(web.get("/admin/feed-tokens").text)}
        path = "/admin/feed-tokens/{}/rotate"
        _like_missing(web.post, path, str(w.beta.feed_token_id), "999999", data=data)
    with session_scope(w.engine) as session:
        assert not get_feed_token(session, w.beta.feed_token_id).revoked


def _ui_confirm_revoke_feed(w: World) -> None:
    with w.web(ALPHA_ADMIN) as web:
        path = "/admin/feed-tokens/{}/revoke"
        _like_missing(web.get, path, str(w.beta.feed_token_id), "999999")


def _ui_switch_clinic(w: World) -> None:
    with w.web(ALPHA_ADMIN) as web:
        data = {"csrf_token": csrf_of(web.get("/admin/conflicts").text), "clinic": "{}"}
        _like_missing(web.post, "/admin/clinic", "beta", "nope", data=data)
        _no_beta(web.get("/admin/conflicts"))


def _ui_operator(w: World) -> None:
    with w.web(ALPHA_ADMIN) as web:
        answer = web.get("/admin/clinics")
    assert answer.status_code == 403
    _no_beta(answer)


def _signed_in_page(path: str) -> Case:
    def case(w: World) -> None:
        with w.web(ALPHA_ADMIN) as web:
            answer = web.get(path)
        assert answer.status_code in (200, 303, 307, 404)
        _no_beta(answer)

    return case


def _public(path: str, method: str = "GET") -> Case:
    """A route open to anyone: it shows no clinic's patients."""

    def case(w: World) -> None:
        with httpx.Client(base_url=w.server.url) as http:
            answer = http.request(method, path)
        assert answer.status_code < 500
        for text in (*BETA_DATA, *ALPHA_DATA):
            assert text not in answer.text, f"{path} shows {text!r}"

    return case


def _sign_out(w: World) -> None:
    with w.web(ALPHA_ADMIN) as web:
        data = {"csrf_token": csrf_of(web.get("/admin/conflicts").text)}
        assert web.post("/admin/logout", data=data).status_code == 303
    with session_scope(w.engine) as session:
        beta_trail = list_audit_events(session, w.beta.clinic.id)
    assert not [e for e in beta_trail if e.actor == ALPHA_ADMIN]


def _sign_in(w: World) -> None:
    with w.web(ALPHA_ADMIN):
        pass
    with session_scope(w.engine) as session:
        alpha = [e.action for e in list_audit_events(session, w.alpha.clinic.id)]
        beta = list_audit_events(session, w.beta.clinic.id)
    assert "login.succeeded" in alpha
    assert not [e for e in beta if ALPHA_ADMIN in (e.actor, e.detail.get("user"))]


def _api_list(path: str) -> Case:
    def case(w: World) -> None:
        with w.api(ALPHA_ADMIN) as http:
            answer = http.get(path)
            assert answer.status_code == 200
            _no_beta(answer)
            _like_missing(http.get, path + "?clinic={}", "beta", "nope")

    return case


def _api_me(w: World) -> None:
    with w.api(ALPHA_ADMIN) as http:
        me = http.get("/api/v1/me").json()
    assert me["clinics"] == [{"clinic": "alpha", "clinic_name": "Alpha Clinic", "role": "admin"}]


def _api_conflict(w: World) -> None:
    with w.api(ALPHA_ADMIN) as http:
        _like_missing(http.get, "/api/v1/conflicts/{}", w.beta.conflict, "c0ffee")


def _api_audit(w: World) -> None:
    _api_list("/api/v1/audit")(w)
    with w.api(ALPHA_ADMIN) as http:
        _like_missing(http.get, "/api/v1/audit?conflict={}", w.beta.conflict, "c0ffee")


def _api_review(action: str) -> Case:
    def case(w: World) -> None:
        with w.api(ALPHA_ADMIN) as http:
            path = f"/api/v1/conflicts/{{}}/{action}"
            body = {"reason": "not ours"}
            _like_missing(http.post, path, w.beta.conflict, "c0ffee", json=body)
        assert w.conflict_state(w.beta) is ConflictState.FLAGGED

    return case


def _api_operator(w: World) -> None:
    with w.api(ALPHA_ADMIN) as http:
        answer = http.get("/api/v1/clinics")
    assert answer.status_code == 403
    _no_beta(answer)


def _api_issue_feed(w: World) -> None:
    with w.api(ALPHA_ADMIN) as http:
        path = "/api/v1/feed-tokens"
        _like_missing(http.post, path, "beta", "nope", json={"scope": "clinic", "clinic": "{}"})
        body = {"scope": "calendar", "value": "{}"}
        _like_missing(http.post, path, str(w.beta.sources[0]), "999999", json=body)


def _api_revoke_feed(w: World) -> None:
    with w.api(ALPHA_ADMIN) as http:
        path = "/api/v1/feed-tokens/{}/revoke"
        _like_missing(http.post, path, str(w.beta.feed_token_id), "999999")
    with session_scope(w.engine) as session:
        assert not get_feed_token(session, w.beta.feed_token_id).revoked


def _feed(w: World) -> None:
    """Alpha's feed shows Alpha's bookings only; a token naming Beta's calendar shows nothing."""
    with httpx.Client(base_url=w.server.url) as http:
        own = http.get(f"/feeds/{w.alpha.feed_secret}.ics")
        assert own.status_code == 200
        assert own.text.startswith("BEGIN:VCALENDAR")
        assert "Botox" in own.text
        _no_beta(own)
        with session_scope(w.engine) as session:
            # A calendar scope naming Beta's calendar, as if stored by an older release.
            secret = "forged-" + "x" * 40
            add_feed_token(
                session, w.alpha.clinic.id, hash_token(secret), "calendar",
                str(w.beta.sources[1]), now=NOW,
            )  # fmt: skip
        forged = http.get(f"/feeds/{secret}.ics")
        unknown = http.get(f"/feeds/{'y' * 47}.ics")
    assert forged.status_code == unknown.status_code == 404
    assert forged.text == unknown.text


def _feed_head(w: World) -> None:
    with httpx.Client(base_url=w.server.url) as http:
        assert http.head(f"/feeds/{w.alpha.feed_secret}.ics").status_code == 200


def _webhook(w: World) -> None:
    """A notification forged for Beta's channel, or Alpha's channel pointed at Beta's
    calendar, answers like an unknown channel and leaves Beta's calendar alone."""
    from sync.store.tables import PushChannelRow

    before = _next_poll(w, w.beta.sources[1])

    def post(channel: str, token: str, resource: str) -> httpx.Response:
        headers = {
            "X-Goog-Channel-ID": channel, "X-Goog-Channel-Token": token,
            "X-Goog-Resource-ID": resource, "X-Goog-Resource-State": "exists",
            "X-Goog-Message-Number": "2",
        }  # fmt: skip
        with httpx.Client(base_url=w.server.url) as http:
            return http.post("/webhooks/google", headers=headers)

    unknown = post("no-such-channel", CHANNEL_TOKEN, "res-beta")
    forged = post(w.beta.channel_id, "a guessed token", "res-beta")
    assert (forged.status_code, forged.text) == (unknown.status_code, unknown.text) == (
        404, "Not Found\n",
    )  # fmt: skip
    with session_scope(w.engine) as session:
        query = select(PushChannelRow).where(PushChannelRow.channel_id == w.alpha.channel_id)
        session.exec(query).one().source_id = w.beta.sources[1]
    crossed = post(w.alpha.channel_id, CHANNEL_TOKEN, "res-alpha")
    assert (crossed.status_code, crossed.text) == (unknown.status_code, unknown.text)
    assert _next_poll(w, w.beta.sources[1]) == before


BETA_POLICY_WORD = "betaonlyphrase"


def _beta_policy(w: World) -> int:
    """Beta stores a version of its own, with a phrase only Beta's policy has."""
    from sync.policy_file import default_policy_text
    from sync.store.clinics import set_clinic_policy

    text = default_policy_text().replace('"vampire facial",', f'"{BETA_POLICY_WORD}",', 1)
    with session_scope(w.engine) as session:
        set_clinic_policy(session, w.beta.clinic.id, text, by=BETA_ADMIN, now=NOW)
        set_clinic_policy(session, w.beta.clinic.id, text, by=BETA_ADMIN, now=NOW)
    return _policy_versions(w, w.beta)


def _policy_versions(w: World, side: Side) -> int:
    from sync.store.clinics import policy_history

    with session_scope(w.engine) as session:
        return len(policy_history(session, side.clinic.id))


def _ui_policy_page(path: str) -> Case:
    """The policy page and its export show the clinic in view's policy, never Beta's."""

    def case(w: World) -> None:
        _beta_policy(w)
        with w.web(ALPHA_ADMIN) as web:
            for answer in (web.get(path), web.get(path + "?clinic=beta")):
                assert answer.status_code == 200
                assert BETA_POLICY_WORD not in answer.text
                _no_beta(answer)

    return case


def _ui_policy_version(w: World) -> None:
    _beta_policy(w)
    with w.web(ALPHA_ADMIN) as web:
        answer = _like_missing(web.get, "/admin/policy/versions/{}", "2", "999")
        assert BETA_POLICY_WORD not in answer.text


def _ui_policy_restore(w: World) -> None:
    versions = _beta_policy(w)
    with w.web(ALPHA_ADMIN) as web:
        data = {"csrf_token": csrf_of(web.get("/admin/policy").text)}
        path = "/admin/policy/versions/{}/restore"
        answer = _like_missing(web.post, path, "2", "999", data=data)
        assert BETA_POLICY_WORD not in answer.text
    assert _policy_versions(w, w.beta) == versions


def _ui_policy_change(path: str) -> Case:
    """A change acts on the clinic in view: Alpha's policy moves, Beta's stays."""

    def case(w: World) -> None:
        versions = _beta_policy(w)
        with w.web(ALPHA_ADMIN) as web:
            csrf = csrf_of(web.get("/admin/policy").text)
            data = {"csrf_token": csrf, "policy": "default", "clinic": "beta"}
            data |= {"patient_id_property": "patient_id", "staff_domains": ""}
            files = None
            if path.endswith("import"):
                files = {"policy_file": ("p.toml", b'name = "x"', "application/toml")}
            if path.endswith("preview"):
                data = {"csrf_token": csrf, "clinic": "beta"}
            answer = web.post(path, data=data, files=files)
        assert answer.status_code in (200, 422)
        assert BETA_POLICY_WORD not in answer.text
        _no_beta(answer)
        assert _policy_versions(w, w.beta) == versions
        if path.endswith("save"):
            assert _policy_versions(w, w.alpha) == 1

    return case


def _beta_webhook(w: World) -> int:
    """A webhook of Beta's, whose URL must never reach Alpha's pages (an id no page holds)."""
    from sync.store.tables import NotificationWebhookRow

    with session_scope(w.engine) as session:
        url = "https://hooks.example/beta-secret-path"
        row = NotificationWebhookRow(
            id=4242, clinic_id=w.beta.clinic.id, url=url, secret="sealed", format="json",
            enabled=True, created_at=NOW,
        )  # fmt: skip
        session.add(row)
    return 4242


def _ui_notifications(w: World) -> None:
    _beta_webhook(w)
    with w.web(ALPHA_ADMIN) as web:
        answer = web.get("/admin/notifications")
        assert answer.status_code == 200
        assert "Alpha Clinic" in answer.text
        assert "beta-secret-path" not in answer.text
        _no_beta(answer)
        _no_beta(web.get("/admin/notifications?clinic=beta"))


def _ui_notify_preference(w: World) -> None:
    from sync.store.tables import NotificationPreferenceRow

    with w.web(BOTH) as web:  # admin of Alpha, auditor of Beta: only Alpha's choice is set
        data = {"csrf_token": csrf_of(web.get("/admin/notifications").text), "mode": "off"}
        assert web.post("/admin/notifications/preference", data=data).status_code == 200
    with session_scope(w.engine) as session:
        rows = session.exec(select(NotificationPreferenceRow)).all()
    assert [(row.clinic_id, row.mode) for row in rows] == [(w.alpha.clinic.id, "off")]


def _ui_add_webhook(w: World) -> None:
    from sync.store.notifications import list_webhooks

    with w.web(ALPHA_ADMIN) as web:
        data = {
            "csrf_token": csrf_of(web.get("/admin/notifications").text),
            "url": "https://hooks.example/alpha",
            "format": "json",
        }
        web.post("/admin/notifications/webhooks", data=data)
    with session_scope(w.engine) as session:
        assert list_webhooks(session, w.beta.clinic.id) == []


def _ui_webhook_action(action: str) -> Case:
    def case(w: World) -> None:
        hook = _beta_webhook(w)
        with w.web(BOTH) as web:
            data = {"csrf_token": csrf_of(web.get("/admin/notifications").text)}
            path = f"/admin/notifications/webhooks/{{}}/{action}"
            _like_missing(web.post, path, str(hook), "999999", data=data)
        from sync.store.notifications import list_webhooks

        with session_scope(w.engine) as session:
            assert [h.id for h in list_webhooks(session, w.beta.clinic.id)] == [hook]

    return case


def _next_poll(w: World, source_id: int) -> Any:
    with session_scope(w.engine) as session:
        return get_source(session, source_id).next_poll_at


# --- people, invitations, one's own account ---------------------------------------------


def _user_id(w: World, email: str) -> int:
    from sync.store.users import find_user

    with session_scope(w.engine) as session:
        user = find_user(session, email)
        assert user is not None
        return user.id


def _beta_invite(w: World) -> int:
    """An open invitation to Beta (id 4242: a number no page holds by chance)."""
    from sync.store.tables import InviteRow

    with session_scope(w.engine) as session:
        session.add(InviteRow(
            id=4242, clinic_id=w.beta.clinic.id, email="new@beta.example", role="auditor",
            token_hash="0" * 64, invited_by=BETA_ADMIN, created_at=NOW,
            expires_at=NOW + timedelta(days=1),
        ))  # fmt: skip
    return 4242


def _ui_people(w: World) -> None:
    with w.web(ALPHA_ADMIN) as web:
        for path in ("/admin/people", "/admin/people?clinic=beta"):
            answer = web.get(path)
            assert answer.status_code == 200
            _no_beta(answer)
            assert BETA_ADMIN not in answer.text
            assert ALPHA_AUDITOR in answer.text


def _ui_invite(w: World) -> None:
    """The invitation goes to the clinic in view: a clinic field naming Beta is ignored."""
    from sync.store.account_links import list_open_invites

    with w.web(ALPHA_ADMIN) as web:
        data = {"csrf_token": csrf_of(web.get("/admin/people").text), "email": "x@new.example",
                "role": "admin", "clinic": "beta"}  # fmt: skip
        _no_beta(web.post("/admin/people/invite", data=data))
    with session_scope(w.engine) as session:
        assert [i.email for i in list_open_invites(session, w.alpha.clinic.id)] == ["x@new.example"]
        assert list_open_invites(session, w.beta.clinic.id) == []


def _ui_invite_action(action: str) -> Case:
    def case(w: World) -> None:
        from sync.store.account_links import list_open_invites

        invite_id = _beta_invite(w)
        with w.web(ALPHA_ADMIN) as web:
            data = {"csrf_token": csrf_of(web.get("/admin/people").text)}
            path = f"/admin/people/invites/{{}}/{action}"
            _like_missing(web.post, path, str(invite_id), "999999", data=data)
        with session_scope(w.engine) as session:
            assert [i.id for i in list_open_invites(session, w.beta.clinic.id)] == [invite_id]

    return case


def _ui_member_action(action: str) -> Case:
    def case(w: World) -> None:
        beta_admin = _user_id(w, BETA_ADMIN)
        with w.web(ALPHA_ADMIN) as web:
            data = {"csrf_token": csrf_of(web.get("/admin/people").text), "role": "auditor"}
            path = f"/admin/people/{{}}/{action}"
            _like_missing(web.post, path, str(beta_admin), "999999", data=data)
        with w.web(BETA_ADMIN):  # still enabled, still an admin
            pass
        with session_scope(w.engine) as session:
            from sync.store.users import get_user

            user = get_user(session, beta_admin)
            assert user is not None
            assert user.can_act_in(w.beta.clinic.id)

    return case


def _invite_link(method: str) -> Case:
    """An unknown link answers 404 and shows no clinic."""

    def case(w: World) -> None:
        with httpx.Client(base_url=w.server.url) as http:
            answer = http.request(method, "/admin/invite/" + "z" * 43)
        assert answer.status_code == 404
        for text in (*BETA_DATA, *ALPHA_DATA, "Alpha Clinic"):
            assert text not in answer.text

    return case


def _reset_link(method: str) -> Case:
    def case(w: World) -> None:
        with httpx.Client(base_url=w.server.url) as http:
            answer = http.request(method, "/admin/reset/" + "z" * 43)
        assert answer.status_code == 404
        for text in (*BETA_DATA, *ALPHA_DATA):
            assert text not in answer.text

    return case


def _forgot(w: World) -> None:
    """Asking for a reset tells nothing of the account's clinics."""
    with httpx.Client(base_url=w.server.url) as http:
        form = http.get("/admin/forgot")
        data = {"email": BETA_ADMIN, "csrf_token": csrf_of(form.text)}
        answer = http.post("/admin/forgot", data=data)
    assert answer.status_code == 200
    for text in (*BETA_DATA, *ALPHA_DATA):
        assert text not in answer.text


def _ui_account(w: World) -> None:
    with w.web(ALPHA_ADMIN) as web:
        page = web.get("/admin/account")
        assert page.status_code == 200
        _no_beta(page)
        csrf = csrf_of(page.text)
        made = web.post("/admin/account/tokens", data={"csrf_token": csrf, "label": "mine"})
        _no_beta(made)
        wrong = {"csrf_token": csrf, "current": "not it", "password": "a new long password"}
        assert web.post("/admin/account/password", data=wrong).status_code == 422


def _ui_revoke_api_token(w: World) -> None:
    """Another person's token (here: Beta's admin's) answers like a missing one."""
    from sync.store.users import list_api_tokens

    with session_scope(w.engine) as session:
        [theirs] = list_api_tokens(session, _user_id(w, BETA_ADMIN))
    with w.web(ALPHA_ADMIN) as web:
        data = {"csrf_token": csrf_of(web.get("/admin/account").text)}
        path = "/admin/account/tokens/{}/revoke"
        _like_missing(web.post, path, str(theirs.id), "999999", data=data)
    with w.api(BETA_ADMIN) as http:
        assert http.get("/api/v1/me").status_code == 200


CASES: dict[tuple[str, str], Case] = {
    ("GET", "/openapi.json"): _public("/openapi.json"),
    ("HEAD", "/openapi.json"): _public("/openapi.json", "HEAD"),
    ("GET", "/feeds/{token}.ics"): _feed,
    ("HEAD", "/feeds/{token}.ics"): _feed_head,
    ("GET", "/healthz"): _public("/healthz"),
    ("GET", "/metrics"): _public("/metrics"),
    ("POST", "/webhooks/google"): _webhook,
    ("GET", "/admin/login"): _public("/admin/login"),
    ("POST", "/admin/login"): _sign_in,
    ("POST", "/admin/logout"): _sign_out,
    ("GET", "/admin/static/admin.css"): _public("/admin/static/admin.css"),
    ("GET", "/admin/conflicts"): _ui_list("/admin/conflicts", filtered=True),
    ("GET", "/admin/conflicts.csv"): _ui_list("/admin/conflicts.csv", filtered=True),
    ("GET", "/admin/conflicts/{conflict_id}"): _ui_conflict,
    ("POST", "/admin/conflicts/{conflict_id}/{action}"): _ui_review,
    ("GET", "/admin/"): _ui_list("/admin/", filtered=True),
    ("GET", "/admin/audit"): _ui_audit,
    ("GET", "/admin/health"): _ui_list("/admin/health"),
    ("GET", "/admin/feed-tokens"): _ui_feed_tokens,
    ("POST", "/admin/feed-tokens"): _ui_issue_feed,
    ("POST", "/admin/feed-tokens/{token_id}/revoke"): _ui_revoke_feed,
    ("GET", "/admin/feed-tokens/{token_id}/revoke"): _ui_confirm_revoke_feed,
    ("POST", "/admin/feed-tokens/{token_id}/rotate"): _ui_rotate_feed,
    ("POST", "/admin/clinic"): _ui_switch_clinic,
    ("GET", "/admin/clinics"): _ui_operator,
    ("GET", "/admin/people"): _ui_people,
    ("POST", "/admin/people/invite"): _ui_invite,
    ("POST", "/admin/people/invites/{invite_id}/resend"): _ui_invite_action("resend"),
    ("POST", "/admin/people/invites/{invite_id}/revoke"): _ui_invite_action("revoke"),
    ("POST", "/admin/people/{user_id}/role"): _ui_member_action("role"),
    ("POST", "/admin/people/{user_id}/{change}"): _ui_member_action("disable"),
    ("GET", "/admin/invite/{token}"): _invite_link("GET"),
    ("POST", "/admin/invite/{token}"): _invite_link("POST"),
    ("GET", "/admin/account"): _ui_account,
    ("POST", "/admin/account/password"): _ui_account,
    ("POST", "/admin/account/tokens"): _ui_account,
    ("POST", "/admin/account/tokens/{token_id}/revoke"): _ui_revoke_api_token,
    ("GET", "/admin/forgot"): _public("/admin/forgot"),
    ("POST", "/admin/forgot"): _forgot,
    ("GET", "/admin/reset/{token}"): _reset_link("GET"),
    ("POST", "/admin/reset/{token}"): _reset_link("POST"),
    ("GET", "/admin/notifications"): _ui_notifications,
    ("POST", "/admin/notifications/preference"): _ui_notify_preference,
    ("POST", "/admin/notifications/webhooks"): _ui_add_webhook,
    ("POST", "/admin/notifications/webhooks/{webhook_id}/test"): _ui_webhook_action("test"),
    ("POST", "/admin/notifications/webhooks/{webhook_id}/delete"): _ui_webhook_action("delete"),
    ("GET", "/api/v1/me"): _api_me,
    ("GET", "/api/v1/conflicts"): _api_list("/api/v1/conflicts"),
    ("GET", "/api/v1/conflicts/{conflict_id}"): _api_conflict,
    ("GET", "/api/v1/audit"): _api_audit,
    ("GET", "/api/v1/health"): _api_list("/api/v1/health"),
    ("GET", "/api/v1/clinics"): _api_operator,
    ("POST", "/api/v1/conflicts/{conflict_id}/acknowledge"): _api_review("acknowledge"),
    ("POST", "/api/v1/conflicts/{conflict_id}/override"): _api_review("override"),
    ("POST", "/api/v1/conflicts/{conflict_id}/reopen"): _api_review("reopen"),
    ("GET", "/api/v1/feed-tokens"): _api_list("/api/v1/feed-tokens"),
    ("POST", "/api/v1/feed-tokens"): _api_issue_feed,
    ("POST", "/api/v1/feed-tokens/{token_id}/revoke"): _api_revoke_feed,
    ("GET", "/admin/policy"): _ui_policy_page("/admin/policy"),
    ("GET", "/admin/policy.toml"): _ui_policy_page("/admin/policy.toml"),
    ("GET", "/admin/policy/versions/{version}"): _ui_policy_version,
    ("POST", "/admin/policy/versions/{version}/restore"): _ui_policy_restore,
    ("POST", "/admin/policy/preview"): _ui_policy_change("/admin/policy/preview"),
    ("POST", "/admin/policy/import"): _ui_policy_change("/admin/policy/import"),
    ("POST", "/admin/policy/reset"): _ui_policy_change("/admin/policy/reset"),
    ("POST", "/admin/policy/save"): _ui_policy_change("/admin/policy/save"),
    ("GET", "/docs"): _public("/docs"),
    ("GET", "/admin/api-docs"): _signed_in_page("/admin/api-docs"),
    ("GET", "/admin/api-docs/assets/{name}"): _signed_in_page(
        "/admin/api-docs/assets/swagger-ui.css"
    ),
}


# --- connections and the calendar picker (issue 14) -------------------------------------


def _as_beta_auditor(web: httpx.Client) -> str:
    """Switch ``BOTH``'s browser to Beta, where they audit; the CSRF token of its pages."""
    csrf = csrf_of(web.get("/admin/conflicts").text)
    assert web.post("/admin/clinic", data={"csrf_token": csrf, "clinic": "beta"}).status_code == 303
    return csrf


def _beta_credential(w: World) -> Any:
    from sync.store.credentials import CredentialKind, get_credential, save_credential
    from sync.store.sources import Provider

    with session_scope(w.engine) as session:
        found = get_credential(session, w.beta.clinic.id, Provider.CALDAV)
        if found is None:
            found = save_credential(
                session, w.beta.clinic.id, Provider.CALDAV, CredentialKind.PASSWORD,
                account="bea.beta", secret="sealed", endpoint="https://dav.beta.example/", now=NOW,
            )  # fmt: skip
    return found


def _ui_connections(w: World) -> None:
    _beta_credential(w)
    with w.web(ALPHA_ADMIN) as web:
        answer = web.get("/admin/connect")
        assert answer.status_code == 200
        _no_beta(answer)
        assert "dav.beta.example" not in answer.text
        _no_beta(web.get("/admin/connect?clinic=beta"))


def _watched(answer: httpx.Response) -> str:
    """The picker's list of the clinic's own calendars (the account's list is the emulator's)."""
    return answer.text.split('id="watched-heading"', 1)[1]


def _ui_calendars(w: World) -> None:
    with w.web(ALPHA_ADMIN) as web:
        answer = web.get("/admin/calendars")
    assert answer.status_code == 200
    assert "Alpha Room 1" in _watched(answer)
    for text in BETA_DATA:
        assert text not in _watched(answer)
    for source_id in w.beta.sources:
        assert f"/admin/calendars/{source_id}/" not in answer.text


def _ui_add_calendars(w: World) -> None:
    with w.web(ALPHA_ADMIN) as web:
        csrf = csrf_of(web.get("/admin/calendars").text)
        data = {"csrf_token": csrf, "calendar_id": ["not-in-the-account@example.com"]}
        answer = web.post("/admin/calendars", data=data)
    assert answer.status_code == 422
    assert all(text not in _watched(answer) for text in BETA_DATA)
    with w.web(BOTH) as web:
        csrf = _as_beta_auditor(web)
        data = {"csrf_token": csrf, "calendar_id": ["not-in-the-account@example.com"]}
        assert web.post("/admin/calendars", data=data).status_code == 403


def _ui_calendar_action(w: World) -> None:
    with w.web(ALPHA_ADMIN) as web:
        data = {"csrf_token": csrf_of(web.get("/admin/conflicts").text)}
        for action in ("pause", "resume", "remove"):
            path = f"/admin/calendars/{{}}/{action}"
            _like_missing(web.post, path, str(w.beta.sources[0]), "999999", data=data)
    with session_scope(w.engine) as session:
        assert get_source(session, w.beta.sources[0]).enabled


def _ui_start_google(w: World) -> None:
    with w.web(BOTH) as web:
        csrf = _as_beta_auditor(web)
        answer = web.post("/admin/connect/google", data={"csrf_token": csrf})
    assert answer.status_code == 403
    _no_beta_patients(answer)


def _ui_finish_google(w: World) -> None:
    """A sign-in kept for Beta on the session of a user who only audits Beta stores nothing."""
    from sync.store.credentials import get_credential
    from sync.store.sign_ins import WaitingSignIn, keep_sign_in
    from sync.store.sources import Provider
    from sync.store.tables import WebSessionRow

    with w.web(BOTH) as web:
        with session_scope(w.engine) as session:
            row = session.exec(select(WebSessionRow).order_by(WebSessionRow.id.desc())).first()
            waiting = WaitingSignIn(w.beta.clinic.id, "s", "v" * 43, "http://x/cb", NOW)
            keep_sign_in(session, row.id, waiting)
        answer = web.get("/admin/connect/google/callback?state=s&code=c")
    assert answer.status_code == 403
    _no_beta_patients(answer)
    with session_scope(w.engine) as session:
        assert get_credential(session, w.beta.clinic.id, Provider.GOOGLE) is None


def _ui_disconnect_google(w: World) -> None:
    _beta_credential(w)
    with w.web(ALPHA_ADMIN) as web:
        data = {"csrf_token": csrf_of(web.get("/admin/connect").text)}
        answer = web.post("/admin/connect/google/disconnect", data=data)
    assert answer.status_code == 409
    _no_beta(answer)
    assert _beta_credential(w).account == "bea.beta"


def _ui_connect_form(path: str) -> Case:
    def case(w: World) -> None:
        with w.web(ALPHA_ADMIN) as web:
            data = {"csrf_token": csrf_of(web.get("/admin/connect").text), "url": "ftp://x/"}
            answer = web.post(path, data=data)
            assert answer.status_code == 422
            _no_beta(answer)
        with w.web(BOTH) as web:
            data = {"csrf_token": _as_beta_auditor(web), "url": "https://x.example/"}
            assert web.post(path, data=data).status_code == 403
        assert _beta_credential(w).endpoint == "https://dav.beta.example/"

    return case


CASES.update(
    {
        ("GET", "/admin/connect"): _ui_connections,
        ("POST", "/admin/connect/google"): _ui_start_google,
        ("GET", "/oauth/google/callback"): _public("/oauth/google/callback?state=s&code=c"),
        ("GET", "/admin/connect/google/callback"): _ui_finish_google,
        ("POST", "/admin/connect/google/disconnect"): _ui_disconnect_google,
        ("POST", "/admin/connect/caldav"): _ui_connect_form("/admin/connect/caldav"),
        ("POST", "/admin/connect/ics"): _ui_connect_form("/admin/connect/ics"),
        ("GET", "/admin/calendars"): _ui_calendars,
        ("POST", "/admin/calendars"): _ui_add_calendars,
        ("POST", "/admin/calendars/{source_id}/{action}"): _ui_calendar_action,
    }
)


def _routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    def flat(routes: Any) -> Iterator[Any]:
        for route in routes:
            included = getattr(route, "original_router", None)
            yield from flat(included.routes) if included is not None else (route,)

    for route in flat(app.routes):
        for method in sorted(getattr(route, "methods", None) or ()):
            yield method, route.path


def test_every_route_has_an_isolation_case(app: FastAPI) -> None:
    """A route added later without a case here fails: scoping is decided for each one."""
    routes = set(_routes(app))
    assert routes - set(CASES) == set(), "routes without an isolation case"
    assert set(CASES) - routes == set(), "cases of routes that no longer exist"


@pytest.mark.parametrize("route", sorted(CASES), ids=lambda r: f"{r[0]} {r[1]}")
def test_a_member_of_alpha_gets_nothing_of_beta(world: World, route: tuple[str, str]) -> None:
    CASES[route](world)


# --- roles per clinic, the clinic switcher, the operator --------------------------------


def test_roles_are_per_clinic_an_admin_of_alpha_auditing_beta_acts_in_alpha_only(
    world: World,
) -> None:
    with world.api(BOTH) as http:
        listed = {c["id"]: c["clinic_name"] for c in http.get("/api/v1/conflicts").json()["items"]}
        assert listed == {world.alpha.conflict: "Alpha Clinic", world.beta.conflict: "Beta Clinic"}
        only_beta = http.get("/api/v1/conflicts", params={"clinic": "beta"}).json()["items"]
        assert [c["id"] for c in only_beta] == [world.beta.conflict]
        assert http.get(f"/api/v1/conflicts/{world.beta.conflict}").status_code == 200
        path = "/api/v1/conflicts/{}/acknowledge"
        refused = http.post(path.format(world.beta.conflict), json={})
        assert refused.status_code == 403
        assert http.post(path.format(world.alpha.conflict), json={}).status_code == 200
        issued = http.post("/api/v1/feed-tokens", json={"scope": "clinic", "clinic": "beta"})
        assert issued.status_code == 403
        unsaid = http.post("/api/v1/feed-tokens", json={"scope": "clinic"})
        assert unsaid.status_code == 422
    assert world.conflict_state(world.beta) is ConflictState.FLAGGED
    assert world.conflict_state(world.alpha) is ConflictState.ACKNOWLEDGED


def test_a_member_of_two_clinics_switches_between_them_and_sees_each_ones_name(
    world: World,
) -> None:
    with world.web(BOTH) as web:
        first = web.get("/admin/conflicts")
        assert "Alpha Clinic" in first.text
        assert "Jane Doe" in first.text
        _no_beta_patients(first)
        assert '<option value="beta">Beta Clinic</option>' in first.text
        data = {"csrf_token": csrf_of(first.text), "clinic": "beta"}
        assert web.post("/admin/clinic", data=data).status_code == 303
        second = web.get("/admin/conflicts")
        assert "Bea Beta" in second.text
        assert "Jane Doe" not in second.text
        assert re.search(r'<option value="beta" selected>Beta Clinic</option>', second.text)
        assert 'class="role">auditor<' in second.text
        detail = web.get(f"/admin/conflicts/{world.beta.conflict}")
        assert "Acknowledge" not in detail.text  # an auditor there: no action buttons
        act = {"csrf_token": csrf_of(second.text), "reason": ""}
        refused = web.post(f"/admin/conflicts/{world.beta.conflict}/acknowledge", data=act)
        assert refused.status_code == 403
        csv = web.get("/admin/conflicts.csv")
        assert "Bea Beta" in csv.text
        assert "Jane Doe" not in csv.text
        assert "Beta Clinic" in csv.text
        # Alpha's conflict still opens (with its own buttons): the user is its admin.
        assert "Acknowledge" in web.get(f"/admin/conflicts/{world.alpha.conflict}").text


def _no_beta_patients(answer: httpx.Response) -> None:
    for text in ("bea.beta", "Bea Beta", "Beta Room"):
        assert text not in answer.text


def test_an_operator_without_membership_sees_every_clinics_counts_and_no_patient(
    world: World,
) -> None:
    with world.api(OPERATOR) as http:
        rows = {row["clinic"]: row for row in http.get("/api/v1/clinics").json()}
        for conflicts_of in ("/api/v1/conflicts", "/api/v1/health", "/api/v1/feed-tokens"):
            answer = http.get(conflicts_of)
            assert answer.status_code == 200
            assert answer.json() in ([], {"items": [], "total": 0, "page": 1, "per_page": 50,
                                          "pages": 1})  # fmt: skip
        assert http.get(f"/api/v1/conflicts/{world.alpha.conflict}").status_code == 404
        assert http.get("/api/v1/audit").json()["items"] == []
    assert rows["alpha"]["clinic_name"] == "Alpha Clinic"
    assert {k: rows["beta"][k] for k in ("calendars", "open_conflicts", "quarantined_events")} == {
        "calendars": 2, "open_conflicts": 1, "quarantined_events": 0,
    }  # fmt: skip
    assert rows["beta"]["last_sync_at"] is not None
    with world.web(OPERATOR) as web:
        page = web.get("/admin/clinics")
        conflicts = web.get("/admin/conflicts")
        assert conflicts.headers["location"] == "/admin/clinics"  # the operator's home
        csv = web.get("/admin/conflicts.csv")
    assert csv.text.count("\r\n") == 1  # the header row only
    assert page.status_code == 200
    assert "Alpha Clinic" in page.text
    assert "Beta Clinic" in page.text
    for answer in (page, conflicts, csv):
        for text in ("Jane Doe", "jane.doe", "Bea Beta", "bea.beta", "Room"):
            assert text not in answer.text
