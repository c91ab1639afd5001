"""Feedback history, shadow interviewers, Slack display names.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

* ``feedback_versions`` (storage.feedback_history): every version of a feedback,
  (``request_id`` FK ON DELETE CASCADE, ``seq``) unique. Backfilled with one
  version per existing feedback (its current answers, actor ``migration``), so
  an edit after this upgrade still finds the version that counts.
* ``feedback_requests.shadow``: a shadow (trainee) interviewer, false for every
  existing request.
* ``slack_users.display_name``: the name shown where a mention cannot be (the
  heatmap image).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feedback_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        # storage.types.UTCDateTime's implementation type (see 0001).
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("recommendation", sa.String(length=32), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("ratings", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["feedback_requests.id"],
            name=op.f("fk_feedback_versions_request_id_feedback_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_versions")),
        sa.UniqueConstraint("request_id", "seq", name=op.f("uq_feedback_versions_request_id_seq")),
    )
    with op.batch_alter_table("feedback_requests") as batch:
        batch.add_column(
            sa.Column("shadow", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("slack_users") as batch:
        batch.add_column(sa.Column("display_name", sa.String(length=80), nullable=True))
    _backfill_versions()


def _backfill_versions() -> None:
    """One version per existing feedback: its answers as they stand."""
    bind = op.get_bind()
    feedback = sa.table(
        "feedback",
        sa.column("id", sa.Integer()),
        sa.column("request_id", sa.Integer()),
        sa.column("recommendation", sa.String()),
        sa.column("notes", sa.Text()),
        sa.column("updated_at", sa.DateTime(timezone=True)),
        sa.column("seq", sa.Integer()),
    )
    ratings = sa.table(
        "skill_ratings",
        sa.column("feedback_id", sa.Integer()),
        sa.column("skill_id", sa.String()),
        sa.column("level", sa.String()),
        sa.column("evidence", sa.Text()),
        sa.column("id", sa.Integer()),
    )
    versions = sa.table(
        "feedback_versions",
        sa.column("request_id", sa.Integer()),
        sa.column("seq", sa.Integer()),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("actor", sa.String()),
        sa.column("recommendation", sa.String()),
        sa.column("notes", sa.Text()),
        sa.column("ratings", sa.JSON()),
    )
    by_feedback: dict[int, list[dict[str, object]]] = {}
    for row in bind.execute(sa.select(ratings).order_by(ratings.c.feedback_id, ratings.c.id)):
        by_feedback.setdefault(row.feedback_id, []).append(
            {"skill_id": row.skill_id, "level": row.level, "evidence": row.evidence or ""}
        )
    rows = [
        {
            "request_id": fb.request_id,
            "seq": fb.seq,
            "at": fb.updated_at,
            "actor": "migration",
            "recommendation": fb.recommendation,
            "notes": fb.notes or "",
            "ratings": by_feedback.get(fb.id, []),
        }
        for fb in bind.execute(sa.select(feedback))
    ]
    if rows:
        bind.execute(sa.insert(versions), rows)


def downgrade() -> None:
    with op.batch_alter_table("slack_users") as batch:
        batch.drop_column("display_name")
    with op.batch_alter_table("feedback_requests") as batch:
        batch.drop_column("shadow")
    op.drop_table("feedback_versions")
