"""Nudges, recruiter digests and escalations: what the sweep sends after the form DM.

Three kinds of work, each claimed by the job engine (:mod:`storage.jobs`, as
the form DMs are): a conditional UPDATE moves the row's due time a lease into
the future (on PostgreSQL the read also uses ``FOR UPDATE SKIP LOCKED``), the claim is
committed, Slack is called outside any transaction, and the outcome is recorded
in a short transaction of its own. A claim whose process died falls due again
when its lease ends; delivery is at least once (a crash between Slack's answer
and the commit of the record can repeat a DM).

Nudges (``feedback_requests``, state ``form_sent``)
    :func:`storage.forms.mark_form_sent` sets ``next_action_at`` to when the
    feedback becomes overdue (the interview's end + ``due_after``).
    :func:`claim_due_nudges` claims due rows while ``reminder_count`` is below
    ``reminders.max`` or the recruiter asked for one more ("Nudge now",
    ``nudge_requested``); :func:`mark_nudge_sent` counts it and schedules the
    next one an ``interval`` later, or none past the cap. Quiet hours are the
    caller's business: it calls :func:`defer_nudge` with when they end (nothing
    is counted; the nudge counts when it goes out).

Digests (``recruiter_digests``, one row per recruiter; :mod:`storage.digests`)
    Armed by :func:`storage.forms.mark_form_sent` (for when that request
    becomes overdue, never sooner than ``digest_interval`` after the last
    digest) and by :func:`mark_escalated` (now). :func:`claim_due_digests`,
    then :func:`digest_for` (what is missing), then :func:`mark_digest_sent`.

Escalations (``interviews.escalation_due_at``; :mod:`storage.escalations`)
    At the summary deadline (the interview's end + ``summary_deadline``) the
    hiring lead is told once who has not given feedback:
    :func:`claim_due_escalations`, :func:`escalation_for`, :func:`mark_escalated`.
    Nothing missing: no DM, but the escalation is done all the same. That is
    the usual case at the deadline: the partial summary posted at the same
    moment (the sweep posts summaries first) names who is missing, and from
    then on they are late, not missing. Shadows are never waited for.

After the summary (DESIGN "After a partial summary")
    Feedback still missing when the summary is posted is late: it gets no
    nudge (a due one is retired by :func:`claim_due_nudges`; "Nudge now" says
    ``summary_posted``; snoozing is refused), no escalation, and one digest line
    saying it is late instead of overdue.

The sweep, for nudges::

    with factory.begin() as session:
        jobs = claim_due_nudges(session, now=now, policy=policy, max_nudges=3)
    for job in jobs:
        until = quiet_hours_end(job.context.request.interviewer, now)     # caller's
        if until is not None:
            with factory.begin() as session:
                defer_nudge(session, job.context.request.public_id, until=until, now=now)
            continue
        ...send the DM, then mark_nudge_sent(..., now=now, forced=job.forced)
        or record_nudge_failure(...)

Pass the ``now`` of the claim to :func:`mark_nudge_sent`: a second record of the
same claim (same ``now``) changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from storage.audit import record_audit
from storage.digests import (
    OPEN_REQUEST_STATES,
    claim_due_digests,
    defer_digest,
    digest_for,
    mark_digest_sent,
)
from storage.editing import FeedbackRefused, RefusalReason
from storage.escalations import (
    claim_due_escalations,
    defer_escalation,
    escalation_for,
    mark_escalated,
)
from storage.forms import load_claimed_requests, record_delivery_failure
from storage.jobs import DEFAULT_LEASE, due_rows, move_due
from storage.locking import lock_interview, rowcount
from storage.models import (
    PUBLIC_ID_SHAPE,
    FeedbackRequest,
    Interview,
    InterviewState,
    RequestState,
)
from storage.policy import FeedbackPolicy, next_nudge_at
from storage.queries import (
    LIVE_INTERVIEW_STATES,
    form_context_for_request,
    form_contexts_for_requests,
)
from storage.summaries import note_panel_change
from storage.views import FormContext

# Digests and escalations live in storage.digests and storage.escalations; their
# functions are re-exported here, where callers have always found them.
__all__ = [
    "DeclineResult",
    "NudgeJob",
    "NudgeNowOutcome",
    "claim_due_digests",
    "claim_due_escalations",
    "claim_due_nudges",
    "decline_request",
    "defer_digest",
    "defer_escalation",
    "defer_nudge",
    "digest_for",
    "escalation_for",
    "mark_digest_sent",
    "mark_escalated",
    "mark_nudge_sent",
    "record_nudge_failure",
    "request_nudge_now",
    "snooze_request",
]

NudgeNowOutcome = Literal["queued", "not_allowed", "not_open", "summary_posted", "not_found"]

# What new_public_id() makes; anything else is refused without a query.
# Requests still expected and not given: neither submitted nor declined.
_OPEN_STATES = OPEN_REQUEST_STATES
# The configuration defaults, for snooze_request called without a policy.
_DEFAULT_POLICY = FeedbackPolicy(
    form_delay=timedelta(minutes=5),
    due_after=timedelta(hours=24),
    summary_deadline=timedelta(hours=48),
)

_SUBMITTED_NO_SNOOZE = "You already gave your feedback, so there is nothing to snooze."
_PENDING_NO_SNOOZE = "Your feedback form has not been sent yet, so there is nothing to snooze."
_SUMMARY_NO_SNOOZE = (
    "The summary has been posted, so there are no more reminders for this interview. "
    "You can still give your feedback: it is shown as given after the summary."
)
_SUBMITTED_NO_DECLINE = (
    "You already gave your feedback for this interview, so it can't be declined any more."
)


@dataclass(frozen=True)
class NudgeJob:
    """One claimed nudge: the interviewer's form, and which nudge this is."""

    context: FormContext
    forced: bool  # a recruiter's "Nudge now" (may go past reminders.max)
    number: int  # this nudge's ordinal: reminder_count + 1


