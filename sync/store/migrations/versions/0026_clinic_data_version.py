"""A change counter on each clinic: what feeds compare instead of summing its bookings (SPEC §7).

Revision ID: 0026
Revises: 0024

``clinics.data_version`` rises by one in the transaction that inserts, changes or deletes
any of the clinic's bookings (:func:`sync.store.data_version.bump_data_version`), and
``clinics.data_changed_at`` says when; a feed checks one row by primary key. Existing
clinics start at 0 with the time of their latest booking change. Written against the
tables as they are, free of imports from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("clinics") as batch:
        batch.add_column(
            sa.Column("data_version", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("data_changed_at", sa.DateTime(timezone=True), nullable=True))
    clinics = sa.table("clinics", sa.column("id"), sa.column("data_changed_at"))
    bookings = sa.table("bookings", sa.column("clinic_id"), sa.column("changed_at"))
    latest = (
        sa.select(sa.func.max(bookings.c.changed_at))
        .where(bookings.c.clinic_id == clinics.c.id)
        .scalar_subquery()
    )
    op.execute(clinics.update().values(data_changed_at=latest))


def downgrade() -> None:
    with op.batch_alter_table("clinics") as batch:
        batch.drop_column("data_changed_at")
        batch.drop_column("data_version")
