"""Interviews get the bookkeeping of their hiring-channel summary; feedback changes are numbered.

Revision ID: 0003
Revises: 0002
Create Date: 2026-02-01

New columns on ``interviews`` (see storage.models.Interview and storage.summaries):

* ``summary_pending`` VARCHAR(16), NULL or ``post`` / ``finish`` / ``update``: the
  next unit of summary work (CHECK ``ck_interviews_summary_step``);
* ``summary_due_at``, indexed with the state (``ix_interviews_state_summary_due_at``):
  the sweep's lookup, which never scans the history of summarised interviews (their
  due time is NULL);
* ``summary_attempts`` INTEGER NOT NULL, ``summary_error`` VARCHAR(255),
  ``summary_notified`` BOOLEAN NOT NULL: failures, and whether the recruiter was told;
* ``summary_channel`` and ``summary_ts`` VARCHAR(32), ``summary_posted_at`` and
  ``summary_updated_at``: the posted message;
* ``feedback_seq`` INTEGER NOT NULL, ``summary_claimed_seq``, ``summary_seq`` and
  ``summary_posted_seq`` INTEGER: feedback changes are numbered per interview, so
  what the message reflects never depends on clocks.

And on ``feedback``: ``first_seq`` and ``seq`` INTEGER NOT NULL, the interview's
``feedback_seq`` at the feedback's creation and last change.

The NOT NULL columns get 0 (false) on existing rows through temporary server
defaults that are dropped again: like every other column, their defaults live
in Python. Numbering existing feedback 0 is consistent: no summary has been
posted yet, and the next change is numbered 1.

CHECKs on ``interviews``: attempts never negative; the posted message's channel,
ts, times and numbers all set or all NULL; ``post`` only before the message
exists, ``finish`` and ``update`` only after; a due time only with pending work.

Backfill: every ``scheduled`` interview gets ``summary_pending = 'post'`` and
``summary_due_at = ends_at``. Its real due time (ends_at + ``summary.deadline``,
or now once the whole panel has submitted) depends on configuration that a
migration cannot know; the sweep's claim checks the real conditions and moves a
summary that is not due yet to its deadline, so starting from ``ends_at`` costs
one look per interview. Cancelled, summarised and archived interviews get no
summary work: none was ever posted before this revision.

Hand-written like 0001 and 0002, every name explicit (op.f) and following
storage.models.NAMING_CONVENTION. The CHECKs and dropping the server defaults go
through ``batch_alter_table``: on SQLite it copies ``interviews`` and ``feedback``
once each (storage.migrate.upgrade turns foreign keys off first, so nothing
cascades); on PostgreSQL it issues plain ALTER TABLE statements. On SQLite with
foreign keys on (a bare ``alembic`` command line), dropping the old copies would
cascade-delete every feedback request and rating, so the migration refuses to
start when there is any.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SUMMARY_STEPS = ("post", "finish", "update")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


_MESSAGE = (
    "summary_channel",
    "summary_ts",
    "summary_posted_at",
    "summary_updated_at",
    "summary_seq",
    "summary_posted_seq",
)

# name (without the ck_interviews_ prefix) -> SQL, as storage.models.Interview has them.
_CHECKS = {
    "summary_step": _in("summary_pending", SUMMARY_STEPS),
    "summary_attempts_non_negative": "summary_attempts >= 0",
    "summary_posted_together": (
        f"({' AND '.join(f'{c} IS NULL' for c in _MESSAGE)})"
        f" OR ({' AND '.join(f'{c} IS NOT NULL' for c in _MESSAGE)})"
    ),
    "summary_step_fits_message": (
        "summary_pending IS NULL"
        " OR (summary_pending = 'post' AND summary_ts IS NULL)"
        " OR (summary_pending IN ('finish', 'update') AND summary_ts IS NOT NULL)"
    ),
    "summary_due_needs_step": "summary_due_at IS NULL OR summary_pending IS NOT NULL",
}


def _utc() -> sa.DateTime:
    # storage.types.UTCDateTime's implementation type (see 0001).
    return sa.DateTime(timezone=True)


_NULLABLE: tuple[tuple[str, sa.types.TypeEngine[Any]], ...] = (
    ("summary_pending", sa.String(length=16)),
    ("summary_due_at", _utc()),
    ("summary_claimed_seq", sa.Integer()),
    ("summary_error", sa.String(length=255)),
    ("summary_channel", sa.String(length=32)),
    ("summary_ts", sa.String(length=32)),
    ("summary_posted_at", _utc()),
    ("summary_updated_at", _utc()),
    ("summary_seq", sa.Integer()),
    ("summary_posted_seq", sa.Integer()),
)

# (table, column, type, temporary server default)
_NOT_NULL: tuple[tuple[str, str, sa.types.TypeEngine[Any], Any], ...] = (
    ("interviews", "feedback_seq", sa.Integer(), sa.text("0")),
    ("interviews", "summary_attempts", sa.Integer(), sa.text("0")),
    ("interviews", "summary_notified", sa.Boolean(), sa.false()),
    ("feedback", "first_seq", sa.Integer(), sa.text("0")),
    ("feedback", "seq", sa.Integer(), sa.text("0")),
)


def upgrade() -> None:
    _refuse_cascading_copy()
    for name, type_ in _NULLABLE:
        op.add_column("interviews", sa.Column(name, type_, nullable=True))
    for table, name, type_, default in _NOT_NULL:
        op.add_column(table, sa.Column(name, type_, nullable=False, server_default=default))

    interviews = sa.table(
        "interviews",
        sa.column("state", sa.String()),
        sa.column("ends_at", _utc()),
        sa.column("summary_pending", sa.String()),
        sa.column("summary_due_at", _utc()),
    )
    op.execute(
        sa.update(interviews)
        .where(interviews.c.state == "scheduled")
        .values(summary_pending="post", summary_due_at=interviews.c.ends_at)
    )

    for table in ("interviews", "feedback"):
        with op.batch_alter_table(table) as batch:
            for owner, name, type_, _default in _NOT_NULL:
                if owner == table:
                    batch.alter_column(
                        name, existing_type=type_, existing_nullable=False, server_default=None
                    )
            if table == "interviews":
                for check, sql in _CHECKS.items():
                    batch.create_check_constraint(op.f(f"ck_interviews_{check}"), sa.text(sql))

    op.create_index(
        op.f("ix_interviews_state_summary_due_at"), "interviews", ["state", "summary_due_at"]
    )


def downgrade() -> None:
    _refuse_cascading_copy()
    op.drop_index(op.f("ix_interviews_state_summary_due_at"), table_name="interviews")
    with op.batch_alter_table("feedback") as batch:
        batch.drop_column("seq")
        batch.drop_column("first_seq")
    with op.batch_alter_table("interviews") as batch:
        for check in reversed(list(_CHECKS)):
            batch.drop_constraint(op.f(f"ck_interviews_{check}"), type_="check")
        for table, name, _type, _default in reversed(_NOT_NULL):
            if table == "interviews":
                batch.drop_column(name)
        for name, _type in reversed(_NULLABLE):
            batch.drop_column(name)


def _refuse_cascading_copy() -> None:
    """Stop before SQLite's table copies would delete feedback requests and ratings.

    Batch mode copies ``interviews`` and ``feedback`` and drops the originals;
    with foreign keys on, those DROPs delete every ``feedback_requests`` and
    ``skill_ratings`` row (ON DELETE CASCADE). storage.migrate.upgrade
    (``interview-bot db upgrade``) turns them off first; a bare ``alembic``
    command line does not.
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
            "migration 0003 must run with SQLite foreign keys off, or copying "
            "interviews would delete all feedback requests (ON DELETE CASCADE): run it "
            "with `interview-bot db upgrade` (storage.migrate.upgrade)"
        )
