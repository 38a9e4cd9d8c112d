"""Google sign-ins waiting for their callback, kept server-side per browser session (SPEC §9).

Connect Google (:mod:`sync.web.admin.connect_pages`) keeps what
:meth:`~sync.sources.google.web_oauth.WebSignIn.start` returned — the ``state``, the
PKCE verifier, the redirect URI — with the clinic the grant is for, on the browser's
web session: never in the browser. The callback takes it (reads and deletes it in one
unit of work), so a callback replayed, or arriving in another session, finds nothing.
Starting again replaces the one waiting.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from sync.store.tables import GoogleSignInRow

__all__ = ["WaitingSignIn", "keep_sign_in", "take_sign_in"]


@dataclass(frozen=True, slots=True)
class WaitingSignIn:
    """A sign-in a session started: for which clinic, when, and what binds its callback."""

    clinic_id: int
    state: str
    code_verifier: str
    redirect_uri: str
    started_at: datetime


def keep_sign_in(session: Session, web_session_id: int, waiting: WaitingSignIn) -> None:
    """Keep ``waiting`` on the web session, in place of any sign-in it started before."""
    _drop(session, web_session_id)
    session.add(
        GoogleSignInRow(
            web_session_id=web_session_id,
            clinic_id=waiting.clinic_id,
            state=waiting.state,
            code_verifier=waiting.code_verifier,
            redirect_uri=waiting.redirect_uri,
            started_at=waiting.started_at,
        )
    )
    session.flush()


def take_sign_in(session: Session, web_session_id: int) -> WaitingSignIn | None:
    """The sign-in the web session started, now forgotten; ``None`` if it started none."""
    query = select(GoogleSignInRow).where(col(GoogleSignInRow.web_session_id) == web_session_id)
    row = session.exec(query).first()
    if row is None:
        return None
    _drop(session, web_session_id)
    return WaitingSignIn(
        row.clinic_id, row.state, row.code_verifier, row.redirect_uri, row.started_at
    )


def _drop(session: Session, web_session_id: int) -> None:
    session.exec(
        delete(GoogleSignInRow).where(col(GoogleSignInRow.web_session_id) == web_session_id)
    )