@dataclass(frozen=True)
class DeclineResult:
    context: FormContext
    changed: bool  # False: declined already


# ---------------------------------------------------------------------------
# Nudges


def claim_due_nudges(
    session: Session,
    *,
    now: datetime,
    policy: FeedbackPolicy,
    max_nudges: int,
    lease: timedelta = DEFAULT_LEASE,
    limit: int = 50,
) -> list[NudgeJob]:
    """Claim up to ``limit`` nudges that are due, oldest first, and return what to send.

    Due: the request is ``form_sent`` with ``next_action_at <= now`` and its
    interview is scheduled. A row with ``reminder_count`` at or past
    ``max_nudges`` and no "Nudge now" has nothing left to do, nor has one whose
    interview's summary is posted (what they give now is shown as given after
    the summary and never counted: DESIGN "After a partial summary"): its
    ``next_action_at`` (and any "Nudge now") is cleared and it is not returned.
    The rest are claimed as every unit is (:func:`storage.jobs.due_rows` and
    :func:`storage.jobs.move_due` to ``now + lease``, only if the row is still
    as read), so two sweeps never claim the same nudge. Commit the claim before
    calling Slack.
    """
    due = due_rows(
        session,
        FeedbackRequest.id,
        FeedbackRequest.next_action_at,
        now=now,
        limit=limit,
        where=(
            FeedbackRequest.state == RequestState.FORM_SENT,
            Interview.id == FeedbackRequest.interview_id,
            Interview.state.in_(LIVE_INTERVIEW_STATES),
        ),
        columns=(FeedbackRequest.reminder_count, FeedbackRequest.nudge_requested, Interview.state),
    )
    claimed: dict[int, tuple[bool, int]] = {}
    for request_id, seen, count, forced, state in due:
        if state != InterviewState.SCHEDULED:
            # The summary is posted: no nudge, not even one a recruiter asked for before it.
            _move_nudge(session, request_id, seen=seen, to=None, values={"nudge_requested": False})
        elif not forced and count >= max_nudges:
            _move_nudge(session, request_id, seen=seen, to=None, forced=False)
        elif _move_nudge(session, request_id, seen=seen, to=now + lease, forced=forced):
            claimed[request_id] = (forced, count + 1)
    if not claimed:
        return []
    requests = load_claimed_requests(session, claimed)
    contexts = form_contexts_for_requests(session, requests, policy=policy, now=now)
    return [
        NudgeJob(context=context, forced=claimed[request.id][0], number=claimed[request.id][1])
        for request, context in zip(requests, contexts, strict=True)
    ]


