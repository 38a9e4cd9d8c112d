"""The ``initials-tag`` feed label and each clinic's key for its tags (SPEC §7).

Revision ID: 0023
Revises: 0022

``clinics.feed_patient_label`` may now be ``initials-tag`` (initials plus a short tag from
a keyed hash of the patient key, :mod:`sync.feeds.labels`); ``clinics.feed_label_key`` is
the clinic's secret for that hash, made on first use (NULL until then), so tags cannot be
recomputed from a guessed name. Written against the table as it is, free of imports from
the application.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CHECK = "ck_clinics_feed_patient_label"


def upgrade() -> None:
    with op.batch_alter_table("clinics") as batch:
        batch.add_column(sa.Column("feed_label_key", sa.String(length=64), nullable=True))
        batch.drop_constraint(op.f(_CHECK), type_="check")
        batch.create_check_constraint(
            op.f(_CHECK), "feed_patient_label IN ('full', 'initials', 'initials-tag', 'id')"
        )


def downgrade() -> None:
    clinics = sa.table("clinics", sa.column("feed_patient_label", sa.String))
    op.execute(
        clinics.update()
        .where(clinics.c.feed_patient_label == "initials-tag")
        .values(feed_patient_label="initials")
    )
    with op.batch_alter_table("clinics") as batch:
        batch.drop_constraint(op.f(_CHECK), type_="check")
        batch.create_check_constraint(
            op.f(_CHECK), "feed_patient_label IN ('full', 'initials', 'id')"
        )
        batch.drop_column("feed_label_key")
