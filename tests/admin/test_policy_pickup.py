"""A policy saved in the editor is the one the next detection runs with (SPEC §3, §5).

The worker keeps each clinic's services and re-checks the clinic's version; saving a
policy raises it, so the worker's next pass of the clinic detects with the new rules and
resolves what they no longer forbid — no restart.
"""

from __future__ import annotations

import httpx
from sqlalchemy import Engine

from sync.config import Settings
from sync.metrics import CycleMetrics
from sync.push import PushOptions
from sync.store.conflicts import ConflictState, list_conflicts
from sync.store.database import session_scope
from sync.usecases.cycle import run_clinic_pass
from sync.worker.budget import RequestBudget
from sync.worker.clinics import WorkerClinics
from tests.admin.conftest import ADMIN, NOW, Accounts, Seeded, sign_in
from tests.admin.forms import form_fields


def _state(worker: WorkerClinics) -> ConflictState:
    with session_scope(worker.engine) as session:
        [conflict] = list_conflicts(session, 1)
    return conflict.state


def test_a_policy_saved_in_the_editor_changes_the_workers_next_detection(
    web: httpx.Client, accounts: Accounts, seeded: Seeded, settings: Settings, engine: Engine
) -> None:
    worker = WorkerClinics(
        settings,
        engine,
        budget=RequestBudget(1000),
        observe=lambda error, wait: None,
        metrics=CycleMetrics(),
        push=PushOptions(),
        recheck_seconds=0,
    )
    with worker.serving(1) as services:
        run_clinic_pass(services, now=NOW)
        assert services.policy.rules[0].min_days == 14
    assert _state(worker) is ConflictState.FLAGGED
    sign_in(web, ADMIN)
    fields = form_fields(web.get("/admin/policy").text, "/admin/policy/preview")
    shown = web.post("/admin/policy/preview", data={**fields, "rule-0-min_days": "5",
                                                    "rule-0-ideal_low": "5"})  # fmt: skip
    web.post("/admin/policy/save", data=form_fields(shown.text, "/admin/policy/save"))
    with worker.serving(1) as services:
        assert services.policy.rules[0].min_days == 5
        run_clinic_pass(services, now=NOW)
    assert _state(worker) is ConflictState.RESOLVED
    worker.close()
