"""Interviews from sources: owners, incomplete ones, polls, vendor event ids, deliveries.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

* ``interviews.source`` (indexed): which source owns an interview.
* ``incomplete_interviews``: what a source could not complete, waiting for a person.
* ``source_states``: each polled source's schedule (``next_poll_at``) and health.
* ``webhook_events``: (source, event_id) already taken in, pruned after a day.
* ``outbox_events``: summary events recorded with their transition, for the deliveries.
* ``outgoing_deliveries``: signed outgoing webhook deliveries and their retries.

New tables and one nullable column: nothing to backfill.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# storage.types.UTCDateTime's implementation type (see 0001).
_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("interviews") as batch:
        batch.add_column(sa.Column("source", sa.String(length=64), nullable=True))
        batch.create_index(batch.f("ix_interviews_source"), ["source"])
    op.create_table(
        "incomplete_interviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("external_id", sa.String(length=128), nullable=False),
        sa.Column("row", sa.JSON(), nullable=False),
        sa.Column("missing", sa.JSON(), nullable=False),
        sa.Column("recruiter", sa.String(length=32), nullable=True),
        sa.Column("notify_due_at", _WHEN, nullable=True),
        sa.Column("notify_attempts", sa.Integer(), nullable=False),
        sa.Column("notified_at", _WHEN, nullable=True),
        sa.Column("notified_dms", sa.JSON(), nullable=False),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.Column("resolved_interview_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["resolved_interview_id"],
            ["interviews.id"],
            name=op.f("fk_incomplete_interviews_resolved_interview_id_interviews"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incomplete_interviews")),
        sa.UniqueConstraint("external_id", name=op.f("uq_incomplete_interviews_external_id")),
    )
    op.create_index(
        op.f("ix_incomplete_interviews_recruiter"), "incomplete_interviews", ["recruiter"]
    )
    op.create_index(
        op.f("ix_incomplete_interviews_notify_due_at"), "incomplete_interviews", ["notify_due_at"]
    )
    op.create_table(
        "source_states",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("next_poll_at", _WHEN, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_success_at", _WHEN, nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.Column("last_error_at", _WHEN, nullable=True),
        sa.Column("etag", sa.String(length=255), nullable=True),
        sa.Column("last_modified", sa.String(length=64), nullable=True),
        sa.Column("cursor", sa.String(length=64), nullable=True),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_source_states")),
    )
    op.create_index(op.f("ix_source_states_next_poll_at"), "source_states", ["next_poll_at"])
    op.create_table(
        "webhook_events",
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("received_at", _WHEN, nullable=False),
        sa.PrimaryKeyConstraint("source", "event_id", name=op.f("pk_webhook_events")),
    )
    op.create_index(op.f("ix_webhook_events_received_at"), "webhook_events", ["received_at"])
    op.create_table(
        "outbox_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("interview_id", sa.Integer(), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["interview_id"],
            ["interviews.id"],
            name=op.f("fk_outbox_events_interview_id_interviews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
    )
    op.create_index(op.f("ix_outbox_events_interview_id"), "outbox_events", ["interview_id"])
    op.create_table(
        "outgoing_deliveries",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("interview_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("next_attempt_at", _WHEN, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("delivered_at", _WHEN, nullable=True),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["interview_id"],
            ["interviews.id"],
            name=op.f("fk_outgoing_deliveries_interview_id_interviews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outgoing_deliveries")),
    )
    op.create_index(
        op.f("ix_outgoing_deliveries_interview_id"), "outgoing_deliveries", ["interview_id"]
    )
    op.create_index(
        op.f("ix_outgoing_deliveries_next_attempt_at"), "outgoing_deliveries", ["next_attempt_at"]
    )


def downgrade() -> None:
    op.drop_table("outgoing_deliveries")
    op.drop_table("outbox_events")
    op.drop_table("webhook_events")
    op.drop_table("source_states")
    op.drop_table("incomplete_interviews")
    with op.batch_alter_table("interviews") as batch:
        batch.drop_index(batch.f("ix_interviews_source"))
        batch.drop_column("source")
