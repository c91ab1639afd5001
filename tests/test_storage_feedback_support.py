"""Shared helpers for the storage feedback/forms/queries tests (no tests of its own).

Interviews are built directly with the models, pinned to a snapshot of the
built-in ``mle`` rubric, so each test states exactly the rows it needs.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from rubric import RubricRegistry, rubric_digest
from storage.models import (
    Feedback,
    FeedbackRequest,
    Interview,
    InterviewState,
    RequestState,
)
from storage.policy import FeedbackPolicy
from storage.rubric_versions import ensure_rubric_version
from storage.views import RatingView

REGISTRY = RubricRegistry.load(None)
MLE = REGISTRY.get("mle")
POLICY = FeedbackPolicy(
    form_delay=timedelta(minutes=5),
    due_after=timedelta(hours=24),
    summary_deadline=timedelta(hours=48),
)
START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
# Just after the forms fell due.
AFTER = END + timedelta(minutes=10)


def make_interview(
    session: Session,
    *,
    panel: Sequence[str] = ("U0AAA", "U0BBB"),
    starts_at: datetime = START,
    ends_at: datetime | None = None,
    state: InterviewState = InterviewState.SCHEDULED,
    recruiter: str = "U0RECRUIT",
    hiring_lead: str = "U0LEAD",
    candidate: str = "Ada Lovelace",
    focus: Sequence[str] = ("system_design",),
) -> Interview:
    """A flushed interview on the mle rubric, its panel's forms due form_delay after its end."""
    snapshot = ensure_rubric_version(
        session,
        rubric_id=MLE.id,
        version=MLE.version,
        digest=rubric_digest(MLE),
        definition=MLE.model_dump(mode="json"),
    )
    ends = ends_at if ends_at is not None else starts_at + timedelta(hours=1)
    interview = Interview(
        candidate=candidate,
        role="Senior ML Engineer",
        rubric_id=MLE.id,
        rubric_version=MLE.version,
        rubric_version_id=snapshot.id,
        target_level="senior",
        starts_at=starts_at,
        ends_at=ends,
        hiring_channel="C0HIRING",
        recruiter=recruiter,
        hiring_lead=hiring_lead,
        state=state,
    )
    live = state in (InterviewState.SCHEDULED, InterviewState.SUMMARISED)
    for position, who in enumerate(panel):
        interview.requests.append(
            FeedbackRequest(
                interviewer=who,
                focus_skills=list(focus),
                position=position,
                state=RequestState.PENDING,
                next_action_at=ends + POLICY.form_delay if live else None,
            )
        )
    session.add(interview)
    session.flush()
    return interview


def create_interview(factory: sessionmaker[Session], **kwargs: Any) -> tuple[int, list[str]]:
    """:func:`make_interview` in a committed transaction: (interview id, public ids in panel order)."""
    with factory.begin() as session:
        interview = make_interview(session, **kwargs)
        return interview.id, [r.public_id for r in interview.requests]


def public_id_of(factory: sessionmaker[Session], interview_id: int, interviewer: str) -> str:
    with factory() as session:
        return session.scalars(
            sa.select(FeedbackRequest.public_id).where(
                FeedbackRequest.interview_id == interview_id,
                FeedbackRequest.interviewer == interviewer,
            )
        ).one()


def rating(skill_id: str, level: str | None, evidence: str = "") -> RatingView:
    return RatingView(skill_id=skill_id, level=level, evidence=evidence)


ALL_SENIOR = tuple(rating(s.id, "senior", f"evidence for {s.id}") for s in MLE.skills)


def count(factory: sessionmaker[Session], model: type[object], *where: Any) -> int:
    with factory() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0


def feedback_rows(factory: sessionmaker[Session]) -> int:
    return count(factory, Feedback)


def set_state(
    factory: sessionmaker[Session],
    interview_id: int,
    *,
    interview: InterviewState | None = None,
    request: tuple[str, RequestState] | None = None,
) -> None:
    with factory.begin() as session:
        if interview is not None:
            row = session.get(Interview, interview_id)
            assert row is not None
            row.state = interview
        if request is not None:
            who, state = request
            session.execute(
                sa.update(FeedbackRequest)
                .where(
                    FeedbackRequest.interview_id == interview_id,
                    FeedbackRequest.interviewer == who,
                )
                .values(state=state)
            )


class QueryCounter:
    """Records every statement sent to the database, with its driver parameters."""

    def __init__(self) -> None:
        self.executed: list[tuple[str, Any]] = []
        self._lock = threading.Lock()

    def __call__(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        with self._lock:
            self.executed.append((statement, parameters))

    @property
    def statements(self) -> list[str]:
        return [statement for statement, _ in self.executed]

    @property
    def selects(self) -> list[str]:
        return [s for s in self.statements if s.lstrip().upper().startswith("SELECT")]


@contextmanager
def counting_queries(engine: Engine) -> Iterator[QueryCounter]:
    counter = QueryCounter()
    event.listen(engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", counter)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"
