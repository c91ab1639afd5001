"""storage.summaries: when the hiring-channel summary is due, claiming it, recording Slack's answers.

On SQLite and PostgreSQL. Interviews come from the import (as in production) or from
tests.test_storage_feedback_support with the summary scheduled as the import does.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.audit import audit_events_for
from storage.engine import create_engine_for
from storage.feedback import SubmitOutcome, submit_feedback
from storage.import_file import InterviewSpec, PanelMemberSpec
from storage.interviews import Timings, import_interviews
from storage.migrate import (
    _sqlite_foreign_keys_off,
    alembic_config,
    current_revision,
    head_revision,
    upgrade,
)
from storage.models import (
    Feedback,
    FeedbackRequest,
    Interview,
    InterviewState,
    RequestState,
    SummaryStep,
)
from storage.policy import FeedbackPolicy
from storage.queries import CancelOutcome, cancel_interview
from storage.summaries import (
    SUMMARY_CHANNEL_RETRY,
    SummaryFailure,
    SummaryJob,
    _move,
    changed_since_summary,
    claim_due_summaries,
    load_summary_data,
    mark_summary_finished,
    mark_summary_posted,
    mark_summary_updated,
    record_summary_failure,
    summary_for_viewer,
)
from storage.types import UTCDateTime
from storage.views import RatingView, SummaryData
from tests.test_storage_feedback_support import (
    AFTER,
    ALL_SENIOR,
    END,
    MLE,
    POLICY,
    REGISTRY,
    START,
    counting_queries,
    is_postgres,
    make_interview,
    public_id_of,
    rating,
    set_state,
)

LEASE = timedelta(minutes=2)
DEADLINE = END + POLICY.summary_deadline
AAA, BBB, CCC = "U0AAA", "U0BBB", "U0CCC"
TIMINGS = Timings(form_delay=POLICY.form_delay, summary_deadline=POLICY.summary_deadline)
EDITABLE = replace(POLICY, editable_until="deadline")


def scheduled(factory: sessionmaker[Session], **kwargs: Any) -> int:
    """An interview whose summary is scheduled as an import schedules it."""
    with factory.begin() as session:
        interview = make_interview(session, **kwargs)
        interview.summary_pending = SummaryStep.POST
        interview.summary_due_at = interview.ends_at + POLICY.summary_deadline
        return interview.id


def give(
    factory: sessionmaker[Session],
    interview_id: int,
    who: str,
    *,
    now: datetime = AFTER,
    notes: str = "Solid.",
    ratings: tuple[RatingView, ...] = ALL_SENIOR,
    policy: FeedbackPolicy = POLICY,
) -> SubmitOutcome:
    public_id = public_id_of(factory, interview_id, who)
    with factory.begin() as session:
        return submit_feedback(
            session,
            public_id,
            user_id=who,
            recommendation="yes",
            notes=notes,
            ratings=ratings,
            policy=policy,
            now=now,
        )


def claim(factory: sessionmaker[Session], now: datetime, **kwargs: Any) -> list[SummaryJob]:
    with factory.begin() as session:
        return claim_due_summaries(session, now=now, policy=POLICY, **kwargs)


def row(factory: sessionmaker[Session], interview_id: int) -> Interview:
    with factory() as session:
        interview = session.get(Interview, interview_id)
        assert interview is not None
        return interview


def summary_state(
    factory: sessionmaker[Session], interview_id: int
) -> tuple[SummaryStep | None, datetime | None]:
    interview = row(factory, interview_id)
    return interview.summary_pending, interview.summary_due_at


def data_of(factory: sessionmaker[Session], interview_id: int) -> SummaryData:
    with factory() as session:
        return load_summary_data(session, interview_id)


def post(factory: sessionmaker[Session], interview_id: int, now: datetime) -> None:
    """Claim and post the summary (ts 1.0 in C0HIRING) at ``now``."""
    assert claim(factory, now) == [SummaryJob(interview_id, "post")]
    data_of(factory, interview_id)
    with factory.begin() as session:
        assert mark_summary_posted(session, interview_id, channel="C0HIRING", ts="1.0", now=now)


def finish(factory: sessionmaker[Session], interview_id: int, now: datetime) -> None:
    assert claim(factory, now) == [SummaryJob(interview_id, "finish")]
    with factory.begin() as session:
        assert mark_summary_finished(session, interview_id, now=now)


def changed(factory: sessionmaker[Session], interview_id: int) -> list[str]:
    with factory() as session:
        return changed_since_summary(session, interview_id)


def actions(factory: sessionmaker[Session], interview_id: int) -> list[tuple[str, Any]]:
    with factory() as session:
        return [
            (e.action, e.detail)
            for e in audit_events_for(session, entity="interview", entity_id=interview_id)
        ]


# ---------------------------------------------------------------------------
# Due times: import, submissions, cancelling


def _spec(ends_at: datetime, panel: tuple[str, ...] = (AAA, BBB), **kwargs: Any) -> InterviewSpec:
    values: dict[str, Any] = {
        "file": "test.yaml",
        "line": 1,
        "external_id": "gh-1",
        "candidate": "Ada Lovelace",
        "role": "Senior ML Engineer",
        "rubric_id": "mle",
        "target_level": "senior",
        "starts_at": ends_at - timedelta(hours=1),
        "ends_at": ends_at,
        "hiring_channel": "C0HIRING",
        "recruiter": "U0RECRUIT",
        "hiring_lead": "U0LEAD",
        "panel": tuple(PanelMemberSpec(who, ("system_design",)) for who in panel),
    }
    values.update(kwargs)
    return InterviewSpec(**values)


def _import(factory: sessionmaker[Session], spec: InterviewSpec, now: datetime) -> int:
    with factory.begin() as session:
        [result] = import_interviews(session, [spec], registry=REGISTRY, timings=TIMINGS, now=now)
        return result.interview_id


def test_an_imported_interview_is_due_at_its_summary_deadline(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id = _import(session_factory, _spec(END), now=START - timedelta(days=1))
    assert summary_state(session_factory, interview_id) == (SummaryStep.POST, DEADLINE)
    # Nothing to claim before the deadline.
    assert claim(session_factory, DEADLINE - timedelta(seconds=1)) == []

    # Moved: the due time follows the new end.
    later = END + timedelta(days=1)
    _import(session_factory, _spec(later), now=START - timedelta(days=1))
    assert summary_state(session_factory, interview_id) == (
        SummaryStep.POST,
        later + POLICY.summary_deadline,
    )


def test_an_imported_history_interview_gets_no_summary(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id = _import(session_factory, _spec(END), now=DEADLINE + timedelta(days=1))
    assert row(session_factory, interview_id).state == InterviewState.ARCHIVED
    assert summary_state(session_factory, interview_id) == (None, None)

    # Re-imported with a recent end: scheduled again, summary due at its deadline.
    recent = DEADLINE + timedelta(hours=12)
    _import(session_factory, _spec(recent), now=DEADLINE + timedelta(days=1))
    assert summary_state(session_factory, interview_id) == (
        SummaryStep.POST,
        recent + POLICY.summary_deadline,
    )


def test_a_reimported_interview_with_all_feedback_in_is_due_now(
    session_factory: sessionmaker[Session],
) -> None:
    """Dropping the only member still missing completes the panel."""
    interview_id = _import(session_factory, _spec(END, panel=(AAA, BBB)), now=START)
    give(session_factory, interview_id, AAA)
    assert summary_state(session_factory, interview_id) == (SummaryStep.POST, DEADLINE)
    _import(session_factory, _spec(END, panel=(AAA,)), now=AFTER + timedelta(hours=1))
    assert summary_state(session_factory, interview_id) == (
        SummaryStep.POST,
        AFTER + timedelta(hours=1),
    )


def test_a_reimport_keeps_the_lease_of_a_post_in_flight(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id = _import(session_factory, _spec(END, panel=(AAA,)), now=START)
    give(session_factory, interview_id, AAA)
    assert claim(session_factory, AFTER) == [SummaryJob(interview_id, "post")]
    _import(session_factory, _spec(END, panel=(AAA,), candidate="Ada King"), now=AFTER)
    assert summary_state(session_factory, interview_id) == (SummaryStep.POST, AFTER + LEASE)


def test_a_reimport_that_archives_an_interview_clears_its_summary(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id = _import(session_factory, _spec(END), now=START)
    long_ago = END - timedelta(days=30)
    _import(session_factory, _spec(long_ago), now=AFTER)
    assert row(session_factory, interview_id).state == InterviewState.ARCHIVED
    assert summary_state(session_factory, interview_id) == (None, None)


def test_the_last_submission_makes_the_summary_due_now(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id = scheduled(session_factory)
    give(session_factory, interview_id, AAA, now=AFTER)
    assert summary_state(session_factory, interview_id) == (SummaryStep.POST, DEADLINE)
    assert claim(session_factory, AFTER + timedelta(minutes=1)) == []

    last = AFTER + timedelta(minutes=30)
    give(session_factory, interview_id, BBB, now=last)
    assert summary_state(session_factory, interview_id) == (SummaryStep.POST, last)
    assert claim(session_factory, last) == [SummaryJob(interview_id, "post")]
    assert summary_state(session_factory, interview_id) == (SummaryStep.POST, last + LEASE)
    data = data_of(session_factory, interview_id)
    assert not data.partial
    assert [f.interviewer for f in data.feedback] == [AAA, BBB]


def test_an_edit_before_the_summary_does_not_make_it_due(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id = scheduled(session_factory)
    give(session_factory, interview_id, AAA)
    assert give(session_factory, interview_id, AAA, notes="Edited.") == SubmitOutcome.UPDATED
    assert summary_state(session_factory, interview_id) == (SummaryStep.POST, DEADLINE)


def test_a_claim_before_the_panel_submitted_waits_for_the_deadline(
    session_factory: sessionmaker[Session],
) -> None:
    """As migration 0003 leaves existing interviews: due at their end, the claim decides."""
    interview_id = scheduled(session_factory)
    with session_factory.begin() as session:
        interview = session.get(Interview, interview_id)
        assert interview is not None
        interview.summary_due_at = END
    assert claim(session_factory, AFTER) == []
    assert summary_state(session_factory, interview_id) == (SummaryStep.POST, DEADLINE)


def test_the_deadline_with_some_feedback_claims_a_partial_summary(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id = scheduled(session_factory, panel=(AAA, BBB, CCC))
    give(session_factory, interview_id, BBB)
    assert claim(session_factory, DEADLINE - timedelta(seconds=1)) == []
    assert claim(session_factory, DEADLINE) == [SummaryJob(interview_id, "post")]

    data = data_of(session_factory, interview_id)
    assert data.partial
    assert data.expected == (AAA, BBB, CCC)
    assert data.missing == (AAA, CCC)
    assert [f.interviewer for f in data.feedback] == [BBB]
    assert data.summary_channel is None and data.summary_ts is None

    with session_factory.begin() as session:
        assert mark_summary_posted(
            session, interview_id, channel="C0HIRING", ts="1.0", now=DEADLINE
        )
    assert actions(session_factory, interview_id)[-1] == (
        "summary.posted",
        {"partial": True, "submitted": 1, "expected": 3},
    )


def test_the_deadline_without_feedback_posts_nothing_until_the_first_feedback(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id = scheduled(session_factory)
    assert claim(session_factory, DEADLINE) == []
    assert summary_state(session_factory, interview_id) == (SummaryStep.POST, None)
    assert claim(session_factory, DEADLINE + timedelta(days=7)) == []

    first = DEADLINE + timedelta(days=7, hours=1)
    give(session_factory, interview_id, AAA, now=first)
    assert summary_state(session_factory, interview_id) == (SummaryStep.POST, first)
    assert claim(session_factory, first) == [SummaryJob(interview_id, "post")]
    assert data_of(session_factory, interview_id).missing == (BBB,)


def test_declined_members_are_not_expected_and_not_missing(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id = scheduled(session_factory, panel=(AAA, BBB, CCC))
    set_state(session_factory, interview_id, request=(BBB, RequestState.DECLINED))
    give(session_factory, interview_id, AAA)
    assert summary_state(session_factory, interview_id)[1] == DEADLINE
    give(session_factory, interview_id, CCC, now=AFTER + timedelta(minutes=1))
    assert summary_state(session_factory, interview_id)[1] == AFTER + timedelta(minutes=1)

    data = data_of(session_factory, interview_id)
    assert data.expected == (AAA, CCC)
    assert data.missing == ()
    assert not data.partial


def test_a_panel_that_all_declined_never_gets_a_summary(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id = scheduled(session_factory, panel=(AAA,))
    set_state(session_factory, interview_id, request=(AAA, RequestState.DECLINED))
    assert claim(session_factory, DEADLINE) == []
    assert summary_state(session_factory, interview_id) == (SummaryStep.POST, None)


def test_cancelling_clears_the_summary(session_factory: sessionmaker[Session]) -> None:
    interview_id = scheduled(session_factory)
    give(session_factory, interview_id, AAA)
    give(session_factory, interview_id, BBB)
    with session_factory.begin() as session:
        outcome = cancel_interview(session, interview_id, actor="U0RECRUIT", now=AFTER)
        assert outcome == CancelOutcome.CANCELLED
    assert summary_state(session_factory, interview_id) == (None, None)
    assert claim(session_factory, DEADLINE + timedelta(days=1)) == []
    with session_factory.begin() as session:
        assert not mark_summary_posted(session, interview_id, channel="C", ts="1", now=AFTER)


def test_a_scheduled_interview_without_summary_work_gets_it_with_its_feedback(
    session_factory: sessionmaker[Session],
) -> None:
    """Rows not made by an import (or by migration 0003) still get their summary."""
    with session_factory.begin() as session:
        interview_id = make_interview(session).id
    assert summary_state(session_factory, interview_id) == (None, None)
    give(session_factory, interview_id, AAA)
    assert summary_state(session_factory, interview_id) == (SummaryStep.POST, DEADLINE)
    give(session_factory, interview_id, BBB, now=AFTER + timedelta(minutes=5))
    assert claim(session_factory, AFTER + timedelta(minutes=5)) == [
        SummaryJob(interview_id, "post")
    ]


# ---------------------------------------------------------------------------
# Claiming


def test_a_claim_not_recorded_falls_due_again_after_the_lease(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id = scheduled(session_factory, panel=(AAA,))
    give(session_factory, interview_id, AAA)
    assert claim(session_factory, AFTER) == [SummaryJob(interview_id, "post")]
    # The sweep died before posting (or before recording the post).
    assert claim(session_factory, AFTER + LEASE - timedelta(seconds=1)) == []
    assert claim(session_factory, AFTER + LEASE) == [SummaryJob(interview_id, "post")]
    assert summary_state(session_factory, interview_id)[1] == AFTER + 2 * LEASE


def test_claims_are_oldest_first_and_honour_the_limit(
    session_factory: sessionmaker[Session],
) -> None:
    ids = [scheduled(session_factory, panel=(AAA,), candidate=f"C{i}") for i in range(3)]
    for i, interview_id in enumerate(reversed(ids)):
        give(session_factory, interview_id, AAA, now=AFTER + timedelta(seconds=i))
    now = AFTER + timedelta(minutes=1)
    assert claim(session_factory, now, limit=2) == [SummaryJob(i, "post") for i in ids[::-1][:2]]
    assert claim(session_factory, now, limit=2) == [SummaryJob(ids[0], "post")]


def test_a_stale_claim_loses(session_factory: sessionmaker[Session]) -> None:
    interview_id = scheduled(session_factory, panel=(AAA,))
    give(session_factory, interview_id, AAA)
    assert claim(session_factory, AFTER) == [SummaryJob(interview_id, "post")]
    with session_factory.begin() as session:
        # Another sweep read the row before the claim above was committed.
        assert not _move(session, interview_id, SummaryStep.POST, seen=AFTER, to=AFTER + LEASE)


def test_two_claimers_of_one_summary_make_one_claim(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id = scheduled(session_factory, panel=(AAA,))
    give(session_factory, interview_id, AAA)
    first, second = session_factory(), session_factory()
    try:
        if is_postgres(session_factory.kw["bind"]):
            # Both open at once: the second skips the row the first holds.
            with first.begin():
                got_first = claim_due_summaries(first, now=AFTER, policy=POLICY)
                with second.begin():
                    got_second = claim_due_summaries(second, now=AFTER, policy=POLICY)
        else:
            # SQLite serialises them: the second finds the first's lease.
            with first.begin():
                got_first = claim_due_summaries(first, now=AFTER, policy=POLICY)
            with second.begin():
                got_second = claim_due_summaries(second, now=AFTER, policy=POLICY)
    finally:
        first.close()
        second.close()
    assert got_first == [SummaryJob(interview_id, "post")]
    assert got_second == []
    assert claim(session_factory, AFTER + timedelta(seconds=1)) == []


def test_two_open_claims_never_share_an_interview(
    session_factory: sessionmaker[Session],
) -> None:
    first_id = scheduled(session_factory, panel=(AAA,), candidate="First")
    second_id = scheduled(session_factory, panel=(AAA,), candidate="Second")
    give(session_factory, first_id, AAA, now=AFTER)
    give(session_factory, second_id, AAA, now=AFTER + timedelta(seconds=1))
    now = AFTER + timedelta(minutes=1)
    if not is_postgres(session_factory.kw["bind"]):
        pytest.skip("SQLite serialises write transactions: a second one cannot be open")
    first, second = session_factory(), session_factory()
    try:
        with first.begin():
            got_first = claim_due_summaries(first, now=now, policy=POLICY, limit=1)
            # Uncommitted: the second sweep skips the locked row and takes the next one.
            with second.begin():
                got_second = claim_due_summaries(second, now=now, policy=POLICY)
    finally:
        first.close()
        second.close()
    assert got_first == [SummaryJob(first_id, "post")]
    assert got_second == [SummaryJob(second_id, "post")]
    assert claim(session_factory, now) == []


def test_concurrent_sweeps_claim_each_summary_once(
    session_factory: sessionmaker[Session],
) -> None:
    ids = [scheduled(session_factory, panel=(AAA,), candidate=f"C{i}") for i in range(8)]
    for interview_id in ids:
        give(session_factory, interview_id, AAA)
    sweeps = 4
    start = threading.Barrier(sweeps)
    claimed: list[list[SummaryJob]] = [[] for _ in range(sweeps)]
    errors: list[BaseException] = []

    def sweep(index: int) -> None:
        try:
            start.wait(timeout=10)
            for _ in range(4):
                claimed[index].extend(claim(session_factory, AFTER, limit=2))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=sweep, args=(i,)) for i in range(sweeps)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    everything = sorted(job.interview_id for got in claimed for job in got)
    assert everything == sorted(ids)  # each once, none lost


def test_concurrent_last_submissions_make_the_summary_due(
    session_factory: sessionmaker[Session],
) -> None:
    """Two interviewers submit the last two feedbacks at once: neither may miss the other."""
    panel = (AAA, BBB)
    interview_id = scheduled(session_factory, panel=panel)
    public_ids = {who: public_id_of(session_factory, interview_id, who) for who in panel}
    start = threading.Barrier(len(panel))
    errors: list[BaseException] = []

    def submit(who: str) -> None:
        try:
            with session_factory.begin() as session:
                start.wait(timeout=10)
                submit_feedback(
                    session,
                    public_ids[who],
                    user_id=who,
                    recommendation="yes",
                    notes="",
                    ratings=ALL_SENIOR,
                    policy=POLICY,
                    now=AFTER,
                )
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(who,)) for who in panel]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert summary_state(session_factory, interview_id) == (SummaryStep.POST, AFTER)
    assert [f.seq for f in _feedback(session_factory, interview_id)] in ([1, 2], [2, 1])


def _feedback(factory: sessionmaker[Session], interview_id: int) -> list[Feedback]:
    with factory() as session:
        return list(
            session.scalars(
                sa.select(Feedback)
                .join(FeedbackRequest)
                .where(FeedbackRequest.interview_id == interview_id)
                .order_by(FeedbackRequest.position)
            )
        )


def test_feedback_during_a_post_in_flight_does_not_make_it_due_again(
    session_factory: sessionmaker[Session],
) -> None:
    """A second summary message must never follow: the claimed post keeps its lease."""
    interview_id = scheduled(session_factory)
    give(session_factory, interview_id, AAA)
    assert claim(session_factory, DEADLINE) == [SummaryJob(interview_id, "post")]
    data = data_of(session_factory, interview_id)  # what the message shows: AAA only

    give(session_factory, interview_id, BBB, now=DEADLINE)  # completes the panel meanwhile
    assert summary_state(session_factory, interview_id)[1] == DEADLINE + LEASE
    assert claim(session_factory, DEADLINE + timedelta(seconds=30)) == []

    with session_factory.begin() as session:
        assert mark_summary_posted(
            session, interview_id, channel="C0HIRING", ts="1.0", now=DEADLINE
        )
    assert actions(session_factory, interview_id)[-1][1] == {
        "partial": True,
        "submitted": 1,
        "expected": 2,
    }
    assert data.missing == (BBB,)
    # Not in the message: the finish goes on to an update that brings it in.
    assert changed(session_factory, interview_id) == [BBB]
    finish(session_factory, interview_id, DEADLINE)
    assert summary_state(session_factory, interview_id) == (SummaryStep.UPDATE, DEADLINE)
    assert [f.late for f in data_of(session_factory, interview_id).feedback] == [False, True]


def test_the_due_lookup_uses_the_state_summary_due_at_index(engine: Engine) -> None:
    factory = sessionmaker(bind=engine)
    scheduled(factory)
    with counting_queries(engine) as counter, factory.begin() as session:
        claim_due_summaries(session, now=AFTER, policy=POLICY)
    statement, params = next(
        (sql, params) for sql, params in counter.executed if sql.lstrip().startswith("SELECT")
    )
    assert "summary_due_at" in statement
    with engine.connect() as conn:
        if is_postgres(engine):
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = conn.exec_driver_sql("EXPLAIN " + statement, params).all()
        else:
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
        conn.rollback()
    text = "\n".join(str(r) for r in plan)
    assert "ix_interviews_state_summary_due_at" in text, text


# ---------------------------------------------------------------------------
# Post, finish, update


def test_post_then_finish_then_nothing(session_factory: sessionmaker[Session]) -> None:
    interview_id = scheduled(session_factory)
    give(session_factory, interview_id, AAA)
    give(session_factory, interview_id, BBB)
    now = AFTER + timedelta(minutes=1)
    assert claim(session_factory, now) == [SummaryJob(interview_id, "post")]
    with session_factory.begin() as session:
        assert mark_summary_posted(
            session, interview_id, channel="C0HIRING", ts="1700000000.000100", now=now
        )
    with session_factory.begin() as session:  # a replay changes nothing
        assert not mark_summary_posted(session, interview_id, channel="C", ts="2", now=now)

    interview = row(session_factory, interview_id)
    assert interview.state == InterviewState.SUMMARISED
    assert (interview.summary_channel, interview.summary_ts) == ("C0HIRING", "1700000000.000100")
    assert interview.summary_posted_at == interview.summary_updated_at == now
    assert (interview.summary_pending, interview.summary_due_at) == (SummaryStep.FINISH, now)
    data = data_of(session_factory, interview_id)
    assert (data.summary_channel, data.summary_ts) == ("C0HIRING", "1700000000.000100")
    assert not any(f.late for f in data.feedback)

    later = now + timedelta(seconds=5)
    assert claim(session_factory, later) == [SummaryJob(interview_id, "finish")]
    assert claim(session_factory, later) == []  # leased
    with session_factory.begin() as session:
        assert mark_summary_finished(session, interview_id, now=later)
    with session_factory.begin() as session:
        assert not mark_summary_finished(session, interview_id, now=later)
    assert summary_state(session_factory, interview_id) == (None, None)
    assert claim(session_factory, later + timedelta(days=30)) == []
    assert [a for a, _ in actions(session_factory, interview_id)] == [
        "summary.posted",
        "summary.finished",
    ]
    assert actions(session_factory, interview_id)[0][1] == {
        "partial": False,
        "submitted": 2,
        "expected": 2,
    }


def test_late_feedback_after_the_post_needs_an_update_and_is_late(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id = scheduled(session_factory, panel=(AAA, BBB, CCC))
    give(session_factory, interview_id, AAA)
    give(session_factory, interview_id, BBB)
    post(session_factory, interview_id, DEADLINE)
    finish(session_factory, interview_id, DEADLINE)
    assert changed(session_factory, interview_id) == []

    # The same instant as the post: order is by commit, not by clock.
    give(session_factory, interview_id, CCC, now=DEADLINE)
    assert summary_state(session_factory, interview_id) == (SummaryStep.UPDATE, DEADLINE)
    data = data_of(session_factory, interview_id)
    assert [(f.interviewer, f.late) for f in data.feedback] == [
        (AAA, False),
        (BBB, False),
        (CCC, True),
    ]
    assert data.missing == ()
    assert changed(session_factory, interview_id) == [CCC]

    now = DEADLINE + timedelta(minutes=1)
    assert claim(session_factory, now) == [SummaryJob(interview_id, "update")]
    with session_factory.begin() as session:
        assert mark_summary_updated(session, interview_id, now=now, included_until=now)
    with session_factory.begin() as session:
        assert not mark_summary_updated(session, interview_id, now=now, included_until=now)
    assert summary_state(session_factory, interview_id) == (None, None)
    assert row(session_factory, interview_id).summary_updated_at == now
    assert changed(session_factory, interview_id) == []
    assert data_of(session_factory, interview_id).feedback[2].late  # stays late
    assert actions(session_factory, interview_id)[-1] == ("summary.updated", {"again": False})


def test_an_edit_after_the_post_needs_an_update(session_factory: sessionmaker[Session]) -> None:
    interview_id = scheduled(session_factory)
    give(session_factory, interview_id, AAA, policy=EDITABLE)
    give(session_factory, interview_id, BBB, policy=EDITABLE)
    post(session_factory, interview_id, AFTER)
    finish(session_factory, interview_id, AFTER)

    edited = AFTER + timedelta(hours=1)
    outcome = give(
        session_factory, interview_id, AAA, notes="On reflection.", policy=EDITABLE, now=edited
    )
    assert outcome == SubmitOutcome.UPDATED
    assert summary_state(session_factory, interview_id) == (SummaryStep.UPDATE, edited)
    assert changed(session_factory, interview_id) == [AAA]
    assert not any(f.late for f in data_of(session_factory, interview_id).feedback)


def test_an_unchanged_resubmission_after_the_post_changes_nothing(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id = scheduled(session_factory)
    give(session_factory, interview_id, AAA)
    give(session_factory, interview_id, BBB)
    post(session_factory, interview_id, AFTER)
    finish(session_factory, interview_id, AFTER)
    before = row(session_factory, interview_id)

    replay = AFTER + timedelta(hours=1)
    assert give(session_factory, interview_id, AAA, now=replay) == SubmitOutcome.UNCHANGED
    after = row(session_factory, interview_id)
    assert summary_state(session_factory, interview_id) == (None, None)
    assert (after.feedback_seq, after.summary_seq) == (before.feedback_seq, before.summary_seq)
    assert changed(session_factory, interview_id) == []


def test_feedback_while_the_thread_is_written_is_brought_in_by_an_update(
    session_factory: sessionmaker[Session],
) -> None:
    """'finish' stays pending (its replies render the latest feedback); then 'update'."""
    interview_id = scheduled(session_factory, panel=(AAA, BBB))
    give(session_factory, interview_id, AAA)
    post(session_factory, interview_id, DEADLINE)
    assert claim(session_factory, DEADLINE) == [SummaryJob(interview_id, "finish")]

    give(session_factory, interview_id, BBB, now=DEADLINE)
    assert summary_state(session_factory, interview_id) == (
        SummaryStep.FINISH,
        DEADLINE + LEASE,
    )
    with session_factory.begin() as session:
        assert mark_summary_finished(session, interview_id, now=DEADLINE)
    assert summary_state(session_factory, interview_id) == (SummaryStep.UPDATE, DEADLINE)
    assert actions(session_factory, interview_id)[-1] == (
        "summary.finished",
        {"next": "update"},
    )
    assert changed(session_factory, interview_id) == [BBB]


def test_a_change_during_an_update_keeps_the_update_pending(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id = scheduled(session_factory, panel=(AAA, BBB, CCC))
    give(session_factory, interview_id, AAA, policy=EDITABLE)
    post(session_factory, interview_id, DEADLINE)
    finish(session_factory, interview_id, DEADLINE)
    give(session_factory, interview_id, BBB, now=DEADLINE)
    assert claim(session_factory, DEADLINE) == [SummaryJob(interview_id, "update")]

    give(session_factory, interview_id, CCC, now=DEADLINE)  # while the update is in flight
    assert summary_state(session_factory, interview_id) == (
        SummaryStep.UPDATE,
        DEADLINE + LEASE,
    )
    with session_factory.begin() as session:
        assert mark_summary_updated(session, interview_id, now=DEADLINE, included_until=DEADLINE)
    assert summary_state(session_factory, interview_id) == (SummaryStep.UPDATE, DEADLINE)
    assert changed(session_factory, interview_id) == [CCC]
    assert actions(session_factory, interview_id)[-1] == ("summary.updated", {"again": True})

    assert claim(session_factory, DEADLINE) == [SummaryJob(interview_id, "update")]
    with session_factory.begin() as session:
        assert mark_summary_updated(session, interview_id, now=DEADLINE, included_until=DEADLINE)
    assert summary_state(session_factory, interview_id) == (None, None)


def test_summary_data_holds_ratings_in_rubric_order(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id = scheduled(session_factory, panel=(AAA,))
    skills = [s.id for s in MLE.skills]
    given = (rating(skills[3], "lead", "led it"), rating(skills[0], None))
    give(session_factory, interview_id, AAA, ratings=given)
    [feedback] = data_of(session_factory, interview_id).feedback
    assert [r.skill_id for r in feedback.ratings] == [skills[0], skills[3]]
    assert feedback.ratings[1] == RatingView(skills[3], "lead", "led it")
    assert feedback.focus_skills == ("system_design",)
    assert feedback.recommendation == "yes"
    assert feedback.submitted_at == feedback.updated_at == AFTER
    with session_factory() as session, pytest.raises(KeyError):
        load_summary_data(session, interview_id + 1000)


# ---------------------------------------------------------------------------
# Failures


def test_not_in_channel_tells_the_recruiter_once_and_retries_much_later(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id = scheduled(session_factory, panel=(AAA,))
    give(session_factory, interview_id, AAA)
    assert claim(session_factory, AFTER) == [SummaryJob(interview_id, "post")]
    with session_factory.begin() as session:
        failure = record_summary_failure(session, interview_id, error="not_in_channel", now=AFTER)
    assert failure == SummaryFailure(retry_at=AFTER + SUMMARY_CHANNEL_RETRY, notify_recruiter=True)
    interview = row(session_factory, interview_id)
    assert (interview.summary_attempts, interview.summary_error) == (1, "not_in_channel")
    assert interview.summary_notified
    assert summary_state(session_factory, interview_id) == (
        SummaryStep.POST,
        AFTER + SUMMARY_CHANNEL_RETRY,
    )

    assert claim(session_factory, AFTER + SUMMARY_CHANNEL_RETRY - timedelta(minutes=1)) == []
    retry = AFTER + SUMMARY_CHANNEL_RETRY
    assert claim(session_factory, retry) == [SummaryJob(interview_id, "post")]
    with session_factory.begin() as session:
        again = record_summary_failure(session, interview_id, error="channel_not_found", now=retry)
    assert again == SummaryFailure(retry_at=retry + SUMMARY_CHANNEL_RETRY, notify_recruiter=False)
    assert [d for a, d in actions(session_factory, interview_id) if a == "summary.failed"] == [
        {"step": "post", "error": "not_in_channel", "notify_recruiter": True},
        {"step": "post", "error": "channel_not_found", "notify_recruiter": False},
    ]

    # The bot was invited: the next try posts, and the failure is forgotten.
    done = retry + SUMMARY_CHANNEL_RETRY
    post(session_factory, interview_id, done)
    interview = row(session_factory, interview_id)
    assert (interview.summary_attempts, interview.summary_error) == (0, None)
    # The recruiter is told once per interview, whatever fails later.
    assert claim(session_factory, done) == [SummaryJob(interview_id, "finish")]
    with session_factory.begin() as session:
        later = record_summary_failure(session, interview_id, error="not_in_channel", now=done)
    assert not later.notify_recruiter
    assert summary_state(session_factory, interview_id)[0] == SummaryStep.FINISH


def test_transient_failures_back_off_and_keep_the_kind(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id = scheduled(session_factory, panel=(AAA,))
    give(session_factory, interview_id, AAA)
    post(session_factory, interview_id, AFTER)
    now = AFTER
    waits = []
    for _ in range(3):
        assert claim(session_factory, now) == [SummaryJob(interview_id, "finish")]
        with session_factory.begin() as session:
            failure = record_summary_failure(session, interview_id, error="x" * 300, now=now)
        assert not failure.notify_recruiter and failure.recorded
        waits.append(failure.retry_at - now)
        now = failure.retry_at
    assert waits == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2)]
    interview = row(session_factory, interview_id)
    assert interview.summary_error == "x" * 255
    assert interview.summary_pending == SummaryStep.FINISH
    assert [a for a, _ in actions(session_factory, interview_id)] == ["summary.posted"]


def test_a_failure_with_nothing_pending_records_nothing(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        interview_id = make_interview(session, state=InterviewState.CANCELLED).id
    with session_factory.begin() as session:
        failure = record_summary_failure(session, interview_id, error="not_in_channel", now=AFTER)
        unknown = record_summary_failure(session, interview_id + 1, error="x", now=AFTER)
    assert not failure.recorded and not failure.notify_recruiter
    assert not unknown.recorded
    assert row(session_factory, interview_id).summary_error is None


def test_a_late_submission_does_not_cut_a_failure_backoff_short(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id = scheduled(session_factory, panel=(AAA, BBB))
    give(session_factory, interview_id, AAA)
    assert claim(session_factory, DEADLINE) == [SummaryJob(interview_id, "post")]
    with session_factory.begin() as session:
        failure = record_summary_failure(
            session, interview_id, error="not_in_channel", now=DEADLINE
        )
    give(session_factory, interview_id, BBB, now=DEADLINE + timedelta(minutes=1))
    assert summary_state(session_factory, interview_id)[1] == failure.retry_at


# ---------------------------------------------------------------------------
# /interview summary


@pytest.mark.parametrize(
    ("user", "sees"),
    [("U0RECRUIT", True), ("U0LEAD", True), (AAA, False), ("U0STRANGER", False)],
)
def test_only_the_recruiter_and_the_hiring_lead_see_the_summary(
    session_factory: sessionmaker[Session], user: str, sees: bool
) -> None:
    interview_id = scheduled(session_factory)
    give(session_factory, interview_id, AAA)  # before the deadline, nothing posted
    with session_factory() as session:
        data = summary_for_viewer(session, interview_id, user_id=user)
        assert summary_for_viewer(session, interview_id + 1000, user_id=user) is None
    assert (data is not None) == sees
    if data is not None:
        assert [f.interviewer for f in data.feedback] == [AAA]
        assert data.missing == (BBB,)


def test_a_hiring_lead_on_the_panel_sees_the_summary_only_once_posted(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id = scheduled(session_factory, panel=(AAA, "U0LEAD"))
    give(session_factory, interview_id, AAA)
    give(session_factory, interview_id, "U0LEAD")
    with session_factory() as session:
        assert summary_for_viewer(session, interview_id, user_id="U0LEAD") is None
        assert summary_for_viewer(session, interview_id, user_id="U0RECRUIT") is not None
    post(session_factory, interview_id, AFTER)
    with session_factory() as session:
        assert summary_for_viewer(session, interview_id, user_id="U0LEAD") is not None


# ---------------------------------------------------------------------------
# Migration 0003


def _sql(statement: str, *times: str) -> sa.TextClause:
    # Times bound as the models bind them (SQLite stores UTCDateTime's own text format).
    return sa.text(statement).bindparams(*(sa.bindparam(t, type_=UTCDateTime) for t in times))


def _fill_0002(conn: sa.Connection) -> None:
    conn.execute(
        _sql(
            "INSERT INTO rubric_versions (id, rubric_id, version, digest, definition, created_at)"
            " VALUES (1, 'mle', '1', :digest, '{}', :at)",
            "at",
        ),
        {"digest": "0" * 64, "at": START},
    )
    for i, state in enumerate(("scheduled", "cancelled", "summarised", "archived"), start=1):
        conn.execute(
            _sql(
                "INSERT INTO interviews (id, candidate, role, rubric_id, rubric_version,"
                " rubric_version_id, target_level, starts_at, ends_at, hiring_channel,"
                " recruiter, hiring_lead, state, created_at, updated_at) VALUES (:id, 'Ada',"
                " 'MLE', 'mle', '1', 1, 'senior', :starts, :ends, 'C0', 'U0R', 'U0L', :state,"
                " :starts, :starts)",
                "starts",
                "ends",
            ),
            {"id": i, "starts": START, "ends": END, "state": state},
        )
    conn.execute(
        _sql(
            "INSERT INTO feedback_requests (id, public_id, interview_id, interviewer,"
            " focus_skills, position, state, reminder_count, attempts, created_at, updated_at)"
            " VALUES (1, 'pub1', 1, 'U0AAA', '[]', 0, 'submitted', 0, 0, :at, :at)",
            "at",
        ),
        {"at": START},
    )
    conn.execute(
        _sql(
            "INSERT INTO feedback (id, request_id, recommendation, notes, submitted_at,"
            " updated_at) VALUES (1, 1, 'yes', 'n', :at, :at)",
            "at",
        ),
        {"at": END},
    )
    conn.execute(
        sa.text(
            "INSERT INTO skill_ratings (id, feedback_id, skill_id, level, evidence)"
            " VALUES (1, 1, 'fundamentals', 'senior', 'e')"
        )
    )


def test_0003_schedules_existing_summaries_and_downgrades(db_url: str) -> None:
    engine = create_engine_for(db_url)
    try:
        upgrade(engine, "0002")
        with engine.begin() as conn:
            _fill_0002(conn)
        upgrade(engine)  # to the head: the code under test needs today's schema
        assert current_revision(engine) == head_revision()

        factory = sessionmaker(bind=engine)
        with factory() as session:
            rows = session.scalars(sa.select(Interview).order_by(Interview.id)).all()
            assert [(r.summary_pending, r.summary_due_at) for r in rows] == [
                (SummaryStep.POST, END),
                (None, None),
                (None, None),
                (None, None),
            ]
            assert all(
                (r.summary_attempts, r.summary_notified, r.feedback_seq) == (0, False, 0)
                for r in rows
            )
            [feedback] = session.scalars(sa.select(Feedback)).all()
            assert (feedback.first_seq, feedback.seq) == (0, 0)

        inspector = sa.inspect(engine)
        columns = {c["name"]: c for c in inspector.get_columns("interviews")}
        for name in ("summary_attempts", "summary_notified", "feedback_seq"):
            assert not columns[name]["nullable"]
            assert columns[name]["default"] is None  # defaults live in Python
        checks = {c["name"] for c in inspector.get_check_constraints("interviews")}
        assert {"ck_interviews_ends_after_starts", "ck_interviews_interview_state"} <= checks
        assert "ck_interviews_summary_step_fits_message" in checks
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM feedback_requests")).scalar() == 1
            assert conn.execute(sa.text("SELECT count(*) FROM skill_ratings")).scalar() == 1

        # The sweep finds it: its whole (one-member) panel has submitted.
        assert claim(factory, AFTER) == [SummaryJob(1, "post")]

        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                with _sqlite_foreign_keys_off(conn), conn.begin():
                    command.downgrade(alembic_config(conn), "0002")
            else:
                with conn.begin():
                    command.downgrade(alembic_config(conn), "0002")
        assert current_revision(engine) == "0002"
        names = {c["name"] for c in sa.inspect(engine).get_columns("interviews")}
        assert not {n for n in names if n.startswith("summary_")}
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM interviews")).scalar() == 4
            assert conn.execute(sa.text("SELECT count(*) FROM skill_ratings")).scalar() == 1
    finally:
        engine.dispose()
