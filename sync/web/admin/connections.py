"""What the connect and calendar pages do: sign-in, the account's calendars (SPEC §2, §9).

The pages' routers (:mod:`sync.web.admin.connect_pages`,
:mod:`sync.web.admin.calendar_pages`) translate these into HTML; the changes themselves
are :mod:`sync.usecases.connect`'s, the ones ``clinic-sync connect`` makes too. Every
function acts for the clinic in view of a :class:`~sync.web.admin.access.Caller` and
needs an admin of it to change anything (:class:`~sync.web.admin.access.NotAllowed`).

Google is asked through the same wiring as the worker's
(:func:`sync.bootstrap.google_source`): loading the clinic's grant refreshes it, so a
grant the account revoked is found, and recorded as "needs reconnecting", the first time
the picker lists calendars after it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from sync.accounts.service import Actor
from sync.bootstrap import google_source, google_web_sign_in, secret_box
from sync.errors import ClinicSyncError, ConfigError, InputError
from sync.ingest.text import calendar_name
from sync.sources.google.oauth import SignInFailed
from sync.sources.google.web_oauth import PendingSignIn, WebSignIn
from sync.sources.port import RemoteCalendar
from sync.store.credentials import Credential, CredentialKind, get_credential, set_account
from sync.store.database import session_scope
from sync.store.sign_ins import WaitingSignIn, keep_sign_in, take_sign_in
from sync.store.sources import CalendarSource, Provider, list_sources
from sync.store.users import WebSession, set_session_clinic
from sync.usecases import connect
from sync.web.admin.access import Caller
from sync.web.admin.auth import PageError
from sync.web.admin.context import AdminContext

__all__ = [
    "NOT_SET_UP",
    "SIGN_IN_LIFETIME",
    "Connections",
    "account_calendars",
    "actor",
    "connections",
    "disconnect_google",
    "finish_google",
    "sign_in_flow",
    "start_google",
]

NOT_SET_UP = (
    "Connect Google is not set up on this server: the operator must name the OAuth client "
    "in CLINIC_SYNC_GOOGLE_CLIENT_SECRETS."
)
SIGN_IN_LIFETIME = timedelta(minutes=15)
"""How long a started sign-in waits for its callback (Google's codes live minutes)."""


@dataclass(frozen=True, slots=True)
class Connections:
    """A clinic's provider accounts and calendars, as the connect page shows them."""

    google: Credential | None
    caldav: Credential | None
    sources: list[CalendarSource]
    google_ready: bool
    """Whether Connect Google is set up (the OAuth client is configured)."""

    @property
    def ics(self) -> list[CalendarSource]:
        return [source for source in self.sources if source.provider is Provider.ICS]

    def count(self, provider: str) -> int:
        """How many calendars of ``provider`` (a :class:`Provider` or its value) are watched."""
        return sum(1 for source in self.sources if source.provider == provider)


def actor(context: AdminContext, caller: Caller) -> Actor:
    """The caller acting in the clinic in view, now; :class:`NotAllowed` unless its admin."""
    clinic_id = _clinic(caller)
    caller.require_admin(clinic_id)
    return Actor(caller.user.email, clinic_id, context.now())


def sign_in_flow(context: AdminContext) -> WebSignIn | None:
    """The configured web sign-in, or ``None`` while the operator has not set one up."""
    try:
        return google_web_sign_in(context.settings)
    except ConfigError:
        return None


def connections(context: AdminContext, caller: Caller) -> Connections:
    """The clinic in view's accounts and calendars."""
    clinic_id = _clinic(caller)
    with session_scope(context.engine) as session:
        google = get_credential(session, clinic_id, Provider.GOOGLE)
        caldav = get_credential(session, clinic_id, Provider.CALDAV)
        sources = list_sources(session, clinic_id)
    ready = context.settings.google_client_secrets is not None
    return Connections(google, caldav, sources, ready)


def start_google(context: AdminContext, caller: Caller, web: WebSession, flow: WebSignIn) -> str:
    """Keep a new sign-in on the browser's session; the consent page's URL to send it to."""
    acting = actor(context, caller)
    start = flow.start()
    pending = start.pending
    waiting = WaitingSignIn(
        acting.clinic_id, pending.state, pending.code_verifier, pending.redirect_uri, acting.now
    )
    with session_scope(context.engine) as session:
        keep_sign_in(session, web.id, waiting)
    return start.url


def finish_google(
    context: AdminContext,
    web: WebSession,
    flow: WebSignIn | None,
    answer: dict[str, str | None],
) -> Credential:
    """Check Google's answer against the session's sign-in and store the grant it gives.

    The sign-in is taken first, so whatever happens next it cannot be answered twice;
    then the user must still be an admin of the clinic it was started for.
    """
    with session_scope(context.engine) as session:
        waiting = take_sign_in(session, web.id)
    if waiting is None or context.now() - waiting.started_at > SIGN_IN_LIFETIME:
        raise SignInFailed(
            "this Google sign-in was not started from this browser session, or it expired: "
            "start again from Connect Google",
            reason="state_mismatch" if waiting is None else "expired",
        )
    Caller(web.user).require_admin(waiting.clinic_id)
    if flow is None:
        raise ConfigError(NOT_SET_UP)
    pending = PendingSignIn(waiting.state, waiting.code_verifier, waiting.redirect_uri)
    grant = flow.finish(
        pending, state=answer.get("state"), code=answer.get("code"), error=answer.get("error")
    )
    acting = Actor(web.user.email, waiting.clinic_id, context.now())
    with session_scope(context.engine) as session:
        stored = connect.save_google_grant(session, acting, grant, secret_box(context.settings))
        set_session_clinic(session, web.id, waiting.clinic_id)
    _name_account(context, waiting.clinic_id)
    return stored


def disconnect_google(context: AdminContext, caller: Caller) -> tuple[Credential, bool]:
    """Revoke the clinic's grant at Google, then forget it (the audit trail keeps that it was).

    A grant Google no longer knows (or a service account's, which has nothing to revoke) is
    forgotten all the same, and the answer's flag is false; Google unreachable leaves it
    stored (:class:`~sync.sources.google.errors.ProviderUnavailable`), to try again.
    """
    acting = actor(context, caller)
    with session_scope(context.engine) as session:
        stored = get_credential(session, acting.clinic_id, Provider.GOOGLE)
    if stored is None:
        raise InputError("no Google account is connected")
    revoked = False
    flow = sign_in_flow(context)
    if stored.kind is CredentialKind.OAUTH and flow is not None:
        revoked = flow.revoke(secret_box(context.settings).decrypt(stored.secret))
    with session_scope(context.engine) as session:
        connect.forget_google(session, acting, revoked=revoked)
    return stored, revoked


def account_calendars(context: AdminContext, caller: Caller) -> list[RemoteCalendar]:
    """The calendars the clinic's Google account lists (calendarList), primary first."""
    return _calendars_of(context, _clinic(caller))


def _calendars_of(context: AdminContext, clinic_id: int) -> list[RemoteCalendar]:
    source = google_source(context.settings, context.clinic(clinic_id), engine=context.engine)
    try:
        listed = source.list_calendars()
    finally:
        source.client.close()
    # The names are the provider's text: shown only after the boundary that cleans and bounds it.
    named = [replace(calendar, summary=calendar_name(calendar.summary)) for calendar in listed]
    return sorted(named, key=lambda calendar: (not calendar.primary, calendar.summary.casefold()))


def _name_account(context: AdminContext, clinic_id: int) -> None:
    """Name the grant by the account's e-mail: its primary calendar's id (best effort)."""
    try:
        listed = _calendars_of(context, clinic_id)
    except ClinicSyncError:  # naming is cosmetic: the picker reports real failures
        return
    primary = next((calendar for calendar in listed if calendar.primary), None)
    if primary is not None:
        with session_scope(context.engine) as session:
            set_account(session, clinic_id, Provider.GOOGLE, primary.id)


def _clinic(caller: Caller) -> int:
    if caller.current is None:
        raise PageError(404, "You are not a member of any clinic yet: ask an admin to add you.")
    return caller.current.clinic_id
