"""storage.reminders: nudges, digests, escalations, snooze and decline (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.audit import audit_events_for
from storage.feedback import FeedbackRefused, RefusalReason, load_form_context, submit_feedback
from storage.forms import claim_due_forms, mark_form_sent
from storage.models import (
    FeedbackRequest,
    Interview,
    InterviewState,
    RecruiterDigest,
    RequestState,
    SummaryStep,
)
from storage.queries import CancelOutcome, cancel_interview, missing_forms_after_summary
from storage.reminders import (
    NudgeJob,
    claim_due_digests,
    claim_due_escalations,
    claim_due_nudges,
    decline_request,
    defer_digest,
    defer_escalation,
    defer_nudge,
    digest_for,
    escalation_for,
    mark_digest_sent,
    mark_escalated,
    mark_nudge_sent,
    record_nudge_failure,
    request_nudge_now,
    snooze_request,
)
from storage.summaries import SummaryJob, claim_due_summaries, mark_summary_posted
from tests.test_storage_feedback_support import (
    AFTER,
    ALL_SENIOR,
    END,
    POLICY,
    START,
    counting_queries,
    is_postgres,
    make_interview,
)

AAA, BBB, CCC = "U0AAA", "U0BBB", "U0CCC"
RECRUITER = "U0RECRUIT"
LEASE = timedelta(minutes=2)
INTERVAL = timedelta(hours=4)
DUE = END + POLICY.due_after  # feedback overdue, first nudge
DEADLINE = END + POLICY.summary_deadline


def sent(
    factory: sessionmaker[Session], *, now: datetime = AFTER, **kwargs: Any
) -> tuple[int, list[str]]:
    """An interview scheduled as an import does it, every form DM sent at ``now``."""
    with factory.begin() as session:
        interview = make_interview(session, **kwargs)
        interview.summary_pending = SummaryStep.POST
        interview.summary_due_at = interview.ends_at + POLICY.summary_deadline
        interview.escalation_due_at = interview.ends_at + POLICY.summary_deadline
        ids = [r.public_id for r in interview.requests]
        interview_id = interview.id
    with factory.begin() as session:
        for n, public_id in enumerate(ids):
            assert mark_form_sent(
                session, public_id, channel="D0", ts=f"{n}.0", now=now, policy=POLICY
            )
    return interview_id, ids


def nudges(
    factory: sessionmaker[Session], now: datetime, max_nudges: int = 3, **kwargs: Any
) -> list[NudgeJob]:
    with factory.begin() as session:
        return claim_due_nudges(session, now=now, policy=POLICY, max_nudges=max_nudges, **kwargs)


def nudged(
    factory: sessionmaker[Session],
    public_id: str,
    now: datetime,
    *,
    max_nudges: int = 3,
    forced: bool = False,
) -> bool:
    with factory.begin() as session:
        return mark_nudge_sent(
            session, public_id, now=now, interval=INTERVAL, max_nudges=max_nudges, forced=forced
        )


def request_row(factory: sessionmaker[Session], public_id: str) -> FeedbackRequest:
    with factory() as session:
        return session.scalars(
            sa.select(FeedbackRequest).where(FeedbackRequest.public_id == public_id)
        ).one()


def interview_row(factory: sessionmaker[Session], interview_id: int) -> Interview:
    with factory() as session:
        interview = session.get(Interview, interview_id)
        assert interview is not None
        return interview


def digest_row(factory: sessionmaker[Session], recruiter: str = RECRUITER) -> RecruiterDigest:
    with factory() as session:
        row = session.get(RecruiterDigest, recruiter)
        assert row is not None
        return row


def actions(factory: sessionmaker[Session], entity: str, entity_id: Any) -> list[tuple[str, Any]]:
    with factory() as session:
        return [
            (e.action, e.detail)
            for e in audit_events_for(session, entity=entity, entity_id=entity_id)
        ]


def request_actions(factory: sessionmaker[Session], public_id: str) -> list[str]:
    return [a for a, _ in actions(factory, "request", request_row(factory, public_id).id)]


def give(factory: sessionmaker[Session], public_id: str, who: str, now: datetime) -> None:
    with factory.begin() as session:
        submit_feedback(
            session,
            public_id,
            user_id=who,
            recommendation="yes",
            notes="Solid.",
            ratings=ALL_SENIOR,
            policy=POLICY,
            now=now,
        )


def ids_of(jobs: list[NudgeJob]) -> list[str]:
    return [job.context.request.public_id for job in jobs]


# ---------------------------------------------------------------------------
# Nudges


def test_the_first_nudge_falls_due_when_feedback_is_overdue(
    session_factory: sessionmaker[Session],
) -> None:
    _, (a, b) = sent(session_factory)
    assert nudges(session_factory, DUE - timedelta(seconds=1)) == []
    jobs = nudges(session_factory, DUE)
    assert ids_of(jobs) == [a, b]
    assert [(j.forced, j.number) for j in jobs] == [(False, 1), (False, 1)]
    assert jobs[0].context.request.interviewer == AAA
    assert request_row(session_factory, a).next_action_at == DUE + LEASE
    # Claimed: nobody else gets them while the lease lasts.
    assert nudges(session_factory, DUE + LEASE - timedelta(seconds=1)) == []


def test_nudges_respect_the_interval_and_the_cap(session_factory: sessionmaker[Session]) -> None:
    _, (a,) = sent(session_factory, panel=(AAA,))
    now = DUE
    for number in (1, 2):
        [job] = nudges(session_factory, now, max_nudges=2)
        assert job.number == number
        assert nudged(session_factory, a, now, max_nudges=2)
        assert nudges(session_factory, now + INTERVAL - timedelta(seconds=1), max_nudges=2) == []
        now += INTERVAL
    row = request_row(session_factory, a)
    assert (row.reminder_count, row.next_action_at, row.last_nudged_at) == (
        2,
        None,
        DUE + INTERVAL,
    )
    assert nudges(session_factory, now + timedelta(days=30), max_nudges=2) == []
    assert request_actions(session_factory, a) == [
        "request.form_sent",
        "request.nudged",
        "request.nudged",
    ]


def test_a_row_over_a_lowered_cap_is_retired(session_factory: sessionmaker[Session]) -> None:
    _, (a,) = sent(session_factory, panel=(AAA,))
    [_job] = nudges(session_factory, DUE)
    assert nudged(session_factory, a, DUE)
    assert request_row(session_factory, a).next_action_at == DUE + INTERVAL
    # reminders.max lowered to 1 meanwhile: nothing more to do.
    assert nudges(session_factory, DUE + INTERVAL, max_nudges=1) == []
    assert request_row(session_factory, a).next_action_at is None


def test_recording_the_same_nudge_twice_counts_it_once(
    session_factory: sessionmaker[Session],
) -> None:
    _, (a,) = sent(session_factory, panel=(AAA,))
    nudges(session_factory, DUE)
    assert nudged(session_factory, a, DUE)
    assert not nudged(session_factory, a, DUE)
    # With the job's number, a repeat recorded later is recognised too.
    with session_factory.begin() as session:
        later = DUE + timedelta(minutes=1)
        assert not mark_nudge_sent(
            session, a, now=later, interval=INTERVAL, max_nudges=3, forced=False, number=1
        )
    assert request_row(session_factory, a).reminder_count == 1
    assert request_actions(session_factory, a).count("request.nudged") == 1


def test_a_deferred_nudge_does_not_count(session_factory: sessionmaker[Session]) -> None:
    _, (a,) = sent(session_factory, panel=(AAA,))
    nudges(session_factory, DUE)
    morning = DUE + timedelta(hours=9)
    with session_factory.begin() as session:
        assert defer_nudge(session, a, until=morning, now=DUE)
    row = request_row(session_factory, a)
    assert (row.reminder_count, row.next_action_at) == (0, morning)
    assert nudges(session_factory, morning - timedelta(seconds=1)) == []
    [job] = nudges(session_factory, morning)
    assert job.number == 1


def test_an_unrecorded_claim_is_claimed_again_after_its_lease(
    session_factory: sessionmaker[Session],
) -> None:
    _, (a,) = sent(session_factory, panel=(AAA,))
    assert ids_of(nudges(session_factory, DUE)) == [a]
    # The process died before recording: the nudge falls due when the lease ends.
    assert nudges(session_factory, DUE + timedelta(minutes=1)) == []
    [job] = nudges(session_factory, DUE + LEASE)
    assert job.number == 1
    assert nudged(session_factory, a, DUE + LEASE)


def test_a_nudge_of_a_cancelled_or_answered_request_is_not_claimed(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id, (a, b) = sent(session_factory)
    give(session_factory, a, AAA, AFTER)
    with session_factory.begin() as session:
        assert cancel_interview(session, interview_id, actor="U0R", now=AFTER) == (
            CancelOutcome.CANCELLED
        )
    assert nudges(session_factory, DUE) == []
    assert not nudged(session_factory, b, DUE)
    assert request_row(session_factory, b).reminder_count == 0


def test_nudge_failures_back_off_or_stop(session_factory: sessionmaker[Session]) -> None:
    _, (a, b) = sent(session_factory)
    nudges(session_factory, DUE)
    with session_factory.begin() as session:
        backoff = record_nudge_failure(session, a, error="ratelimited", permanent=False, now=DUE)
        assert backoff == timedelta(seconds=30)
        assert (
            record_nudge_failure(session, b, error="user_not_found", permanent=True, now=DUE)
            is None
        )
    assert request_row(session_factory, a).next_action_at == DUE + timedelta(seconds=30)
    row = request_row(session_factory, b)
    assert (row.next_action_at, row.last_error) == (None, "user_not_found")
    assert "request.nudge_failed" in request_actions(session_factory, b)
    # Nothing pending any more: a second failure record changes nothing.
    with session_factory.begin() as session:
        assert record_nudge_failure(session, b, error="x", permanent=True, now=DUE) is None


def test_nudge_now_forces_one_nudge_past_the_cap(session_factory: sessionmaker[Session]) -> None:
    _, (a,) = sent(session_factory, panel=(AAA,))
    nudges(session_factory, DUE, max_nudges=1)
    assert nudged(session_factory, a, DUE, max_nudges=1)
    assert request_row(session_factory, a).next_action_at is None
    later = DUE + timedelta(hours=1)

    with session_factory.begin() as session:
        assert request_nudge_now(session, a, actor=RECRUITER, now=later) == "queued"
    with session_factory.begin() as session:
        assert request_nudge_now(session, a, actor=RECRUITER, now=later) == "queued"
    row = request_row(session_factory, a)
    assert (row.nudge_requested, row.next_action_at) == (True, later)

    [job] = nudges(session_factory, later, max_nudges=1)
    assert (job.forced, job.number) == (True, 2)
    assert nudged(session_factory, a, later, max_nudges=1, forced=True)
    row = request_row(session_factory, a)
    assert (row.reminder_count, row.nudge_requested, row.next_action_at) == (2, False, None)
    events = actions(session_factory, "request", row.id)
    assert [e for e in events if e[0] == "request.nudge_requested"] == [
        ("request.nudge_requested", {"request": a, "by": RECRUITER})
    ]
    assert events[-1] == ("request.nudged", {"request": a, "number": 2, "forced": True})


def test_nudge_now_is_for_the_recruiter_and_open_forms_only(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        interview = make_interview(session, panel=(AAA,))
        pending = interview.requests[0].public_id
    _, (a,) = sent(session_factory, panel=(BBB,), candidate="Grace")
    with session_factory.begin() as session:
        assert request_nudge_now(session, a, actor=AAA, now=DUE) == "not_allowed"
        assert request_nudge_now(session, pending, actor=RECRUITER, now=DUE) == "not_open"
        assert request_nudge_now(session, "nope", actor=RECRUITER, now=DUE) == "not_found"
        assert request_nudge_now(session, "bad id\x00", actor=RECRUITER, now=DUE) == "not_found"
    assert not request_row(session_factory, a).nudge_requested
    give(session_factory, a, BBB, AFTER)
    with session_factory.begin() as session:
        assert request_nudge_now(session, a, actor=RECRUITER, now=DUE) == "not_open"


def test_two_sessions_never_claim_the_same_nudge(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    _, ids = sent(session_factory, panel=(AAA, BBB, CCC))
    if is_postgres(engine):
        # Interleaved: the second claimer skips the rows the first has locked.
        first = session_factory()
        second = session_factory()
        try:
            with first.begin():
                a = claim_due_nudges(first, now=DUE, policy=POLICY, max_nudges=3, limit=2)
                with second.begin():
                    b = claim_due_nudges(second, now=DUE, policy=POLICY, max_nudges=3)
        finally:
            first.close()
            second.close()
        assert sorted(ids_of(a) + ids_of(b)) == sorted(ids)
    else:
        assert ids_of(nudges(session_factory, DUE)) == ids
        assert nudges(session_factory, DUE) == []


@pytest.mark.postgres
def test_concurrent_claimers_claim_each_nudge_exactly_once(
    engine: Engine, session_factory: sessionmaker[Session]
) -> None:
    if not is_postgres(engine):
        pytest.skip("SQLite serialises write transactions: no concurrent claimers")
    expected: list[str] = []
    with session_factory.begin() as session:
        for n in range(220):
            interview = make_interview(
                session, panel=(AAA, BBB), candidate=f"C{n}", starts_at=START + timedelta(hours=n)
            )
            for request in interview.requests:
                request.state = RequestState.FORM_SENT
                request.next_action_at = DUE
                expected.append(request.public_id)
    now = DUE + timedelta(days=30)
    barrier = threading.Barrier(2)
    results: list[list[str]] = [[], []]
    errors: list[BaseException] = []

    def claimer(slot: int) -> None:
        try:
            barrier.wait()
            while True:
                with session_factory.begin() as session:
                    jobs = claim_due_nudges(session, now=now, policy=POLICY, max_nudges=3, limit=17)
                if not jobs:
                    return
                results[slot].extend(ids_of(jobs))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    claimed = results[0] + results[1]
    assert len(claimed) == len(set(claimed)) == len(expected) == 440
    assert set(claimed) == set(expected)
    assert results[0] and results[1]  # both took part


# ---------------------------------------------------------------------------
# Snooze, decline


def test_snooze_moves_the_pending_nudge(session_factory: sessionmaker[Session]) -> None:
    _, (a, _b) = sent(session_factory)
    until = DUE + timedelta(days=1)
    with session_factory.begin() as session:
        context = snooze_request(session, a, user_id=AAA, until=until, now=AFTER, policy=POLICY)
        assert context.request.public_id == a
    assert request_row(session_factory, a).next_action_at == until
    with session_factory.begin() as session:  # again: nothing changes
        snooze_request(session, a, user_id=AAA, until=until, now=AFTER, policy=POLICY)
    assert request_row(session_factory, a).next_action_at == until
    assert request_actions(session_factory, a).count("request.snoozed") == 1
    assert nudges(session_factory, until - timedelta(seconds=1)) != []  # b only
    assert ids_of(nudges(session_factory, until)) == [a]
    # A shorter snooze after a nudge brings the next one forward (one hour, not the interval).
    assert nudged(session_factory, a, until)
    hour = until + timedelta(hours=1)
    with session_factory.begin() as session:
        snooze_request(session, a, user_id=AAA, until=hour, now=until, policy=POLICY)
    assert request_row(session_factory, a).next_action_at == hour


def test_snooze_refusals(session_factory: sessionmaker[Session]) -> None:
    interview_id, (a, b) = sent(session_factory)
    with session_factory.begin() as session:
        pending = make_interview(session, panel=(AAA,), candidate="Grace").requests[0].public_id
    give(session_factory, b, BBB, AFTER)

    def refusal(public_id: str, user_id: str) -> FeedbackRefused:
        with session_factory.begin() as session, pytest.raises(FeedbackRefused) as caught:
            snooze_request(session, public_id, user_id=user_id, until=DUE, now=AFTER)
        return caught.value

    assert refusal(a, BBB).reason == RefusalReason.NOT_YOURS
    assert refusal("missing", AAA).reason == RefusalReason.NOT_FOUND
    assert "nothing to snooze" in refusal(b, BBB).message  # submitted
    assert "not been sent" in refusal(pending, AAA).message
    with session_factory.begin() as session:
        cancel_interview(session, interview_id, actor=RECRUITER, now=AFTER)
    assert refusal(a, AAA).reason == RefusalReason.CANCELLED
    assert request_row(session_factory, a).next_action_at is None


def test_decline_is_own_only_and_idempotent(session_factory: sessionmaker[Session]) -> None:
    _, (a, b) = sent(session_factory)
    with session_factory.begin() as session, pytest.raises(FeedbackRefused) as caught:
        decline_request(session, a, user_id=BBB, now=AFTER, policy=POLICY)
    assert caught.value.reason == RefusalReason.NOT_YOURS
    with session_factory.begin() as session:
        first = decline_request(session, a, user_id=AAA, now=AFTER, policy=POLICY)
    with session_factory.begin() as session:
        second = decline_request(session, a, user_id=AAA, now=AFTER, policy=POLICY)
    assert (first.changed, second.changed) == (True, False)
    assert first.context.request.state == "declined"
    assert not first.context.editable
    row = request_row(session_factory, a)
    assert (row.state, row.next_action_at) == (RequestState.DECLINED, None)
    assert request_actions(session_factory, a).count("request.declined") == 1
    assert ids_of(nudges(session_factory, DUE)) == [b]

    give(session_factory, b, BBB, AFTER)
    with session_factory.begin() as session, pytest.raises(FeedbackRefused) as caught:
        decline_request(session, b, user_id=BBB, now=AFTER, policy=POLICY)
    assert caught.value.reason == RefusalReason.LOCKED


def test_declining_the_last_missing_feedback_makes_the_summary_due(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id, (a, b) = sent(session_factory)
    give(session_factory, a, AAA, AFTER)
    assert interview_row(session_factory, interview_id).summary_due_at == DEADLINE
    later = AFTER + timedelta(hours=1)
    with session_factory.begin() as session:
        decline_request(session, b, user_id=BBB, now=later, policy=POLICY)
    assert interview_row(session_factory, interview_id).summary_due_at == later
    with session_factory.begin() as session:
        assert claim_due_summaries(session, now=later, policy=POLICY) == [
            SummaryJob(interview_id, "post")
        ]
    # Nothing is missing any more: the escalation will send nothing.
    with session_factory() as session:
        assert escalation_for(session, interview_id)[1] == ()


def test_declining_with_nobody_else_submitted_does_not_post(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id, (a, _b) = sent(session_factory)
    with session_factory.begin() as session:
        decline_request(session, a, user_id=AAA, now=AFTER, policy=POLICY)
    assert interview_row(session_factory, interview_id).summary_due_at == DEADLINE


# ---------------------------------------------------------------------------
# Digests


def test_mark_form_sent_arms_the_digest_for_when_feedback_is_overdue(
    session_factory: sessionmaker[Session],
) -> None:
    sent(session_factory)
    assert digest_row(session_factory).next_action_at == DUE
    # An earlier interview's form pulls it forward; a later one does not push it back.
    sent(session_factory, starts_at=START - timedelta(hours=5), candidate="Grace")
    sent(session_factory, starts_at=START + timedelta(hours=5), candidate="Alan")
    assert digest_row(session_factory).next_action_at == DUE - timedelta(hours=5)


def test_digest_interval_and_not_sent(session_factory: sessionmaker[Session]) -> None:
    sent(session_factory)
    with session_factory.begin() as session:
        assert claim_due_digests(session, now=DUE - timedelta(seconds=1)) == []
        assert claim_due_digests(session, now=DUE) == [RECRUITER]
    with session_factory.begin() as session:
        assert claim_due_digests(session, now=DUE) == []  # leased
        items = digest_for(session, RECRUITER, now=DUE, policy=POLICY)
        assert [len(i.missing) for i in items] == [2]
        mark_digest_sent(
            session, RECRUITER, now=DUE, interval=POLICY.digest_interval, sent=True, policy=POLICY
        )
    row = digest_row(session_factory)
    assert (row.last_sent_at, row.next_action_at) == (DUE, DUE + timedelta(hours=24))
    assert actions(session_factory, "recruiter", RECRUITER) == [
        ("digest.sent", {"interviews": 1, "missing": 2})
    ]
    # A later interview's form cannot bring the next digest before the interval.
    sent(session_factory, starts_at=START + timedelta(hours=2), candidate="Grace", now=DUE)
    assert digest_row(session_factory).next_action_at == DUE + timedelta(hours=24)

    # Nothing to report (everyone answered): re-armed for the next overdue form, or not at all.
    with session_factory() as session:
        open_ids = list(
            session.scalars(
                sa.select(FeedbackRequest.public_id, FeedbackRequest.interviewer).where(
                    FeedbackRequest.state == RequestState.FORM_SENT
                )
            )
        )
    for public_id in open_ids:
        give(session_factory, public_id, request_row(session_factory, public_id).interviewer, DUE)
    day = DUE + timedelta(hours=24)
    with session_factory.begin() as session:
        assert claim_due_digests(session, now=day) == [RECRUITER]
        assert digest_for(session, RECRUITER, now=day, policy=POLICY) == []
        mark_digest_sent(
            session, RECRUITER, now=day, interval=POLICY.digest_interval, sent=False, policy=POLICY
        )
    assert digest_row(session_factory).next_action_at is None


def test_a_not_sent_digest_is_rearmed_for_the_next_overdue_form(
    session_factory: sessionmaker[Session],
) -> None:
    sent(session_factory)
    with session_factory.begin() as session:
        assert claim_due_digests(session, now=DUE - timedelta(hours=1), lease=LEASE) == []
    # A claim raced with an arm: the digest was leased when a later form went out.
    with session_factory.begin() as session:
        session.execute(
            sa.update(RecruiterDigest).values(next_action_at=AFTER - timedelta(minutes=1))
        )
    with session_factory.begin() as session:
        assert claim_due_digests(session, now=AFTER) == [RECRUITER]
        assert digest_for(session, RECRUITER, now=AFTER, policy=POLICY) == []
        mark_digest_sent(
            session,
            RECRUITER,
            now=AFTER,
            interval=POLICY.digest_interval,
            sent=False,
            policy=POLICY,
        )
    assert digest_row(session_factory).next_action_at == DUE


def test_digest_lease_and_defer(session_factory: sessionmaker[Session]) -> None:
    sent(session_factory)
    with session_factory.begin() as session:
        assert claim_due_digests(session, now=DUE) == [RECRUITER]
    with session_factory.begin() as session:  # died before recording
        assert claim_due_digests(session, now=DUE + timedelta(minutes=1)) == []
        assert claim_due_digests(session, now=DUE + LEASE) == [RECRUITER]
    morning = DUE + timedelta(hours=10)
    with session_factory.begin() as session:
        defer_digest(session, RECRUITER, until=morning)
    with session_factory.begin() as session:
        assert claim_due_digests(session, now=morning - timedelta(seconds=1)) == []
        assert claim_due_digests(session, now=morning) == [RECRUITER]


def test_digest_content(session_factory: sessionmaker[Session]) -> None:
    later_id, (la, lb, lc) = sent(session_factory, panel=(AAA, BBB, CCC))
    early_id, (ea,) = sent(
        session_factory, panel=(CCC,), starts_at=START - timedelta(hours=3), candidate="Grace"
    )
    sent(session_factory, panel=(AAA,), starts_at=START + timedelta(days=3), candidate="Future")
    sent(session_factory, panel=(AAA,), candidate="Other", recruiter="U0OTHER")
    give(session_factory, la, AAA, AFTER)
    with session_factory.begin() as session:
        decline_request(session, lb, user_id=BBB, now=AFTER, policy=POLICY)
    nudges(session_factory, DUE)
    assert nudged(session_factory, lc, DUE)
    nudges(session_factory, DUE + INTERVAL)
    with session_factory.begin() as session:
        record_nudge_failure(session, lc, error="user_not_found", permanent=True, now=DUE)
    now = DUE + timedelta(hours=5)
    with session_factory() as session:
        items = digest_for(session, RECRUITER, now=now, policy=POLICY)
    assert [i.interview.interview_id for i in items] == [early_id, later_id]
    [early_line] = items[0].missing
    assert (early_line.interviewer, early_line.public_id) == (CCC, ea)
    assert early_line.overdue_by == timedelta(hours=8)
    assert early_line.last_error is None  # a nudge is still scheduled
    [line] = items[1].missing  # AAA submitted, BBB declined
    assert (line.interviewer, line.public_id, line.overdue_by) == (CCC, lc, timedelta(hours=5))
    assert (line.reminders_sent, line.last_error) == (1, "user_not_found")


# ---------------------------------------------------------------------------
# Escalations


def escalations(factory: sessionmaker[Session], now: datetime, **kwargs: Any) -> list[int]:
    with factory.begin() as session:
        return claim_due_escalations(session, now=now, policy=POLICY, **kwargs)


def test_escalation_once_at_the_deadline(session_factory: sessionmaker[Session]) -> None:
    interview_id, (a, _b, _c) = sent(session_factory, panel=(AAA, BBB, CCC))
    give(session_factory, a, AAA, AFTER)
    assert escalations(session_factory, DEADLINE - timedelta(seconds=1)) == []
    assert escalations(session_factory, DEADLINE) == [interview_id]
    assert escalations(session_factory, DEADLINE + timedelta(minutes=1)) == []  # leased
    with session_factory() as session:
        view, missing = escalation_for(session, interview_id)
    assert (view.hiring_lead, missing) == ("U0LEAD", (BBB, CCC))
    with session_factory.begin() as session:
        digest = session.get(RecruiterDigest, RECRUITER)
        assert digest is not None
        digest.last_sent_at = DEADLINE - timedelta(hours=1)
        digest.next_action_at = DEADLINE + timedelta(hours=23)
    with session_factory.begin() as session:
        assert mark_escalated(session, interview_id, now=DEADLINE, sent=True)
    with session_factory.begin() as session:
        assert not mark_escalated(session, interview_id, now=DEADLINE, sent=True)
    row = interview_row(session_factory, interview_id)
    assert (row.escalated_at, row.escalation_due_at) == (DEADLINE, None)
    assert escalations(session_factory, DEADLINE + timedelta(days=3)) == []
    assert ("interview.escalated", {"missing": 2}) in actions(
        session_factory, "interview", interview_id
    )
    # The recruiter's digest is due now, whatever its interval.
    assert digest_row(session_factory).next_action_at == DEADLINE


def test_nothing_missing_means_no_dm_but_done(session_factory: sessionmaker[Session]) -> None:
    interview_id, (a,) = sent(session_factory, panel=(AAA,))
    give(session_factory, a, AAA, AFTER)
    with session_factory.begin() as session:  # the digest waits for its own time
        digest = session.get(RecruiterDigest, RECRUITER)
        assert digest is not None
        digest.next_action_at = None
    assert escalations(session_factory, DEADLINE) == [interview_id]
    with session_factory() as session:
        assert escalation_for(session, interview_id)[1] == ()
    with session_factory.begin() as session:
        assert mark_escalated(session, interview_id, now=DEADLINE, sent=False)
    assert interview_row(session_factory, interview_id).escalated_at == DEADLINE
    recorded = [a for a, _ in actions(session_factory, "interview", interview_id)]
    assert "interview.escalated" not in recorded
    assert "interview.escalation_skipped" in recorded
    assert digest_row(session_factory).next_action_at is None
    assert escalations(session_factory, DEADLINE + timedelta(days=1)) == []


def test_escalation_lease_defer_and_early_rows(session_factory: sessionmaker[Session]) -> None:
    interview_id, _ = sent(session_factory)
    with session_factory.begin() as session:  # as migration 0004 backfills it
        row = session.get(Interview, interview_id)
        assert row is not None
        row.escalation_due_at = END
    assert escalations(session_factory, AFTER) == []
    assert interview_row(session_factory, interview_id).escalation_due_at == DEADLINE
    assert escalations(session_factory, DEADLINE) == [interview_id]
    assert escalations(session_factory, DEADLINE + LEASE) == [interview_id]  # never recorded
    morning = DEADLINE + timedelta(hours=8)
    with session_factory.begin() as session:
        defer_escalation(session, interview_id, until=morning)
    assert escalations(session_factory, morning - timedelta(seconds=1)) == []
    assert escalations(session_factory, morning) == [interview_id]


def test_cancel_clears_the_escalation(session_factory: sessionmaker[Session]) -> None:
    interview_id, _ = sent(session_factory)
    with session_factory.begin() as session:
        cancel_interview(session, interview_id, actor=RECRUITER, now=AFTER)
    assert interview_row(session_factory, interview_id).escalation_due_at is None
    assert escalations(session_factory, DEADLINE) == []


def test_an_import_schedules_the_escalation(session_factory: sessionmaker[Session]) -> None:
    from tests.test_storage_summaries import _import, _spec

    interview_id = _import(session_factory, _spec(END), now=START - timedelta(days=1))
    assert interview_row(session_factory, interview_id).escalation_due_at == DEADLINE
    later = END + timedelta(hours=3)
    _import(session_factory, _spec(later), now=START - timedelta(days=1))
    assert interview_row(session_factory, interview_id).escalation_due_at == (
        later + POLICY.summary_deadline
    )
    history = _import(
        session_factory,
        _spec(END, external_id="gh-2"),
        now=DEADLINE + timedelta(days=1),
    )
    row = interview_row(session_factory, history)
    assert (row.state, row.escalation_due_at) == (InterviewState.ARCHIVED, None)


# ---------------------------------------------------------------------------
# After the summary (DESIGN "After a partial summary")


def post_summary(factory: sessionmaker[Session], interview_id: int, now: datetime) -> None:
    with factory.begin() as session:
        assert mark_summary_posted(session, interview_id, channel="C0HIRING", ts="9.0", now=now)


def make_shadow(factory: sessionmaker[Session], public_id: str) -> None:
    with factory.begin() as session:
        session.execute(
            sa.update(FeedbackRequest)
            .where(FeedbackRequest.public_id == public_id)
            .values(shadow=True)
        )


def test_no_nudge_once_the_summary_is_posted(session_factory: sessionmaker[Session]) -> None:
    interview_id, (a, b, c) = sent(session_factory, panel=(AAA, BBB, CCC))
    give(session_factory, a, AAA, AFTER)
    assert ids_of(nudges(session_factory, DUE)) == [b, c]
    assert nudged(session_factory, b, DUE) and nudged(session_factory, c, DUE)
    with session_factory.begin() as session:  # a recruiter asked for one more, not yet sent
        assert request_nudge_now(session, c, actor=RECRUITER, now=DUE + INTERVAL) == "queued"
    post_summary(session_factory, interview_id, DEADLINE)
    # Due (b's interval, c's Nudge now), but the summary is out: retired, not claimed.
    assert nudges(session_factory, DEADLINE) == []
    for public_id in (b, c):
        row = request_row(session_factory, public_id)
        assert (row.next_action_at, row.nudge_requested, row.reminder_count) == (None, False, 1)
    assert nudges(session_factory, DEADLINE + timedelta(days=5)) == []
    # Nudge now is refused with its reason, and changes nothing.
    with session_factory.begin() as session:
        outcome = request_nudge_now(session, b, actor=RECRUITER, now=DEADLINE)
    assert outcome == "summary_posted"
    assert request_row(session_factory, b).next_action_at is None
    assert nudges(session_factory, DEADLINE + timedelta(hours=1)) == []
    # Nor can an old nudge's Snooze bring one back.
    with session_factory.begin() as session, pytest.raises(FeedbackRefused) as refused:
        snooze_request(session, b, user_id=BBB, until=DEADLINE + INTERVAL, now=DEADLINE)
    assert refused.value.reason == RefusalReason.LOCKED
    assert "no more reminders" in refused.value.message
    assert request_row(session_factory, b).next_action_at is None


def test_a_shadow_is_nudged_until_the_summary_and_never_escalated(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id, (a, b, shadow) = sent(session_factory, panel=(AAA, BBB, CCC))
    make_shadow(session_factory, shadow)
    assert ids_of(nudges(session_factory, DUE)) == [a, b, shadow]  # as anyone, before
    with session_factory() as session:
        assert escalation_for(session, interview_id)[1] == (AAA, BBB)  # never waited for
    give(session_factory, a, AAA, DUE)
    give(session_factory, b, BBB, DUE)
    post_summary(session_factory, interview_id, DUE + timedelta(hours=1))  # complete
    assert nudges(session_factory, DUE + timedelta(days=1)) == []
    assert request_row(session_factory, shadow).next_action_at is None
    with session_factory() as session:
        assert escalation_for(session, interview_id)[1] == ()
        # Not late either: a shadow is never waited for, so never listed after the summary.
        items = digest_for(session, RECRUITER, now=DUE + timedelta(hours=2), policy=POLICY)
    assert items == []


def test_no_escalation_lists_anyone_after_the_partial_summary(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id, (a, _b, _c) = sent(session_factory, panel=(AAA, BBB, CCC))
    give(session_factory, a, AAA, AFTER)
    # The sweep posts summaries first: at the deadline the partial summary is out
    # before the escalation is looked at.
    post_summary(session_factory, interview_id, DEADLINE)
    assert escalations(session_factory, DEADLINE) == [interview_id]
    with session_factory() as session:
        view, missing = escalation_for(session, interview_id)
    assert (view.state, missing) == ("summarised", ())
    with session_factory.begin() as session:  # a digest went out an hour ago
        digest = session.get(RecruiterDigest, RECRUITER)
        assert digest is not None
        digest.last_sent_at = DEADLINE - timedelta(hours=1)
        digest.next_action_at = DEADLINE + timedelta(hours=23)
    with session_factory.begin() as session:
        assert mark_escalated(session, interview_id, now=DEADLINE, sent=False)
    recorded = actions(session_factory, "interview", interview_id)
    assert ("interview.escalation_skipped", {"missing": 2}) in recorded
    assert "interview.escalated" not in [action for action, _ in recorded]
    # The recruiter hears at once that two were late.
    assert digest_row(session_factory).next_action_at == DEADLINE


def test_the_digest_says_late_once_and_is_not_rearmed_for_it(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id, (a, b, c) = sent(session_factory, panel=(AAA, BBB, CCC))
    give(session_factory, a, AAA, AFTER)
    with session_factory.begin() as session:
        [item] = digest_for(session, RECRUITER, now=DUE, policy=POLICY)
        assert [(x.public_id, x.after_summary) for x in item.missing] == [(b, False), (c, False)]
        mark_digest_sent(
            session, RECRUITER, now=DUE, interval=POLICY.digest_interval, sent=True, policy=POLICY
        )
    post_summary(session_factory, interview_id, DEADLINE)
    with session_factory.begin() as session:
        assert mark_escalated(session, interview_id, now=DEADLINE, sent=False)
    with session_factory.begin() as session:
        assert claim_due_digests(session, now=DEADLINE) == [RECRUITER]
        [item] = digest_for(session, RECRUITER, now=DEADLINE, policy=POLICY)
        lines = item.missing
        assert [(x.public_id, x.after_summary) for x in lines] == [(b, True), (c, True)]
        assert all(x.last_error is None for x in lines)
        mark_digest_sent(
            session,
            RECRUITER,
            now=DEADLINE,
            interval=POLICY.digest_interval,
            sent=True,
            policy=POLICY,
        )
    assert ("digest.sent", {"interviews": 1, "missing": 2}) in actions(
        session_factory, "recruiter", RECRUITER
    )
    # Reported once: the next digest has nothing to say, and nothing re-arms it.
    day = DEADLINE + POLICY.digest_interval
    with session_factory.begin() as session:
        assert claim_due_digests(session, now=day) == [RECRUITER]
        assert digest_for(session, RECRUITER, now=day, policy=POLICY) == []
        mark_digest_sent(
            session, RECRUITER, now=day, interval=POLICY.digest_interval, sent=False, policy=POLICY
        )
    assert digest_row(session_factory).next_action_at is None


def test_form_contexts_after_the_summary(session_factory: sessionmaker[Session]) -> None:
    policy = dataclasses.replace(POLICY, editable_until="deadline")
    interview_id, (a, b, shadow) = sent(session_factory, panel=(AAA, BBB, CCC))
    make_shadow(session_factory, shadow)
    give(session_factory, a, AAA, AFTER)
    now = DUE
    with session_factory() as session:
        assert missing_forms_after_summary(session, interview_id, policy=policy, now=now) == []
        assert not load_form_context(session, b, user_id=BBB, policy=policy, now=now).after_summary
    post_summary(session_factory, interview_id, now)
    with session_factory() as session:
        forms = missing_forms_after_summary(session, interview_id, policy=policy, now=now)
        assert [(f.request.public_id, f.after_summary, f.shadow) for f in forms] == [
            (b, True, False),
            (shadow, True, True),
        ]
        # Given before, still editable (deadline): an edit now would be after the summary.
        assert load_form_context(session, a, user_id=AAA, policy=policy, now=now).after_summary
        # Locked (editable_until: summary): nothing they can give or change, no notice.
        locked = load_form_context(session, a, user_id=AAA, policy=POLICY, now=now)
        assert (locked.editable, locked.after_summary) == (False, False)


def test_a_form_sent_after_the_summary_carries_the_notice(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        interview = make_interview(session, panel=(AAA, BBB))
        interview.summary_pending = SummaryStep.POST
        interview_id = interview.id
        a, b = (r.public_id for r in interview.requests)
    with session_factory.begin() as session:  # BBB's DM keeps failing until after the post
        assert mark_form_sent(session, a, channel="D0", ts="1.0", now=AFTER, policy=POLICY)
    give(session_factory, a, AAA, AFTER)
    post_summary(session_factory, interview_id, DEADLINE)
    with session_factory.begin() as session:
        [form] = claim_due_forms(session, now=DEADLINE, policy=POLICY)
    assert (form.request.public_id, form.after_summary) == (b, True)


# ---------------------------------------------------------------------------
# Query plans (PostgreSQL)


def _plan(engine: Engine, statement: str, parameters: Any) -> str:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters).all()
        return "\n".join(r[0] for r in rows)


def _claim_select(engine: Engine, claim: Any) -> tuple[str, Any]:
    with counting_queries(engine) as counter:
        claim()
    return next(
        (s, p)
        for s, p in counter.executed
        if s.lstrip().upper().startswith("SELECT") and "FOR UPDATE" in s.upper()
    )


@pytest.mark.postgres
def test_claims_use_the_indexes(engine: Engine, session_factory: sessionmaker[Session]) -> None:
    if not is_postgres(engine):
        pytest.skip("query plans are checked on PostgreSQL")
    with session_factory.begin() as session:
        template = make_interview(session, panel=(AAA,))
        version_id = template.rubric_version_id
        n = 4000
        session.execute(
            sa.insert(Interview),
            [
                {
                    "candidate": f"C{i}",
                    "role": "MLE",
                    "rubric_id": "mle",
                    "rubric_version": "1",
                    "rubric_version_id": version_id,
                    "target_level": "senior",
                    "starts_at": START - timedelta(days=400, hours=i),
                    "ends_at": START - timedelta(days=400, hours=i) + timedelta(hours=1),
                    "hiring_channel": "C0",
                    "recruiter": f"U0R{i % 200}",
                    "hiring_lead": "U0LEAD",
                    "state": InterviewState.SUMMARISED,
                    "escalated_at": START - timedelta(days=300),
                }
                for i in range(n)
            ],
        )
        ids = session.scalars(sa.select(Interview.id).where(Interview.role == "MLE")).all()
        session.execute(
            sa.insert(FeedbackRequest),
            [
                {
                    "interview_id": interview_id,
                    "interviewer": who,
                    "focus_skills": [],
                    "position": p,
                    "state": RequestState.SUBMITTED,
                    "public_id": f"p{interview_id}x{p}",
                }
                for interview_id in ids
                for p, who in enumerate((AAA, BBB, CCC))
            ],
        )
        session.execute(
            sa.insert(RecruiterDigest),
            [{"recruiter": f"U0R{i}", "last_sent_at": START} for i in range(3000)],
        )
    sent(session_factory, candidate="Due")
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")

    def run(claim: Any) -> str:
        def call() -> None:
            with session_factory() as session:
                claim(session)
                session.rollback()

        return _plan(engine, *_claim_select(engine, call))

    nudge_plan = run(lambda s: claim_due_nudges(s, now=DUE, policy=POLICY, max_nudges=3))
    assert "ix_feedback_requests_state_next_action_at" in nudge_plan, nudge_plan
    assert "Seq Scan on feedback_requests" not in nudge_plan, nudge_plan
    assert "Seq Scan on interviews" not in nudge_plan, nudge_plan

    digest_plan = run(lambda s: claim_due_digests(s, now=DUE))
    assert "ix_recruiter_digests_next_action_at" in digest_plan, digest_plan
    assert "Seq Scan" not in digest_plan, digest_plan

    escalation_plan = run(lambda s: claim_due_escalations(s, now=DEADLINE, policy=POLICY))
    assert "ix_interviews_state_escalation_due_at" in escalation_plan, escalation_plan
    assert "Seq Scan" not in escalation_plan, escalation_plan

    # The digest's content reads one recruiter's interviews only.
    with counting_queries(engine) as counter, session_factory() as session:
        digest_for(session, RECRUITER, now=DUE, policy=POLICY)
    statement, parameters = next((s, p) for s, p in counter.executed if "feedback_requests" in s)
    content_plan = _plan(engine, statement, parameters)
    # Any way in through an index: the recruiter's interviews, the (few) open requests,
    # or the interviews in the digest's time window; never a scan of all history.
    assert (
        "ix_interviews_recruiter" in content_plan
        or "ix_feedback_requests_state_next_action_at" in content_plan
        or "ix_interviews_ends_at" in content_plan
    ), content_plan
    assert "Seq Scan" not in content_plan, content_plan


# ---------------------------------------------------------------------------
# Migration 0004


def test_0004_backfills_and_downgrades(db_url: str) -> None:
    from alembic import command

    from storage.engine import create_engine_for
    from storage.migrate import (
        _sqlite_foreign_keys_off,
        alembic_config,
        current_revision,
        head_revision,
        upgrade,
    )
    from tests.test_storage_summaries import _fill_0002

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
            # Only the scheduled one; the claim moves it to its real deadline.
            assert [(r.escalation_due_at, r.escalated_at) for r in rows] == [
                (END, None),
                (None, None),
                (None, None),
                (None, None),
            ]
            [request] = session.scalars(sa.select(FeedbackRequest)).all()
            assert (request.nudge_requested, request.last_nudged_at) == (False, None)
        columns = {c["name"]: c for c in sa.inspect(engine).get_columns("feedback_requests")}
        assert not columns["nudge_requested"]["nullable"]
        assert columns["nudge_requested"]["default"] is None  # defaults live in Python
        assert escalations(factory, AFTER) == []
        assert escalations(factory, DEADLINE) == [1]

        with engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                with _sqlite_foreign_keys_off(conn), conn.begin():
                    command.downgrade(alembic_config(conn), "0003")
            else:
                with conn.begin():
                    command.downgrade(alembic_config(conn), "0003")
        assert current_revision(engine) == "0003"
        inspector = sa.inspect(engine)
        assert not {"slack_users", "recruiter_digests"} & set(inspector.get_table_names())
        assert "escalation_due_at" not in {c["name"] for c in inspector.get_columns("interviews")}
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM skill_ratings")).scalar() == 1
            assert conn.execute(sa.text("SELECT count(*) FROM feedback_requests")).scalar() == 1
    finally:
        engine.dispose()


def test_a_form_sent_late_is_not_nudged_right_away(session_factory: sessionmaker[Session]) -> None:
    late = DUE + timedelta(days=2)  # imported long after it ended
    _, (a,) = sent(session_factory, panel=(AAA,), now=late)
    assert request_row(session_factory, a).next_action_at == late + POLICY.due_after / 2
    assert nudges(session_factory, late + timedelta(hours=1)) == []
