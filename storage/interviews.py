"""Interviews and their panels: lookups and the import state transition.

Functions take a session and never commit: the caller owns the transaction, so a
whole import file is written in one transaction or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from rubric import RubricRegistry, rubric_digest
from rubric.located_yaml import SourceError, SourceErrors
from storage.audit import record_audit
from storage.import_file import InterviewSpec, PanelMemberSpec
from storage.models import FeedbackRequest, Interview, InterviewState, RequestState, SummaryStep
from storage.rubric_versions import ensure_rubric_version
from storage.summary_due import clear_summary_work, schedule_summary_post


@dataclass(frozen=True)
class Timings:
    """The config values that decide when an imported interview's work falls due."""

    form_delay: timedelta
    summary_deadline: timedelta


class ImportOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class ImportResult:
    spec: InterviewSpec
    outcome: ImportOutcome
    interview_id: int
    changed: tuple[str, ...] = ()
    archived: bool = False


# Fields an import may set, compared to decide "unchanged" vs "updated".
_FIELDS = (
    "external_id",
    "candidate",
    "role",
    "target_level",
    "starts_at",
    "ends_at",
    "hiring_channel",
    "recruiter",
    "hiring_lead",
)


def get_interview(session: Session, interview_id: int) -> Interview | None:
    return session.get(Interview, interview_id)


def find_interview(
    session: Session, *, external_id: str | None, candidate: str, role: str, starts_at: datetime
) -> Interview | None:
    """The interview an import row refers to.

    By ``external_id`` when the row has one, else by (candidate, role, starts_at).
    """
    options = (selectinload(Interview.requests),)
    if external_id is not None:
        return session.scalars(
            select(Interview).where(Interview.external_id == external_id).options(*options)
        ).one_or_none()
    return session.scalars(
        select(Interview)
        .where(
            Interview.external_id.is_(None),
            Interview.candidate == candidate,
            Interview.role == role,
            Interview.starts_at == starts_at,
        )
        .order_by(Interview.id)
        .options(*options)
        .limit(1)
    ).first()


def import_interviews(
    session: Session,
    specs: Sequence[InterviewSpec],
    *,
    registry: RubricRegistry,
    timings: Timings,
    now: datetime,
    actor: str = "cli",
    source: str | None = None,
) -> list[ImportResult]:
    """Create or update one interview per spec; idempotent for an unchanged file.

    ``source`` (e.g. "webhook", "calendar:team") is recorded as the interview's
    owner (``Interview.source``) when given; it is not a change of its own.

    Raises:
        SourceErrors: a row conflicts with what is stored (e.g. changes a summarised
            interview). The caller must roll back: nothing of the file is kept.
    """
    results: list[ImportResult] = []
    errors: list[SourceError] = []
    for spec in specs:
        existing = find_interview(
            session,
            external_id=spec.external_id,
            candidate=spec.candidate,
            role=spec.role,
            starts_at=spec.starts_at,
        )
        if existing is None:
            results.append(_create(session, spec, registry, timings, now, actor, source))
            continue
        try:
            results.append(_update(session, existing, spec, registry, timings, now, actor))
        except _Conflict as conflict:
            errors.append(spec.error(conflict.path, conflict.message))
            continue
        if source is not None and existing.source != source:
            existing.source = source
    if errors:
        raise SourceErrors(errors)
    return results


class _Conflict(Exception):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def _is_history(spec: InterviewSpec, timings: Timings, now: datetime) -> bool:
    # Past its summary deadline, nothing about it is news: keep it, send nothing.
    return spec.ends_at + timings.summary_deadline < now


def _create(
    session: Session,
    spec: InterviewSpec,
    registry: RubricRegistry,
    timings: Timings,
    now: datetime,
    actor: str,
    source: str | None = None,
) -> ImportResult:
    archived = _is_history(spec, timings, now)
    interview = Interview(
        **{name: getattr(spec, name) for name in _FIELDS},
        source=source,
        state=InterviewState.ARCHIVED if archived else InterviewState.SCHEDULED,
        # The summary is posted at the deadline, or sooner once the whole panel
        # has submitted (storage.summaries); history gets none.
        summary_pending=None if archived else SummaryStep.POST,
        summary_due_at=None if archived else spec.ends_at + timings.summary_deadline,
        # The hiring lead's escalation at the same deadline (storage.reminders).
        escalation_due_at=None if archived else spec.ends_at + timings.summary_deadline,
    )
    _pin_rubric(session, interview, registry, spec.rubric_id)
    due = None if archived else spec.ends_at + timings.form_delay
    for position, member in enumerate(spec.panel):
        interview.requests.append(_new_request(member, position, due))
    session.add(interview)
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="interview.imported",
        entity="interview",
        entity_id=interview.id,
        detail={"source": spec.where, "panel": len(spec.panel), "archived": archived},
    )
    return ImportResult(spec, ImportOutcome.CREATED, interview.id, archived=archived)


