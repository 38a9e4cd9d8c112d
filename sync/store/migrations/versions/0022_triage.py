"""A conflict keeps its last review (who, when, why); a booking keeps its Google web link.

Revision ID: 0022
Revises: 0021

SPEC §8 asks for an acknowledgement's or an override's reason on the conflict, not only in
its audit trail: ``conflicts`` gains ``review_reason``, ``reviewed_by`` and ``reviewed_at``
(the last ``review.*`` action on it), filled here from the trail for the conflicts
reviewed before. ``bookings`` gains ``html_link``, Google's ``htmlLink`` of the event
(https://developers.google.com/calendar/api/v3/reference/events), which the triage view
opens; other providers leave it empty. Written against ``sync.store.tables``, free of
imports from the application.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INSTANT = sa.DateTime(timezone=True)
_JSON = sa.JSON().with_variant(JSONB(), "postgresql")
_REVIEWS = ("review.acknowledged", "review.overridden", "review.reopened")


def upgrade() -> None:
    with op.batch_alter_table("conflicts") as batch:
        batch.add_column(sa.Column("review_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("reviewed_by", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("reviewed_at", _INSTANT, nullable=True))
    with op.batch_alter_table("bookings") as batch:
        batch.add_column(sa.Column("html_link", sa.String(length=2048), nullable=True))
    _backfill_reviews(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table("bookings") as batch:
        batch.drop_column("html_link")
    with op.batch_alter_table("conflicts") as batch:
        batch.drop_column("reviewed_at")
        batch.drop_column("reviewed_by")
        batch.drop_column("review_reason")


def _backfill_reviews(connection: sa.Connection) -> None:
    """Each reviewed conflict takes the reason, actor and time of its last review."""
    trail = sa.table(
        "audit_events",
        sa.column("id", sa.Integer()),
        sa.column("at", _INSTANT),
        sa.column("actor", sa.String()),
        sa.column("action", sa.String()),
        sa.column("conflict_id", sa.Integer()),
        sa.column("detail", _JSON),
    )
    query = (
        sa.select(trail.c.conflict_id, trail.c.at, trail.c.actor, trail.c.detail)
        .where(trail.c.action.in_(_REVIEWS))
        .where(trail.c.conflict_id.is_not(None))
        .order_by(trail.c.id)
    )
    last: dict[int, dict[str, Any]] = {}
    for conflict_id, at, actor, detail in connection.execute(query):
        reason = detail.get("reason") if isinstance(detail, dict) else None
        last[conflict_id] = {
            "reason": str(reason).strip() or None if reason is not None else None,
            "actor": actor,
            "at": at,
        }
    conflicts = sa.table(
        "conflicts",
        sa.column("id", sa.Integer()),
        sa.column("review_reason", sa.Text()),
        sa.column("reviewed_by", sa.String()),
        sa.column("reviewed_at", _INSTANT),
    )
    for conflict_id, review in last.items():
        connection.execute(
            conflicts.update()
            .where(conflicts.c.id == conflict_id)
            .values(
                review_reason=review["reason"],
                reviewed_by=review["actor"],
                reviewed_at=review["at"],
            )
        )
