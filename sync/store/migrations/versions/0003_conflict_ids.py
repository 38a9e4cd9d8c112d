"""Conflicts: the stable public id flags and links use, and when the flag was written (SPEC §6).

Revision ID: 0003
Revises: 0002

Written against ``sync.store.tables.ConflictRow`` and kept free of imports from the
application, like 0001. Batch mode lets SQLite add the unique constraint.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conflicts") as batch:
        batch.add_column(sa.Column("public_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_unique_constraint(
            op.f("uq_conflicts_clinic_id_public_id"), ["clinic_id", "public_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("conflicts") as batch:
        batch.drop_constraint(op.f("uq_conflicts_clinic_id_public_id"), type_="unique")
        batch.drop_column("flagged_at")
        batch.drop_column("public_id")
