"""A user's roles live in their memberships only; a browser session remembers its clinic.

Revision ID: 0014
Revises: 0012

Written against ``sync.store.tables.UserRow`` (no ``role``) and ``WebSessionRow.clinic_id``,
free of imports from the application like 0001 (SPEC §8).

0012 made every user a member of the install's clinic with the role they had, so
``users.role`` now repeats one membership, and would be wrong the moment a user holds
different roles in two clinics: it is dropped, and memberships are the one source of
truth. ``web_sessions.clinic_id`` is the clinic a signed-in browser is looking at (the
header's clinic switcher); it is cleared when that clinic is removed. Going down gives
each user back the strongest role of their memberships (auditor when they have none).

SQLite drops a column used by a CHECK only by copying ``users``; the rows pointing at it
(memberships, API tokens, sessions) survive because :mod:`sync.store.migrate` runs
migrations with SQLite's foreign keys off and checks them before committing.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("ck_users_role"), type_="check")
        batch.drop_column("role")
    with op.batch_alter_table("web_sessions") as batch:
        batch.add_column(sa.Column("clinic_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_web_sessions_clinic_id_clinics"),
            "clinics",
            ["clinic_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("web_sessions") as batch:
        batch.drop_constraint(op.f("fk_web_sessions_clinic_id_clinics"), type_="foreignkey")
        batch.drop_column("clinic_id")
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("role", sa.String(length=16), nullable=False, server_default="auditor")
        )
    op.execute(
        "UPDATE users SET role = 'admin' WHERE id IN "
        "(SELECT user_id FROM memberships WHERE role = 'admin')"
    )
    with op.batch_alter_table("users") as batch:
        batch.alter_column("role", server_default=None)
        batch.create_check_constraint(op.f("ck_users_role"), "role IN ('admin', 'auditor')")
