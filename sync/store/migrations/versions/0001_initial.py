"""Initial schema: clinics, calendar sources, bookings, patients, conflicts, audit trail.

Revision ID: 0001
Revises:

Written against ``sync.store.tables`` and kept free of imports from the application, so
it still runs after the models move on: instants are ``timestamptz`` (the application's
``UtcDateTime`` only adds checks in Python) and documents are JSON, ``jsonb`` on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INSTANT = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "clinics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinics")),
        sa.UniqueConstraint("slug", name=op.f("uq_clinics_slug")),
    )
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", _INSTANT, nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("conflict_id", sa.Integer(), nullable=True),
        sa.Column("calendar_source_id", sa.Integer(), nullable=True),
        sa.Column("detail", _JSON, nullable=False),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_audit_events_clinic_id_clinics"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(
        op.f("ix_audit_events_clinic_id_at"), "audit_events", ["clinic_id", "at"], unique=False
    )
    op.create_index(
        op.f("ix_audit_events_conflict_id"), "audit_events", ["conflict_id"], unique=False
    )
    op.create_table(
        "calendar_sources",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("external_id", sa.String(length=1024), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("sync_token", sa.Text(), nullable=True),
        sa.Column("next_poll_at", _INSTANT, nullable=True),
        sa.Column("last_sync_at", _INSTANT, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", _INSTANT, nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(length=128), nullable=True),
        sa.Column("lease_expires_at", _INSTANT, nullable=True),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.CheckConstraint(
            "provider IN ('google', 'caldav', 'ics')", name=op.f("ck_calendar_sources_provider")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_calendar_sources_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_sources")),
        sa.UniqueConstraint(
            "clinic_id",
            "provider",
            "external_id",
            name=op.f("uq_calendar_sources_clinic_id_provider_external_id"),
        ),
    )
    op.create_index(
        op.f("ix_calendar_sources_next_poll_at"), "calendar_sources", ["next_poll_at"], unique=False
    )
    op.create_table(
        "patients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("key_kind", sa.String(length=8), nullable=False),
        sa.Column("key_value", sa.String(length=512), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.CheckConstraint(
            "key_kind IN ('id', 'email', 'name')", name=op.f("ck_patients_key_kind")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_patients_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
        sa.UniqueConstraint(
            "clinic_id",
            "key_kind",
            "key_value",
            name=op.f("uq_patients_clinic_id_key_kind_key_value"),
        ),
    )
    op.create_table(
        "bookings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("provider_event_id", sa.String(length=1024), nullable=False),
        sa.Column("ical_uid", sa.String(length=1024), nullable=False),
        sa.Column("recurring_event_id", sa.String(length=1024), nullable=True),
        sa.Column("etag", sa.String(length=256), nullable=True),
        sa.Column("calendar", sa.String(length=1024), nullable=False),
        sa.Column("calendar_email", sa.String(length=320), nullable=False),
        sa.Column("organizer_email", sa.String(length=320), nullable=False),
        sa.Column("start_at", _INSTANT, nullable=False),
        sa.Column("end_at", _INSTANT, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("all_day", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("attendees", _JSON, nullable=False),
        sa.Column("private_properties", _JSON, nullable=False),
        sa.Column("categories", _JSON, nullable=False),
        sa.Column("explicit_patient_id", sa.String(length=256), nullable=True),
        sa.Column("patient_kind", sa.String(length=8), nullable=True),
        sa.Column("patient_value", sa.String(length=512), nullable=True),
        sa.Column("match_kind", sa.String(length=8), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("provider_updated_at", _INSTANT, nullable=True),
        sa.Column("first_seen_at", _INSTANT, nullable=False),
        sa.Column("last_seen_at", _INSTANT, nullable=False),
        sa.Column("changed_at", _INSTANT, nullable=False),
        sa.Column("deleted_at", _INSTANT, nullable=True),
        sa.CheckConstraint(
            "match_kind IN ('id', 'email', 'name')", name=op.f("ck_bookings_match_kind")
        ),
        sa.CheckConstraint(
            "patient_kind IN ('id', 'email', 'name')", name=op.f("ck_bookings_patient_kind")
        ),
        sa.CheckConstraint(
            "status IN ('confirmed', 'tentative', 'cancelled')", name=op.f("ck_bookings_status")
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_bookings_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["calendar_sources.id"],
            name=op.f("fk_bookings_source_id_calendar_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bookings")),
        sa.UniqueConstraint(
            "source_id", "provider_event_id", name=op.f("uq_bookings_source_id_provider_event_id")
        ),
    )
    op.create_index(
        op.f("ix_bookings_clinic_id_day"), "bookings", ["clinic_id", "day"], unique=False
    )
    op.create_index(
        op.f("ix_bookings_clinic_id_patient_kind_patient_value"),
        "bookings",
        ["clinic_id", "patient_kind", "patient_value"],
        unique=False,
    )
    op.create_table(
        "conflicts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("rule_name", sa.String(length=128), nullable=False),
        sa.Column("earlier_booking_id", sa.Integer(), nullable=False),
        sa.Column("later_booking_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("patient_kind", sa.String(length=8), nullable=False),
        sa.Column("patient_value", sa.String(length=512), nullable=False),
        sa.Column("match_kind", sa.String(length=8), nullable=False),
        sa.Column("gap_days", sa.Integer(), nullable=False),
        sa.Column("detected_at", _INSTANT, nullable=False),
        sa.Column("resolved_at", _INSTANT, nullable=True),
        sa.Column("resolution_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "match_kind IN ('id', 'email', 'name')", name=op.f("ck_conflicts_match_kind")
        ),
        sa.CheckConstraint(
            "state IN ('open', 'flagged', 'acknowledged', 'overridden', 'resolved')",
            name=op.f("ck_conflicts_state"),
        ),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_conflicts_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["earlier_booking_id"],
            ["bookings.id"],
            name=op.f("fk_conflicts_earlier_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["later_booking_id"],
            ["bookings.id"],
            name=op.f("fk_conflicts_later_booking_id_bookings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conflicts")),
        sa.UniqueConstraint(
            "clinic_id",
            "rule_name",
            "earlier_booking_id",
            "later_booking_id",
            name="uq_conflicts_rule_pair",
        ),
    )
    op.create_index(
        op.f("ix_conflicts_clinic_id_state"), "conflicts", ["clinic_id", "state"], unique=False
    )
    op.create_index(
        op.f("ix_conflicts_later_booking_id"), "conflicts", ["later_booking_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_conflicts_later_booking_id"), table_name="conflicts")
    op.drop_index(op.f("ix_conflicts_clinic_id_state"), table_name="conflicts")
    op.drop_table("conflicts")
    op.drop_index(op.f("ix_bookings_clinic_id_patient_kind_patient_value"), table_name="bookings")
    op.drop_index(op.f("ix_bookings_clinic_id_day"), table_name="bookings")
    op.drop_table("bookings")
    op.drop_table("patients")
    op.drop_index(op.f("ix_calendar_sources_next_poll_at"), table_name="calendar_sources")
    op.drop_table("calendar_sources")
    op.drop_index(op.f("ix_audit_events_conflict_id"), table_name="audit_events")
    op.drop_index(op.f("ix_audit_events_clinic_id_at"), table_name="audit_events")
    op.drop_table("audit_events")
    op.drop_table("clinics")