def _move_nudge(
    session: Session,
    request_id: int,
    *,
    seen: datetime,
    to: datetime | None,
    forced: bool | None = None,
    values: dict[str, object] | None = None,
) -> bool:
    """Move a due nudge (:func:`storage.jobs.move_due`); ``forced``: only if "Nudge now" is so."""
    where = [FeedbackRequest.state == RequestState.FORM_SENT]
    if forced is not None:
        where.append(FeedbackRequest.nudge_requested == forced)
    return move_due(
        session,
        FeedbackRequest.id,
        FeedbackRequest.next_action_at,
        request_id,
        seen=seen,
        to=to,
        where=where,
        values=values,
    )


def defer_nudge(session: Session, public_id: str, *, until: datetime, now: datetime) -> bool:
    """Hold a claimed nudge back until ``until`` (the end of quiet hours); nothing is counted.

    Returns False, changing nothing, if the request has no nudge pending (it was
    submitted, declined, cancelled meanwhile, or is unknown). Audited as
    ``request.nudge_deferred``.
    """
    request = _request(session, public_id)
    if request is None:
        return False
    if not move_due(
        session,
        FeedbackRequest.id,
        FeedbackRequest.next_action_at,
        request.id,
        to=until,
        where=(FeedbackRequest.state == RequestState.FORM_SENT,),
    ):
        return False
    record_audit(
        session,
        actor="system",
        action="request.nudge_deferred",
        entity="request",
        entity_id=request.id,
        detail={"request": request.public_id, "until": until.isoformat()},
        at=now,
    )
    return True


def mark_nudge_sent(
    session: Session,
    public_id: str,
    *,
    now: datetime,
    interval: timedelta,
    max_nudges: int,
    forced: bool,
    number: int | None = None,
) -> bool:
    """Record that a nudge DM went out: count it and schedule the next one.

    ``reminder_count`` counts up (a forced nudge past the cap counts too),
    ``nudge_requested`` is cleared, ``last_nudged_at = now``, ``attempts`` and
    ``last_error`` are reset, and ``next_action_at`` becomes ``now + interval``
    while the count is below ``max_nudges``, else NULL. Audited as
    ``request.nudged`` with the nudge's ``number`` and ``forced``.

    Recording the same claim twice changes nothing: pass the job's ``number``
    (:attr:`NudgeJob.number`; the nudge is counted only while ``reminder_count``
    is ``number - 1``). Without it, a record whose ``now`` is not after the
    last recorded nudge's is taken for a repeat.

    Returns:
        True if this call recorded the nudge; False, changing nothing, if it
        was recorded already, or the request has no nudge pending any more
        (submitted, declined, its interview cancelled) or is unknown.
    """
    request = _request(session, public_id)
    if request is None or request.state != RequestState.FORM_SENT:
        return False
    if request.next_action_at is None or request.interview.state not in LIVE_INTERVIEW_STATES:
        return False
    if request.last_nudged_at is not None and request.last_nudged_at >= now:
        return False
    if number is not None and request.reminder_count != number - 1:
        return False
    number = request.reminder_count + 1
    result = session.execute(
        sa.update(FeedbackRequest)
        .where(
            FeedbackRequest.id == request.id,
            FeedbackRequest.state == RequestState.FORM_SENT,
            FeedbackRequest.reminder_count == request.reminder_count,
            FeedbackRequest.next_action_at.is_not(None),
            sa.or_(FeedbackRequest.last_nudged_at.is_(None), FeedbackRequest.last_nudged_at < now),
        )
        .values(
            reminder_count=number,
            nudge_requested=False,
            last_nudged_at=now,
            attempts=0,
            last_error=None,
            next_action_at=next_nudge_at(
                now, number=number, interval=interval, max_nudges=max_nudges
            ),
        )
        .execution_options(synchronize_session="fetch")
    )
    if rowcount(result) != 1:
        return False
    record_audit(
        session,
        actor="system",
        action="request.nudged",
        entity="request",
        entity_id=request.id,
        detail={"request": request.public_id, "number": number, "forced": forced},
        at=now,
    )
    return True


