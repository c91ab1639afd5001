"""storage.forms: claiming due form DMs, recording what Slack said; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.audit import audit_events_for
from storage.forms import (
    PERMANENT_SLACK_ERRORS,
    claim_due_forms,
    form_backoff,
    mark_form_sent,
    record_form_failure,
)
from storage.jobs import move_due
from storage.models import FeedbackRequest, InterviewState, RequestState
from tests.test_storage_feedback_support import (
    AFTER,
    END,
    MLE,
    POLICY,
    START,
    counting_queries,
    create_interview,
    is_postgres,
    set_state,
)

LEASE = timedelta(minutes=2)


def claim(factory: sessionmaker[Session], now=AFTER, **kwargs) -> list[str]:  # type: ignore[no-untyped-def]
    with factory.begin() as session:
        return [
            c.request.public_id for c in claim_due_forms(session, now=now, policy=POLICY, **kwargs)
        ]


def request_row(factory: sessionmaker[Session], public_id: str) -> FeedbackRequest:
    with factory() as session:
        return session.scalars(
            sa.select(FeedbackRequest).where(FeedbackRequest.public_id == public_id)
        ).one()


# ---------------------------------------------------------------------------
# claim_due_forms


def test_claim_returns_due_forms_once_with_their_context(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id, ids = create_interview(session_factory, panel=("U0AAA", "U0BBB"))

    assert claim(session_factory, now=END) == []  # form_delay not over yet
    with session_factory.begin() as session:
        forms = claim_due_forms(session, now=AFTER, policy=POLICY)
    assert [f.request.public_id for f in forms] == ids
    first = forms[0]
    assert first.request.interviewer == "U0AAA"
    assert first.request.state == "pending"
    assert first.request.focus_skills == ("system_design",)
    assert first.request.due_at == END + POLICY.due_after
    assert first.request.interview.interview_id == interview_id
    assert first.rubric == MLE
    assert first.own_feedback is None
    assert first.editable and first.locked_reason is None

    # Claimed: not due again while the lease runs.
    assert claim(session_factory) == []
    assert request_row(session_factory, ids[0]).next_action_at == AFTER + LEASE


def test_claim_orders_by_due_time_and_honours_the_limit(
    session_factory: sessionmaker[Session],
) -> None:
    _, late = create_interview(session_factory, panel=("U0AAA",), starts_at=START)
    _, early = create_interview(
        session_factory, panel=("U0BBB", "U0CCC"), starts_at=START - timedelta(hours=3)
    )
    assert claim(session_factory, limit=2) == early
    assert claim(session_factory, limit=2) == late


def test_a_claim_not_followed_by_a_send_falls_due_again_after_the_lease(
    session_factory: sessionmaker[Session],
) -> None:
    _, ids = create_interview(session_factory, panel=("U0AAA",))
    assert claim(session_factory) == ids
    # The sweep crashed before recording anything.
    assert claim(session_factory, now=AFTER + LEASE - timedelta(seconds=1)) == []
    assert claim(session_factory, now=AFTER + LEASE) == ids
    assert request_row(session_factory, ids[0]).next_action_at == AFTER + 2 * LEASE


@pytest.mark.parametrize("state", [InterviewState.CANCELLED, InterviewState.ARCHIVED])
def test_forms_of_cancelled_or_archived_interviews_are_never_claimed(
    session_factory: sessionmaker[Session], state: InterviewState
) -> None:
    interview_id, ids = create_interview(session_factory, panel=("U0AAA",))
    set_state(session_factory, interview_id, interview=state)
    assert request_row(session_factory, ids[0]).next_action_at is not None
    assert claim(session_factory, now=AFTER + timedelta(days=30)) == []


def test_forms_of_summarised_interviews_are_still_claimed(
    session_factory: sessionmaker[Session],
) -> None:
    # A late import, or a panel member added after the summary: late feedback is welcome.
    interview_id, ids = create_interview(session_factory, panel=("U0AAA",))
    set_state(session_factory, interview_id, interview=InterviewState.SUMMARISED)
    assert claim(session_factory) == ids


def test_sent_and_submitted_requests_are_not_claimed(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id, ids = create_interview(session_factory, panel=("U0AAA", "U0BBB", "U0CCC"))
    set_state(session_factory, interview_id, request=("U0BBB", RequestState.SUBMITTED))
    set_state(session_factory, interview_id, request=("U0CCC", RequestState.DECLINED))
    assert claim(session_factory) == ids[:1]


def test_a_stale_claim_loses(session_factory: sessionmaker[Session]) -> None:
    """The conditional UPDATE: a sweep that read the row before another claimed it gets nothing."""
    _, ids = create_interview(session_factory, panel=("U0AAA",))
    row = request_row(session_factory, ids[0])
    seen = row.next_action_at
    assert seen is not None

    assert claim(session_factory) == ids  # another sweep, committed
    with session_factory.begin() as session:
        # The claim's conditional UPDATE, as the job engine runs it for every kind.
        assert not move_due(
            session,
            FeedbackRequest.id,
            FeedbackRequest.next_action_at,
            row.id,
            seen=seen,
            to=AFTER + LEASE + LEASE,
        )
    assert request_row(session_factory, ids[0]).next_action_at == AFTER + LEASE


def test_two_open_claims_never_share_a_row(session_factory: sessionmaker[Session]) -> None:
    _, ids = create_interview(session_factory, panel=("U0AAA", "U0BBB"))
    if not is_postgres(session_factory.kw["bind"]):
        pytest.skip("SQLite serialises write transactions: a second one cannot be open")
    first = session_factory()
    second = session_factory()
    try:
        with first.begin():
            got_first = claim_due_forms(first, now=AFTER, policy=POLICY, limit=1)
            # Uncommitted: the second sweep skips the locked row and takes the next one.
            with second.begin():
                got_second = claim_due_forms(second, now=AFTER, policy=POLICY)
        assert [f.request.public_id for f in got_first] == ids[:1]
        assert [f.request.public_id for f in got_second] == ids[1:]
    finally:
        first.close()
        second.close()
    assert claim(session_factory) == []


def test_concurrent_sweeps_claim_each_form_exactly_once(
    session_factory: sessionmaker[Session],
) -> None:
    panel = [f"U0P{i:03d}" for i in range(12)]
    _, ids = create_interview(session_factory, panel=panel)
    sweeps = 4
    start = threading.Barrier(sweeps)
    claimed: list[list[str]] = [[] for _ in range(sweeps)]
    errors: list[BaseException] = []

    def sweep(index: int) -> None:
        try:
            start.wait(timeout=10)
            for _ in range(6):
                claimed[index].extend(claim(session_factory, limit=2))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=sweep, args=(i,)) for i in range(sweeps)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    everything = [pid for got in claimed for pid in got]
    assert sorted(everything) == sorted(ids)  # each once, none lost


def test_the_due_lookup_uses_the_state_next_action_at_index(engine: Engine) -> None:
    factory = sessionmaker(bind=engine)
    create_interview(factory, panel=("U0AAA",))
    with counting_queries(engine) as counter, factory.begin() as session:
        claim_due_forms(session, now=AFTER, policy=POLICY)
    statement, params = next(
        (sql, params) for sql, params in counter.executed if sql.lstrip().startswith("SELECT")
    )
    assert "feedback_requests.state" in statement and "next_action_at" in statement

    with engine.connect() as conn:
        if is_postgres(engine):
            # Tiny tables are scanned anyway; the index must be usable for the lookup.
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = conn.exec_driver_sql("EXPLAIN " + statement, params).all()
        else:
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
        conn.rollback()
    text = "\n".join(str(row) for row in plan)
    assert "ix_feedback_requests_state_next_action_at" in text, text


# ---------------------------------------------------------------------------
# mark_form_sent


def test_mark_form_sent_is_a_one_time_transition(session_factory: sessionmaker[Session]) -> None:
    _, ids = create_interview(session_factory, panel=("U0AAA",))
    claim(session_factory)
    with session_factory.begin() as session:
        assert mark_form_sent(
            session, ids[0], channel="D0AAA", ts="1.000100", now=AFTER, policy=POLICY
        )

    row = request_row(session_factory, ids[0])
    assert row.state == RequestState.FORM_SENT
    assert (row.dm_channel, row.dm_ts) == ("D0AAA", "1.000100")
    assert row.attempts == 0 and row.last_error is None
    assert row.next_action_at == END + POLICY.due_after

    for _ in range(3):
        with session_factory.begin() as session:
            assert not mark_form_sent(
                session, ids[0], channel="D0OTHER", ts="2.0", now=AFTER, policy=POLICY
            )
    again = request_row(session_factory, ids[0])
    assert (again.dm_channel, again.dm_ts, again.updated_at) == (
        "D0AAA",
        "1.000100",
        row.updated_at,
    )
    with session_factory() as session:
        events = audit_events_for(session, entity="request", entity_id=row.id)
        assert [(e.action, e.actor) for e in events] == [("request.form_sent", "system")]


def test_mark_form_sent_resets_the_failure_counter(session_factory: sessionmaker[Session]) -> None:
    _, ids = create_interview(session_factory, panel=("U0AAA",))
    with session_factory.begin() as session:
        record_form_failure(session, ids[0], error="ratelimited", permanent=False, now=AFTER)
    with session_factory.begin() as session:
        assert mark_form_sent(session, ids[0], channel="D0AAA", ts="1.0", now=AFTER, policy=POLICY)
    row = request_row(session_factory, ids[0])
    assert (row.attempts, row.last_error) == (0, None)


def test_mark_form_sent_refuses_submitted_unknown_and_cancelled_work(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id, ids = create_interview(session_factory, panel=("U0AAA", "U0BBB"))
    set_state(session_factory, interview_id, request=("U0AAA", RequestState.SUBMITTED))
    with session_factory.begin() as session:
        assert not mark_form_sent(session, ids[0], channel="D", ts="1", now=AFTER, policy=POLICY)
        assert not mark_form_sent(session, "nope", channel="D", ts="1", now=AFTER, policy=POLICY)
    assert request_row(session_factory, ids[0]).state == RequestState.SUBMITTED

    # Cancelled between the claim and Slack's answer: recorded, but no nudge will follow.
    set_state(session_factory, interview_id, interview=InterviewState.CANCELLED)
    with session_factory.begin() as session:
        assert mark_form_sent(session, ids[1], channel="D", ts="1", now=AFTER, policy=POLICY)
    row = request_row(session_factory, ids[1])
    assert row.state == RequestState.FORM_SENT and row.next_action_at is None


# ---------------------------------------------------------------------------
# record_form_failure


def test_backoff_doubles_from_30_seconds_and_caps_at_an_hour() -> None:
    assert [form_backoff(n).total_seconds() for n in range(1, 10)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1920,
        3600,
        3600,
    ]
    assert form_backoff(10_000) == timedelta(hours=1)


def test_transient_failures_back_off_and_are_retried(
    session_factory: sessionmaker[Session],
) -> None:
    _, ids = create_interview(session_factory, panel=("U0AAA",))
    now = AFTER
    waits = []
    for _ in range(9):
        assert claim(session_factory, now=now) == ids
        with session_factory.begin() as session:
            wait = record_form_failure(
                session, ids[0], error="fatal_error", permanent=False, now=now
            )
        assert wait is not None
        waits.append(wait.total_seconds())
        row = request_row(session_factory, ids[0])
        assert row.next_action_at == now + wait
        assert row.state == RequestState.PENDING and row.last_error == "fatal_error"
        assert claim(session_factory, now=now + wait - timedelta(seconds=1)) == []
        now += wait
    assert waits == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert request_row(session_factory, ids[0]).attempts == 9
    with session_factory() as session:
        row = request_row(session_factory, ids[0])
        assert audit_events_for(session, entity="request", entity_id=row.id) == []


@pytest.mark.parametrize("error", sorted(PERMANENT_SLACK_ERRORS))
def test_a_permanent_failure_is_never_retried(
    session_factory: sessionmaker[Session], error: str
) -> None:
    _, ids = create_interview(session_factory, panel=("U0AAA",))
    assert claim(session_factory) == ids
    with session_factory.begin() as session:
        assert record_form_failure(session, ids[0], error=error, permanent=True, now=AFTER) is None
    row = request_row(session_factory, ids[0])
    assert (row.state, row.next_action_at, row.last_error) == (RequestState.PENDING, None, error)
    assert claim(session_factory, now=AFTER + timedelta(days=365)) == []
    with session_factory() as session:
        events = audit_events_for(session, entity="request", entity_id=row.id)
        assert [(e.action, e.detail) for e in events] == [
            ("request.form_failed", {"request": ids[0], "error": error})
        ]


def test_failure_errors_are_truncated_and_ignored_once_sent(
    session_factory: sessionmaker[Session],
) -> None:
    _, ids = create_interview(session_factory, panel=("U0AAA",))
    with session_factory.begin() as session:
        record_form_failure(session, ids[0], error="x" * 1000, permanent=False, now=AFTER)
    assert request_row(session_factory, ids[0]).last_error == "x" * 255

    with session_factory.begin() as session:
        mark_form_sent(session, ids[0], channel="D", ts="1", now=AFTER, policy=POLICY)
        assert (
            record_form_failure(session, ids[0], error="late", permanent=False, now=AFTER) is None
        )
        assert record_form_failure(session, "unknown", error="e", permanent=True, now=AFTER) is None
    row = request_row(session_factory, ids[0])
    assert (row.state, row.last_error, row.attempts) == (RequestState.FORM_SENT, None, 0)
