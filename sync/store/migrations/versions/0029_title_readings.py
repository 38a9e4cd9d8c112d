"""Title readings kept per clinic, so a new process need not read every title again (SPEC §4).

Revision ID: 0029
Revises: 0028

A full re-check reads each distinct title of the clinic (categories and patient name): at
100k bookings, 28,912 titles, about a sixth of the re-check's CPU. ``title_readings`` keeps
each reading under the digest of its title and the version of the reader (policy and
reader code) that made it (:mod:`sync.store.title_readings`). Written against the tables
as they are, free of imports from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "title_readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("reader", sa.String(length=64), nullable=False),
        sa.Column("title_digest", sa.String(length=64), nullable=False),
        sa.Column(
            "categories", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("name_key", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_title_readings_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_title_readings")),
        sa.UniqueConstraint(
            "clinic_id",
            "reader",
            "title_digest",
            name=op.f("uq_title_readings_clinic_id_reader_title_digest"),
        ),
    )


def downgrade() -> None:
    op.drop_table("title_readings")