def record_nudge_failure(
    session: Session, public_id: str, *, error: str, permanent: bool, now: datetime
) -> timedelta | None:
    """Record a failed nudge DM and decide when to retry, as :func:`record_form_failure` does.

    ``error`` is stored in ``last_error`` (truncated to 255 characters) and
    ``attempts`` counts up. A permanent error clears ``next_action_at`` (no
    more nudges; the recruiter's digest shows the error) and is audited as
    ``request.nudge_failed``; a transient one retries after
    :func:`storage.jobs.backoff` of the attempts so far.

    Returns:
        The backoff, or None: the error is permanent, or no nudge is pending
        (then nothing changes).
    """
    if not isinstance(public_id, str) or not PUBLIC_ID_SHAPE.fullmatch(public_id):
        return None  # not what new_public_id() makes: refused without a query
    return record_delivery_failure(
        session, public_id, RequestState.FORM_SENT, error=error, permanent=permanent, now=now
    )


# ---------------------------------------------------------------------------
# The interviewer's buttons: snooze, "I did not attend"


def snooze_request(
    session: Session,
    public_id: str,
    *,
    user_id: str,
    until: datetime,
    now: datetime,
    policy: FeedbackPolicy | None = None,
) -> FormContext:
    """Postpone the interviewer's next nudge to ``until``.

    Only the request's interviewer may, while the form is out (``form_sent``)
    and the interview is neither cancelled nor archived: ``next_action_at``
    becomes ``until`` (a nudge in flight is not recalled). A request with no
    nudge left (the cap was reached, a permanent error) stays without one.
    Audited as ``request.snoozed`` with ``until``; snoozing again to the same
    time changes nothing. ``policy`` renders the returned context (due time,
    editability); without it the configuration defaults are used.

    Raises:
        FeedbackRefused: NOT_FOUND, NOT_YOURS, CANCELLED, HISTORY, DECLINED, or
            LOCKED (feedback already submitted, the form not sent yet, or the
            summary posted: nothing to snooze), each with a message for the
            interviewer.
    """
    request = _owned(session, public_id, user_id)
    _refuse_closed(request)
    if request.state == RequestState.SUBMITTED:
        raise FeedbackRefused(RefusalReason.LOCKED, _SUBMITTED_NO_SNOOZE)
    if request.state == RequestState.PENDING:
        raise FeedbackRefused(RefusalReason.LOCKED, _PENDING_NO_SNOOZE)
    if request.interview.summary_posted_at is not None:
        raise FeedbackRefused(RefusalReason.LOCKED, _SUMMARY_NO_SNOOZE)
    current = request.next_action_at
    if current is not None and current != until:
        result = session.execute(
            sa.update(FeedbackRequest)
            .where(
                FeedbackRequest.id == request.id,
                FeedbackRequest.state == RequestState.FORM_SENT,
                FeedbackRequest.next_action_at == current,
            )
            .values(next_action_at=until)
            .execution_options(synchronize_session="fetch")
        )
        if rowcount(result) == 1:
            record_audit(
                session,
                actor=user_id,
                action="request.snoozed",
                entity="request",
                entity_id=request.id,
                detail={"request": request.public_id, "until": until.isoformat()},
                at=now,
            )
    return _context(session, request.id, policy or _DEFAULT_POLICY, now)


def decline_request(
    session: Session, public_id: str, *, user_id: str, now: datetime, policy: FeedbackPolicy
) -> DeclineResult:
    """ "I did not attend": the request becomes ``declined`` and is no longer expected.

    Only the request's interviewer may, and not once their feedback is
    submitted. No more nudges (``next_action_at`` NULL); the interview expects
    one answer fewer, so if everyone else has submitted the summary becomes due
    now (:func:`storage.summaries.note_panel_change`, under the interview's row
    lock, as a submission). Audited as ``request.declined``. Declining again
    returns ``changed=False`` and changes nothing.

    Raises:
        FeedbackRefused: NOT_FOUND, NOT_YOURS, CANCELLED, HISTORY, or LOCKED
            (feedback already submitted).
    """
    request = _owned(session, public_id, user_id)
    interview = lock_interview(session, request.interview_id)
    if interview is None:  # pragma: no cover - the request's interview exists
        raise FeedbackRefused(RefusalReason.NOT_FOUND)
    state = session.scalar(sa.select(FeedbackRequest.state).where(FeedbackRequest.id == request.id))
    if state == RequestState.DECLINED:
        return DeclineResult(_context(session, request.id, policy, now), changed=False)
    _refuse_closed(request)
    if state == RequestState.SUBMITTED:
        raise FeedbackRefused(RefusalReason.LOCKED, _SUBMITTED_NO_DECLINE)
    result = session.execute(
        sa.update(FeedbackRequest)
        .where(FeedbackRequest.id == request.id, FeedbackRequest.state.in_(_OPEN_STATES))
        .values(state=RequestState.DECLINED, next_action_at=None, nudge_requested=False)
        .execution_options(synchronize_session="fetch")
    )
    if rowcount(result) != 1:  # pragma: no cover - the interview's row is locked
        return DeclineResult(_context(session, request.id, policy, now), changed=False)
    record_audit(
        session,
        actor=user_id,
        action="request.declined",
        entity="request",
        entity_id=request.id,
        detail={
            "request": request.public_id,
            "interview": interview.id,
            "from": state.value if state is not None else None,
        },
        at=now,
    )
    note_panel_change(session, interview, policy=policy, now=now)
    return DeclineResult(_context(session, request.id, policy, now), changed=True)


