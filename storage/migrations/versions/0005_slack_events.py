"""Slack event ids seen, so a redelivered event is processed once.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

See storage.events. ``slack_events`` (``event_id`` PK, ``received_at`` indexed as
``ix_slack_events_received_at``, for pruning rows older than Slack's retry window).
A new table only: no copy of existing tables, nothing to backfill.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slack_events",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        # storage.types.UTCDateTime's implementation type (see 0001).
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_slack_events")),
    )
    op.create_index(op.f("ix_slack_events_received_at"), "slack_events", ["received_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_slack_events_received_at"), table_name="slack_events")
    op.drop_table("slack_events")
