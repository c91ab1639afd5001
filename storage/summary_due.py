"""When an interview's summary is due: the post's readiness, and the due time after changes.

Part of the summary's units of work (:mod:`storage.summaries`, which re-exports
these): whether a ``post`` may go out (the counted panel complete, or the deadline
passed with some feedback), and how an import, a submission or a decline moves
its due time. Shadows are never waited for.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from storage.models import (
    Feedback,
    FeedbackRequest,
    Interview,
    InterviewState,
    RequestState,
    SummaryStep,
)
from storage.policy import FeedbackPolicy

__all__ = [
    "clear_summary_work",
    "note_feedback_change",
    "note_panel_change",
    "panel_counts",
    "post_due",
    "post_ready",
    "schedule_summary_post",
]


def post_ready(
    *, expected: int, submitted: int, ends_at: datetime, deadline: timedelta, now: datetime
) -> bool:
    """May the summary be posted now? Never without feedback."""
    return submitted > 0 and (submitted >= expected or now >= ends_at + deadline)


def post_due(
    *, expected: int, submitted: int, ends_at: datetime, deadline: timedelta, now: datetime
) -> datetime | None:
    """When a summary not posted yet falls due, seen at ``now``.

    ``now`` when it may be posted (:func:`post_ready`); else its deadline, which
    is ahead; else None: the deadline passed with no feedback, and the first
    feedback makes it due.
    """
    if post_ready(
        expected=expected, submitted=submitted, ends_at=ends_at, deadline=deadline, now=now
    ):
        return now
    if now < ends_at + deadline:
        return ends_at + deadline
    return None


def panel_counts(
    session: Session, interview_ids: Iterable[int], *, given_by: int | None = None
) -> dict[int, tuple[int, int]]:
    """``(expected, submitted)`` per interview, in one query.

    Expected: requests not declined, shadows excepted. Submitted: those of them with feedback
    (given by change number ``given_by``, if set). Interviews without requests
    are absent: read them as ``(0, 0)``.
    """
    ids = set(interview_ids)
    if not ids:
        return {}
    given: sa.ColumnElement[bool] = Feedback.id.is_not(None)
    if given_by is not None:
        given = sa.and_(given, Feedback.first_seq <= given_by)
    rows = session.execute(
        sa.select(
            FeedbackRequest.interview_id,
            sa.func.count(FeedbackRequest.id),
            sa.func.count(sa.case((given, FeedbackRequest.id))),
        )
        .outerjoin(Feedback, Feedback.request_id == FeedbackRequest.id)
        .where(
            FeedbackRequest.interview_id.in_(ids),
            FeedbackRequest.state != RequestState.DECLINED,
            # Shadows are never waited for: their feedback never counts.
            FeedbackRequest.shadow.is_(False),
        )
        .group_by(FeedbackRequest.interview_id)
    )
    return {interview_id: (expected, submitted) for interview_id, expected, submitted in rows}


def schedule_summary_post(
    session: Session, interview: Interview, *, summary_deadline: timedelta, now: datetime
) -> None:
    """Set a scheduled interview's summary to ``post``, due when :func:`post_due` says.

    For :mod:`storage.interviews` after an import changed an interview (its end,
    its panel, or it came back from the archive). A ``post`` in flight (claimed)
    keeps its lease. Flush the interview's panel first.
    """
    if interview.summary_claimed_seq is not None and interview.summary_pending is not None:
        return
    counts = panel_counts(session, [interview.id]).get(interview.id, (0, 0))
    interview.summary_pending = SummaryStep.POST
    interview.summary_due_at = post_due(
        expected=counts[0],
        submitted=counts[1],
        ends_at=interview.ends_at,
        deadline=summary_deadline,
        now=now,
    )
    interview.summary_attempts = 0
    interview.summary_error = None


def clear_summary_work(interview: Interview) -> None:
    """No summary work for this interview any more (cancelled, or archived as history)."""
    interview.summary_pending = None
    interview.summary_due_at = None
    interview.summary_claimed_seq = None


def note_feedback_change(
    session: Session,
    interview: Interview,
    feedback: Feedback,
    *,
    created: bool,
    policy: FeedbackPolicy,
    now: datetime,
) -> None:
    """Number a feedback change and keep the summary's due time right.

    Called by :func:`storage.feedback.submit_feedback` after ``feedback`` was
    created or changed (never for an unchanged resubmission), with
    ``interview``'s row locked: changes are numbered in the order they commit,
    and two last submissions cannot both miss that the panel is complete.

    * Not posted yet (``post``): due now if it may be posted now (the panel is
      complete, or the deadline passed and this is the first feedback), unless
      it is due already, claimed (a post in flight keeps its lease) or waiting
      to retry after a failure (it reads the latest feedback when it runs).
    * Posted, nothing pending: ``update``, due now.
    * Posted, ``finish`` or ``update`` pending: unchanged; recording that unit
      compares the change numbers and goes on to ``update`` if needed.
    """
    interview.feedback_seq += 1
    feedback.seq = interview.feedback_seq
    if created:
        feedback.first_seq = interview.feedback_seq
    # Written as it is, so numbering is not an edit (no onupdate of updated_at).
    flag_modified(feedback, "updated_at")
    session.flush()
    note_panel_change(session, interview, policy=policy, now=now)


def note_panel_change(
    session: Session, interview: Interview, *, policy: FeedbackPolicy, now: datetime
) -> None:
    """Keep the summary's due time right after the panel's answers changed.

    For :func:`note_feedback_change` (after numbering the change) and for
    :func:`storage.reminders.decline_request`: a declined request is no longer
    expected, so the rest of the panel may now be complete. Call it with
    ``interview``'s row locked; the rules are those of :func:`note_feedback_change`.
    """
    if interview.state == InterviewState.SCHEDULED and interview.summary_pending is None:
        # Not scheduled through an import (which always sets it): a summary is owed.
        interview.summary_pending = SummaryStep.POST
    if interview.summary_pending == SummaryStep.POST:
        if interview.state != InterviewState.SCHEDULED:
            return
        if interview.summary_claimed_seq is not None or interview.summary_attempts > 0:
            return
        due = interview.summary_due_at
        if due is not None and due <= now:
            return
        expected, submitted = panel_counts(session, [interview.id]).get(interview.id, (0, 0))
        if post_ready(
            expected=expected,
            submitted=submitted,
            ends_at=interview.ends_at,
            deadline=policy.summary_deadline,
            now=now,
        ):
            interview.summary_due_at = now
        elif due is None and now < interview.ends_at + policy.summary_deadline:
            interview.summary_due_at = interview.ends_at + policy.summary_deadline
        session.flush()
        return
    if (
        interview.summary_pending is None
        and interview.state == InterviewState.SUMMARISED
        and interview.summary_ts is not None
    ):
        interview.summary_pending = SummaryStep.UPDATE
        interview.summary_due_at = now
        interview.summary_claimed_seq = None
        interview.summary_attempts = 0
        interview.summary_error = None
        session.flush()
