"""Polled sources' schedules and health: one ``source_states`` row per source.

A polled source (a calendar feed, Greenhouse's Harvest API) keeps its schedule in
``next_poll_at``, the job engine's due column: :func:`claim_polls` claims it with
:func:`storage.jobs.claim_due` and a lease, so one replica polls a source at a
time and a poll whose worker died is retried when the lease ends. The poll then
records its outcome in a transaction of its own: :func:`record_success` (the
validators for the next conditional request, a cursor, the counters) or
:func:`record_failure` (the error, backoff within the poll interval). What
``interview-bot sources status`` and the metrics show is read by :func:`all_states`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.jobs import DEFAULT_LEASE, backoff, claim_due
from storage.models import SourceState

__all__ = [
    "KEEP",
    "STAT_KEYS",
    "PollStats",
    "StateView",
    "all_states",
    "claim_polls",
    "ensure_states",
    "get_state",
    "record_failure",
    "record_success",
]

# The counters every poll adds to (stats JSON); "last" holds the latest poll's own.
STAT_KEYS: Final = ("events_seen", "created", "updated", "cancelled", "incomplete")
_ERROR_MAX = 255  # SourceState.last_error's length
_NAME_MAX = 64
_MIN_RETRY = timedelta(seconds=5)


class _Keep:
    """Sentinel: leave the stored value as it is (e.g. a 304 keeps the ETag)."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Final = _Keep()


@dataclass(frozen=True)
class PollStats:
    """What one poll saw and did (added to the source's counters)."""

    events_seen: int = 0
    created: int = 0
    updated: int = 0
    cancelled: int = 0
    incomplete: int = 0

    def as_dict(self) -> dict[str, int]:
        return {key: int(getattr(self, key)) for key in STAT_KEYS}


@dataclass(frozen=True)
class StateView:
    """One source's state, detached from the session (for status and metrics)."""

    name: str
    next_poll_at: datetime | None
    attempts: int
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    etag: str | None
    last_modified: str | None
    cursor: str | None
    totals: Mapping[str, int] = field(default_factory=dict)
    last: Mapping[str, int] = field(default_factory=dict)
    polls: int = 0
    failures: int = 0


def ensure_states(session: Session, names: Iterable[str], *, now: datetime) -> None:
    """Insert a state row, due now, for each configured source that has none yet.

    Idempotent and safe between replicas (INSERT ... ON CONFLICT DO NOTHING).
    """
    wanted = sorted({name for name in names})
    for name in wanted:
        if not name or len(name) > _NAME_MAX:
            raise ValueError(f"source name must be 1 to {_NAME_MAX} characters: {name!r}")
    if not wanted:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(SourceState)
        .values(
            [
                {
                    "name": name,
                    "next_poll_at": now,
                    "attempts": 0,
                    "stats": {},
                    "updated_at": now,
                }
                for name in wanted
            ]
        )
        .on_conflict_do_nothing(index_elements=[SourceState.name])
    )


def claim_polls(
    session: Session,
    names: Sequence[str],
    *,
    now: datetime,
    lease: timedelta = DEFAULT_LEASE,
    limit: int = 50,
) -> list[str]:
    """Claim the due sources among ``names`` (ensuring their rows); commit before polling."""
    if not names:
        return []
    ensure_states(session, names, now=now)
    claimed = claim_due(
        session,
        SourceState.name,
        SourceState.next_poll_at,
        now=now,
        lease=lease,
        limit=limit,
        where=[SourceState.name.in_(list(names))],
    )
    return [str(unit.key) for unit in claimed]


def get_state(session: Session, name: str) -> StateView | None:
    row = session.get(SourceState, name)
    return None if row is None else _view(row)


def record_success(
    session: Session,
    name: str,
    *,
    now: datetime,
    interval: timedelta,
    stats: PollStats | None = PollStats(),
    etag: str | _Keep | None = KEEP,
    last_modified: str | _Keep | None = KEEP,
    cursor: str | _Keep | None = KEEP,
    problem: str | None = None,
) -> None:
    """A poll succeeded: clear the error, add the counters, next poll one interval on.

    ``stats=None``: nothing changed at the source (a 304); the last poll's figures
    stay. ``problem``: the poll went through but some records could not be taken in
    (shown as the last error, without a backoff).
    """
    row = _row(session, name, now)
    row.attempts = 0
    row.last_success_at = now
    row.last_error = None if problem is None else _clip(" ".join(problem.split()), _ERROR_MAX)
    row.last_error_at = None if problem is None else now
    row.next_poll_at = now + interval
    if not isinstance(etag, _Keep):
        row.etag = _clip(etag, 255)
    if not isinstance(last_modified, _Keep):
        row.last_modified = _clip(last_modified, 64)
    if not isinstance(cursor, _Keep):
        row.cursor = _clip(cursor, 64)
    counters = dict(row.stats or {})
    if stats is not None:
        for key, value in stats.as_dict().items():
            counters[key] = int(counters.get(key, 0)) + value
        counters["last"] = stats.as_dict()
    counters["polls"] = int(counters.get("polls", 0)) + 1
    row.stats = counters  # a new dict: the JSON column is not mutation-tracked
    row.updated_at = now


def record_failure(
    session: Session, name: str, *, now: datetime, error: str, interval: timedelta
) -> timedelta:
    """A poll failed: keep the error (truncated), retry with backoff, never later than
    one interval. Nothing else changes (validators, cursor and counters stay).

    Returns the delay until the retry.
    """
    row = _row(session, name, now)
    row.attempts = int(row.attempts or 0) + 1
    cap = max(interval, _MIN_RETRY)
    delay = backoff(row.attempts, base=min(timedelta(seconds=30), cap), cap=cap)
    row.next_poll_at = now + delay
    row.last_error = _clip(" ".join(error.split()) or "failed", _ERROR_MAX)
    row.last_error_at = now
    counters = dict(row.stats or {})
    counters["failures"] = int(counters.get("failures", 0)) + 1
    row.stats = counters
    row.updated_at = now
    return delay


def all_states(session: Session) -> list[StateView]:
    """Every source's state, by name (configured or not: e.g. a removed feed's row)."""
    rows = session.scalars(sa.select(SourceState).order_by(SourceState.name)).all()
    return [_view(row) for row in rows]


def _row(session: Session, name: str, now: datetime) -> SourceState:
    row = session.get(SourceState, name)
    if row is None:
        ensure_states(session, [name], now=now)
        row = session.get(SourceState, name)
    assert row is not None
    return row


def _clip(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _view(row: SourceState) -> StateView:
    stats: Mapping[str, Any] = row.stats or {}
    last = stats.get("last")
    return StateView(
        name=row.name,
        next_poll_at=row.next_poll_at,
        attempts=int(row.attempts or 0),
        last_success_at=row.last_success_at,
        last_error=row.last_error,
        last_error_at=row.last_error_at,
        etag=row.etag,
        last_modified=row.last_modified,
        cursor=row.cursor,
        totals={key: int(stats.get(key, 0)) for key in STAT_KEYS},
        last={key: int(last.get(key, 0)) for key in STAT_KEYS} if isinstance(last, dict) else {},
        polls=int(stats.get("polls", 0)),
        failures=int(stats.get("failures", 0)),
    )
