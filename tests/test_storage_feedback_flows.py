"""storage.feedback_flows: each flow in the guard's one transaction, from its decision's row."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from storage.access import Action, authorize
from storage.feedback import SubmitOutcome
from storage.feedback_flows import (
    FORM_GONE,
    PAGES_LOST,
    FlowKind,
    PageCheck,
    open_form,
    save_page,
    submit_form,
)
from storage.models import (
    AuditEvent,
    Feedback,
    FeedbackDraft,
    FeedbackRequest,
    Interview,
    InterviewState,
    RequestState,
)
from storage.views import FormContext, RatingView
from tests.test_storage_feedback_support import (
    AFTER,
    ALL_SENIOR,
    MLE,
    POLICY,
    count,
    create_interview,
    rating,
    set_state,
)

AAA = "U0AAA"
YES = MLE.recommendations[0].id


def decided(session: Session, public_id: str, action: Action = Action.SUBMIT) -> FeedbackRequest:
    """What the guard does first: authorize in the session the flow then uses."""
    decision = authorize(
        session, user=AAA, action=action, public_id=public_id, policy=POLICY, now=AFTER
    )
    assert decision.allowed and decision.request is not None
    return decision.request


def check_of(
    ratings: Sequence[RatingView] = ALL_SENIOR,
    *,
    errors: dict[str, str] | None = None,
    pages: int = 1,
    gone: bool = False,
) -> Callable[[FormContext], PageCheck]:
    def check(form: FormContext) -> PageCheck:
        assert form.request.public_id
        return PageCheck(
            ratings={r.skill_id: r for r in ratings},
            recommendation=YES,
            notes=" Solid. ",
            errors=errors or {},
            pages=pages,
            gone=gone,
        )

    return check


def test_submit_stores_commits_and_returns_the_form_as_stored(
    session_factory: sessionmaker[Session],
) -> None:
    _, (public_id, _) = create_interview(session_factory)
    with session_factory() as session:
        request = decided(session, public_id)
        result = submit_form(
            session, request=request, user_id=AAA, check=check_of(), policy=POLICY, now=AFTER
        )
        assert not session.in_transaction()  # committed by the flow, before any ack
    assert result.kind is FlowKind.STORED and result.outcome is SubmitOutcome.CREATED
    assert result.form is not None and result.form.own_feedback is not None
    assert result.form.request.state == RequestState.SUBMITTED
    assert result.form.own_feedback.notes == "Solid."
    assert count(session_factory, Feedback) == 1
    with session_factory() as session:  # a replay: unchanged, nothing more written
        request = decided(session, public_id)
        again = submit_form(
            session, request=request, user_id=AAA, check=check_of(), policy=POLICY, now=AFTER
        )
    assert again.kind is FlowKind.STORED and again.outcome is SubmitOutcome.UNCHANGED
    assert count(session_factory, Feedback) == 1
    assert count(session_factory, AuditEvent, AuditEvent.action == "feedback.submitted") == 1


def test_errors_and_stale_pages_write_nothing(session_factory: sessionmaker[Session]) -> None:
    _, (public_id, _) = create_interview(session_factory)
    for check, kind in [
        (check_of(errors={"recommendation": "Choose a recommendation."}), FlowKind.ERRORS),
        (check_of(gone=True), FlowKind.NOTICE),
        (check_of(pages=2), FlowKind.NOTICE),  # a last page with no draft of the first
    ]:
        with session_factory() as session:
            request = decided(session, public_id)
            result = submit_form(
                session, request=request, user_id=AAA, check=check, policy=POLICY, now=AFTER
            )
        assert result.kind is kind
        assert count(session_factory, Feedback) == 0
    assert result.notice == PAGES_LOST


def test_a_cancel_between_the_guard_and_the_write_is_refused_under_the_lock(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id, (public_id, _) = create_interview(session_factory)
    with session_factory() as session:
        request = decided(session, public_id)
        # The interview is cancelled in this transaction after the decision: the
        # flow sees it (the lock re-reads the interview) and refuses.
        session.execute(
            sa.update(Interview)
            .where(Interview.id == interview_id)
            .values(state=InterviewState.CANCELLED)
            .execution_options(synchronize_session=False)
        )
        result = submit_form(
            session, request=request, user_id=AAA, check=check_of(), policy=POLICY, now=AFTER
        )
    assert result.kind is FlowKind.NOTICE and result.refusal is not None
    assert count(session_factory, Feedback) == 0


def test_a_page_is_saved_to_the_draft_and_the_form_opens_with_it(
    session_factory: sessionmaker[Session],
) -> None:
    _, (public_id, _) = create_interview(session_factory)
    first = (rating("system_design", "senior", "trade-offs"),)
    with session_factory() as session:
        request = decided(session, public_id, Action.SAVE_PAGE)
        result = save_page(
            session, request=request, check=check_of(first, pages=2), policy=POLICY, now=AFTER
        )
    assert result.kind is FlowKind.NEXT_PAGE and set(result.draft) == {"system_design"}
    assert count(session_factory, FeedbackDraft) == 1
    with session_factory() as session:
        request = decided(session, public_id, Action.OPEN_FORM)
        opened = open_form(session, request=request, policy=POLICY, now=AFTER)
    assert opened.kind is FlowKind.OPENED and set(opened.draft) == {"system_design"}


def test_a_locked_form_opens_as_a_notice(session_factory: sessionmaker[Session]) -> None:
    interview_id, (public_id, _) = create_interview(session_factory)
    set_state(session_factory, interview_id, request=(AAA, RequestState.DECLINED))
    with session_factory() as session:
        decision = authorize(
            session,
            user=AAA,
            action=Action.OPEN_FORM,
            public_id=public_id,
            policy=POLICY,
            now=AFTER,
        )
        assert decision.request is not None
        opened = open_form(session, request=decision.request, policy=POLICY, now=AFTER)
    assert opened.kind is FlowKind.NOTICE and opened.notice != FORM_GONE
