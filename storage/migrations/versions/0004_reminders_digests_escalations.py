"""Nudges, recruiter digests, escalations and cached Slack time zones.

Revision ID: 0004
Revises: 0003
Create Date: 2026-03-01

See storage.reminders and storage.users.

* ``feedback_requests.nudge_requested`` BOOLEAN NOT NULL (a recruiter's "Nudge now")
  and ``last_nudged_at``; existing rows get false through a temporary server default
  that is dropped again (defaults live in Python).
* ``slack_users`` (``user_id`` PK, ``tz``, ``fetched_at``): time zones from users.info.
* ``recruiter_digests`` (``recruiter`` PK, ``next_action_at`` indexed as
  ``ix_recruiter_digests_next_action_at``, ``last_sent_at``).
* ``interviews.escalation_due_at`` and ``escalated_at``, indexed with the state
  (``ix_interviews_state_escalation_due_at``).

Backfill: every ``scheduled`` interview gets ``escalation_due_at = ends_at``. Its real
due time (ends_at + ``summary.deadline``) is configuration a migration cannot know;
:func:`storage.reminders.claim_due_escalations` re-checks it and moves an escalation
that is not due yet to its deadline, so starting from ``ends_at`` costs one look per
interview. Summarised, cancelled and archived interviews get no escalation.

Dropping the server default goes through ``batch_alter_table``: on SQLite that copies
``feedback_requests`` once (storage.migrate.upgrade turns foreign keys off first);
with foreign keys on, dropping the old copy would cascade-delete every feedback and
draft, so the migration refuses to start when there is any request (as 0003 does).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.DateTime:
    # storage.types.UTCDateTime's implementation type (see 0001).
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    _refuse_cascading_copy()
    op.add_column(
        "feedback_requests",
        sa.Column("nudge_requested", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("feedback_requests", sa.Column("last_nudged_at", _utc(), nullable=True))
    with op.batch_alter_table("feedback_requests") as batch:
        batch.alter_column(
            "nudge_requested",
            existing_type=sa.Boolean(),
            existing_nullable=False,
            server_default=None,
        )

    op.add_column("interviews", sa.Column("escalation_due_at", _utc(), nullable=True))
    op.add_column("interviews", sa.Column("escalated_at", _utc(), nullable=True))
    interviews = sa.table(
        "interviews",
        sa.column("state", sa.String()),
        sa.column("ends_at", _utc()),
        sa.column("escalation_due_at", _utc()),
    )
    op.execute(
        sa.update(interviews)
        .where(interviews.c.state == "scheduled")
        .values(escalation_due_at=interviews.c.ends_at)
    )
    op.create_index(
        op.f("ix_interviews_state_escalation_due_at"),
        "interviews",
        ["state", "escalation_due_at"],
    )

    op.create_table(
        "slack_users",
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("tz", sa.String(length=64), nullable=True),
        sa.Column("fetched_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_slack_users")),
    )
    op.create_table(
        "recruiter_digests",
        sa.Column("recruiter", sa.String(length=32), nullable=False),
        sa.Column("next_action_at", _utc(), nullable=True),
        sa.Column("last_sent_at", _utc(), nullable=True),
        sa.PrimaryKeyConstraint("recruiter", name=op.f("pk_recruiter_digests")),
    )
    op.create_index(
        op.f("ix_recruiter_digests_next_action_at"), "recruiter_digests", ["next_action_at"]
    )


def downgrade() -> None:
    _refuse_cascading_copy()
    op.drop_index(op.f("ix_recruiter_digests_next_action_at"), table_name="recruiter_digests")
    op.drop_table("recruiter_digests")
    op.drop_table("slack_users")
    op.drop_index(op.f("ix_interviews_state_escalation_due_at"), table_name="interviews")
    with op.batch_alter_table("interviews") as batch:
        batch.drop_column("escalated_at")
        batch.drop_column("escalation_due_at")
    with op.batch_alter_table("feedback_requests") as batch:
        batch.drop_column("last_nudged_at")
        batch.drop_column("nudge_requested")


def _refuse_cascading_copy() -> None:
    """Stop before SQLite's table copies would delete feedback, drafts and requests.

    Batch mode copies ``feedback_requests`` (and, downgrading, ``interviews``) and
    drops the originals; with foreign keys on, those DROPs cascade (ON DELETE
    CASCADE). storage.migrate.upgrade (``interview-bot db upgrade``) turns them
    off first; a bare ``alembic`` command line does not.
    """
    if context.is_offline_mode():
        return
    connection = op.get_bind()
    if connection.dialect.name != "sqlite":
        return
    if not connection.exec_driver_sql("PRAGMA foreign_keys").scalar():
        return
    if connection.execute(sa.text("SELECT EXISTS (SELECT 1 FROM feedback_requests)")).scalar():
        raise RuntimeError(
            "migration 0004 must run with SQLite foreign keys off, or copying "
            "feedback_requests would delete all feedback (ON DELETE CASCADE): run it "
            "with `interview-bot db upgrade` (storage.migrate.upgrade)"
        )
