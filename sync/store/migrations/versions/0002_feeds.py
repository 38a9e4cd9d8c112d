"""Feeds: token hashes, the fetch log and per-event sequences (SPEC §7).

Revision ID: 0002
Revises: 0001

Written against ``sync.store.tables`` (``FeedTokenRow``, ``FeedFetchRow``, ``FeedEventRow``)
and kept free of imports from the application, like 0001.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INSTANT = sa.DateTime(timezone=True)


def upgrade() -> None:
    _create_feed_tokens()
    op.create_table(
        "feed_fetches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", _INSTANT, nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_fetches")),
    )
    op.create_index(op.f("ix_feed_fetches_at"), "feed_fetches", ["at"], unique=False)
    op.create_index(op.f("ix_feed_fetches_token_id"), "feed_fetches", ["token_id"], unique=False)
    op.create_table(
        "feed_event_sequences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("uid", sa.String(length=255), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("changed_at", _INSTANT, nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_feed_event_sequences_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_event_sequences")),
        sa.UniqueConstraint("clinic_id", "uid", name=op.f("uq_feed_event_sequences_clinic_id_uid")),
    )


def _create_feed_tokens() -> None:
    op.create_table(
        "feed_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scope_kind", sa.String(length=16), nullable=False),
        sa.Column("scope_value", sa.String(length=1024), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=True),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.Column("revoked_at", _INSTANT, nullable=True),
        sa.Column("last_fetched_at", _INSTANT, nullable=True),
        sa.Column("rotated_from_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "scope_kind IN ('patient', 'calendar', 'clinic')",
            name=op.f("ck_feed_tokens_scope_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_feed_tokens_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feed_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_feed_tokens_token_hash")),
    )
    op.create_index(
        op.f("ix_feed_tokens_clinic_id_created_at"),
        "feed_tokens",
        ["clinic_id", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("feed_event_sequences")
    op.drop_index(op.f("ix_feed_fetches_token_id"), table_name="feed_fetches")
    op.drop_index(op.f("ix_feed_fetches_at"), table_name="feed_fetches")
    op.drop_table("feed_fetches")
    op.drop_index(op.f("ix_feed_tokens_clinic_id_created_at"), table_name="feed_tokens")
    op.drop_table("feed_tokens")
