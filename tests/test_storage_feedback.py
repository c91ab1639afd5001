"""storage.feedback: form context, editing rules, drafts and submission; on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from storage.audit import audit_events_for
from storage.feedback import (
    FeedbackRefused,
    RefusalReason,
    SubmitOutcome,
    load_draft,
    load_form_context,
    save_draft,
    submit_feedback,
)
from storage.models import (
    AuditEvent,
    Feedback,
    FeedbackDraft,
    FeedbackRequest,
    InterviewState,
    RequestState,
    SkillRating,
)
from storage.policy import FeedbackPolicy
from storage.views import FormContext, RatingView
from tests.test_storage_feedback_support import (
    AFTER,
    ALL_SENIOR,
    END,
    MLE,
    POLICY,
    count,
    create_interview,
    is_postgres,
    rating,
    set_state,
)

AAA, BBB = "U0AAA", "U0BBB"


def context(
    factory: sessionmaker[Session],
    public_id: str,
    user: str = AAA,
    policy: FeedbackPolicy = POLICY,
    now: Any = AFTER,
) -> FormContext:
    with factory() as session:
        return load_form_context(session, public_id, user_id=user, policy=policy, now=now)


def submit(
    factory: sessionmaker[Session],
    public_id: str,
    *,
    user: str = AAA,
    recommendation: str = "yes",
    notes: str = "Strong on systems.",
    ratings: tuple[RatingView, ...] = ALL_SENIOR,
    policy: FeedbackPolicy = POLICY,
    now: Any = AFTER,
) -> SubmitOutcome:
    with factory.begin() as session:
        return submit_feedback(
            session,
            public_id,
            user_id=user,
            recommendation=recommendation,
            notes=notes,
            ratings=ratings,
            policy=policy,
            now=now,
        )


def refusal(call: Any, *args: Any, **kwargs: Any) -> FeedbackRefused:
    with pytest.raises(FeedbackRefused) as info:
        call(*args, **kwargs)
    return info.value


def audit_actions(factory: sessionmaker[Session]) -> list[tuple[str, str, dict[str, Any] | None]]:
    with factory() as session:
        rows = session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action.like("feedback.%"))
            .order_by(AuditEvent.id)
        )
        return [(e.action, e.actor, e.detail) for e in rows]


def stored(factory: sessionmaker[Session], public_id: str) -> tuple[Any, ...]:
    """(request state, next_action_at, recommendation, notes, {skill: (level, evidence)}, updated_at)."""
    with factory() as session:
        request = session.scalars(
            sa.select(FeedbackRequest).where(FeedbackRequest.public_id == public_id)
        ).one()
        fb = request.feedback
        if fb is None:
            return (request.state, request.next_action_at, None, None, {}, None)
        return (
            request.state,
            request.next_action_at,
            fb.recommendation,
            fb.notes,
            {r.skill_id: (r.level, r.evidence) for r in fb.ratings},
            fb.updated_at,
        )


# ---------------------------------------------------------------------------
# load_form_context


@pytest.mark.parametrize(
    "garbage",
    ["", "x", "A" * 33, "../../etc/passwd", "abc\x00def", "' OR 1=1 --", "ünïcode", "123"],
)
def test_an_unknown_or_garbage_id_is_not_found(
    session_factory: sessionmaker[Session], garbage: str
) -> None:
    create_interview(session_factory)
    error = refusal(context, session_factory, garbage)
    assert error.reason == RefusalReason.NOT_FOUND
    assert "couldn't find" in error.message
    for call, kwargs in (
        (submit_feedback, {"recommendation": "yes", "notes": "", "ratings": (), "policy": POLICY}),
        (save_draft, {"ratings": ()}),
    ):
        with session_factory.begin() as session:
            error = refusal(call, session, garbage, user_id=AAA, now=AFTER, **kwargs)
        assert error.reason == RefusalReason.NOT_FOUND
    with session_factory() as session:
        assert refusal(load_draft, session, garbage, user_id=AAA).reason == RefusalReason.NOT_FOUND


def test_someone_elses_form_is_refused_without_revealing_it(
    session_factory: sessionmaker[Session],
) -> None:
    _, (aaa, _bbb) = create_interview(session_factory)
    submit(session_factory, aaa, notes="secret notes")

    error = refusal(context, session_factory, aaa, user=BBB)
    assert error.reason == RefusalReason.NOT_YOURS
    assert error.message == "This feedback form belongs to another interviewer."
    assert "secret" not in str(error) and "Ada" not in error.message
    assert refusal(submit, session_factory, aaa, user=BBB).reason == RefusalReason.NOT_YOURS
    with session_factory.begin() as session:
        assert (
            refusal(save_draft, session, aaa, user_id=BBB, ratings=(), now=AFTER).reason
            == RefusalReason.NOT_YOURS
        )
    with session_factory() as session:
        assert refusal(load_draft, session, aaa, user_id=BBB).reason == RefusalReason.NOT_YOURS
    assert stored(session_factory, aaa)[3] == "secret notes"


def test_the_context_holds_only_the_viewers_own_feedback(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id, (aaa, bbb) = create_interview(session_factory)
    submit(
        session_factory,
        aaa,
        recommendation="strong_yes",
        notes="  AAA's notes \n",
        ratings=(rating("system_design", "lead", " designs well "), rating("agile", None)),
    )

    mine = context(session_factory, aaa)
    assert mine.request.public_id == aaa and mine.request.interviewer == AAA
    assert mine.request.state == "submitted"
    assert mine.request.interview.interview_id == interview_id
    assert mine.rubric == MLE
    own = mine.own_feedback
    assert own is not None
    assert own.recommendation == "strong_yes"
    assert own.notes == "AAA's notes"
    # Rubric order (agile comes after system_design), evidence stripped.
    assert own.ratings == (rating("system_design", "lead", "designs well"), rating("agile", None))
    assert own.submitted_at == own.updated_at == AFTER
    assert mine.editable and mine.locked_reason is None

    theirs = context(session_factory, bbb, user=BBB)
    assert theirs.own_feedback is None
    assert theirs.request.interviewer == BBB
    blob = repr((theirs.request, theirs.own_feedback, theirs.locked_reason))  # the rubric is shared
    assert "AAA's notes" not in blob and "strong_yes" not in blob and "designs well" not in blob


# ---------------------------------------------------------------------------
# Editing rules: the context and submit_feedback agree


def _policy(editable_until: str) -> FeedbackPolicy:
    return dataclasses.replace(POLICY, editable_until=editable_until)  # type: ignore[arg-type]


BEFORE_DEADLINE = END + POLICY.summary_deadline - timedelta(minutes=1)
AT_DEADLINE = END + POLICY.summary_deadline

C, S, SU, A = (
    InterviewState.CANCELLED,
    InterviewState.SCHEDULED,
    InterviewState.SUMMARISED,
    InterviewState.ARCHIVED,
)
NF, NY, LK = None, None, RefusalReason.LOCKED

MATRIX = [
    # editable_until, interview state, declined?, has feedback, now, expected refusal
    *[
        (p, C, False, fb, AFTER, RefusalReason.CANCELLED)
        for p in ("summary", "deadline", "never")
        for fb in (False, True)
    ],
    *[
        (p, A, False, fb, AFTER, RefusalReason.HISTORY)
        for p in ("summary", "deadline", "never")
        for fb in (False, True)
    ],
    *[(p, S, True, False, AFTER, RefusalReason.DECLINED) for p in ("summary", "deadline", "never")],
    # Not given yet: always accepted, even late, even after the summary or deadline.
    *[
        (p, st, False, False, now, None)
        for p in ("summary", "deadline", "never")
        for st in (S, SU)
        for now in (AFTER, AT_DEADLINE + timedelta(days=3))
    ],
    # summary: editable while the interview is scheduled, whatever the time.
    ("summary", S, False, True, AFTER, None),
    ("summary", S, False, True, AT_DEADLINE + timedelta(days=3), None),
    ("summary", SU, False, True, AFTER, LK),
    # deadline: until end + summary_deadline, whatever the state.
    ("deadline", S, False, True, BEFORE_DEADLINE, None),
    ("deadline", SU, False, True, BEFORE_DEADLINE, None),
    ("deadline", S, False, True, AT_DEADLINE, LK),
    ("deadline", SU, False, True, AT_DEADLINE, LK),
    # never: once submitted, that's it.
    ("never", S, False, True, AFTER, LK),
    ("never", SU, False, True, AFTER, LK),
]


@pytest.mark.parametrize(
    ("editable_until", "state", "declined", "has_feedback", "now", "refused"), MATRIX
)
def test_editability_matrix(
    session_factory: sessionmaker[Session],
    editable_until: str,
    state: InterviewState,
    declined: bool,
    has_feedback: bool,
    now: Any,
    refused: RefusalReason | None,
) -> None:
    policy = _policy(editable_until)
    interview_id, (aaa, _) = create_interview(session_factory)
    if has_feedback:
        assert submit(session_factory, aaa, policy=policy) == SubmitOutcome.CREATED
    set_state(
        session_factory,
        interview_id,
        interview=state,
        request=(AAA, RequestState.DECLINED) if declined else None,
    )

    ctx = context(session_factory, aaa, policy=policy, now=now)
    assert ctx.editable is (refused is None)
    before = stored(session_factory, aaa)
    if refused is None:
        assert ctx.locked_reason is None
        expected = SubmitOutcome.UPDATED if has_feedback else SubmitOutcome.CREATED
        assert submit(session_factory, aaa, notes="changed", policy=policy, now=now) == expected
    else:
        assert ctx.locked_reason
        error = refusal(submit, session_factory, aaa, notes="changed", policy=policy, now=now)
        assert error.reason == refused
        assert error.message == ctx.locked_reason
        assert stored(session_factory, aaa) == before


def test_lock_messages_speak_to_the_interviewer(session_factory: sessionmaker[Session]) -> None:
    interview_id, (aaa, _) = create_interview(session_factory)
    submit(session_factory, aaa)
    set_state(session_factory, interview_id, interview=InterviewState.SUMMARISED)
    assert "summary has been posted" in (context(session_factory, aaa).locked_reason or "")
    assert "deadline" in (
        context(session_factory, aaa, policy=_policy("deadline"), now=AT_DEADLINE).locked_reason
        or ""
    )
    set_state(session_factory, interview_id, interview=InterviewState.CANCELLED)
    assert context(session_factory, aaa).locked_reason == (
        "This interview was cancelled; no feedback is needed."
    )


# ---------------------------------------------------------------------------
# submit_feedback


def test_submit_creates_then_updates_then_changes_nothing(
    session_factory: sessionmaker[Session],
) -> None:
    _, (aaa, _) = create_interview(session_factory)
    first = (
        rating("system_design", "senior", "e1"),
        rating("agile", None),
        rating("learning", "lead", "e2"),
    )

    assert submit(session_factory, aaa, ratings=first) == SubmitOutcome.CREATED
    state, next_action, rec, notes, ratings, updated = stored(session_factory, aaa)
    assert (state, next_action, rec, notes) == (
        RequestState.SUBMITTED,
        None,
        "yes",
        "Strong on systems.",
    )
    assert ratings == {
        "system_design": ("senior", "e1"),
        "agile": (None, ""),
        "learning": ("lead", "e2"),
    }
    assert updated == AFTER

    later = AFTER + timedelta(hours=1)
    # agile dropped (removed), learning changed, fundamentals added.
    second = (
        rating("system_design", "senior", "e1"),
        rating("learning", "senior", "e3"),
        rating("fundamentals", "junior", "e4"),
    )
    assert (
        submit(session_factory, aaa, ratings=second, recommendation="no", now=later)
        == SubmitOutcome.UPDATED
    )
    _, _, rec, _, ratings, updated = stored(session_factory, aaa)
    assert rec == "no"
    assert ratings == {
        "system_design": ("senior", "e1"),
        "learning": ("senior", "e3"),
        "fundamentals": ("junior", "e4"),
    }
    assert updated == later
    assert count(session_factory, SkillRating) == 3

    # The same again, with different surrounding whitespace: nothing to do.
    same = (
        rating("system_design", "senior", " e1 "),
        rating("learning", "senior", "e3\n"),
        rating("fundamentals", "junior", "e4"),
    )
    assert (
        submit(
            session_factory,
            aaa,
            ratings=same,
            recommendation="no",
            notes=" Strong on systems. ",
            now=later + timedelta(hours=1),
        )
        == SubmitOutcome.UNCHANGED
    )
    assert stored(session_factory, aaa)[5] == later

    with session_factory() as session:
        fb = session.scalars(sa.select(Feedback)).one()
        events = audit_events_for(session, entity="feedback", entity_id=fb.id)
    assert [(e.action, e.actor, e.detail) for e in events] == [
        ("feedback.submitted", AAA, {"request": aaa, "skills_rated": 2, "not_assessed": 1}),
        ("feedback.edited", AAA, {"request": aaa, "skills_rated": 3, "not_assessed": 0}),
    ]


def test_a_replayed_submission_stores_one_feedback_and_one_audit_event(
    session_factory: sessionmaker[Session],
) -> None:
    _, (aaa, _) = create_interview(session_factory)
    outcomes = [submit(session_factory, aaa, now=AFTER + timedelta(seconds=i)) for i in range(10)]
    assert outcomes == [SubmitOutcome.CREATED] + [SubmitOutcome.UNCHANGED] * 9
    assert count(session_factory, Feedback) == 1
    assert count(session_factory, SkillRating) == len(MLE.skills)
    assert len(audit_actions(session_factory)) == 1
    assert stored(session_factory, aaa)[5] == AFTER


def test_audit_never_holds_feedback_text(session_factory: sessionmaker[Session]) -> None:
    _, (aaa, _) = create_interview(session_factory)
    submit(
        session_factory,
        aaa,
        notes="TOPSECRET notes",
        ratings=(rating("agile", "lead", "TOPSECRET evidence"),),
    )
    submit(session_factory, aaa, notes="TOPSECRET again")
    assert "TOPSECRET" not in repr(audit_actions(session_factory))


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"ratings": (rating("not_a_skill", "senior"),)}, "not_a_skill"),
        ({"ratings": (rating("agile", "principal"),)}, "principal"),
        ({"ratings": (rating("agile", "senior"), rating("agile", "lead"))}, "more than once"),
        ({"recommendation": "maybe"}, "recommendation"),
        ({"recommendation": ""}, "recommendation"),
    ],
)
def test_answers_outside_the_rubric_are_refused_and_nothing_is_written(
    session_factory: sessionmaker[Session], kwargs: dict[str, Any], words: str
) -> None:
    _, (aaa, bbb) = create_interview(session_factory)
    submit(session_factory, bbb, user=BBB)
    before = (
        count(session_factory, Feedback),
        count(session_factory, SkillRating),
        count(session_factory, AuditEvent),
    )

    error = refusal(submit, session_factory, aaa, **kwargs)
    assert error.reason == RefusalReason.INVALID
    assert words in error.message

    assert stored(session_factory, aaa)[:3] == (RequestState.PENDING, END + POLICY.form_delay, None)
    after = (
        count(session_factory, Feedback),
        count(session_factory, SkillRating),
        count(session_factory, AuditEvent),
    )
    assert after == before


def test_an_edit_of_locked_feedback_is_refused_but_a_replay_is_not(
    session_factory: sessionmaker[Session],
) -> None:
    never = _policy("never")
    _, (aaa, _) = create_interview(session_factory)
    assert submit(session_factory, aaa, policy=never) == SubmitOutcome.CREATED
    # Slack retried the view_submission: the same answers are not an edit.
    assert submit(session_factory, aaa, policy=never) == SubmitOutcome.UNCHANGED
    assert (
        refusal(submit, session_factory, aaa, notes="edited", policy=never).reason
        == RefusalReason.LOCKED
    )
    assert len(audit_actions(session_factory)) == 1


def test_submit_before_the_form_was_sent_stops_the_form(
    session_factory: sessionmaker[Session],
) -> None:
    """From App Home, before the DM: the request is submitted and nothing more is due."""
    from storage.forms import claim_due_forms

    _, (aaa, bbb) = create_interview(session_factory)
    submit(session_factory, aaa, now=END - timedelta(minutes=1))
    with session_factory.begin() as session:
        due = claim_due_forms(session, now=AFTER, policy=POLICY)
    assert [c.request.public_id for c in due] == [bbb]


# ---------------------------------------------------------------------------
# Concurrent first submissions


@pytest.mark.parametrize("same_answers", [True, False])
def test_a_concurrent_double_first_submission_makes_one_row(
    session_factory: sessionmaker[Session], same_answers: bool
) -> None:
    """Two transactions submit the first feedback at once (PostgreSQL): the loser's insert
    waits on the winner's, fails on the unique request_id, and is retried as an edit."""
    engine = session_factory.kw["bind"]
    if not is_postgres(engine):
        pytest.skip("SQLite serialises write transactions: there is no race to lose")
    _, (aaa, _) = create_interview(session_factory)
    loser_notes = "Strong on systems." if same_answers else "Second thoughts."
    result: dict[str, Any] = {}

    def loser() -> None:
        try:
            with session_factory.begin() as session:
                result["pid"] = session.scalar(sa.text("SELECT pg_backend_pid()"))
                result["outcome"] = submit_feedback(
                    session,
                    aaa,
                    user_id=AAA,
                    recommendation="yes",
                    notes=loser_notes,
                    ratings=ALL_SENIOR,
                    policy=POLICY,
                    now=AFTER + timedelta(seconds=1),
                )
        except BaseException as exc:  # reported below
            result["error"] = exc

    winner = session_factory()
    try:
        winner.begin()
        assert (
            submit_feedback(
                winner,
                aaa,
                user_id=AAA,
                recommendation="yes",
                notes="Strong on systems.",
                ratings=ALL_SENIOR,
                policy=POLICY,
                now=AFTER,
            )
            == SubmitOutcome.CREATED
        )
        thread = threading.Thread(target=loser)
        thread.start()
        _wait_until_blocked(engine, result)
        winner.commit()
    finally:
        winner.close()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert "error" not in result, result.get("error")
    assert result["outcome"] == (SubmitOutcome.UNCHANGED if same_answers else SubmitOutcome.UPDATED)

    assert count(session_factory, Feedback) == 1
    assert count(session_factory, SkillRating) == len(MLE.skills)
    assert stored(session_factory, aaa)[:4] == (RequestState.SUBMITTED, None, "yes", loser_notes)
    expected = ["feedback.submitted"] if same_answers else ["feedback.submitted", "feedback.edited"]
    assert [a for a, _, _ in audit_actions(session_factory)] == expected


