"""Read models for the Slack layer (App Home, ``/interview list``) and cancelling an interview.

Every function returns plain :mod:`storage.views` snapshots, built with a
bounded number of queries whatever the number of rows. A
:class:`~storage.views.FormContext` only ever holds the feedback of the request
it describes, which is its interviewer's own: nothing here hands one
interviewer another's ratings, notes or recommendation.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session, contains_eager, selectinload

from rubric import Rubric
from storage.audit import record_audit
from storage.editing import edit_lock
from storage.locking import rowcount
from storage.models import (
    Feedback,
    FeedbackRequest,
    Interview,
    InterviewState,
    RequestState,
    RubricVersion,
)
from storage.policy import FeedbackPolicy
from storage.views import (
    FormContext,
    InterviewProgress,
    InterviewView,
    OwnFeedbackView,
    RatingView,
    RequestView,
)

__all__ = [
    "OWNER_HISTORY",
    "CancelOutcome",
    "cancel_interview",
    "form_context_for_request",
    "form_contexts_for_requests",
    "forms_for_interviewer",
    "get_interview_view",
    "interview_view",
    "interview_with_feedback",
    "interviews_for_owner",
    "missing_forms_after_summary",
    "rubrics_for_versions",
]

#: How long after its end an interview stays in its owners' lists.
OWNER_HISTORY = timedelta(days=30)

# Interviews whose panel is (still) asked for feedback.
LIVE_INTERVIEW_STATES = (InterviewState.SCHEDULED, InterviewState.SUMMARISED)


# ---------------------------------------------------------------------------
# Rubric snapshots, validated once per process


class _RubricCache:
    """A small thread-safe LRU of validated rubrics.

    Keyed by the snapshot's (rubric_id, digest), its content address, rather
    than its row id: ids are per database, content is not, so one process may
    serve several databases (tests do) without ever mixing them up.
    """

    def __init__(self, maxsize: int) -> None:
        self._maxsize = maxsize
        self._items: OrderedDict[tuple[str, str], Rubric] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> Rubric | None:
        with self._lock:
            rubric = self._items.get(key)
            if rubric is not None:
                self._items.move_to_end(key)
            return rubric

    def put(self, key: tuple[str, str], rubric: Rubric) -> None:
        with self._lock:
            self._items[key] = rubric
            self._items.move_to_end(key)
            while len(self._items) > self._maxsize:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


_rubric_cache = _RubricCache(maxsize=32)


def rubrics_for_versions(session: Session, version_ids: Iterable[int]) -> dict[int, Rubric]:
    """Return the validated rubric of each snapshot id, in at most two queries.

    Validating a snapshot costs about a millisecond, so validated rubrics are
    cached (LRU) by content; the definitions of cached ones are not even read.

    Raises:
        KeyError: an id has no snapshot.
        pydantic.ValidationError: a stored snapshot is not a valid rubric.
    """
    wanted = set(version_ids)
    if not wanted:
        return {}
    keys = {
        row.id: (row.rubric_id, row.digest)
        for row in session.execute(
            sa.select(RubricVersion.id, RubricVersion.rubric_id, RubricVersion.digest).where(
                RubricVersion.id.in_(wanted)
            )
        )
    }
    absent = wanted - keys.keys()
    if absent:
        raise KeyError(f"no rubric snapshot with id {', '.join(map(str, sorted(absent)))}")
    found: dict[int, Rubric] = {}
    for version_id, key in keys.items():
        cached = _rubric_cache.get(key)
        if cached is not None:
            found[version_id] = cached
    missing = wanted - found.keys()
    if missing:
        rows = session.execute(
            sa.select(RubricVersion.id, RubricVersion.definition).where(
                RubricVersion.id.in_(missing)
            )
        )
        for version_id, definition in rows:
            rubric = Rubric.model_validate(definition)
            _rubric_cache.put(keys[version_id], rubric)
            found[version_id] = rubric
    return found


# ---------------------------------------------------------------------------
# Views


def interview_view(interview: Interview) -> InterviewView:
    """A plain snapshot of an interview row."""
    return InterviewView(
        interview_id=interview.id,
        candidate=interview.candidate,
        role=interview.role,
        target_level=interview.target_level,
        starts_at=interview.starts_at,
        ends_at=interview.ends_at,
        state=interview.state.value,
        hiring_channel=interview.hiring_channel,
        recruiter=interview.recruiter,
        hiring_lead=interview.hiring_lead,
    )


def _request_view(request: FeedbackRequest, policy: FeedbackPolicy) -> RequestView:
    interview = request.interview
    return RequestView(
        public_id=request.public_id,
        interviewer=request.interviewer,
        focus_skills=tuple(request.focus_skills),
        state=request.state.value,
        due_at=interview.ends_at + policy.due_after,
        dm_channel=request.dm_channel,
        dm_ts=request.dm_ts,
        interview=interview_view(interview),
    )


def _own_feedback(feedback: Feedback | None) -> OwnFeedbackView | None:
    if feedback is None:
        return None
    return OwnFeedbackView(
        recommendation=feedback.recommendation,
        notes=feedback.notes,
        ratings=tuple(
            RatingView(skill_id=r.skill_id, level=r.level, evidence=r.evidence)
            for r in feedback.ratings
        ),
        submitted_at=feedback.submitted_at,
        updated_at=feedback.updated_at,
    )


def _context(
    request: FeedbackRequest, rubric: Rubric, policy: FeedbackPolicy, now: datetime
) -> FormContext:
    interview = request.interview
    # The request's own feedback is its interviewer's: the only feedback a
    # FormContext may carry.
    feedback = request.feedback
    lock = edit_lock(
        interview_state=interview.state,
        request_state=request.state,
        has_feedback=feedback is not None,
        ends_at=interview.ends_at,
        policy=policy,
        now=now,
    )
    return FormContext(
        request=_request_view(request, policy),
        rubric=rubric,
        own_feedback=_own_feedback(feedback),
        editable=lock is None,
        locked_reason=None if lock is None else lock.message,
        # Whatever they give or change now is shown as given after the summary (and
        # never counted): say so wherever they can still give or change it.
        after_summary=interview.summary_posted_at is not None and lock is None,
        shadow=request.shadow,
    )


def form_context_for_request(
    session: Session, request: FeedbackRequest, *, policy: FeedbackPolicy, now: datetime
) -> FormContext:
    """Everything needed to render ``request``'s DM or modal, for its interviewer only.

    The rubric is the snapshot the interview was scheduled with; ``editable`` and
    ``locked_reason`` follow :func:`storage.editing.edit_lock`, the rules
    :func:`storage.feedback.submit_feedback` enforces.
    """
    return form_contexts_for_requests(session, [request], policy=policy, now=now)[0]


def form_contexts_for_requests(
    session: Session,
    requests: Sequence[FeedbackRequest],
    *,
    policy: FeedbackPolicy,
    now: datetime,
) -> list[FormContext]:
    """:func:`form_context_for_request` for several requests, with one rubric lookup.

    Load the requests with their interview and feedback (and its ratings)
    eagerly to keep the number of queries constant.
    """
    rubrics = rubrics_for_versions(session, {r.interview.rubric_version_id for r in requests})
    return [
        _context(request, rubrics[request.interview.rubric_version_id], policy, now)
        for request in requests
    ]


# ---------------------------------------------------------------------------
# App Home and /interview list


def forms_for_interviewer(
    session: Session,
    user_id: str,
    *,
    policy: FeedbackPolicy,
    now: datetime,
    limit: int = 20,
) -> tuple[list[FormContext], list[FormContext]]:
    """This interviewer's forms: ``(open, recent)``, at most ``limit`` of each.

    ``open``: forms to fill in, most urgent (earliest due) first: requests whose
    form was sent, or still pending although the interview has ended (the DM is
    not out yet or could not be delivered), of interviews not cancelled or
    archived. ``recent``: forms already submitted, most recently changed first.
    Only ``user_id``'s own requests, each with only its own feedback.
    """
    open_stmt = (
        sa.select(FeedbackRequest)
        .join(FeedbackRequest.interview)
        .where(
            FeedbackRequest.interviewer == user_id,
            Interview.state.in_(LIVE_INTERVIEW_STATES),
            sa.or_(
                FeedbackRequest.state == RequestState.FORM_SENT,
                sa.and_(FeedbackRequest.state == RequestState.PENDING, Interview.ends_at <= now),
            ),
        )
        .order_by(Interview.ends_at, FeedbackRequest.id)
        .limit(limit)
        .options(
            contains_eager(FeedbackRequest.interview),
            selectinload(FeedbackRequest.feedback).selectinload(Feedback.ratings),
        )
    )
    recent_stmt = (
        sa.select(FeedbackRequest)
        .join(FeedbackRequest.interview)
        .join(FeedbackRequest.feedback)
        .where(
            FeedbackRequest.interviewer == user_id,
            FeedbackRequest.state == RequestState.SUBMITTED,
        )
        .order_by(Feedback.updated_at.desc(), FeedbackRequest.id.desc())
        .limit(limit)
        .options(
            contains_eager(FeedbackRequest.interview),
            contains_eager(FeedbackRequest.feedback).selectinload(Feedback.ratings),
        )
    )
    open_requests = list(session.scalars(open_stmt))
    recent_requests = list(session.scalars(recent_stmt))
    contexts = form_contexts_for_requests(
        session, open_requests + recent_requests, policy=policy, now=now
    )
    return contexts[: len(open_requests)], contexts[len(open_requests) :]


def interviews_for_owner(
    session: Session, user_id: str, *, now: datetime, limit: int = 20
) -> list[InterviewProgress]:
    """Interviews ``user_id`` recruits for or leads, with their panel's progress.

    Not archived, and upcoming (or under way) or ended within the last
    :data:`OWNER_HISTORY`: first those not ended, soonest first, then the ended
    ones, most recent first. Two queries, whatever the number of interviews.
    """
    not_ended = Interview.ends_at >= now
    stmt = (
        sa.select(Interview)
        .where(
            sa.or_(Interview.recruiter == user_id, Interview.hiring_lead == user_id),
            Interview.state != InterviewState.ARCHIVED,
            Interview.ends_at >= now - OWNER_HISTORY,
        )
        .order_by(
            sa.case((not_ended, 0), else_=1),
            sa.case((not_ended, Interview.starts_at), else_=None),
            Interview.ends_at.desc(),
            Interview.id,
        )
        .limit(limit)
        .options(selectinload(Interview.requests))
    )
    return [_progress(interview) for interview in session.scalars(stmt)]


def _progress(interview: Interview) -> InterviewProgress:
    panel = sorted(interview.requests, key=lambda r: (r.position, r.id))
    # Shadows are never waited for (their feedback never counts).
    expected = [r for r in panel if r.state != RequestState.DECLINED and not r.shadow]
    missing = tuple(r.interviewer for r in expected if r.state != RequestState.SUBMITTED)
    return InterviewProgress(
        interview=interview_view(interview),
        expected=len(expected),
        submitted=len(expected) - len(missing),
        missing=missing,
    )


def interview_with_feedback(session: Session, interview_id: int) -> Interview | None:
    """The interview with its requests, their feedback and ratings, read fresh; None if unknown."""
    return session.scalars(
        sa.select(Interview)
        .where(Interview.id == interview_id)
        .options(
            selectinload(Interview.requests)
            .selectinload(FeedbackRequest.feedback)
            .selectinload(Feedback.ratings)
        )
        .execution_options(populate_existing=True)
    ).one_or_none()


def get_interview_view(session: Session, interview_id: int) -> InterviewView | None:
    """The interview with this id, or None."""
    interview = session.get(Interview, interview_id)
    return None if interview is None else interview_view(interview)


# ---------------------------------------------------------------------------
# Cancelling


class CancelOutcome(StrEnum):
    CANCELLED = "cancelled"
    ALREADY_CANCELLED = "already_cancelled"
    NOT_FOUND = "not_found"
    NOT_ALLOWED = "not_allowed"  # summarised or archived: too late to cancel


def cancel_interview(
    session: Session, interview_id: int, *, actor: str, now: datetime
) -> CancelOutcome:
    """Cancel a scheduled interview: no form, reminder or summary is sent for it any more.

    Its requests keep their state and lose their due work (``next_action_at``
    NULL), and so do its summary (``summary_pending`` and ``summary_due_at``
    NULL) and its escalation (``escalation_due_at`` NULL); audited as
    ``interview.cancelled``. Idempotent: cancelling again returns
    ALREADY_CANCELLED and changes nothing. A summarised or archived interview is
    NOT_ALLOWED. Whether ``actor`` may cancel is the caller's call.
    """
    result = session.execute(
        sa.update(Interview)
        .where(Interview.id == interview_id, Interview.state == InterviewState.SCHEDULED)
        .values(
            state=InterviewState.CANCELLED,
            updated_at=now,
            # No summary either (one being posted right now is not recorded).
            summary_pending=None,
            summary_due_at=None,
            summary_claimed_seq=None,
            # No escalation to the hiring lead either.
            escalation_due_at=None,
        )
    )
    if rowcount(result) != 1:
        state = session.scalar(sa.select(Interview.state).where(Interview.id == interview_id))
        if state is None:
            return CancelOutcome.NOT_FOUND
        if state == InterviewState.CANCELLED:
            return CancelOutcome.ALREADY_CANCELLED
        return CancelOutcome.NOT_ALLOWED
    cleared = session.execute(
        sa.update(FeedbackRequest)
        .where(FeedbackRequest.interview_id == interview_id)
        .values(next_action_at=None)
    )
    record_audit(
        session,
        actor=actor,
        action="interview.cancelled",
        entity="interview",
        entity_id=interview_id,
        detail={"from": InterviewState.SCHEDULED.value, "requests": rowcount(cleared)},
        at=now,
    )
    return CancelOutcome.CANCELLED


def sent_forms_of_interview(
    session: Session, interview_id: int, *, policy: FeedbackPolicy, now: datetime
) -> list[FormContext]:
    """The interview's requests whose form DM went out, each as its own interviewer sees it.

    For refreshing those DMs after the interview changes (e.g. it was cancelled).
    """
    requests = session.scalars(
        sa.select(FeedbackRequest)
        .where(FeedbackRequest.interview_id == interview_id, FeedbackRequest.dm_ts.is_not(None))
        .order_by(FeedbackRequest.position, FeedbackRequest.id)
    ).all()
    return form_contexts_for_requests(session, requests, policy=policy, now=now)


def missing_forms_after_summary(
    session: Session, interview_id: int, *, policy: FeedbackPolicy, now: datetime
) -> list[FormContext]:
    """The sent form DMs of interviewers still missing once the interview's summary is posted.

    Missing: not declined and without feedback (shadows too). Each as its own
    interviewer sees it, with ``after_summary`` set, for refreshing the DM to say
    the summary is out (DESIGN "After a partial summary"). Empty while the
    summary is not posted. Two queries and the rubric lookup.
    """
    requests = session.scalars(
        sa.select(FeedbackRequest)
        .join(FeedbackRequest.interview)
        .outerjoin(FeedbackRequest.feedback)
        .where(
            FeedbackRequest.interview_id == interview_id,
            Interview.summary_posted_at.is_not(None),
            FeedbackRequest.state.in_((RequestState.PENDING, RequestState.FORM_SENT)),
            FeedbackRequest.dm_ts.is_not(None),
            Feedback.id.is_(None),
        )
        .order_by(FeedbackRequest.position, FeedbackRequest.id)
        .options(contains_eager(FeedbackRequest.interview), selectinload(FeedbackRequest.feedback))
    ).all()
    return form_contexts_for_requests(session, requests, policy=policy, now=now)


def interviewer_of(session: Session, public_id: str) -> str | None:
    """The Slack ID of the interviewer a request belongs to (for confirmations)."""
    return session.scalar(
        sa.select(FeedbackRequest.interviewer).where(FeedbackRequest.public_id == public_id)
    )
