"""Feedback requests get an opaque public id and a failure counter; feedback drafts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-15

* ``feedback_requests.public_id`` VARCHAR(32) NOT NULL, unique
  (``uq_feedback_requests_public_id``): the only request id that goes into Slack
  payloads. Existing rows are backfilled with ``secrets.token_urlsafe(16)`` (22
  characters) one row at a time, before NOT NULL and the constraint are added.
* ``feedback_requests.attempts`` INTEGER NOT NULL: consecutive Slack failures,
  for backoff. Existing rows get 0 through a temporary server default, which is
  dropped again: like every other column, its default lives in Python.
* ``feedback_drafts``: the answers of the earlier pages of a paged feedback modal.
* Indexes for the per-person lists (App Home, ``/interview list``):
  ``feedback_requests.interviewer``, ``interviews.recruiter`` and
  ``interviews.hiring_lead``.

Hand-written like 0001, every name explicit (op.f) and following
storage.models.NAMING_CONVENTION. The column changes go through
``batch_alter_table``: on SQLite it copies the table once (foreign keys are off
while storage.migrate.upgrade runs, so nothing cascades); on PostgreSQL it
issues plain ALTER TABLE statements. On SQLite with foreign keys on (a bare
``alembic`` command line rather than storage.migrate.upgrade), dropping the old
copy would cascade-delete all feedback, so the migration refuses to start when
there is any. As a SQL script (``--sql``, PostgreSQL only: batch mode on SQLite
needs a live database), the backfill draws ids with ``md5(random() ...)``.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_INDEXED = (
    ("feedback_requests", "interviewer"),
    ("interviews", "recruiter"),
    ("interviews", "hiring_lead"),
)


def _utc() -> sa.DateTime:
    # storage.types.UTCDateTime's implementation type (see 0001).
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    _refuse_cascading_copy()
    op.add_column("feedback_requests", sa.Column("public_id", sa.String(length=32), nullable=True))
    op.add_column(
        "feedback_requests",
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
    )

    _backfill_public_ids()

    with op.batch_alter_table("feedback_requests") as batch:
        batch.alter_column("public_id", existing_type=sa.String(length=32), nullable=False)
        batch.alter_column(
            "attempts",
            existing_type=sa.Integer(),
            existing_nullable=False,
            server_default=None,
        )
        batch.create_unique_constraint(op.f("uq_feedback_requests_public_id"), ["public_id"])

    op.create_table(
        "feedback_drafts",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("ratings", sa.JSON(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_feedback_drafts")),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["feedback_requests.id"],
            name=op.f("fk_feedback_drafts_request_id_feedback_requests"),
            ondelete="CASCADE",
        ),
    )

    for table, column in _INDEXED:
        op.create_index(op.f(f"ix_{table}_{column}"), table, [column])


def downgrade() -> None:
    _refuse_cascading_copy()
    for table, column in reversed(_INDEXED):
        op.drop_index(op.f(f"ix_{table}_{column}"), table_name=table)
    op.drop_table("feedback_drafts")
    with op.batch_alter_table("feedback_requests") as batch:
        batch.drop_constraint(op.f("uq_feedback_requests_public_id"), type_="unique")
        batch.drop_column("attempts")
        batch.drop_column("public_id")


def _backfill_public_ids() -> None:
    """Give every existing request a random public id, one row at a time."""
    # A lightweight table, not the models, so this migration never changes when they do.
    requests = sa.table(
        "feedback_requests", sa.column("id", sa.Integer()), sa.column("public_id", sa.String())
    )
    if context.is_offline_mode():
        # A SQL script (PostgreSQL: SQLite's batch mode needs a live database)
        # cannot run Python per row: let the database draw 32 hex characters.
        random_id = sa.func.md5(
            sa.cast(sa.func.random(), sa.Text())
            + sa.cast(sa.func.clock_timestamp(), sa.Text())
            + sa.cast(requests.c.id, sa.Text())
        )
        op.execute(
            sa.update(requests).where(requests.c.public_id.is_(None)).values(public_id=random_id)
        )
        return
    connection = op.get_bind()
    ids = connection.execute(
        sa.select(requests.c.id).where(requests.c.public_id.is_(None)).order_by(requests.c.id)
    ).scalars()
    for request_id in list(ids):
        connection.execute(
            sa.update(requests)
            .where(requests.c.id == request_id)
            .values(public_id=secrets.token_urlsafe(16))
        )


def _refuse_cascading_copy() -> None:
    """Stop before SQLite's table copy would delete feedback.

    Batch mode copies ``feedback_requests`` and drops the original; with foreign
    keys on, that DROP deletes every ``feedback`` row (ON DELETE CASCADE).
    storage.migrate.upgrade (``interview-bot db upgrade``) turns them off first;
    a bare ``alembic`` command line does not.
    """
    if context.is_offline_mode():
        return
    connection = op.get_bind()
    if connection.dialect.name != "sqlite":
        return
    if not connection.exec_driver_sql("PRAGMA foreign_keys").scalar():
        return
    if connection.execute(sa.text("SELECT EXISTS (SELECT 1 FROM feedback)")).scalar():
        raise RuntimeError(
            "migration 0002 must run with SQLite foreign keys off, or copying "
            "feedback_requests would delete all feedback (ON DELETE CASCADE): run it "
            "with `interview-bot db upgrade` (storage.migrate.upgrade)"
        )
