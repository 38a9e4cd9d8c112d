"""Push channels: the events.watch channels open on Google calendars (SPEC §9).

Revision ID: 0009
Revises: 0008

Written against ``sync.store.tables.PushChannelRow`` and kept free of imports from the
application, like 0001. A new table, nothing migrated: workers open channels on their next
poll of each Google calendar once a public https URL is configured
(https://developers.google.com/calendar/api/guides/push).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = "push_channels"
_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=True),
        sa.Column("channel_id", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=255), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("opened_at", _INSTANT, nullable=False),
        sa.Column("expires_at", _INSTANT, nullable=False),
        sa.Column("notifications", sa.Integer(), nullable=False),
        sa.Column("last_message_number", sa.BigInteger(), nullable=True),
        sa.Column("last_notified_at", _INSTANT, nullable=True),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_push_channels_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["calendar_sources.id"],
            name=op.f("fk_push_channels_source_id_calendar_sources"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_channels")),
        sa.UniqueConstraint("channel_id", name=op.f("uq_push_channels_channel_id")),
    )
    op.create_index(op.f("ix_push_channels_source_id"), _TABLE, ["source_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_push_channels_source_id"), table_name=_TABLE)
    op.drop_table(_TABLE)
