"""One interview's complete stored record, as plain data (for ``interview-bot export``).

Everything the database holds about the interview: its row, each panel
member's request with their feedback and every skill rating (skill names from
the rubric snapshot the interview was scheduled with), and its audit trail
(the events of the interview, of its requests and of their feedback). For
answering a candidate's access request; formatting is the caller's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rubric import Rubric
from storage.models import AuditEvent, Feedback, FeedbackRequest, FeedbackVersion
from storage.queries import interview_with_feedback, rubrics_for_versions

__all__ = [
    "AuditRecord",
    "FeedbackRecord",
    "InterviewRecord",
    "PanelRecord",
    "RatingRecord",
    "VersionRecord",
    "interview_record",
]


@dataclass(frozen=True)
class RatingRecord:
    skill_id: str
    skill_name: str  # from the interview's rubric snapshot
    level: str | None  # None: "Not assessed"
    evidence: str


@dataclass(frozen=True)
class FeedbackRecord:
    recommendation: str | None
    notes: str
    submitted_at: datetime
    updated_at: datetime
    ratings: tuple[RatingRecord, ...]  # in rubric order


@dataclass(frozen=True)
class VersionRecord:
    """One stored version of a feedback (its history: who changed what, when)."""

    seq: int  # the interview's feedback change number
    at: datetime
    actor: str
    recommendation: str | None
    notes: str
    ratings: tuple[RatingRecord, ...]


@dataclass(frozen=True)
class PanelRecord:
    """One panel member's feedback request and, if given, their feedback."""

    interviewer: str
    position: int
    focus_skills: tuple[str, ...]
    state: str  # storage.models.RequestState value
    reminders: int  # nudges sent after the form DM
    form_sent: bool
    last_error: str | None  # the last Slack error that stopped a DM, if any
    feedback: FeedbackRecord | None
    shadow: bool = False
    history: tuple[VersionRecord, ...] = ()  # oldest first


@dataclass(frozen=True)
class AuditRecord:
    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: str
    detail: dict[str, Any] | None


@dataclass(frozen=True)
class InterviewRecord:
    interview_id: int
    external_id: str | None
    candidate: str
    role: str
    rubric_id: str
    rubric_version: str
    target_level: str
    starts_at: datetime
    ends_at: datetime
    state: str  # storage.models.InterviewState value
    hiring_channel: str
    recruiter: str
    hiring_lead: str
    created_at: datetime
    updated_at: datetime
    # Where the hiring-channel summary was posted (None until it is).
    summary_channel: str | None
    summary_ts: str | None
    summary_posted_at: datetime | None
    summary_updated_at: datetime | None
    panel: tuple[PanelRecord, ...]  # in panel order
    audit: tuple[AuditRecord, ...]  # oldest first


def interview_record(session: Session, interview_id: int) -> InterviewRecord | None:
    """The interview's complete record, or None if there is no such interview."""
    interview = interview_with_feedback(session, interview_id)
    if interview is None:
        return None
    rubric = rubrics_for_versions(session, [interview.rubric_version_id])[
        interview.rubric_version_id
    ]
    requests = sorted(interview.requests, key=lambda r: (r.position, r.id))
    history = _history(session, [r.id for r in requests], rubric)
    return InterviewRecord(
        interview_id=interview.id,
        external_id=interview.external_id,
        candidate=interview.candidate,
        role=interview.role,
        rubric_id=interview.rubric_id,
        rubric_version=interview.rubric_version,
        target_level=interview.target_level,
        starts_at=interview.starts_at,
        ends_at=interview.ends_at,
        state=interview.state.value,
        hiring_channel=interview.hiring_channel,
        recruiter=interview.recruiter,
        hiring_lead=interview.hiring_lead,
        created_at=interview.created_at,
        updated_at=interview.updated_at,
        summary_channel=interview.summary_channel,
        summary_ts=interview.summary_ts,
        summary_posted_at=interview.summary_posted_at,
        summary_updated_at=interview.summary_updated_at,
        panel=tuple(_panel_record(r, rubric, history.get(r.id, ())) for r in requests),
        audit=_audit_trail(session, interview.id, requests),
    )


def _history(
    session: Session, request_ids: list[int], rubric: Rubric
) -> dict[int, tuple[VersionRecord, ...]]:
    names = {skill.id: skill.name for skill in rubric.skills}
    out: dict[int, list[VersionRecord]] = {}
    for row in session.scalars(
        sa.select(FeedbackVersion)
        .where(FeedbackVersion.request_id.in_(request_ids))
        .order_by(FeedbackVersion.request_id, FeedbackVersion.seq)
    ):
        ratings = tuple(
            RatingRecord(
                skill_id=str(item.get("skill_id")),
                skill_name=names.get(str(item.get("skill_id")), str(item.get("skill_id"))),
                level=item.get("level"),
                evidence=str(item.get("evidence") or ""),
            )
            for item in row.ratings or ()
            if isinstance(item, dict)
        )
        version = VersionRecord(row.seq, row.at, row.actor, row.recommendation, row.notes, ratings)
        out.setdefault(row.request_id, []).append(version)
    return {request_id: tuple(versions) for request_id, versions in out.items()}


def _panel_record(
    request: FeedbackRequest, rubric: Rubric, history: tuple[VersionRecord, ...]
) -> PanelRecord:
    return PanelRecord(
        interviewer=request.interviewer,
        position=request.position,
        focus_skills=tuple(request.focus_skills),
        state=request.state.value,
        reminders=request.reminder_count,
        form_sent=request.dm_ts is not None,
        last_error=request.last_error,
        feedback=None if request.feedback is None else _feedback_record(request.feedback, rubric),
        shadow=request.shadow,
        history=history,
    )


def _feedback_record(feedback: Feedback, rubric: Rubric) -> FeedbackRecord:
    names = {skill.id: skill.name for skill in rubric.skills}
    order = {skill_id: index for index, skill_id in enumerate(names)}
    ratings = sorted(feedback.ratings, key=lambda r: (order.get(r.skill_id, len(order)), r.id))
    return FeedbackRecord(
        recommendation=feedback.recommendation,
        notes=feedback.notes,
        submitted_at=feedback.submitted_at,
        updated_at=feedback.updated_at,
        ratings=tuple(
            RatingRecord(
                skill_id=r.skill_id,
                # A skill the snapshot lacks cannot be stored; its id is the fallback.
                skill_name=names.get(r.skill_id, r.skill_id),
                level=r.level,
                evidence=r.evidence,
            )
            for r in ratings
        ),
    )


def _audit_trail(
    session: Session, interview_id: int, requests: list[FeedbackRequest]
) -> tuple[AuditRecord, ...]:
    linked = [
        ("interview", [str(interview_id)]),
        ("request", [str(r.id) for r in requests]),
        ("feedback", [str(r.feedback.id) for r in requests if r.feedback is not None]),
    ]
    events = session.scalars(
        sa.select(AuditEvent)
        .where(
            sa.or_(
                *(
                    sa.and_(AuditEvent.entity == entity, AuditEvent.entity_id.in_(ids))
                    for entity, ids in linked
                    if ids
                )
            )
        )
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    return tuple(
        AuditRecord(
            at=e.at,
            actor=e.actor,
            action=e.action,
            entity=e.entity,
            entity_id=e.entity_id,
            detail=e.detail,
        )
        for e in events
    )
