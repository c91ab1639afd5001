"""The sweep's form-DM work: claim the forms that are due, then record what Slack said.

The sweep runs each step in a short transaction of its own and never holds one
across a Slack call::

    with factory.begin() as session:
        due = claim_due_forms(session, now=now, policy=policy)
    for form in due:
        try:
            channel, ts = send_form_dm(form)             # Slack
        except SlackError as exc:
            with factory.begin() as session:
                record_form_failure(session, form.request.public_id, error=exc.code,
                                    permanent=exc.code in PERMANENT_SLACK_ERRORS, now=now)
        else:
            with factory.begin() as session:
                mark_form_sent(session, form.request.public_id, channel=channel, ts=ts,
                               now=now, policy=policy)

The claim, the lease and the backoff are the job engine's (:mod:`storage.jobs`);
this module adds only what a form DM is. A claim moves the row's
``next_action_at`` a lease into the future, so no other
sweep picks it up meanwhile and, if this process dies before recording the
outcome, the form falls due again when the lease ends. Delivery is therefore at
least once: a crash between Slack's answer and the commit of
:func:`mark_form_sent`, or a Slack call outlasting the lease, can send a second
DM (the second :func:`mark_form_sent` then returns False).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Final

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload

from storage.audit import record_audit
from storage.jobs import DEFAULT_LEASE, backoff, claim_due, record_failure
from storage.locking import lock_row, rowcount
from storage.models import Feedback, FeedbackRequest, Interview, RecruiterDigest, RequestState
from storage.policy import FeedbackPolicy, digest_due
from storage.queries import LIVE_INTERVIEW_STATES, form_contexts_for_requests
from storage.views import FormContext

__all__ = [
    "PERMANENT_SLACK_ERRORS",
    "arm_digest",
    "claim_due_forms",
    "form_backoff",
    "mark_form_sent",
    "record_form_failure",
]

#: Slack error codes that no retry will fix: the form is never retried, the
#: error stays on the row for the recruiter.
PERMANENT_SLACK_ERRORS: frozenset[str] = frozenset(
    {
        "user_not_found",
        "channel_not_found",
        "not_in_channel",
        "account_inactive",
        "cannot_dm_bot",
    }
)

_ERROR_MAX_CHARS = 255  # feedback_requests.last_error is VARCHAR(255)

#: The job engine's backoff (30 s, 1 min, 2 min ... 1 h), under the name callers know.
form_backoff = backoff

#: Pending form DMs of interviews still live (never cancelled or archived).
_DUE_FORM: Final = (
    FeedbackRequest.state == RequestState.PENDING,
    Interview.id == FeedbackRequest.interview_id,
    Interview.state.in_(LIVE_INTERVIEW_STATES),
)


def claim_due_forms(
    session: Session,
    *,
    now: datetime,
    policy: FeedbackPolicy,
    lease: timedelta = DEFAULT_LEASE,
    limit: int = 50,
) -> list[FormContext]:
    """Claim up to ``limit`` form DMs that are due, oldest first, and return what to send.

    Due: the request is ``pending`` with ``next_action_at <= now``, and its
    interview is scheduled or summarised (never cancelled or archived).
    Claimed by :func:`storage.jobs.claim_due`: ``next_action_at`` moves to
    ``now + lease`` only if the row is still as it was read, so two sweeps
    never claim the same row. Commit the claim before calling Slack.
    """
    claimed = claim_due(
        session,
        FeedbackRequest.id,
        FeedbackRequest.next_action_at,
        now=now,
        lease=lease,
        limit=limit,
        where=_DUE_FORM,
    )
    if not claimed:
        return []
    requests = load_claimed_requests(session, [unit.key for unit in claimed])
    return form_contexts_for_requests(session, requests, policy=policy, now=now)


def load_claimed_requests(session: Session, ids: Iterable[int]) -> list[FeedbackRequest]:
    """Freshly loaded requests (with interview and feedback), in the order of ``ids``."""
    order = list(ids)
    rows = session.scalars(
        sa.select(FeedbackRequest)
        .where(FeedbackRequest.id.in_(order))
        .options(
            joinedload(FeedbackRequest.interview),
            selectinload(FeedbackRequest.feedback).selectinload(Feedback.ratings),
        )
        .execution_options(populate_existing=True)
    ).all()
    by_id = {row.id: row for row in rows}
    return [by_id[request_id] for request_id in order]


def mark_form_sent(
    session: Session,
    public_id: str,
    *,
    channel: str,
    ts: str,
    now: datetime,
    policy: FeedbackPolicy,
) -> bool:
    """Record that the form DM went out: ``pending`` -> ``form_sent``.

    Stores the DM's channel and ts (to update it later), resets ``attempts`` and
    ``last_error``, and sets ``next_action_at`` to when the first nudge would be
    due (:meth:`FeedbackPolicy.first_nudge_at`: the interview's end +
    ``due_after``, but never right after a form sent late), or NULL if the
    interview was cancelled or archived meanwhile. Arms the recruiter's digest
    (:func:`arm_digest`) for when this request becomes overdue, or one
    ``digest_interval`` after the last digest, whichever is later. Audited as
    ``request.form_sent``.

    Returns:
        True if this call made the transition; False, changing nothing, for a
        request already past ``pending`` (form sent, submitted, declined) or an
        unknown ``public_id``.
    """
    request = session.scalars(
        sa.select(FeedbackRequest)
        .where(FeedbackRequest.public_id == public_id)
        .options(joinedload(FeedbackRequest.interview))
    ).one_or_none()
    if request is None or request.state != RequestState.PENDING:
        return False
    interview = request.interview
    live = interview.state in LIVE_INTERVIEW_STATES
    result = session.execute(
        sa.update(FeedbackRequest)
        .where(FeedbackRequest.id == request.id, FeedbackRequest.state == RequestState.PENDING)
        .values(
            state=RequestState.FORM_SENT,
            dm_channel=channel,
            dm_ts=ts,
            attempts=0,
            last_error=None,
            next_action_at=policy.first_nudge_at(interview.ends_at, now=now) if live else None,
        )
    )
    if rowcount(result) != 1:
        return False
    if live:
        # The recruiter's digest lists this request once it is overdue.
        arm_digest(
            session,
            interview.recruiter,
            due=policy.overdue_at(interview.ends_at),
            interval=policy.digest_interval,
        )
    record_audit(
        session,
        actor="system",
        action="request.form_sent",
        entity="request",
        entity_id=request.id,
        detail={"request": request.public_id, "interview": interview.id},
        at=now,
    )
    return True


def arm_digest(
    session: Session, recruiter: str, *, due: datetime, interval: timedelta | None
) -> None:
    """Make ``recruiter``'s digest due no later than ``due`` (respecting the digest interval).

    Upserts the ``recruiter_digests`` row so that ``next_action_at`` becomes
    ``min(next_action_at, max(due, last_sent_at + interval))``; with ``interval``
    None (an interview reached its summary deadline), ``min(next_action_at, due)``.
    The row is locked (FOR UPDATE on PostgreSQL); two first arms racing to insert
    it meet in a savepoint and the loser re-reads it. See :mod:`storage.reminders`.
    """
    row = _digest_row(session, recruiter)
    if row is None:
        try:
            with session.begin_nested():
                session.add(RecruiterDigest(recruiter=recruiter, next_action_at=due))
        except IntegrityError:
            row = _digest_row(session, recruiter)
            if row is None:  # pragma: no cover - the conflicting row exists
                raise
        else:
            return
    target = digest_due(due, last_sent_at=row.last_sent_at, interval=interval)
    if row.next_action_at is None or target < row.next_action_at:
        row.next_action_at = target
        session.flush()


def _digest_row(session: Session, recruiter: str) -> RecruiterDigest | None:
    return lock_row(session, RecruiterDigest, RecruiterDigest.recruiter == recruiter)


def record_form_failure(
    session: Session, public_id: str, *, error: str, permanent: bool, now: datetime
) -> timedelta | None:
    """Record a failed form DM on a ``pending`` request and decide when to retry.

    ``error`` (Slack's error code, or a short description) is stored in
    ``last_error``, truncated to 255 characters, and ``attempts`` counts up.
    A permanent error (see :data:`PERMANENT_SLACK_ERRORS`) clears
    ``next_action_at``, so the form is never retried, and is audited as
    ``request.form_failed``; a transient one sets it to ``now`` plus
    :func:`storage.jobs.backoff` of the attempts so far.

    Returns:
        The backoff before the next attempt, or None when there is none: the
        error is permanent, or the request is unknown or no longer pending
        (then nothing changes).
    """
    return record_delivery_failure(
        session, public_id, RequestState.PENDING, error=error, permanent=permanent, now=now
    )


_FAILED_ACTIONS = {
    RequestState.PENDING: "request.form_failed",
    RequestState.FORM_SENT: "request.nudge_failed",
}


def record_delivery_failure(
    session: Session,
    public_id: str,
    expected_state: RequestState,
    *,
    error: str,
    permanent: bool,
    now: datetime,
) -> timedelta | None:
    """A failed form (``pending``) or nudge (``form_sent``) DM: count, back off or stop.

    A permanent error is audited as ``request.form_failed`` or ``request.nudge_failed``.

    The update (:func:`storage.jobs.record_failure`) is conditional on the
    request being in ``expected_state`` with work due, so an unknown request,
    one in another state or a concurrent transition records nothing (None).
    """
    request = session.scalars(
        sa.select(FeedbackRequest).where(FeedbackRequest.public_id == public_id)
    ).one_or_none()
    if request is None:
        return None
    delay = None if permanent else backoff(request.attempts + 1)
    if not record_failure(
        session,
        FeedbackRequest.id,
        FeedbackRequest.next_action_at,
        request.id,
        attempts=FeedbackRequest.attempts,
        error_column=FeedbackRequest.last_error,
        error=error,
        delay=delay,
        now=now,
        where=(
            FeedbackRequest.state == expected_state,
            FeedbackRequest.next_action_at.is_not(None),
        ),
    ):
        return None
    if permanent:
        record_audit(
            session,
            actor="system",
            action=_FAILED_ACTIONS[expected_state],
            entity="request",
            entity_id=request.id,
            detail={"request": request.public_id, "error": error[:_ERROR_MAX_CHARS]},
            at=now,
        )
    return delay
