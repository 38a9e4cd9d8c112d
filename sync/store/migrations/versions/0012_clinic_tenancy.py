"""The clinic is the tenant: its settings and policy in the database, users as its members.

Revision ID: 0012
Revises: 0011

Written against ``sync.store.tables.ClinicRow`` (the settings columns and ``version``),
``ClinicPolicyRow``, ``MembershipRow`` and ``UserRow.operator``, free of imports from the
application like 0001 but for the readers of
:mod:`sync.clinics.settings` and :func:`sync.policy_file.parse_policy_text`, which check a
moved value as the service does (SPEC §2, §3, §8).

An existing install ran one clinic per process, set by ``CLINIC_SYNC_*`` variables. The
data step moves them into that clinic (``CLINIC_SYNC_CLINIC``, default ``default``), read
from the environment and a ``.env`` in the working directory as the service read them:
time zone, staff domains, flag colour, patient-id property, feed label, scan horizon and
dry run, and the policy file's text as the clinic's policy version 1. Users were global and
each web app showed its own clinic, so every existing user becomes a member of that clinic
with the role they had (of the only clinic there is, when the named one does not exist).
A value that the service would have refused (a policy file that does not parse included)
is left at its default and reported.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import op

from sync.clinics.settings import (
    MOVED_POLICY,
    MOVED_VARIABLES,
    process_variables,
    read_setting,
)
from sync.errors import ClinicSyncError, InputError
from sync.policy_file import parse_policy_text

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INSTANT = sa.DateTime(timezone=True)
_log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    _settings_columns()
    op.create_table(
        "clinic_policies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_clinic_policies_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinic_policies")),
        sa.UniqueConstraint(
            "clinic_id", "version", name=op.f("uq_clinic_policies_clinic_id_version")
        ),
    )
    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.CheckConstraint("role IN ('admin', 'auditor')", name=op.f("ck_memberships_role")),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_memberships_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_memberships_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
        sa.UniqueConstraint("user_id", "clinic_id", name=op.f("uq_memberships_user_id_clinic_id")),
    )
    op.create_index(op.f("ix_memberships_clinic_id"), "memberships", ["clinic_id"])
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("operator", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    _move_process_settings(process_variables())


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("operator")
    op.drop_index(op.f("ix_memberships_clinic_id"), table_name="memberships")
    op.drop_table("memberships")
    op.drop_table("clinic_policies")
    with op.batch_alter_table("clinics") as batch:
        batch.drop_constraint(op.f("ck_clinics_feed_patient_label"), type_="check")
        for name, *_ in _COLUMNS:
            batch.drop_column(name)


_COLUMNS: tuple[tuple[str, sa.types.TypeEngine[Any], str], ...] = (
    ("time_zone", sa.String(length=64), "UTC"),
    ("staff_domains", sa.String(length=2000), ""),
    ("flag_color", sa.String(length=2), "11"),
    ("patient_id_property", sa.String(length=200), "patient_id"),
    ("feed_patient_label", sa.String(length=16), "initials"),
    ("scan_days_back", sa.Integer(), "180"),
    ("scan_days_ahead", sa.Integer(), "365"),
    ("feed_horizon_days", sa.Integer(), "120"),
    ("dry_run", sa.Boolean(), "0"),
    ("version", sa.Integer(), "1"),
)


def _settings_columns() -> None:
    with op.batch_alter_table("clinics") as batch:
        for name, kind, default in _COLUMNS:
            server_default = (
                sa.false()
                if isinstance(kind, sa.Boolean)
                else sa.text(repr(default) if isinstance(kind, sa.String) else default)
            )
            batch.add_column(sa.Column(name, kind, nullable=False, server_default=server_default))
        batch.add_column(sa.Column("updated_at", _INSTANT, nullable=True))
        batch.create_check_constraint(
            op.f("ck_clinics_feed_patient_label"),
            "feed_patient_label IN ('full', 'initials', 'id')",
        )


def _move_process_settings(env: Mapping[str, str]) -> None:
    bind = op.get_bind()
    clinics = sa.table("clinics", sa.column("id", sa.Integer), sa.column("slug", sa.String))
    rows = bind.execute(sa.select(clinics.c.id, clinics.c.slug)).all()
    slug = env.get("CLINIC_SYNC_CLINIC", "default")
    home = next((row.id for row in rows if row.slug == slug), None)
    if home is None and len(rows) == 1:
        home = rows[0].id
    if home is None:
        return
    values = _clinic_values(env)
    if values:
        settings = sa.table("clinics", sa.column("id"), *(sa.column(name) for name in values))
        bind.execute(sa.update(settings).where(settings.c.id == home).values(**values))
    now = datetime.now(UTC)
    _move_policy(bind, home, env.get(MOVED_POLICY), now)
    bind.execute(
        sa.text(
            "INSERT INTO memberships (user_id, clinic_id, role, created_at) "
            "SELECT id, :clinic_id, role, :now FROM users"
        ),
        {"clinic_id": home, "now": now},
    )


def _clinic_values(env: Mapping[str, str]) -> dict[str, object]:
    # The readers the service checks these settings with now, so a value moves only if
    # the clinic could be run with it.
    values: dict[str, object] = {}
    for variable, setting in MOVED_VARIABLES.items():
        if variable not in env:
            continue
        try:
            value = read_setting(setting, env[variable])
        except InputError as err:
            _log.warning("%s left at its default: %s", variable, err)
            continue
        values[setting] = ",".join(sorted(value)) if isinstance(value, frozenset) else value
    return values


def _move_policy(bind: sa.Connection, clinic_id: int, path: str | None, now: datetime) -> None:
    if path is None:
        return
    try:
        text = Path(path).read_text("utf-8")
        # The service refused to start with a policy that does not parse; stored, it
        # would stop the clinic on every pass, so it stays out like any refused value.
        parse_policy_text(text, path)
    except (OSError, UnicodeDecodeError, ClinicSyncError) as err:
        _log.warning("%s %s not moved into the clinic: %s", MOVED_POLICY, path, err)
        return
    bind.execute(
        sa.text(
            "INSERT INTO clinic_policies (clinic_id, version, text, created_at, created_by) "
            "VALUES (:clinic_id, 1, :text, :now, NULL)"
        ),
        {"clinic_id": clinic_id, "text": text, "now": now},
    )
    bind.execute(
        sa.text("UPDATE clinics SET version = version + 1 WHERE id = :clinic_id"),
        {"clinic_id": clinic_id},
    )
