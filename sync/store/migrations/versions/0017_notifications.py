"""Notifications: preferences, webhooks, the notifier's cursor and episodes, deliveries.

Revision ID: 0017
Revises: 0014

Written against the ``Notification*Row`` tables of :mod:`sync.store.tables` and the two
clinic settings ``notify_practitioners`` (off) and ``notify_digest_hour`` (8, the clinic's
time), free of imports from the application like 0001 (issue 15; SPEC §8).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0017"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INSTANT = sa.DateTime(timezone=True)


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), nullable=False)


def _owner(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete="CASCADE"
    )


def upgrade() -> None:
    with op.batch_alter_table("clinics") as batch:
        batch.add_column(
            sa.Column(
                "notify_practitioners", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch.add_column(
            sa.Column(
                "notify_digest_hour", sa.Integer(), nullable=False, server_default=sa.text("8")
            )
        )
    _preferences()
    _webhooks()
    _cursors_and_episodes()
    _deliveries()


def _preferences() -> None:
    table = "notification_preferences"
    op.create_table(
        table,
        _id(),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("updated_at", _INSTANT, nullable=False),
        sa.CheckConstraint("mode IN ('immediate', 'daily', 'off')", name=op.f(f"ck_{table}_mode")),
        _owner(table, "user_id", "users"),
        _owner(table, "clinic_id", "clinics"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint("user_id", "clinic_id", name=op.f(f"uq_{table}_user_id_clinic_id")),
    )
    op.create_index(op.f(f"ix_{table}_clinic_id"), table, ["clinic_id"])


def _webhooks() -> None:
    table = "notification_webhooks"
    op.create_table(
        table,
        _id(),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.CheckConstraint("format IN ('json', 'slack')", name=op.f(f"ck_{table}_format")),
        _owner(table, "clinic_id", "clinics"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    )
    op.create_index(op.f(f"ix_{table}_clinic_id"), table, ["clinic_id"])


def _cursors_and_episodes() -> None:
    op.create_table(
        "notification_cursors",
        _id(),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", _INSTANT, nullable=False),
        _owner("notification_cursors", "clinic_id", "clinics"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_cursors")),
        sa.UniqueConstraint("clinic_id", name=op.f("uq_notification_cursors_clinic_id")),
    )
    op.create_table(
        "notification_episodes",
        _id(),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("started_at", _INSTANT, nullable=False),
        sa.Column("audit_event_id", sa.Integer(), nullable=False),
        _owner("notification_episodes", "clinic_id", "clinics"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_episodes")),
        sa.UniqueConstraint(
            "clinic_id", "key", name=op.f("uq_notification_episodes_clinic_id_key")
        ),
    )


def _deliveries() -> None:
    table = "notification_deliveries"
    op.create_table(
        table,
        _id(),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("audit_event_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=400), nullable=False),
        sa.Column("batch_key", sa.String(length=450), nullable=True),
        sa.Column("facts", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("due_at", _INSTANT, nullable=False),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_expires_at", _INSTANT, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.Column("settled_at", _INSTANT, nullable=True),
        sa.CheckConstraint("channel IN ('email', 'webhook')", name=op.f(f"ck_{table}_channel")),
        sa.CheckConstraint(
            "state IN ('pending', 'sent', 'failed')", name=op.f(f"ck_{table}_state")
        ),
        _owner(table, "clinic_id", "clinics"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
        sa.UniqueConstraint(
            "audit_event_id", "recipient", name=op.f(f"uq_{table}_audit_event_id_recipient")
        ),
    )
    op.create_index(op.f(f"ix_{table}_state_due_at"), table, ["state", "due_at"])
    op.create_index(op.f(f"ix_{table}_batch_key"), table, ["batch_key"])


def downgrade() -> None:
    for table in (
        "notification_deliveries",
        "notification_episodes",
        "notification_cursors",
        "notification_webhooks",
        "notification_preferences",
    ):
        op.drop_table(table)
    with op.batch_alter_table("clinics") as batch:
        batch.drop_column("notify_digest_hour")
        batch.drop_column("notify_practitioners")