def request_nudge_now(
    session: Session, public_id: str, *, actor: str, now: datetime
) -> NudgeNowOutcome:
    """A recruiter's "Nudge now": one more nudge, due now, even past ``reminders.max``.

    Only the interview's recruiter may (``not_allowed`` for anyone else), and
    only while the form is out (``form_sent``; ``not_open`` for a form not sent
    yet, feedback given or declined, or an interview cancelled or archived),
    and never once the summary is posted (``summary_posted``: feedback still
    missing then is shown as given after the summary and never counted).
    Sets ``nudge_requested`` and ``next_action_at = now``; audited as
    ``request.nudge_requested`` with ``by``. Asking again while that nudge is
    queued returns ``queued`` and changes nothing. A nudge already in flight
    when asked may be followed by the requested one shortly after.
    """
    request = _request(session, public_id)
    if request is None:
        return "not_found"
    interview = request.interview
    if actor != interview.recruiter:
        return "not_allowed"
    if request.state in _OPEN_STATES and interview.summary_posted_at is not None:
        return "summary_posted"  # no nudges after the summary: they would not count
    if request.state != RequestState.FORM_SENT or interview.state not in LIVE_INTERVIEW_STATES:
        return "not_open"
    if request.nudge_requested:
        return "queued"
    result = session.execute(
        sa.update(FeedbackRequest)
        .where(
            FeedbackRequest.id == request.id,
            FeedbackRequest.state == RequestState.FORM_SENT,
            FeedbackRequest.nudge_requested.is_(False),
        )
        .values(nudge_requested=True, next_action_at=now)
        .execution_options(synchronize_session="fetch")
    )
    if rowcount(result) != 1:
        # A concurrent request queued it, or the form was answered meanwhile.
        again = session.scalar(
            sa.select(FeedbackRequest.nudge_requested).where(FeedbackRequest.id == request.id)
        )
        return "queued" if again else "not_open"
    record_audit(
        session,
        actor=actor,
        action="request.nudge_requested",
        entity="request",
        entity_id=request.id,
        detail={"request": request.public_id, "by": actor},
        at=now,
    )
    return "queued"


# ---------------------------------------------------------------------------
# Helpers


def _request(session: Session, public_id: str) -> FeedbackRequest | None:
    if not isinstance(public_id, str) or not PUBLIC_ID_SHAPE.fullmatch(public_id):
        return None
    return session.scalars(
        sa.select(FeedbackRequest)
        .where(FeedbackRequest.public_id == public_id)
        .options(joinedload(FeedbackRequest.interview))
        .execution_options(populate_existing=True)
    ).one_or_none()


def _owned(session: Session, public_id: str, user_id: str) -> FeedbackRequest:
    request = _request(session, public_id)
    if request is None:
        raise FeedbackRefused(RefusalReason.NOT_FOUND)
    if request.interviewer != user_id:
        raise FeedbackRefused(RefusalReason.NOT_YOURS)
    return request


def _refuse_closed(request: FeedbackRequest) -> None:
    state = request.interview.state
    if state == InterviewState.CANCELLED:
        raise FeedbackRefused(RefusalReason.CANCELLED)
    if state == InterviewState.ARCHIVED:
        raise FeedbackRefused(RefusalReason.HISTORY)
    if request.state == RequestState.DECLINED:
        raise FeedbackRefused(RefusalReason.DECLINED)


def _context(
    session: Session, request_id: int, policy: FeedbackPolicy, now: datetime
) -> FormContext:
    (request,) = load_claimed_requests(session, [request_id])
    return form_context_for_request(session, request, policy=policy, now=now)
