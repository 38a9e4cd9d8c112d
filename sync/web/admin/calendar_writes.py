"""Bringing one booking's flag in line right after an admin's review (SPEC §6, §8).

An override takes the conflict's flag off the later booking; a re-open puts it back.
The state change is stored first (:mod:`sync.store.review`), so the worker's cycle
converges on it in any case; this module runs the cycle's own flag path
(:func:`sync.usecases.detect.load_detection`, :func:`sync.usecases.flagging.plan_flags`,
:func:`~sync.usecases.flagging.apply_flags`,
:func:`~sync.usecases.flagging.settle_states`) for that one
booking at once, when the web app can reach its calendar (any provider, through the same
:class:`~sync.sources.router.CalendarRouter` the worker uses). Conflicts are not
re-detected here: that stays the worker's job. A calendar that cannot be reached, or
dry-run mode, leave the write to the worker, which notices the review on its next cycle.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from rules.assess import Scope
from rules.model import Conflict
from sync.bootstrap import booking_reader, google_source, other_sources
from sync.clinics.profile import ClinicProfile
from sync.errors import ClinicSyncError
from sync.sources.port import CalendarSource
from sync.sources.router import CalendarRouter
from sync.store.conflicts import ConflictState, StoredConflict, copies_by_row
from sync.store.database import session_scope
from sync.store.errors import StoreError
from sync.store.review import ConflictView
from sync.store.sources import Provider
from sync.usecases.detect import Detection, load_detection
from sync.usecases.flagging import FlagOptions, FlagTally, apply_flags, plan_flags, settle_states
from sync.web.admin.context import AdminContext

__all__ = ["DEFERRED", "bring_flag_in_line"]

_log = logging.getLogger(__name__)
DEFERRED = "the calendar will be updated on the worker's next cycle"
Pair = tuple[StoredConflict, Conflict]


def bring_flag_in_line(context: AdminContext, conflict: ConflictView) -> str:
    """Write the later booking's flag as the conflicts' states want it; what happened, in words."""
    clinic = context.clinic(conflict.clinic_id)
    if clinic.settings.dry_run:
        return "dry run: nothing is written to calendars"
    calendars = _router(context, clinic)
    try:
        return _describe(_apply(context, clinic, conflict, calendars))
    except (ClinicSyncError, StoreError) as err:
        _log.warning("flag write after review failed: %s", err)
        return DEFERRED
    finally:
        calendars.close()


def _router(context: AdminContext, clinic: ClinicProfile) -> CalendarRouter:
    settings, engine = context.settings, context.engine

    def google() -> CalendarSource:
        return google_source(settings, clinic, engine=engine)

    others = other_sources(settings, engine, clinic)
    return CalendarRouter(engine, clinic.id, {Provider.GOOGLE: google, **others})


def _apply(
    context: AdminContext,
    clinic: ClinicProfile,
    conflict: ConflictView,
    calendars: CalendarSource,
) -> FlagTally | None:
    settings, now = context.settings, context.now()
    reader = booking_reader(clinic)
    with session_scope(context.engine) as session:
        detection, stored = load_detection(
            session, conflict.clinic_id, clinic.policy, reader, _scope(clinic, now)
        )
    known = {c.facts.public_id: c for c in stored}
    pairs = _pairs_on(detection, known, conflict.later.event_id)
    options = FlagOptions(clinic.settings.flag_color, f"{settings.public_url}/admin", now)
    targets = [
        target
        for target in plan_flags(detection, pairs, clinic.policy, options)
        if target.event_id == conflict.later.event_id
    ]
    if not targets:
        return None
    tally = apply_flags(
        context.engine, calendars, reader, conflict.clinic_id, targets, options=options, known=known
    )
    _settle(context, conflict.clinic_id, pairs)
    return tally


def _pairs_on(detection: Detection, known: dict[str, StoredConflict], event_id: str) -> list[Pair]:
    """The detected, stored, unresolved conflicts whose later booking is ``event_id``."""
    return [
        (known[public_id], found)
        for public_id, found in detection.conflicts.items()
        if public_id in known
        and known[public_id].state is not ConflictState.RESOLVED
        and found.later.id == event_id
    ]


def _settle(context: AdminContext, clinic_id: int, pairs: Sequence[Pair]) -> None:
    with session_scope(context.engine) as session:
        later = copies_by_row(session, {stored.facts.later_row_id for stored, _ in pairs})
        carried = {c.booking.id: c.private_properties for c in later.values()}
        settle_states(session, clinic_id, pairs, carried, context.now())


def _scope(clinic: ClinicProfile, now: datetime) -> Scope:
    scan = clinic.settings
    return Scope(clinic.today(now), days_back=scan.scan_days_back, days_ahead=scan.scan_days_ahead)


def _describe(tally: FlagTally | None) -> str:
    if tally is None:
        return "the calendar already shows this"
    if tally.unflagged:
        return "the flag was taken off the calendar"
    if tally.flagged:
        return "the flag was written on the calendar"
    if tally.skipped:
        return "nothing written: the booking has started, or the calendar is read-only"
    return DEFERRED
