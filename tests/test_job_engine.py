"""The job engine's shared pieces: how the worker drains a kind, and the failure record.

The kinds themselves (form DMs, nudges, digests, escalations, summaries) are
tested through their storage functions and end to end; this checks what they
all rely on: storage.jobs.move_due / record_failure / Retry on SQLite and
PostgreSQL, and handlers.jobs.run_kinds' draining rules.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from handlers.jobs import JobReport, run_kinds
from storage.jobs import Retry, backoff, move_due, record_failure
from storage.models import FeedbackRequest, RequestState
from tests.test_storage_feedback_support import AFTER, create_interview

# ---------------------------------------------------------------------------
# The worker


class _Queue:
    """A kind over an in-memory queue; a done unit may make ``refill`` more due at once."""

    name = "queue"

    def __init__(self, units: int, *, refill: int = 0, **options: Any) -> None:
        self.due = list(range(units))
        self.refill = refill
        self.claims: list[int] = []
        for key, value in options.items():
            setattr(self, key, value)

    def claim(self, now: datetime, limit: int) -> Sequence[int]:
        taken, self.due = self.due[:limit], self.due[limit:]
        self.claims.append(len(taken))
        return taken

    def label(self, unit: int) -> str:
        return str(unit)

    def run(self, unit: int, now: datetime) -> str:
        if self.refill:
            self.refill -= 1
            self.due.append(1000 + unit)
        return "done:sent" if unit % 2 else "failed:permanent"


def _run(kind: _Queue, **kwargs: Any) -> JobReport:
    return run_kinds([kind], now=lambda: AFTER, stopping=threading.Event(), **kwargs)


def test_a_kind_is_drained_until_a_batch_comes_back_short() -> None:
    kind = _Queue(7)
    _run(kind, batch=3)
    assert kind.claims == [3, 3, 1]


def test_the_rounds_bound_a_kind_and_a_kind_may_set_its_own() -> None:
    bounded = _Queue(10)
    _run(bounded, batch=2, rounds=2)
    assert bounded.claims == [2, 2] and len(bounded.due) == 6

    unbounded = _Queue(30, rounds=None)  # the form DMs and nudges: every due unit
    _run(unbounded, batch=2, rounds=2)
    assert unbounded.claims == [2] * 15 + [0] and unbounded.due == []


def test_a_refilling_kind_is_claimed_again_until_nothing_is_due() -> None:
    # A summary's post makes its thread due at once: a short batch is not the end.
    kind = _Queue(1, refill=2, refills=True)
    _run(kind, batch=50)
    assert kind.claims == [1, 1, 1, 0]
    plain = _Queue(1, refill=2)
    _run(plain, batch=50)
    assert plain.claims == [1] and len(plain.due) == 1  # left for the next sweep


def test_an_outcome_detail_is_counted_under_it_and_under_its_outcome() -> None:
    report = _run(_Queue(3))
    assert report.of("queue", "done") == 1 and report.of("queue", "done:sent") == 1
    assert report.of("queue", "failed") == 2 and report.of("queue", "failed:permanent") == 2
    assert report.total(["queue", "other"], "failed") == 2


# ---------------------------------------------------------------------------
# Retry rules


def test_retry_stops_permanent_errors_waits_for_fixed_ones_and_backs_off_the_rest() -> None:
    retry = Retry(
        permanent=frozenset({"user_not_found"}), fixed={"not_in_channel": timedelta(hours=6)}
    )
    assert retry.delay("user_not_found", 1) is None
    assert retry.delay("not_in_channel", 5) == timedelta(hours=6)
    assert [retry.delay("ratelimited", n) for n in (1, 2, 3)] == [
        timedelta(seconds=30),
        timedelta(minutes=1),
        timedelta(minutes=2),
    ]
    assert retry.delay("ratelimited", 10_000) == backoff(10_000) == timedelta(hours=1)


# ---------------------------------------------------------------------------
# Storage: one conditional UPDATE for moves, one for failures


def _request(factory: sessionmaker[Session], public_id: str) -> FeedbackRequest:
    with factory() as session:
        return session.scalars(
            sa.select(FeedbackRequest).where(FeedbackRequest.public_id == public_id)
        ).one()


def test_a_move_without_seen_needs_a_due_time_and_one_with_seen_needs_that_one(
    session_factory: sessionmaker[Session],
) -> None:
    _, (public_id,) = create_interview(session_factory, panel=("U0AAA",))
    row = _request(session_factory, public_id)
    due = FeedbackRequest.next_action_at
    with session_factory.begin() as session:
        later = AFTER + timedelta(hours=1)
        assert not move_due(session, FeedbackRequest.id, due, row.id, seen=later, to=later)
        assert move_due(session, FeedbackRequest.id, due, row.id, to=None)  # any due time
        assert not move_due(session, FeedbackRequest.id, due, row.id, to=later)  # none left
    assert _request(session_factory, public_id).next_action_at is None


def test_a_failure_counts_keeps_the_error_cut_to_its_column_and_respects_the_state(
    session_factory: sessionmaker[Session],
) -> None:
    _, (public_id,) = create_interview(session_factory, panel=("U0AAA",))
    row = _request(session_factory, public_id)

    def fail(state: RequestState, delay: timedelta | None) -> bool:
        with session_factory.begin() as session:
            return record_failure(
                session,
                FeedbackRequest.id,
                FeedbackRequest.next_action_at,
                row.id,
                attempts=FeedbackRequest.attempts,
                error_column=FeedbackRequest.last_error,
                error="x" * 300,
                delay=delay,
                now=AFTER,
                where=(FeedbackRequest.state == state,),
            )

    assert not fail(RequestState.FORM_SENT, timedelta(seconds=30))  # another state: nothing
    assert _request(session_factory, public_id).attempts == 0
    assert fail(RequestState.PENDING, timedelta(seconds=30))
    after = _request(session_factory, public_id)
    assert (after.attempts, after.last_error, after.next_action_at) == (
        1,
        "x" * 255,
        AFTER + timedelta(seconds=30),
    )
    assert fail(RequestState.PENDING, None)  # permanent: nothing due any more
    stopped = _request(session_factory, public_id)
    assert stopped.attempts == 2 and stopped.next_action_at is None
