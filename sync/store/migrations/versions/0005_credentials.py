"""Credentials: how a clinic signs in to each provider, the secret encrypted (SPEC §9).

Revision ID: 0005
Revises: 0003

Written against ``sync.store.tables.CredentialRow`` and kept free of imports from the
application, like 0001. ``secret`` holds a Fernet token (``sync.secrets``), never plain text.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INSTANT = sa.DateTime(timezone=True)


def _one_of(column: str, values: tuple[str, ...]) -> sa.CheckConstraint:
    listed = ", ".join(f"'{value}'" for value in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=op.f(f"ck_credentials_{column}"))


def upgrade() -> None:
    op.create_table(
        "credentials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("account", sa.String(length=320), nullable=False),
        sa.Column("endpoint", sa.String(length=1024), nullable=True),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("state_reason", sa.Text(), nullable=True),
        sa.Column("created_at", _INSTANT, nullable=False),
        sa.Column("updated_at", _INSTANT, nullable=False),
        sa.Column("state_changed_at", _INSTANT, nullable=True),
        _one_of("provider", ("google", "caldav", "ics")),
        _one_of("kind", ("oauth", "service_account", "password")),
        _one_of("state", ("active", "reconnect_required")),
        sa.ForeignKeyConstraint(
            ["clinic_id"],
            ["clinics.id"],
            name=op.f("fk_credentials_clinic_id_clinics"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credentials")),
        sa.UniqueConstraint(
            "clinic_id", "provider", name=op.f("uq_credentials_clinic_id_provider")
        ),
    )


def downgrade() -> None:
    op.drop_table("credentials")
