"""Exact flag writes: a fencing token on each calendar lease and a record of every flag write.

Revision ID: 0011
Revises: 0010

Written against ``sync.store.tables.CalendarSourceRow`` (``lease_token``) and
``sync.store.tables.FlagWriteRow``, free of imports from the application like 0001. Existing
leases start at token 0; the next claim of each calendar raises it. No write is migrated:
flags already on calendars carry no write nonce and are left as they are (SPEC §6, §8, §9).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = "flag_writes"
_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("calendar_sources") as batch:
        batch.add_column(
            sa.Column("lease_token", sa.BigInteger(), nullable=False, server_default="0")
        )
    op.create_table(
        _TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=1024), nullable=False),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("seen_nonce", sa.String(length=32), nullable=True),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.Column("block", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.JSON().with_variant(JSONB(), "postgresql"), nullable=False),
        sa.Column("fence_source_id", sa.Integer(), nullable=True),
        sa.Column("fence_token", sa.BigInteger(), nullable=True),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.Column("settled_at", _INSTANT, nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_flag_writes_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flag_writes")),
        sa.UniqueConstraint("nonce", name=op.f("uq_flag_writes_nonce")),
    )
    op.create_index(
        op.f("ix_flag_writes_clinic_id_settled_at"), _TABLE, ["clinic_id", "settled_at"]
    )
    op.create_index(op.f("ix_flag_writes_seen_nonce"), _TABLE, ["seen_nonce"])


def downgrade() -> None:
    op.drop_index(op.f("ix_flag_writes_seen_nonce"), table_name=_TABLE)
    op.drop_index(op.f("ix_flag_writes_clinic_id_settled_at"), table_name=_TABLE)
    op.drop_table(_TABLE)
    with op.batch_alter_table("calendar_sources") as batch:
        batch.drop_column("lease_token")
