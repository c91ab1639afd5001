"""Recruiter digests: one row per recruiter saying when their digest of missing feedback is due.

Armed by :func:`storage.forms.mark_form_sent` (for when that request becomes
overdue, never sooner than ``digest_interval`` after the last digest) and by
:func:`storage.escalations.mark_escalated` (now). :func:`claim_due_digests`,
then :func:`digest_for` (what is missing, and who was late: the summary posted
without them), then :func:`mark_digest_sent`. Claimed like every unit of the
sweep (:mod:`storage.jobs`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.audit import record_audit
from storage.jobs import DEFAULT_LEASE, claim_due, move_due
from storage.locking import lock_row
from storage.models import FeedbackRequest, Interview, RecruiterDigest, RequestState
from storage.policy import FeedbackPolicy, digest_due
from storage.queries import LIVE_INTERVIEW_STATES, OWNER_HISTORY, interview_view
from storage.views import DigestItem, DigestLine

__all__ = [
    "OPEN_REQUEST_STATES",
    "claim_due_digests",
    "defer_digest",
    "digest_for",
    "mark_digest_sent",
]

#: Requests still expected and not given: neither submitted nor declined.
OPEN_REQUEST_STATES = (RequestState.PENDING, RequestState.FORM_SENT)
_OPEN_STATES = OPEN_REQUEST_STATES


def claim_due_digests(
    session: Session,
    *,
    now: datetime,
    lease: timedelta = DEFAULT_LEASE,
    limit: int = 50,
) -> list[str]:
    """Claim up to ``limit`` recruiters whose digest is due, oldest first.

    :func:`storage.jobs.claim_due` over ``next_action_at``. Commit before
    calling Slack; then :func:`digest_for` and :func:`mark_digest_sent`.
    """
    claimed = claim_due(
        session,
        RecruiterDigest.recruiter,
        RecruiterDigest.next_action_at,
        now=now,
        lease=lease,
        limit=limit,
    )
    return [unit.key for unit in claimed]


def digest_for(
    session: Session, recruiter: str, *, now: datetime, policy: FeedbackPolicy
) -> list[DigestItem]:
    """The recruiter's interviews with overdue feedback, as of ``now``.

    An interview (scheduled or summarised, ended within
    :data:`storage.queries.OWNER_HISTORY`) is listed when at least one expected
    request (not declined) is not submitted and either overdue (``now >=
    ends_at + due_after``) while its summary is not posted, or *late*: its
    summary was posted without it (:attr:`DigestLine.after_summary`; no longer
    overdue, as nothing it gives now counts). A late request is reported in one
    digest, the first sent after the summary (``summary_posted_at`` after the
    recruiter's ``last_sent_at``), so a digest of late lines alone does not
    come back every interval; a shadow's is never late (never waited for).
    Each request is a :class:`DigestLine` with how long it is overdue, the
    nudges sent, and the Slack error that stopped its DMs, if any (an error
    with a retry still scheduled is not shown). Interviews by end time, lines
    in panel order. Two queries, reading only this recruiter's open requests
    (``ix_interviews_recruiter``).
    """
    overdue_ends = now - policy.due_after
    last_sent = (
        sa.select(RecruiterDigest.last_sent_at)
        .where(RecruiterDigest.recruiter == recruiter)
        .scalar_subquery()
    )
    posted = Interview.summary_posted_at
    rows = session.execute(
        sa.select(
            FeedbackRequest.interview_id,
            FeedbackRequest.interviewer,
            FeedbackRequest.public_id,
            FeedbackRequest.reminder_count,
            FeedbackRequest.last_error,
            FeedbackRequest.next_action_at,
            Interview.ends_at,
            posted,
        )
        .join(Interview, Interview.id == FeedbackRequest.interview_id)
        .where(
            Interview.recruiter == recruiter,
            Interview.state.in_(LIVE_INTERVIEW_STATES),
            Interview.ends_at >= now - OWNER_HISTORY,
            FeedbackRequest.state.in_(_OPEN_STATES),
            sa.or_(
                sa.and_(posted.is_(None), Interview.ends_at <= overdue_ends),
                sa.and_(
                    posted.is_not(None),
                    FeedbackRequest.shadow.is_(False),
                    sa.or_(last_sent.is_(None), posted > last_sent),
                ),
            ),
        )
        .order_by(Interview.ends_at, Interview.id, FeedbackRequest.position, FeedbackRequest.id)
    ).all()
    if not rows:
        return []
    lines: dict[int, list[DigestLine]] = {}
    for interview_id, who, public_id, count, error, next_at, ends_at, posted_at in rows:
        lines.setdefault(interview_id, []).append(
            DigestLine(
                interviewer=who,
                public_id=public_id,
                overdue_by=max(now - (ends_at + policy.due_after), timedelta(0)),
                reminders_sent=count,
                # Why they never got a reminder is worth knowing even once late.
                last_error=error if next_at is None else None,
                after_summary=posted_at is not None,
            )
        )
    interviews = {
        i.id: i for i in session.scalars(sa.select(Interview).where(Interview.id.in_(lines)))
    }
    return [
        DigestItem(interview=interview_view(interviews[i]), missing=tuple(missing))
        for i, missing in lines.items()
    ]


def defer_digest(session: Session, recruiter: str, *, until: datetime) -> None:
    """Hold the recruiter's claimed digest back until ``until`` (quiet hours)."""
    move_due(
        session, RecruiterDigest.recruiter, RecruiterDigest.next_action_at, recruiter, to=until
    )


def mark_digest_sent(
    session: Session,
    recruiter: str,
    *,
    now: datetime,
    interval: timedelta,
    sent: bool,
    policy: FeedbackPolicy | None = None,
) -> None:
    """Record a claimed digest: sent, or nothing to report.

    Sent: ``last_sent_at = now`` and the next digest ``interval`` later
    (:func:`digest_for` then decides whether there is anything to say); audited
    as ``digest.sent`` with the number of ``interviews`` and ``missing``
    requests when ``policy`` is given to count them. Not sent: the digest waits
    for the next arm (:func:`storage.forms.mark_form_sent`, an escalation);
    with ``policy``, it is also re-armed for the moment the recruiter's next
    open request becomes overdue, so an arm that raced with this claim is never
    lost. Pass ``policy``.
    """
    row = lock_row(session, RecruiterDigest, RecruiterDigest.recruiter == recruiter)
    if row is None:
        return
    if sent:
        detail: dict[str, int] = {}
        if policy is not None:
            # Counted before last_sent_at moves: late lines are listed only until then.
            items = digest_for(session, recruiter, now=now, policy=policy)
            detail = {"interviews": len(items), "missing": sum(len(i.missing) for i in items)}
        row.last_sent_at = now
        row.next_action_at = digest_due(now, last_sent_at=now, interval=interval)
        session.flush()
        record_audit(
            session,
            actor="system",
            action="digest.sent",
            entity="recruiter",
            entity_id=recruiter,
            detail=detail,
            at=now,
        )
        return
    upcoming = None
    if policy is not None:
        first_end = session.scalar(
            sa.select(sa.func.min(Interview.ends_at))
            .join(FeedbackRequest, FeedbackRequest.interview_id == Interview.id)
            .where(
                Interview.recruiter == recruiter,
                Interview.state.in_(LIVE_INTERVIEW_STATES),
                Interview.ends_at > now - policy.due_after,
                # Once the summary is posted nothing becomes overdue: it is late, and
                # that is told by the digest the post arms (mark_escalated).
                Interview.summary_posted_at.is_(None),
                FeedbackRequest.state.in_(_OPEN_STATES),
            )
        )
        if first_end is not None:
            upcoming = digest_due(
                policy.overdue_at(first_end), last_sent_at=row.last_sent_at, interval=interval
            )
    row.next_action_at = upcoming
    session.flush()
