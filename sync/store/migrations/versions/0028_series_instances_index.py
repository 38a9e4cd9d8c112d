"""An index for finding the instances of a removed series on one calendar (SPEC §5).

Revision ID: 0028
Revises: 0027

An incremental listing that removes an event must mark it and, when it is a recurring
series, its stored instances deleted. Instances carry the series id (``recurring_event_id``)
but nothing indexed it, so each removal read every live booking of the calendar: 4 ms of
CPU at 2,000 bookings a calendar, 84 ms at 20,000. With ``(source_id, recurring_event_id)``
the instances are one index range. Written against the tables as they are, free of imports
from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_bookings_source_id_recurring_event_id"),
        "bookings",
        ["source_id", "recurring_event_id"],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_bookings_source_id_recurring_event_id"), table_name="bookings")
