"""The operator view: every clinic with its counts and sync health, no patient data (SPEC §8).

An operator runs the service (``clinic-sync users add EMAIL --operator``): they see how
each clinic's sync goes — calendars, failing calendars, quarantined events, open
conflicts, the last successful sync — and nothing about any patient, unless they are
also a member of the clinic. ``GET /admin/clinics`` is the page; ``GET /api/v1/clinics``
(:mod:`sync.web.admin.api`) answers the same rows as JSON. Anyone else gets 403.
"""

# No ``from __future__ import annotations``: FastAPI reads the route's local
# ``Annotated`` alias at definition time.

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from sync.store.database import session_scope
from sync.store.health import ClinicOverview
from sync.store.health import clinic_overview as overview_rows
from sync.store.users import WebSession
from sync.web.admin.auth import PageError
from sync.web.admin.context import AdminContext
from sync.web.admin.pages import page_values, signed_in_for
from sync.web.admin.views import render

__all__ = ["clinic_overview", "operator_pages"]


def clinic_overview(context: AdminContext) -> list[ClinicOverview]:
    """Every clinic's counts."""
    with session_scope(context.engine) as session:
        return overview_rows(session)


def operator_pages(context: AdminContext) -> APIRouter:
    """The operator page's router."""
    router = APIRouter(prefix="/admin", include_in_schema=False)
    signed_in = Annotated[WebSession, Depends(signed_in_for(context))]

    @router.get("/clinics")
    def clinics(web: signed_in) -> Response:
        if not web.user.operator:
            raise PageError(403, "Only an operator of the service sees every clinic.")
        values = page_values(web, "clinics", "All clinics")
        return render("clinics.html", **values, rows=clinic_overview(context))

    return router
