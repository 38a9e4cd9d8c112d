"""Indexes for what a one-change cycle reads, so it costs the same at 1M bookings (SPEC §5).

Revision ID: 0028
Revises: 0027

An incremental listing that removes an event must mark it and, when it is a recurring
series, its stored instances deleted. Instances carry the series id (``recurring_event_id``)
but nothing indexed it, so each removal read every live booking of the calendar: 4 ms of
CPU at 2,000 bookings a calendar, 84 ms at 20,000. With ``(source_id, recurring_event_id)``
the instances are one index range.

The change's reach pages through the identified carriers of a name 16 rows at a time in
row order (``booking_id > ?``). With ``(clinic_id, kind, value)`` each page read every
carrier of the name and sorted them, so a common name ("Jane Doe" on 1% of a 1M clinic)
cost its thousands of carriers per page; with ``booking_id`` added each page is one index
range. The longer index replaces the shorter one, whose queries it serves as well.

Written against the tables as they are, free of imports from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEYS = "booking_identity_keys"


def upgrade() -> None:
    op.create_index(
        op.f("ix_bookings_source_id_recurring_event_id"),
        "bookings",
        ["source_id", "recurring_event_id"],
    )
    op.create_index(
        op.f("ix_booking_identity_keys_clinic_id_kind_value_booking_id"),
        _KEYS,
        ["clinic_id", "kind", "value", "booking_id"],
    )
    op.drop_index(op.f("ix_booking_identity_keys_clinic_id_kind_value"), table_name=_KEYS)


def downgrade() -> None:
    op.create_index(
        op.f("ix_booking_identity_keys_clinic_id_kind_value"), _KEYS, ["clinic_id", "kind", "value"]
    )
    op.drop_index(
        op.f("ix_booking_identity_keys_clinic_id_kind_value_booking_id"), table_name=_KEYS
    )
    op.drop_index(op.f("ix_bookings_source_id_recurring_event_id"), table_name="bookings")
