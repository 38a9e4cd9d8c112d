"""Identity keys: every key that can tie a booking to a patient, for incremental detection.

Revision ID: 0008
Revises: 0007

Written against ``sync.store.tables.BookingIdentityKeyRow`` and kept free of imports from
the application, like 0001. No data is migrated: which keys a booking carries depends on
the policy and the clinic's staff domains, which the migration cannot know. A process's
first detection of a clinic is a full re-check, and it writes the keys of every live
booking (see ``sync.usecases.detect``); upserts keep them current after that.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = "booking_identity_keys"


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("booking_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("value", sa.String(length=512), nullable=False),
        sa.CheckConstraint(
            "kind IN ('id', 'email', 'name')", name=op.f("ck_booking_identity_keys_kind")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_booking_identity_keys_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["booking_id"],
            ["bookings.id"],
            name=op.f("fk_booking_identity_keys_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_booking_identity_keys")),
        sa.UniqueConstraint(
            "booking_id",
            "kind",
            "value",
            name=op.f("uq_booking_identity_keys_booking_id_kind_value"),
        ),
    )
    op.create_index(
        op.f("ix_booking_identity_keys_clinic_id_kind_value"),
        _TABLE,
        ["clinic_id", "kind", "value"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_booking_identity_keys_clinic_id_kind_value"), table_name=_TABLE)
    op.drop_table(_TABLE)