def _wait_until_blocked(engine: Any, result: dict[str, Any], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            if "error" in result:
                raise AssertionError(f"the loser failed early: {result['error']!r}")
            pid = result.get("pid")
            if pid is not None:
                waiting = conn.execute(
                    sa.text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                    {"pid": pid},
                ).scalar()
                if waiting == "Lock":
                    return
            conn.rollback()
            time.sleep(0.02)
    raise AssertionError("the second submission never waited for the first")


def test_racing_submissions_from_threads_store_one_feedback(
    session_factory: sessionmaker[Session],
) -> None:
    _, (aaa, _) = create_interview(session_factory)
    racers = 4
    start = threading.Barrier(racers)
    outcomes: list[SubmitOutcome] = []
    errors: list[BaseException] = []

    def race() -> None:
        try:
            start.wait(timeout=10)
            outcomes.append(submit(session_factory, aaa))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=race) for _ in range(racers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(outcomes) == sorted(
        [SubmitOutcome.CREATED] + [SubmitOutcome.UNCHANGED] * (racers - 1)
    )
    assert count(session_factory, Feedback) == 1
    assert len(audit_actions(session_factory)) == 1


# ---------------------------------------------------------------------------
# Drafts (paged forms)


def test_drafts_merge_by_skill_and_are_used_and_deleted_on_submit(
    session_factory: sessionmaker[Session],
) -> None:
    _, (aaa, bbb) = create_interview(session_factory)
    with session_factory.begin() as session:
        save_draft(
            session,
            aaa,
            user_id=AAA,
            now=AFTER,
            ratings=(rating("fundamentals", "junior", "p1"), rating("agile", None)),
        )
    with session_factory.begin() as session:
        save_draft(
            session,
            aaa,
            user_id=AAA,
            now=AFTER,
            policy=POLICY,
            ratings=(rating("agile", "lead", " p2 "), rating("learning", "senior", "p2")),
        )
    with session_factory() as session:
        draft = load_draft(session, aaa, user_id=AAA)
        assert draft == {
            "fundamentals": rating("fundamentals", "junior", "p1"),
            "agile": rating("agile", "lead", "p2"),
            "learning": rating("learning", "senior", "p2"),
        }
        assert load_draft(session, bbb, user_id=BBB) == {}
    assert stored(session_factory, aaa)[0] == RequestState.PENDING  # a draft is not feedback

    # The last page: its answers win over the draft's; the draft's others are kept.
    assert (
        submit(
            session_factory,
            aaa,
            ratings=(rating("learning", "lead", "final"), rating("team_first", "senior", "p3")),
        )
        == SubmitOutcome.CREATED
    )
    assert stored(session_factory, aaa)[4] == {
        "fundamentals": ("junior", "p1"),
        "agile": ("lead", "p2"),
        "learning": ("lead", "final"),
        "team_first": ("senior", "p3"),
    }
    assert count(session_factory, FeedbackDraft) == 0
    with session_factory() as session:
        assert load_draft(session, aaa, user_id=AAA) == {}


def test_saving_the_same_draft_twice_changes_nothing(
    session_factory: sessionmaker[Session],
) -> None:
    _, (aaa, _) = create_interview(session_factory)
    page = (rating("agile", "lead", "p"),)
    with session_factory.begin() as session:
        save_draft(session, aaa, user_id=AAA, ratings=page, now=AFTER)
    with session_factory.begin() as session:
        save_draft(session, aaa, user_id=AAA, ratings=page, now=AFTER + timedelta(hours=1))
    with session_factory() as session:
        draft = session.scalars(sa.select(FeedbackDraft)).one()
        assert draft.updated_at == AFTER


def test_drafts_are_refused_like_submissions(session_factory: sessionmaker[Session]) -> None:
    interview_id, (aaa, _) = create_interview(session_factory)
    with session_factory.begin() as session:
        error = refusal(
            save_draft, session, aaa, user_id=AAA, now=AFTER, ratings=(rating("agile", "guru"),)
        )
    assert error.reason == RefusalReason.INVALID

    submit(session_factory, aaa)
    with session_factory.begin() as session:
        error = refusal(
            save_draft,
            session,
            aaa,
            user_id=AAA,
            now=AFTER,
            policy=_policy("never"),
            ratings=(rating("agile", "lead"),),
        )
    assert error.reason == RefusalReason.LOCKED

    set_state(session_factory, interview_id, interview=InterviewState.CANCELLED)
    with session_factory.begin() as session:
        error = refusal(
            save_draft, session, aaa, user_id=AAA, now=AFTER, ratings=(rating("agile", "lead"),)
        )
    assert error.reason == RefusalReason.CANCELLED
    assert count(session_factory, FeedbackDraft) == 0


def test_a_draft_goes_with_its_request(session_factory: sessionmaker[Session]) -> None:
    _, (aaa, _) = create_interview(session_factory)
    with session_factory.begin() as session:
        save_draft(session, aaa, user_id=AAA, ratings=(rating("agile", "lead"),), now=AFTER)
    with session_factory.begin() as session:
        session.execute(sa.delete(FeedbackRequest).where(FeedbackRequest.public_id == aaa))
    assert count(session_factory, FeedbackDraft) == 0


def test_pages_saved_at_once_all_end_up_in_the_draft(
    session_factory: sessionmaker[Session],
) -> None:
    _, (aaa, _) = create_interview(session_factory)
    skills = [s.id for s in MLE.skills[:6]]
    start = threading.Barrier(len(skills))
    errors: list[BaseException] = []

    def save(skill: str) -> None:
        try:
            start.wait(timeout=10)
            with session_factory.begin() as session:
                save_draft(
                    session, aaa, user_id=AAA, ratings=(rating(skill, "lead", skill),), now=AFTER
                )
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=save, args=(skill,)) for skill in skills]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    with session_factory() as session:
        draft = load_draft(session, aaa, user_id=AAA)
    assert draft == {skill: rating(skill, "lead", skill) for skill in skills}
