"""The job engine's storage half: find due rows, claim them with a lease, back off failures.

Every kind of background work keeps its schedule in its own rows (a due-time
column, indexed), so the database stays the single source of truth and any number
of replicas may sweep. A unit is claimed by moving its due time a lease into the
future with a conditional UPDATE that only succeeds if the row still holds the
due time that was read (and, on PostgreSQL, the read skips rows another
transaction has locked); a unit whose worker died falls due again when the lease
ends. The caller commits the claim before the slow work (a Slack or HTTP call)
and records the result in a transaction of its own.

This module holds the one implementation of that protocol for rows keyed by a
single column: :func:`due_rows` (the read), :func:`move_due` (the conditional
UPDATE every claim, deferral and retirement goes through), :func:`claim_due`
(both, with a lease), and :func:`record_failure` (count, keep the error, back
off or stop, as :class:`Retry` decides). The form DMs, nudges, digests,
escalations and summaries are claimed through it, each kind adding only its own
conditions; :mod:`handlers.jobs` runs the kinds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from storage.locking import rowcount

__all__ = [
    "DEFAULT_LEASE",
    "Claimed",
    "Retry",
    "backoff",
    "claim_due",
    "due_rows",
    "move_due",
    "record_failure",
]

DEFAULT_LEASE = timedelta(minutes=2)

_BACKOFF_BASE = timedelta(seconds=30)
_BACKOFF_CAP = timedelta(hours=1)


def backoff(
    attempts: int, *, base: timedelta = _BACKOFF_BASE, cap: timedelta = _BACKOFF_CAP
) -> timedelta:
    """How long to wait after the ``attempts``-th consecutive failure: doubling, capped.

    30 s, 1 min, 2 min, ... up to 1 h by default.
    """
    if attempts <= 1:
        return base
    # 2 ** 20 * 30 s is far past any cap; bounded so huge counts cannot overflow.
    delay: timedelta = base * (2 ** min(attempts - 1, 20))
    return min(cap, delay)


@dataclass(frozen=True)
class Claimed:
    """One claimed row: its key and the due time it had (what the claim replaced)."""

    key: Any
    due: datetime


def due_rows(
    session: Session,
    key: InstrumentedAttribute[Any],
    due: InstrumentedAttribute[datetime | None],
    *,
    now: datetime,
    limit: int,
    where: Sequence[sa.ColumnElement[bool]] = (),
    columns: Sequence[sa.ColumnElement[Any] | InstrumentedAttribute[Any]] = (),
) -> Sequence[sa.Row[*tuple[Any, ...]]]:
    """Up to ``limit`` rows due at ``now``, oldest first: ``(key, due, *columns)``.

    On PostgreSQL the read locks what it returns and skips rows another
    transaction holds (``FOR UPDATE SKIP LOCKED``), so concurrent sweeps split
    the work instead of waiting; SQLite serialises write transactions anyway.
    """
    table = key.class_
    select = (
        sa.select(key, due, *columns)
        .where(due.is_not(None), due <= now, *where)
        .order_by(due, key)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        select = select.with_for_update(skip_locked=True, of=table)
    return session.execute(select).all()


def move_due(
    session: Session,
    key: InstrumentedAttribute[Any],
    due: InstrumentedAttribute[datetime | None],
    row_key: Any,
    *,
    to: datetime | None,
    seen: datetime | None = None,
    where: Sequence[sa.ColumnElement[bool]] = (),
    values: Mapping[str, Any] | None = None,
) -> bool:
    """Move one row's due time to ``to`` (None: nothing due), if nobody moved it meanwhile.

    With ``seen``, only if the row still holds that due time (a claim, or a
    unit found not ready); without, only if some due time is set (a claimed
    unit deferred). ``where`` adds the kind's conditions (a state), ``values``
    what else the move writes. Returns whether this call moved it.
    """
    condition = due.is_not(None) if seen is None else due == seen
    result = session.execute(
        sa.update(key.class_)
        .where(key == row_key, condition, *where)
        .values({due.key: to, **(values or {})})
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def claim_due(
    session: Session,
    key: InstrumentedAttribute[Any],
    due: InstrumentedAttribute[datetime | None],
    *,
    now: datetime,
    lease: timedelta = DEFAULT_LEASE,
    limit: int = 50,
    where: Sequence[sa.ColumnElement[bool]] = (),
) -> list[Claimed]:
    """Claim up to ``limit`` rows whose ``due`` is at or before ``now``, oldest first.

    Each claimed row's ``due`` moves to ``now + lease``. ``where`` narrows the
    rows (e.g. a state). Returns the claimed keys in due order; rows another
    worker claimed meanwhile are skipped. Commit before doing the work.
    """
    return [
        Claimed(row_key, seen)
        for row_key, seen in due_rows(session, key, due, now=now, limit=limit, where=where)
        if move_due(session, key, due, row_key, seen=seen, to=now + lease)
    ]


@dataclass(frozen=True)
class Retry:
    """When a failed unit is tried again, by its error code.

    ``permanent`` errors no retry will fix: the unit stops (no due time) and
    keeps the error for a person to see. ``fixed`` errors only a person can fix
    (invite the bot to a channel): tried again after their interval, without
    backing off. Anything else backs off (:func:`backoff`).
    """

    permanent: frozenset[str] = frozenset()
    fixed: Mapping[str, timedelta] = field(default_factory=dict)

    def delay(self, error: str, attempts: int) -> timedelta | None:
        """The wait after the ``attempts``-th consecutive failure; None: never again."""
        if error in self.permanent:
            return None
        if error in self.fixed:
            return self.fixed[error]
        return backoff(attempts)


def record_failure(
    session: Session,
    key: InstrumentedAttribute[Any],
    due: InstrumentedAttribute[datetime | None],
    row_key: Any,
    *,
    attempts: InstrumentedAttribute[int],
    error_column: InstrumentedAttribute[str | None],
    error: str,
    delay: timedelta | None,
    now: datetime,
    where: Sequence[sa.ColumnElement[bool]] = (),
    values: Mapping[str, Any] | None = None,
) -> bool:
    """Record a failed unit: count the attempt, keep the error, fall due after ``delay``.

    ``delay`` None stops the unit (a permanent error). The error is cut to the
    column's length. Conditional on ``where`` (the kind's state), so a
    transition that won meanwhile is never overwritten. Returns whether it was
    recorded.
    """
    length = getattr(error_column.type, "length", None)
    result = session.execute(
        sa.update(key.class_)
        .where(key == row_key, *where)
        .values(
            {
                attempts.key: attempts + 1,
                error_column.key: error[:length] if length else error,
                due.key: None if delay is None else now + delay,
                **(values or {}),
            }
        )
        .execution_options(synchronize_session="fetch")
    )
    return rowcount(result) == 1