def _update(
    session: Session,
    interview: Interview,
    spec: InterviewSpec,
    registry: RubricRegistry,
    timings: Timings,
    now: datetime,
    actor: str,
) -> ImportResult:
    changed = [name for name in _FIELDS if getattr(interview, name) != getattr(spec, name)]
    if interview.rubric_id != spec.rubric_id:
        changed.append("rubric")
    current = [
        (r.interviewer, list(r.focus_skills), r.shadow)
        for r in sorted(interview.requests, key=_position)
    ]
    wanted = [(m.interviewer, list(m.focus), m.shadow) for m in spec.panel]
    panel_changed = current != wanted
    if panel_changed:
        changed.append("panel")
    if not changed:
        return ImportResult(spec, ImportOutcome.UNCHANGED, interview.id)

    if interview.state in (InterviewState.CANCELLED, InterviewState.SUMMARISED):
        raise _Conflict(
            "",
            f"interview {interview.id} is {interview.state.value}; its {', '.join(changed)} "
            "can no longer change",
        )
    submitted = {r.interviewer for r in interview.requests if r.state == RequestState.SUBMITTED}
    if "rubric" in changed and submitted:
        raise _Conflict("rubric", "feedback was already given against the current rubric")
    dropped = sorted(submitted - {m.interviewer for m in spec.panel})
    if dropped:
        raise _Conflict(
            "panel",
            f"{', '.join(dropped)} already submitted feedback and cannot leave the panel",
        )

    for name in _FIELDS:
        setattr(interview, name, getattr(spec, name))
    if "rubric" in changed:
        _pin_rubric(session, interview, registry, spec.rubric_id)

    archived = _is_history(spec, timings, now)
    if interview.state == InterviewState.ARCHIVED and not archived:
        interview.state = InterviewState.SCHEDULED
    elif interview.state == InterviewState.SCHEDULED and archived:
        interview.state = InterviewState.ARCHIVED
    detail: dict[str, Any] = {"source": spec.where, "changed": changed}
    detail.update(_sync_panel(interview, spec, timings, archived))
    session.flush()
    if interview.state == InterviewState.ARCHIVED:
        clear_summary_work(interview)
        interview.escalation_due_at = None
    else:
        if interview.escalated_at is None:
            # Its end may have changed: the escalation follows the deadline.
            interview.escalation_due_at = interview.ends_at + timings.summary_deadline
        # Its end or its panel may have changed: when is the summary due now?
        schedule_summary_post(
            session, interview, summary_deadline=timings.summary_deadline, now=now
        )
    session.flush()
    record_audit(
        session,
        actor=actor,
        action="interview.updated",
        entity="interview",
        entity_id=interview.id,
        detail=detail,
    )
    return ImportResult(spec, ImportOutcome.UPDATED, interview.id, tuple(changed), archived)


def _pin_rubric(
    session: Session, interview: Interview, registry: RubricRegistry, rubric_id: str
) -> None:
    """Point the interview at a snapshot of the rubric as it is now."""
    rubric = registry.get(rubric_id)
    snapshot = ensure_rubric_version(
        session,
        rubric_id=rubric.id,
        version=rubric.version,
        digest=rubric_digest(rubric),
        definition=rubric.model_dump(mode="json"),
    )
    interview.rubric_id = rubric.id
    interview.rubric_version = rubric.version
    interview.rubric_version_id = snapshot.id


def _new_request(member: PanelMemberSpec, position: int, due: datetime | None) -> FeedbackRequest:
    return FeedbackRequest(
        interviewer=member.interviewer,
        focus_skills=list(member.focus),
        position=position,
        shadow=member.shadow,
        state=RequestState.PENDING,
        next_action_at=due,
    )


def _position(request: FeedbackRequest) -> int:
    return request.position


def _sync_panel(
    interview: Interview, spec: InterviewSpec, timings: Timings, archived: bool
) -> dict[str, list[str]]:
    """Make the stored panel match the spec; members who submitted are never dropped."""
    by_member = {r.interviewer: r for r in interview.requests}
    wanted = {m.interviewer for m in spec.panel}
    added: list[str] = []
    due = None if archived else spec.ends_at + timings.form_delay
    for position, member in enumerate(spec.panel):
        request = by_member.get(member.interviewer)
        if request is None:
            interview.requests.append(_new_request(member, position, due))
            added.append(member.interviewer)
            continue
        request.focus_skills = list(member.focus)
        request.position = position
        request.shadow = member.shadow
        if request.state == RequestState.PENDING:
            request.next_action_at = due
    removed = [who for who in by_member if who not in wanted]
    for who in removed:
        # Not submitted (checked by the caller): the request goes, and with it any due work.
        interview.requests.remove(by_member[who])
    return {"added": added, "removed": removed}
