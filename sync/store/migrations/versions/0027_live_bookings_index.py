"""An index for reading a clinic's live bookings in id order, page by page (SPEC §5).

Revision ID: 0027
Revises: 0026

The full re-assessment streams a clinic's live bookings (``deleted_at IS NULL``) in pages
keyed by ``id``. With only ``(clinic_id, day)`` to use, each page scanned and sorted every
remaining booking of the clinic, so a pass cost the square of the clinic's size; with
``(clinic_id, deleted_at, id)`` each page is one index range. Written against the tables
as they are, free of imports from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_bookings_clinic_id_deleted_at_id"), "bookings", ["clinic_id", "deleted_at", "id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_bookings_clinic_id_deleted_at_id"), table_name="bookings")
