"""storage.queries: App Home and /interview list read models, cancelling; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from storage.audit import audit_events_for
from storage.feedback import submit_feedback
from storage.forms import claim_due_forms, mark_form_sent
from storage.models import FeedbackRequest, Interview, InterviewState, RequestState
from storage.queries import (
    CancelOutcome,
    cancel_interview,
    form_context_for_request,
    forms_for_interviewer,
    get_interview_view,
    interviews_for_owner,
)
from tests.test_storage_feedback_support import (
    AFTER,
    ALL_SENIOR,
    END,
    MLE,
    POLICY,
    START,
    counting_queries,
    create_interview,
    make_interview,
    set_state,
)

AAA, BBB, CCC = "U0AAA", "U0BBB", "U0CCC"


def submit(factory: sessionmaker[Session], public_id: str, user: str, now=AFTER) -> None:  # type: ignore[no-untyped-def]
    with factory.begin() as session:
        submit_feedback(
            session,
            public_id,
            user_id=user,
            recommendation="yes",
            notes=f"notes of {user}",
            ratings=ALL_SENIOR,
            policy=POLICY,
            now=now,
        )


def send(factory: sessionmaker[Session], public_id: str) -> None:
    with factory.begin() as session:
        assert mark_form_sent(session, public_id, channel="D0", ts="1.0", now=AFTER, policy=POLICY)


# ---------------------------------------------------------------------------
# forms_for_interviewer


def test_forms_for_interviewer_lists_only_their_own_open_and_recent_forms(
    session_factory: sessionmaker[Session],
) -> None:
    now = START + timedelta(days=2)
    # Ended 2 days ago, form sent.
    _, (sent, b1) = create_interview(
        session_factory, panel=(AAA, BBB), starts_at=START - timedelta(days=1)
    )
    send(session_factory, sent)
    # Ended, form not sent yet (pending) - still open: it can be filled in from App Home.
    _, (pending, b2) = create_interview(session_factory, panel=(AAA, BBB), starts_at=START)
    # Not ended yet: not open.
    create_interview(session_factory, panel=(AAA,), starts_at=now + timedelta(hours=1))
    # Submitted twice, at different times: recent, newest first.
    _, (old, b3) = create_interview(
        session_factory, panel=(AAA, BBB), starts_at=START - timedelta(days=5)
    )
    _, (new, b4) = create_interview(
        session_factory, panel=(AAA, BBB), starts_at=START - timedelta(days=4)
    )
    submit(session_factory, old, AAA, now=now - timedelta(hours=5))
    submit(session_factory, new, AAA, now=now - timedelta(hours=1))
    # Cancelled and archived ones: not open.
    cancelled_id, _ = create_interview(
        session_factory, panel=(AAA,), starts_at=START - timedelta(days=1, hours=2)
    )
    set_state(session_factory, cancelled_id, interview=InterviewState.CANCELLED)
    create_interview(
        session_factory,
        panel=(AAA,),
        starts_at=START - timedelta(days=1, hours=3),
        state=InterviewState.ARCHIVED,
    )
    # Declined: not open.
    declined_id, _ = create_interview(
        session_factory, panel=(AAA,), starts_at=START - timedelta(days=1, hours=4)
    )
    set_state(session_factory, declined_id, request=(AAA, RequestState.DECLINED))
    # Other people's feedback on the same interviews.
    submit(session_factory, b1, BBB)
    submit(session_factory, b3, BBB)

    with session_factory() as session:
        open_forms, recent = forms_for_interviewer(session, AAA, policy=POLICY, now=now)
    assert [f.request.public_id for f in open_forms] == [sent, pending]  # earliest due first
    assert [f.request.state for f in open_forms] == ["form_sent", "pending"]
    assert all(f.editable and f.own_feedback is None for f in open_forms)
    assert [f.request.public_id for f in recent] == [new, old]
    assert all(f.request.interviewer == AAA for f in open_forms + recent)
    for form in recent:
        assert form.own_feedback is not None and form.own_feedback.notes == f"notes of {AAA}"
    assert "notes of U0BBB" not in repr(open_forms + recent)

    with session_factory() as session:
        open_forms, recent = forms_for_interviewer(session, BBB, policy=POLICY, now=now)
    assert [f.request.public_id for f in open_forms] == [b4, b2]
    assert {f.request.public_id for f in recent} == {b1, b3}
    assert "notes of U0AAA" not in repr(open_forms + recent)

    with session_factory() as session:
        assert forms_for_interviewer(session, "U0NOBODY", policy=POLICY, now=now) == ([], [])
        open_forms, recent = forms_for_interviewer(session, AAA, policy=POLICY, now=now, limit=1)
    assert [f.request.public_id for f in open_forms] == [sent]
    assert [f.request.public_id for f in recent] == [new]


def test_forms_for_interviewer_takes_a_constant_number_of_queries(engine: Engine) -> None:
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    now = START + timedelta(days=30)

    def queries() -> int:
        with counting_queries(engine) as counter, factory() as session:
            forms_for_interviewer(session, AAA, policy=POLICY, now=now)
        return len(counter.selects)

    create_interview(factory, panel=(AAA,))
    _, (done,) = create_interview(factory, panel=(AAA,), starts_at=START - timedelta(days=1))
    submit(factory, done, AAA)
    few = queries()
    for day in range(2, 12):
        _, (pid,) = create_interview(factory, panel=(AAA,), starts_at=START - timedelta(days=day))
        if day % 2:
            submit(factory, pid, AAA)
    assert queries() == few <= 6


# ---------------------------------------------------------------------------
# interviews_for_owner


def test_interviews_for_owner_counts_the_panel(session_factory: sessionmaker[Session]) -> None:
    now = AFTER
    interview_id, (_a, b, _c) = create_interview(session_factory, panel=(AAA, BBB, CCC))
    submit(session_factory, b, BBB)
    set_state(session_factory, interview_id, request=(CCC, RequestState.DECLINED))

    with session_factory() as session:
        (progress,) = interviews_for_owner(session, "U0RECRUIT", now=now)
        assert interviews_for_owner(session, "U0LEAD", now=now) == [progress]
        assert interviews_for_owner(session, AAA, now=now) == []
    assert progress.interview.interview_id == interview_id
    assert progress.interview.candidate == "Ada Lovelace"
    assert (progress.expected, progress.submitted, progress.missing) == (2, 1, (AAA,))


def test_interviews_for_owner_order_and_window(session_factory: sessionmaker[Session]) -> None:
    now = START
    day = timedelta(days=1)
    ids = {
        name: create_interview(
            session_factory, panel=(AAA,), starts_at=now + offset, candidate=name
        )[0]
        for name, offset in [
            ("next week", 7 * day),
            ("tomorrow", day),
            ("now", -timedelta(minutes=30)),  # under way
            ("yesterday", -day),
            ("last week", -7 * day),
            ("29 days ago", -29 * day),
            ("31 days ago", -31 * day),
        ]
    }
    create_interview(
        session_factory,
        panel=(AAA,),
        starts_at=now - 2 * day,
        candidate="archived",
        state=InterviewState.ARCHIVED,
    )
    set_state(session_factory, ids["last week"], interview=InterviewState.CANCELLED)
    create_interview(
        session_factory,
        panel=(AAA,),
        starts_at=now,
        candidate="someone else's",
        recruiter="U0OTHER",
        hiring_lead="U0OTHER2",
    )

    with session_factory() as session:
        listed = interviews_for_owner(session, "U0RECRUIT", now=now)
        limited = interviews_for_owner(session, "U0RECRUIT", now=now, limit=2)
    assert [p.interview.candidate for p in listed] == [
        "now",
        "tomorrow",
        "next week",
        "yesterday",
        "last week",
        "29 days ago",
    ]
    assert [p.interview.state for p in listed if p.interview.candidate == "last week"] == [
        "cancelled"
    ]
    assert [p.interview.candidate for p in limited] == ["now", "tomorrow"]


def test_interviews_for_owner_takes_two_queries_whatever_the_count(engine: Engine) -> None:
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    for i in range(8):
        _, public_ids = create_interview(
            factory, panel=(AAA, BBB, CCC), starts_at=START - timedelta(days=i)
        )
        if i % 2:
            submit(factory, public_ids[0], AAA)
    with counting_queries(engine) as counter, factory() as session:
        listed = interviews_for_owner(session, "U0LEAD", now=AFTER)
    assert len(listed) == 8
    assert len(counter.selects) == 2
    assert sum(p.submitted for p in listed) == 4
    assert all(p.expected == 3 for p in listed)


# ---------------------------------------------------------------------------
# get_interview_view, form_context_for_request


def test_get_interview_view(session_factory: sessionmaker[Session]) -> None:
    interview_id, _ = create_interview(session_factory)
    with session_factory() as session:
        view = get_interview_view(session, interview_id)
        assert get_interview_view(session, interview_id + 1000) is None
    assert view is not None
    assert (view.candidate, view.role, view.target_level, view.state) == (
        "Ada Lovelace",
        "Senior ML Engineer",
        "senior",
        "scheduled",
    )
    assert (view.starts_at, view.ends_at) == (START, END)
    assert (view.hiring_channel, view.recruiter, view.hiring_lead) == (
        "C0HIRING",
        "U0RECRUIT",
        "U0LEAD",
    )


def test_form_context_uses_the_pinned_rubric_snapshot(
    session_factory: sessionmaker[Session],
) -> None:
    """Validating a snapshot is cached by content, never confused across snapshots."""
    renamed = MLE.model_copy(update={"name": "Renamed rubric"})
    from rubric import rubric_digest
    from storage.rubric_versions import ensure_rubric_version

    with session_factory.begin() as session:
        interview = make_interview(session, panel=(AAA,))
        other = make_interview(session, panel=(AAA,), starts_at=START + timedelta(days=1))
        snapshot = ensure_rubric_version(
            session,
            rubric_id=renamed.id,
            version=renamed.version,
            digest=rubric_digest(renamed),
            definition=renamed.model_dump(mode="json"),
        )
        other.rubric_version_id = snapshot.id
        session.flush()
        first = form_context_for_request(session, interview.requests[0], policy=POLICY, now=AFTER)
        second = form_context_for_request(session, other.requests[0], policy=POLICY, now=AFTER)
    assert first.rubric == MLE
    assert second.rubric.name == "Renamed rubric"


# ---------------------------------------------------------------------------
# cancel_interview


def test_cancel_is_idempotent_and_stops_all_work(session_factory: sessionmaker[Session]) -> None:
    interview_id, (a, _b) = create_interview(session_factory, panel=(AAA, BBB))
    send(session_factory, a)

    with session_factory.begin() as session:
        assert (
            cancel_interview(session, interview_id, actor="U0RECRUIT", now=AFTER)
            == CancelOutcome.CANCELLED
        )
    for _ in range(2):
        with session_factory.begin() as session:
            assert (
                cancel_interview(session, interview_id, actor="U0RECRUIT", now=AFTER)
                == CancelOutcome.ALREADY_CANCELLED
            )

    with session_factory() as session:
        interview = session.get(Interview, interview_id)
        assert interview is not None and interview.state == InterviewState.CANCELLED
        assert interview.updated_at == AFTER
        requests = session.scalars(
            sa.select(FeedbackRequest).order_by(FeedbackRequest.position)
        ).all()
        assert [(r.state, r.next_action_at) for r in requests] == [
            (RequestState.FORM_SENT, None),
            (RequestState.PENDING, None),
        ]
        events = audit_events_for(session, entity="interview", entity_id=interview_id)
        assert [(e.action, e.actor, e.detail) for e in events] == [
            ("interview.cancelled", "U0RECRUIT", {"from": "scheduled", "requests": 2})
        ]
    with session_factory.begin() as session:
        assert claim_due_forms(session, now=AFTER + timedelta(days=1), policy=POLICY) == []


@pytest.mark.parametrize("state", [InterviewState.SUMMARISED, InterviewState.ARCHIVED])
def test_too_late_to_cancel(session_factory: sessionmaker[Session], state: InterviewState) -> None:
    interview_id, _ = create_interview(session_factory)
    set_state(session_factory, interview_id, interview=state)
    with session_factory.begin() as session:
        assert (
            cancel_interview(session, interview_id, actor="U0RECRUIT", now=AFTER)
            == CancelOutcome.NOT_ALLOWED
        )
    with session_factory() as session:
        interview = session.get(Interview, interview_id)
        assert interview is not None and interview.state == state
        assert audit_events_for(session, entity="interview", entity_id=interview_id) == []


def test_cancel_an_unknown_interview(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        assert (
            cancel_interview(session, 12345, actor="U0RECRUIT", now=AFTER)
            == CancelOutcome.NOT_FOUND
        )


def test_cancel_keeps_a_loaded_interview_in_sync(session_factory: sessionmaker[Session]) -> None:
    interview_id, _ = create_interview(session_factory)
    with session_factory.begin() as session:
        interview = session.get(Interview, interview_id)
        assert interview is not None
        cancel_interview(session, interview_id, actor="U0RECRUIT", now=AFTER)
        assert interview.state == InterviewState.CANCELLED
        assert all(r.next_action_at is None for r in interview.requests)
