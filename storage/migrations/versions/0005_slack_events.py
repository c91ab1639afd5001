"""Slack event ids seen, summary thread replies posted, interviews by end time.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

* ``slack_events`` (storage.events): ``event_id`` PK, ``received_at`` indexed as
  ``ix_slack_events_received_at``, for pruning ids older than Slack's retries.
* ``summary_posts`` (storage.summary_thread): (``interview_id`` FK ON DELETE
  CASCADE, ``post_key``) PK, ``posted_at``: a summary unit's replies already in
  its thread, so a retried unit posts none twice.
* ``ix_interviews_ends_at``: the retention purge's lookup (storage.retention).
* ``ix_interviews_recruiter_ends_at``: a recruiter's digest reads their recent
  interviews only (storage.reminders.digest_for), not everyone's.

New tables and an index only: no copy of existing tables, nothing to backfill.
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
    op.create_table(
        "summary_posts",
        sa.Column("interview_id", sa.Integer(), nullable=False),
        sa.Column("post_key", sa.String(length=128), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["interview_id"],
            ["interviews.id"],
            name=op.f("fk_summary_posts_interview_id_interviews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("interview_id", "post_key", name=op.f("pk_summary_posts")),
    )
    op.create_index(op.f("ix_interviews_ends_at"), "interviews", ["ends_at"])
    op.create_index(op.f("ix_interviews_recruiter_ends_at"), "interviews", ["recruiter", "ends_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_interviews_recruiter_ends_at"), table_name="interviews")
    op.drop_index(op.f("ix_interviews_ends_at"), table_name="interviews")
    op.drop_table("summary_posts")
    op.drop_index(op.f("ix_slack_events_received_at"), table_name="slack_events")
    op.drop_table("slack_events")
