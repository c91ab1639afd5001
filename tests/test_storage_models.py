"""Models and their constraints, enforced by the database on every backend."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from storage.models import (
    Feedback,
    FeedbackRequest,
    Interview,
    InterviewState,
    RequestState,
    RubricVersion,
    SkillRating,
)
from storage.rubric_versions import ensure_rubric_version

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _rubric(session: Session) -> RubricVersion:
    definition = {"id": "mle", "version": "1", "skills": ["fundamentals", "system_design"]}
    digest = hashlib.sha256(repr(definition).encode()).hexdigest()
    return ensure_rubric_version(
        session, rubric_id="mle", version="1", digest=digest, definition=definition
    )


def _interview(session: Session, **overrides: Any) -> Interview:
    rubric = _rubric(session)
    fields: dict[str, Any] = {
        "candidate": "Ada Lovelace",
        "role": "Senior ML Engineer",
        "rubric_id": rubric.rubric_id,
        "rubric_version": rubric.version,
        "rubric_version_id": rubric.id,
        "target_level": "senior",
        "starts_at": START,
        "ends_at": START + timedelta(hours=1),
        "hiring_channel": "C0HIRING",
        "recruiter": "U0RECRUIT",
        "hiring_lead": "U0LEAD",
    }
    fields.update(overrides)
    interview = Interview(**fields)
    session.add(interview)
    session.flush()
    return interview


def _panel(session: Session) -> Interview:
    """An interview with two requests, one of them with feedback and two ratings."""
    interview = _interview(session)
    first = FeedbackRequest(interviewer="U0AAA", focus_skills=["system_design"], position=0)
    second = FeedbackRequest(interviewer="U0BBB", position=1)
    interview.requests.extend([first, second])
    first.feedback = Feedback(
        recommendation="hire",
        notes="strong",
        ratings=[
            SkillRating(skill_id="system_design", level="senior", evidence="designed a cache"),
            SkillRating(skill_id="fundamentals", level=None),
        ],
    )
    session.flush()
    return interview


def _count(session: Session, model: type[Any]) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model)) or 0


def test_defaults(session_factory: sessionmaker[Session]) -> None:
    before = datetime.now(UTC)
    with session_factory.begin() as session:
        interview = _panel(session)
        interview_id = interview.id
    with session_factory() as session:
        interview = session.get_one(Interview, interview_id)
        assert interview.state is InterviewState.SCHEDULED
        assert interview.external_id is None
        assert interview.created_at >= before
        assert interview.created_at.tzinfo is UTC
        assert interview.rubric_snapshot.definition["skills"] == ["fundamentals", "system_design"]
        first, second = interview.requests
        assert (first.interviewer, second.interviewer) == ("U0AAA", "U0BBB")
        assert first.focus_skills == ["system_design"]
        assert second.focus_skills == []
        assert second.state is RequestState.PENDING
        assert second.reminder_count == 0
        assert second.next_action_at is None
        assert second.feedback is None
        assert first.feedback is not None
        assert [r.skill_id for r in first.feedback.ratings] == ["system_design", "fundamentals"]
        not_assessed = first.feedback.ratings[1]
        assert not_assessed.level is None
        assert not_assessed.evidence == ""


def test_updated_at_moves_on_update(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        interview = _interview(session)
        created, updated = interview.created_at, interview.updated_at
    with session_factory.begin() as session:
        interview = session.get_one(Interview, interview.id)
        interview.state = InterviewState.CANCELLED
    assert interview.updated_at > updated
    assert interview.created_at == created


def test_enum_values_are_stored_as_their_value(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        interview = _panel(session)
        interview.requests[0].state = RequestState.FORM_SENT
        session.flush()
        raw = session.execute(
            sa.text("SELECT state FROM feedback_requests WHERE interviewer = 'U0AAA'")
        ).scalar_one()
        assert raw == "form_sent"


def test_invalid_enum_value_is_rejected_by_the_database(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        interview_id = _interview(session).id
    with pytest.raises(sa.exc.IntegrityError), session_factory.begin() as session:
        session.execute(
            sa.text("UPDATE interviews SET state = 'postponed' WHERE id = :id"),
            {"id": interview_id},
        )


def test_duplicate_interviewer_on_a_panel_is_rejected(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        interview_id = _panel(session).id
    with pytest.raises(sa.exc.IntegrityError), session_factory.begin() as session:
        session.add(FeedbackRequest(interview_id=interview_id, interviewer="U0AAA", position=2))


def test_second_feedback_for_a_request_is_rejected(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        request_id = _panel(session).requests[0].id
    with pytest.raises(sa.exc.IntegrityError), session_factory.begin() as session:
        session.add(Feedback(request_id=request_id, notes="again"))


def test_duplicate_skill_rating_is_rejected(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        feedback = _panel(session).requests[0].feedback
        assert feedback is not None
        feedback_id = feedback.id
    with pytest.raises(sa.exc.IntegrityError), session_factory.begin() as session:
        session.add(SkillRating(feedback_id=feedback_id, skill_id="fundamentals", level="lead"))


@pytest.mark.parametrize("length", [timedelta(0), timedelta(minutes=-30)])
def test_interview_must_end_after_it_starts(
    session_factory: sessionmaker[Session], length: timedelta
) -> None:
    with pytest.raises(sa.exc.IntegrityError), session_factory.begin() as session:
        _interview(session, ends_at=START + length)


def test_external_id_is_unique_but_optional(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        _interview(session, candidate="A")
        _interview(session, candidate="B")  # two NULL external ids are fine
        _interview(session, candidate="C", external_id="greenhouse-4711")
    with pytest.raises(sa.exc.IntegrityError), session_factory.begin() as session:
        _interview(session, candidate="D", external_id="greenhouse-4711")


def test_deleting_an_interview_deletes_its_panel(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        interview_id = _panel(session).id
    with session_factory.begin() as session:
        session.delete(session.get_one(Interview, interview_id))
    with session_factory() as session:
        for model in (Interview, FeedbackRequest, Feedback, SkillRating):
            assert _count(session, model) == 0, model.__name__
        assert _count(session, RubricVersion) == 1  # snapshots outlive interviews


def test_database_cascades_without_the_orm(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        interview_id = _panel(session).id
    with session_factory.begin() as session:
        session.execute(sa.text("DELETE FROM interviews WHERE id = :id"), {"id": interview_id})
    with session_factory() as session:
        for model in (FeedbackRequest, Feedback, SkillRating):
            assert _count(session, model) == 0, model.__name__


def test_removing_a_request_from_the_panel_deletes_it(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        interview = _panel(session)
        del interview.requests[0]
        session.flush()
        assert [r.interviewer for r in interview.requests] == ["U0BBB"]
        assert _count(session, FeedbackRequest) == 1
        assert _count(session, Feedback) == 0
        assert _count(session, SkillRating) == 0


def test_a_rubric_version_in_use_cannot_be_deleted(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        rubric_version_id = _interview(session).rubric_version_id
    with pytest.raises(sa.exc.IntegrityError), session_factory.begin() as session:
        session.execute(
            sa.text("DELETE FROM rubric_versions WHERE id = :id"), {"id": rubric_version_id}
        )


def test_sweep_lookup_by_state_and_due_time(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        interview = _panel(session)
        first, second = interview.requests
        first.next_action_at = START + timedelta(hours=2)
        second.next_action_at = START + timedelta(hours=1, minutes=5)
        session.flush()
        due = session.scalars(
            sa.select(FeedbackRequest.interviewer)
            .where(
                FeedbackRequest.state == RequestState.PENDING,
                FeedbackRequest.next_action_at <= START + timedelta(hours=1, minutes=30),
            )
            .order_by(FeedbackRequest.next_action_at)
        ).all()
    assert due == ["U0BBB"]
