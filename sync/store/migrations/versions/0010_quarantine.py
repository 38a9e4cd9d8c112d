"""Ingest boundary: quarantined events, cut fields, periodic reconciliation (SPEC §9).

Revision ID: 0010
Revises: 0009

Written against ``sync.store.tables`` (``QuarantinedEventRow``, ``BookingRow.cut_fields``,
the reconciliation columns of ``CalendarSourceRow``) and kept free of imports from the
application, like 0001. ``last_full_sync_at`` starts at each calendar's last sync, so an
upgrade does not list every calendar in full at once.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = "quarantined_events"
_INSTANT = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("calendar_sources") as table:
        table.add_column(sa.Column("last_full_sync_at", _INSTANT, nullable=True))
        table.add_column(sa.Column("last_reconciled_at", _INSTANT, nullable=True))
        table.add_column(sa.Column("reconcile_corrections", sa.Integer(), nullable=True))
    op.execute("UPDATE calendar_sources SET last_full_sync_at = last_sync_at")
    with op.batch_alter_table("bookings") as table:
        table.add_column(sa.Column("cut_fields", _JSON, nullable=True))
    op.execute("UPDATE bookings SET cut_fields = '[]'")
    with op.batch_alter_table("bookings") as table:
        table.alter_column("cut_fields", existing_type=_JSON, nullable=False)
    _create_quarantine()


def _create_quarantine() -> None:
    op.create_table(
        _TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("event_key", sa.String(length=64), nullable=False),
        sa.Column("provider_event_id", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("first_seen_at", _INSTANT, nullable=False),
        sa.Column("last_seen_at", _INSTANT, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_quarantined_events_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["calendar_sources.id"],
            name=op.f("fk_quarantined_events_source_id_calendar_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantined_events")),
        sa.UniqueConstraint(
            "source_id", "event_key", name=op.f("uq_quarantined_events_source_id_event_key")
        ),
    )
    op.create_index(op.f("ix_quarantined_events_clinic_id"), _TABLE, ["clinic_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_quarantined_events_clinic_id"), table_name=_TABLE)
    op.drop_table(_TABLE)
    with op.batch_alter_table("bookings") as table:
        table.drop_column("cut_fields")
    with op.batch_alter_table("calendar_sources") as table:
        table.drop_column("reconcile_corrections")
        table.drop_column("last_reconciled_at")
        table.drop_column("last_full_sync_at")
