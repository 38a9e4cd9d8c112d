"""A clinic's opening hours, for the free slots a flag offers to rebook on (SPEC §6, §7).

Revision ID: 0024
Revises: 0023

One text column ``opening_hours`` on ``clinics`` in the form the setting is typed
(``Mon-Sat 09:00-18:00/30``: days, hours, slot minutes), defaulting to exactly that.
Written against ``sync.store.tables.ClinicRow``, free of imports from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT = "Mon-Sat 09:00-18:00/30"


def upgrade() -> None:
    with op.batch_alter_table("clinics") as batch:
        batch.add_column(
            sa.Column(
                "opening_hours",
                sa.String(100),
                nullable=False,
                server_default=sa.text(f"'{DEFAULT}'"),
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("clinics") as batch:
        batch.drop_column("opening_hours")
