"""The hiring lead's escalation at the summary deadline (``interviews.escalation_due_at``).

At the deadline (the interview's end + ``summary_deadline``) the hiring lead is
told once who has not given feedback: :func:`claim_due_escalations`,
:func:`escalation_for`, :func:`mark_escalated`. Nothing missing: no DM, but the
escalation is done all the same. That is the usual case: the partial summary
posted at the same moment (the sweep posts summaries first) names who is
missing, and from then on they are late, not missing (DESIGN "After a partial
summary"). Shadows are never waited for. Claimed like every unit of the sweep
(:mod:`storage.jobs`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.audit import record_audit
from storage.digests import OPEN_REQUEST_STATES
from storage.forms import arm_digest
from storage.jobs import DEFAULT_LEASE, due_rows, move_due
from storage.locking import lock_interview
from storage.models import FeedbackRequest, Interview
from storage.policy import FeedbackPolicy
from storage.queries import LIVE_INTERVIEW_STATES, interview_view
from storage.views import InterviewView

__all__ = ["claim_due_escalations", "defer_escalation", "escalation_for", "mark_escalated"]

_OPEN_STATES = OPEN_REQUEST_STATES
# Interviews still owed an escalation.
_OWED = (Interview.state.in_(LIVE_INTERVIEW_STATES), Interview.escalated_at.is_(None))


def claim_due_escalations(
    session: Session,
    *,
    now: datetime,
    policy: FeedbackPolicy,
    lease: timedelta = DEFAULT_LEASE,
    limit: int = 50,
) -> list[int]:
    """Claim up to ``limit`` interviews whose escalation is due; return their ids.

    Due: ``escalation_due_at <= now``, not escalated yet, the interview
    scheduled or summarised. An escalation whose real deadline (the end +
    ``summary_deadline``, from ``policy``) is still ahead (a backfilled row, a
    changed config) is moved to that deadline and not returned. The rest are
    claimed (:func:`storage.jobs.move_due` to ``now + lease``). Then
    :func:`escalation_for` and :func:`mark_escalated`.
    """
    due = due_rows(
        session,
        Interview.id,
        Interview.escalation_due_at,
        now=now,
        limit=limit,
        where=_OWED,
        columns=(Interview.ends_at,),
    )
    claimed: list[int] = []
    for interview_id, seen, ends_at in due:
        deadline = policy.deadline_at(ends_at)
        if deadline > now:
            # Not yet (a backfilled row, a longer deadline): look again at the deadline.
            _move_escalation(session, interview_id, seen=seen, to=deadline)
        elif _move_escalation(session, interview_id, seen=seen, to=now + lease):
            claimed.append(interview_id)
    return claimed


def _move_escalation(
    session: Session, interview_id: int, *, to: datetime, seen: datetime | None = None
) -> bool:
    return move_due(
        session,
        Interview.id,
        Interview.escalation_due_at,
        interview_id,
        seen=seen,
        to=to,
        where=(Interview.escalated_at.is_(None),),
    )


def escalation_for(session: Session, interview_id: int) -> tuple[InterviewView, tuple[str, ...]]:
    """The interview and who is missing: expected interviewers without feedback.

    Expected: not declined and not shadows (shadows are never waited for). Once
    the summary is posted nobody is missing any more: those without feedback
    are late, and what they give now never counts, so the hiring lead is not
    asked to chase them (the partial summary, at the same deadline, names
    them). The escalation then sends nothing and is recorded as skipped.

    Raises:
        KeyError: no interview has this id.
    """
    interview = session.get(Interview, interview_id, populate_existing=True)
    if interview is None:
        raise KeyError(f"no interview with id {interview_id}")
    if interview.summary_posted_at is not None:
        return interview_view(interview), ()
    return interview_view(interview), tuple(_missing(session, interview_id))


def defer_escalation(session: Session, interview_id: int, *, until: datetime) -> None:
    """Hold a claimed escalation back until ``until`` (the hiring lead's quiet hours)."""
    _move_escalation(session, interview_id, to=until)


def mark_escalated(session: Session, interview_id: int, *, now: datetime, sent: bool) -> bool:
    """Record the escalation: done, with a DM to the hiring lead (``sent``) or none needed.

    ``escalated_at = now``, ``escalation_due_at`` NULL; audited as
    ``interview.escalated`` with the number ``missing`` when sent (else
    ``interview.escalation_skipped``; ``missing`` counts the expected
    interviewers without feedback, shadows excepted, late ones included). While
    any is missing, or late (the summary posted without them), the recruiter's
    digest is armed for now, whatever its interval.

    Returns:
        True if this call recorded it; False, changing nothing, if it was
        recorded already or the interview is unknown.
    """
    interview = lock_interview(session, interview_id)
    if interview is None or interview.escalated_at is not None:
        return False
    interview.escalated_at = now
    interview.escalation_due_at = None
    session.flush()
    missing = len(_missing(session, interview_id))
    record_audit(
        session,
        actor="system",
        action="interview.escalated" if sent else "interview.escalation_skipped",
        entity="interview",
        entity_id=interview_id,
        detail={"missing": missing},
        at=now,
    )
    if missing and interview.state in LIVE_INTERVIEW_STATES:
        arm_digest(session, interview.recruiter, due=now, interval=None)
    return True


def _missing(session: Session, interview_id: int) -> list[str]:
    """Expected interviewers without feedback, panel order; shadows are never waited for."""
    return list(
        session.scalars(
            sa.select(FeedbackRequest.interviewer)
            .where(
                FeedbackRequest.interview_id == interview_id,
                FeedbackRequest.state.in_(_OPEN_STATES),
                FeedbackRequest.shadow.is_(False),
            )
            .order_by(FeedbackRequest.position, FeedbackRequest.id)
        )
    )
