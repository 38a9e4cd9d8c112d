"""The admin UI's calendar picker: the account's calendars the clinic watches (SPEC §2, §8).

``GET /admin/calendars`` lists the calendars the clinic's Google account sees
(calendarList, https://developers.google.com/calendar/api/v3/reference/calendarList,
with each ``accessRole``) that the clinic does not watch yet, in a form: every calendar
clinic-sync can flag is ticked except the account owner's own primary calendar (usually
a person's diary, not a practitioner's or a room's bookings); a read-only one
(``reader``, ``freeBusyReader``) is marked so and left unticked, as flags cannot be
written to it, and a free/busy one cannot be chosen at all (its events have no text to
read). Below, every calendar the clinic watches, of any provider, with its sync health
(the data of the Sync health page) and buttons to pause, resume or remove it.

``POST /admin/calendars`` adds the ticked calendars, each checked again against the
account's list (nothing is taken from the form but ids); ``POST
/admin/calendars/{id}/pause|resume|remove`` act on one of the clinic's calendars — one of
another clinic answers 404 like a missing one. Each needs an admin and the CSRF token,
and is recorded in the audit trail; removing keeps the calendar's audit history.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Response

from sync.errors import ClinicSyncError, InputError
from sync.sources.google.errors import ProviderUnavailable
from sync.sources.google.grants import NotConnected, ReconnectRequired
from sync.sources.port import RemoteCalendar
from sync.store.database import session_scope
from sync.store.sources import Provider
from sync.store.users import WebSession
from sync.usecases import connect
from sync.web.admin import actions, connections
from sync.web.admin.access import Caller, NotAllowed, page_caller
from sync.web.admin.auth import PageError, check_csrf
from sync.web.admin.context import AdminContext
from sync.web.admin.pages import not_allowed, page_values, signed_in_for
from sync.web.admin.views import render

__all__ = ["calendar_pages", "choosable", "preselected"]

_ACTIONS = ("pause", "resume", "remove")
_NOTICES = {"google": "The Google account is connected. Choose the calendars to watch."}


def preselected(calendar: RemoteCalendar) -> bool:
    """Ticked at first: a calendar flags can be written to, not the owner's own diary."""
    return calendar.writable and not calendar.primary


def choosable(calendar: RemoteCalendar) -> bool:
    """Whether watching it can find anything: a free/busy view has no booking text."""
    return calendar.access_role != "freeBusyReader"


def calendar_pages(context: AdminContext) -> APIRouter:
    """The calendar picker's router."""
    router = APIRouter(prefix="/admin", include_in_schema=False)
    signed_in = Annotated[WebSession, Depends(signed_in_for(context))]
    csrf = Annotated[str | None, Form()]

    @router.get("/calendars")
    def picker(web: signed_in, connected: str = "") -> Response:
        return _page(context, web, notice=_NOTICES.get(connected))

    @router.post("/calendars")
    def add(
        web: signed_in,
        csrf_token: csrf = None,
        calendar_id: Annotated[list[str] | None, Form(max_length=1024)] = None,
    ) -> Response:
        check_csrf(web, csrf_token)
        caller = page_caller(web)
        try:
            acting = connections.actor(context, caller)
            wanted = set(calendar_id or ())
            if not wanted:
                raise InputError("tick at least one calendar to add")
            listed = connections.account_calendars(context, caller)
            chosen = [c for c in listed if c.id in wanted and choosable(c)]
            if len(chosen) != len(wanted):
                raise InputError("a chosen calendar is not in the Google account's list")
            with session_scope(context.engine) as session:
                added = connect.add_calendars(session, acting, Provider.GOOGLE, chosen)
        except NotAllowed as err:
            raise not_allowed(err) from err
        except ClinicSyncError as err:
            return _page(context, web, error=str(err), status=422)
        return _page(context, web, notice=f"{len(added)} calendar(s) added: they sync shortly.")

    @router.post("/calendars/{source_id}/{action}")
    def act(
        source_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
        action: str,
        web: signed_in,
        csrf_token: csrf = None,
    ) -> Response:
        check_csrf(web, csrf_token)
        if action not in _ACTIONS:
            raise PageError(404, "There is no such action.")
        try:
            acting = connections.actor(context, page_caller(web))
            with session_scope(context.engine) as session:
                if action == "remove":
                    source = connect.remove_calendar(session, acting, source_id)
                else:
                    source = connect.pause_calendar(session, acting, source_id, action == "pause")
        except NotAllowed as err:
            raise not_allowed(err) from err
        except InputError as err:
            raise PageError(404, str(err)) from err
        done = {"pause": "paused", "resume": "syncing again", "remove": "removed"}[action]
        return _page(context, web, notice=f"{source.display_name} is {done}.")

    return router


def _page(
    context: AdminContext,
    web: WebSession,
    *,
    notice: str | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    values = page_values(web, "calendars", "Calendars")
    values["notice"] = notice
    caller = page_caller(web)
    extra: dict[str, Any] = {"remote": [], "google_problem": None, "reconnect": False}
    if caller.current is not None:
        sources = actions.calendars(context, caller)
        watched = {s.external_id for s in sources if s.provider is Provider.GOOGLE}
        extra.update(_remote(context, caller, watched))
        extra["counts"] = actions.quarantined_per_calendar(context, caller)
    else:
        sources, extra["counts"] = [], {}
    return render(
        "calendars.html", status, **values, **extra, sources=sources, error=error,
        preselected=preselected, choosable=choosable,
    )  # fmt: skip


def _remote(context: AdminContext, caller: Caller, watched: set[str]) -> dict[str, Any]:
    """The account's calendars not watched yet, or why they cannot be listed."""
    try:
        listed = connections.account_calendars(context, caller)
    except NotConnected:
        return {"google_problem": "No Google account is connected yet."}
    except ReconnectRequired as err:
        problem = f"Google refused the clinic's grant ({err.grant_reason})."
        return {"google_problem": problem, "reconnect": True}
    except ProviderUnavailable as err:
        return {"google_problem": f"Google could not be reached: {err}. Reload to try again."}
    except ClinicSyncError as err:
        return {"google_problem": f"The Google account's calendars cannot be listed: {err}"}
    return {"remote": [c for c in listed if c.id not in watched]}
