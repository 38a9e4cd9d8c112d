"""Google sign-ins started from the browser, waiting for Google's callback (SPEC §9).

Revision ID: 0019
Revises: 0018

One row per web session that pressed Connect Google: the clinic the grant is for, and
the ``state`` and PKCE ``code_verifier`` the callback must match
(https://developers.google.com/identity/protocols/oauth2/web-server). Written against
``sync.store.tables.GoogleSignInRow``, free of imports from the application.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = "google_sign_ins"


def _owner(column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{_TABLE}_{column}_{target}"), ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        _TABLE,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("web_session_id", sa.Integer(), nullable=False),
        sa.Column("clinic_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=128), nullable=False),
        sa.Column("code_verifier", sa.String(length=128), nullable=False),
        sa.Column("redirect_uri", sa.String(length=1024), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        _owner("web_session_id", "web_sessions"),
        _owner("clinic_id", "clinics"),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{_TABLE}")),
        sa.UniqueConstraint("web_session_id", name=op.f(f"uq_{_TABLE}_web_session_id")),
    )


def downgrade() -> None:
    op.drop_table(_TABLE)
