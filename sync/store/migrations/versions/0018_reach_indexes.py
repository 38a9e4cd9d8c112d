"""An index on a conflict's earlier booking, for re-assessments bounded by a change (SPEC §5).

Revision ID: 0018
Revises: 0017

Detection after a change reads the stored conflicts that involve the bookings it reaches,
by either side (``sync.store.conflicts.conflicts_touching``); the later side had an index
since 0001, the earlier side only the rule-pair constraint, which begins with the rule.
Written against ``sync.store.tables.ConflictRow``, free of imports from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_conflicts_earlier_booking_id"), "conflicts", ["earlier_booking_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_conflicts_earlier_booking_id"), table_name="conflicts")
