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
single column; :mod:`handlers.jobs` runs the kinds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from storage.locking import rowcount

__all__ = ["DEFAULT_LEASE", "Claimed", "backoff", "claim_due"]

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
    table = key.class_
    select = (
        sa.select(key, due)
        .where(due.is_not(None), due <= now, *where)
        .order_by(due, key)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        select = select.with_for_update(skip_locked=True, of=table)
    claimed: list[Claimed] = []
    for row_key, seen in session.execute(select).all():
        result = session.execute(
            sa.update(table)
            .where(key == row_key, due == seen)
            .values({due.key: now + lease})
            .execution_options(synchronize_session=False)
        )
        if rowcount(result) == 1:
            claimed.append(Claimed(row_key, seen))
    return claimed
