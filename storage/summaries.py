"""The hiring-channel summary: when it is due, claiming its work, recording what Slack said.

An interview's summary goes through up to three units of work, named by
``interviews.summary_pending`` and due at ``interviews.summary_due_at``:

``post``
    Post the summary message. Due as soon as every expected panel member (every
    request not ``declined``) has submitted; at ``summary.deadline`` after the
    interview's end if at least one has (a partial summary naming who is
    missing); never with no feedback at all: then it waits (``summary_due_at``
    NULL) until the first feedback arrives. :func:`mark_summary_posted` records
    the message and makes the interview ``summarised``.
``finish``
    The thread under the message: each interviewer's reply (packed into as few
    messages as fit), then the heatmap.
    A unit of its own, so a crash between the post and the replies loses
    nothing and never reposts the summary.
``update``
    Feedback was submitted or edited after the message was posted:
    ``chat.update`` the same message, then a thread reply saying what changed
    (:func:`changed_since_summary`) with the changed interviewers' replies.

Every creation or edit of an interview's feedback is numbered
(``interviews.feedback_seq``, ``feedback.seq``; ``feedback.first_seq`` for its
creation) under the interview's row lock, so what a message reflects never
depends on clocks, which may stand still (tests, the demo) or disagree (several
replicas). Claiming a unit notes the number reached (``summary_claimed_seq``);
the data is read after the claim, so the message reflects at least that much,
and recording the unit stores it as ``summary_seq``. A change numbered above
``summary_seq`` is what an ``update`` brings in; feedback first given after the
posted message (``first_seq > summary_posted_seq``) is *late*, and shown as such.

The sweep runs each step in a short transaction of its own and never holds one
across a Slack call::

    with factory.begin() as session:
        jobs = claim_due_summaries(session, now=now, policy=policy)
    for job in jobs:                     # e.g. job.kind == "post"
        with factory.begin() as session:
            data = load_summary_data(session, job.interview_id)
        try:
            channel, ts = post_summary(data)                  # Slack
        except SlackError as exc:
            with factory.begin() as session:
                failure = record_summary_failure(session, job.interview_id,
                                                 error=exc.code, now=now)
            if failure.notify_recruiter:
                ...                      # DM the recruiter how to invite the bot
        else:
            with factory.begin() as session:
                mark_summary_posted(session, job.interview_id, channel=channel, ts=ts,
                                    now=now)

A claim (:mod:`storage.jobs`) moves ``summary_due_at`` a lease into the future
with a conditional UPDATE (and, on PostgreSQL, reads with ``FOR UPDATE SKIP
LOCKED``), so two
sweeps never claim the same unit, and a unit whose sweep died falls due again
when the lease ends. While a ``post`` is claimed (``summary_claimed_seq`` set),
nothing makes it due again before its lease ends, so one interview never gets
two summary messages unless a Slack call outlasts the lease or a process dies
between Slack's answer and the commit of :func:`mark_summary_posted` (delivery
is at least once, as for the form DMs).

Decisions:

* Feedback that arrives while ``finish`` is pending keeps ``finish`` pending:
  the finish renders its replies from the latest feedback anyway, and
  :func:`mark_summary_finished` then moves on to ``update`` when anything
  changed after the data of the post was read, so the message itself catches
  up. A finish that skips the interviewers of :func:`changed_since_summary`
  leaves their replies to that update, and no reply is posted twice.
* A change between a claim and the read of the data is shown by that unit and
  still counted as not shown: at worst one ``update`` more than needed, never
  one too few.
* A failed unit keeps its kind. Transient errors back off as the form DMs do
  (:func:`storage.jobs.backoff`); ``not_in_channel`` and
  ``channel_not_found`` are retried every :data:`SUMMARY_CHANNEL_RETRY` and
  ask the caller to tell the recruiter, once per interview.
* The deadline is configuration: the claim (and every transition) computes it
  from the ``policy`` it is given, so a changed ``summary.deadline`` applies to
  interviews already scheduled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.audit import record_audit
from storage.jobs import DEFAULT_LEASE, Retry, due_rows, move_due, record_failure
from storage.locking import lock_interview, rowcount
from storage.models import (
    Feedback,
    FeedbackRequest,
    Interview,
    InterviewState,
    OutboxEvent,
    RequestState,
    SummaryStep,
)
from storage.policy import FeedbackPolicy
from storage.queries import LIVE_INTERVIEW_STATES
from storage.summary_data import changed_since_summary, load_summary_data, summary_for_viewer
from storage.summary_due import (
    note_panel_change,
    panel_counts,
    post_due,
)

__all__ = [
    "SUMMARY_CHANNEL_ERRORS",
    "SUMMARY_CHANNEL_RETRY",
    "SummaryFailure",
    "SummaryJob",
    "SummaryKind",
    "changed_since_summary",
    "claim_due_summaries",
    "load_summary_data",
    "mark_summary_finished",
    "mark_summary_posted",
    "mark_summary_updated",
    "note_panel_change",
    "record_summary_failure",
    "summary_for_viewer",
]

SummaryKind = Literal["post", "finish", "update"]

#: Slack errors only a person can fix (invite the bot, fix the channel): retried
#: every :data:`SUMMARY_CHANNEL_RETRY`, and the recruiter is told once.
SUMMARY_CHANNEL_ERRORS: frozenset[str] = frozenset({"not_in_channel", "channel_not_found"})

SUMMARY_CHANNEL_RETRY = timedelta(hours=6)

# Nothing stops a summary for good: channel errors wait for a person, the rest back off.
_RETRY = Retry(fixed=dict.fromkeys(SUMMARY_CHANNEL_ERRORS, SUMMARY_CHANNEL_RETRY))

_ERROR_MAX_CHARS = 255  # interviews.summary_error is VARCHAR(255)

_KINDS: dict[SummaryStep, SummaryKind] = {
    SummaryStep.POST: "post",
    SummaryStep.FINISH: "finish",
    SummaryStep.UPDATE: "update",
}


@dataclass(frozen=True)
class SummaryJob:
    """One claimed unit of summary work."""

    interview_id: int
    kind: SummaryKind


@dataclass(frozen=True)
class SummaryFailure:
    """What :func:`record_summary_failure` decided.

    Attributes:
        retry_at: when the same unit falls due again.
        notify_recruiter: tell the recruiter the bot cannot post in the hiring
            channel (and how to invite it); True at most once per interview.
        recorded: False if nothing was pending (the interview is unknown, was
            cancelled or archived meanwhile, or the unit was recorded already):
            nothing changed, nothing will be retried.
    """

    retry_at: datetime
    notify_recruiter: bool
    recorded: bool = True


# ---------------------------------------------------------------------------
# Claiming


def claim_due_summaries(
    session: Session,
    *,
    now: datetime,
    policy: FeedbackPolicy,
    lease: timedelta = DEFAULT_LEASE,
    limit: int = 20,
) -> list[SummaryJob]:
    """Claim up to ``limit`` units of summary work that are due, oldest first.

    Due: ``summary_pending`` set, ``summary_due_at <= now``, the interview
    scheduled or summarised. A ``post`` is claimed only if it may be posted now
    (every expected member submitted, or the deadline passed with at least one
    feedback); otherwise it is moved to its deadline, or, past the deadline with
    no feedback, to no due time at all (the first feedback makes it due), and
    not returned. Each unit is claimed as every unit of the job engine is
    (:mod:`storage.jobs`): ``summary_due_at`` moves to ``now + lease`` only if
    the row is still as it was read. Commit the claim before calling Slack.
    """
    due = due_rows(
        session,
        Interview.id,
        Interview.summary_due_at,
        now=now,
        limit=limit,
        where=(
            Interview.summary_pending.is_not(None),
            Interview.state.in_(LIVE_INTERVIEW_STATES),
        ),
        columns=(Interview.summary_pending, Interview.ends_at),
    )
    counts = panel_counts(
        session, (row.id for row in due if row.summary_pending == SummaryStep.POST)
    )
    jobs: list[SummaryJob] = []
    for interview_id, seen, step, ends_at in due:
        if step == SummaryStep.POST:
            expected, submitted = counts.get(interview_id, (0, 0))
            when = post_due(
                expected=expected,
                submitted=submitted,
                ends_at=ends_at,
                deadline=policy.summary_deadline,
                now=now,
            )
            if when is None or when > now:
                # Not yet: look again at the deadline, or (None) when the first feedback comes.
                _move(session, interview_id, step, seen=seen, to=when)
                continue
        if _move(session, interview_id, step, seen=seen, to=now + lease, claim=True):
            jobs.append(SummaryJob(interview_id=interview_id, kind=_KINDS[step]))
    return jobs


def _move(
    session: Session,
    interview_id: int,
    step: SummaryStep,
    *,
    seen: datetime,
    to: datetime | None,
    claim: bool = False,
) -> bool:
    """Move one due unit from ``seen`` to ``to`` (:func:`storage.jobs.move_due`).

    A claim notes the feedback change number reached; otherwise any stale claim
    (its lease ended) is dropped.
    """
    return move_due(
        session,
        Interview.id,
        Interview.summary_due_at,
        interview_id,
        seen=seen,
        to=to,
        where=(Interview.summary_pending == step,),
        values={"summary_claimed_seq": Interview.feedback_seq if claim else None},
    )


# ---------------------------------------------------------------------------
# Recording helpers


def _changed_after(session: Session, interview_id: int, after: int) -> bool:
    return bool(
        session.scalar(
            sa.select(
                sa.exists().where(
                    Feedback.request_id == FeedbackRequest.id,
                    FeedbackRequest.interview_id == interview_id,
                    FeedbackRequest.state != RequestState.DECLINED,
                    Feedback.seq > after,
                )
            )
        )
    )


# ---------------------------------------------------------------------------
# Recording


def _pending(session: Session, interview_id: int, step: SummaryStep) -> Interview | None:
    """The interview, locked, if ``step`` is its pending unit (else None: nothing to record)."""
    interview = lock_interview(session, interview_id)
    return interview if interview is not None and interview.summary_pending == step else None


def mark_summary_posted(
    session: Session,
    interview_id: int,
    *,
    channel: str,
    ts: str,
    now: datetime,
    included_until: datetime | None = None,
) -> bool:
    """Record that the summary message was posted: ``post`` -> ``finish``.

    Stores the message's ``channel`` and ``ts`` (for its thread and updates) and
    ``summary_posted_at = now``; the interview becomes ``summarised`` (submitted
    feedback is locked under ``feedback.editable_until: summary``), the
    ``finish`` is due now, and the failure count is reset. The message reflects
    the feedback changes up to the claim (see the module docstring). Audited as
    ``summary.posted`` with ``partial``, ``submitted`` and ``expected``.

    Args:
        included_until: when the message's data was read, stored as
            ``summary_updated_at`` (informational; default ``now``).

    Returns:
        True if this call made the transition; False, changing nothing, if no
        ``post`` is pending (recorded already, cancelled or archived meanwhile,
        unknown interview).
    """
    interview = _pending(session, interview_id, SummaryStep.POST)
    if interview is None:
        return False
    reflects = _reflected(interview)
    if not _advance(
        session,
        interview_id,
        SummaryStep.POST,
        to=SummaryStep.FINISH,
        now=now,
        state=InterviewState.SUMMARISED,
        summary_channel=channel,
        summary_ts=ts,
        summary_posted_at=now,
        summary_updated_at=included_until or now,
        summary_seq=reflects,
        summary_posted_seq=reflects,
    ):  # pragma: no cover - the row is locked
        return False
    expected, submitted = panel_counts(session, [interview_id], given_by=reflects).get(
        interview_id, (0, 0)
    )
    session.add(OutboxEvent(event="summary.posted", interview_id=interview_id, created_at=now))
    _audit(
        session,
        "summary.posted",
        interview_id,
        now,
        {"partial": submitted < expected, "submitted": submitted, "expected": expected},
    )
    return True


def mark_summary_finished(session: Session, interview_id: int, *, now: datetime) -> bool:
    """Record that the summary's thread is done: ``finish`` -> nothing, or ``update``.

    ``update`` (due now) if any feedback was given or edited after the posted
    message's data was read, typically while its thread was being written.
    Audited as ``summary.finished``.

    Returns:
        True if this call made the transition; False, changing nothing, if no
        ``finish`` is pending.
    """
    again = _finish_unit(session, interview_id, SummaryStep.FINISH, now=now)
    if again is None:
        return False
    _audit(
        session,
        "summary.finished",
        interview_id,
        now,
        {"next": SummaryStep.UPDATE.value if again else None},
    )
    return True


def mark_summary_updated(
    session: Session, interview_id: int, *, now: datetime, included_until: datetime
) -> bool:
    """Record that the message was updated: ``update`` -> nothing, or ``update`` again.

    The message now reflects the feedback changes up to the claim; a change
    after it keeps ``update`` pending, due now. ``included_until`` (when the
    message's data was read) is stored as ``summary_updated_at``. Audited as
    ``summary.updated``.

    Returns:
        True if this call made the transition; False, changing nothing, if no
        ``update`` is pending.
    """
    again = _finish_unit(
        session, interview_id, SummaryStep.UPDATE, now=now, summary_updated_at=included_until
    )
    if again is None:
        return False
    session.add(OutboxEvent(event="summary.updated", interview_id=interview_id, created_at=now))
    _audit(session, "summary.updated", interview_id, now, {"again": again})
    return True


def _audit(
    session: Session, action: str, interview_id: int, now: datetime, detail: dict[str, object]
) -> None:
    record_audit(
        session,
        actor="system",
        action=action,
        entity="interview",
        entity_id=interview_id,
        detail=detail,
        at=now,
    )


def _reflected(interview: Interview) -> int:
    """The feedback change number a message rendered for the pending unit reflects.

    The number reached when the unit was claimed (its data was read after the
    claim); without a claim (a caller that did not claim), every change so far.
    """
    claimed = interview.summary_claimed_seq
    return interview.feedback_seq if claimed is None else claimed


def _finish_unit(
    session: Session, interview_id: int, step: SummaryStep, *, now: datetime, **values: object
) -> bool | None:
    """Record the pending ``finish`` or ``update`` done, under the interview's row lock.

    Returns whether an ``update`` follows (due now: a change the message does
    not reflect), or None if ``step`` was not pending (nothing changed).
    """
    interview = _pending(session, interview_id, step)
    if interview is None:
        return None
    if step == SummaryStep.FINISH:
        # The thread goes with the posted message: compare with what it reflects.
        reflects = interview.summary_seq
    else:
        reflects = values["summary_seq"] = _reflected(interview)
    again = reflects is not None and _changed_after(session, interview_id, reflects)
    if not _advance(
        session, interview_id, step, to=SummaryStep.UPDATE if again else None, now=now, **values
    ):  # pragma: no cover - the row is locked
        return None
    return again


def _advance(
    session: Session,
    interview_id: int,
    step: SummaryStep,
    *,
    to: SummaryStep | None,
    now: datetime,
    **values: object,
) -> bool:
    """The pending ``step`` is done: ``to`` is pending next, due now (None: nothing more).

    Drops the claim and resets the failure count; ``values`` is what the unit
    recorded. Conditional on ``step`` being pending still.
    """
    result = session.execute(
        sa.update(Interview)
        .where(Interview.id == interview_id, Interview.summary_pending == step)
        .values(
            summary_pending=to,
            summary_due_at=None if to is None else now,
            summary_claimed_seq=None,
            summary_attempts=0,
            summary_error=None,
            updated_at=now,
            **values,
        )
        .execution_options(synchronize_session="fetch")
    )
    return rowcount(result) == 1


def record_summary_failure(
    session: Session, interview_id: int, *, error: str, now: datetime
) -> SummaryFailure:
    """Record a failed Slack call for the pending unit, which stays pending, and when to retry.

    ``error`` (Slack's error code, or a short description) is stored in
    ``summary_error``, truncated to 255 characters, and ``summary_attempts``
    counts up. A channel error (:data:`SUMMARY_CHANNEL_ERRORS`) is retried after
    :data:`SUMMARY_CHANNEL_RETRY`, audited as ``summary.failed``, and asks the
    caller to tell the recruiter the first time only; any other error backs off
    as the form DMs do (:func:`storage.jobs.backoff`: 30 s doubling to 1 h).
    """
    interview = lock_interview(session, interview_id)
    if interview is None or interview.summary_pending is None:
        return SummaryFailure(retry_at=now, notify_recruiter=False, recorded=False)
    step = interview.summary_pending
    error = error[:_ERROR_MAX_CHARS]
    channel_error = error in SUMMARY_CHANNEL_ERRORS
    delay = _RETRY.delay(error, interview.summary_attempts + 1)
    retry_at = now if delay is None else now + delay  # never None: nothing is permanent
    notify = channel_error and not interview.summary_notified
    if not record_failure(
        session,
        Interview.id,
        Interview.summary_due_at,
        interview_id,
        attempts=Interview.summary_attempts,
        error_column=Interview.summary_error,
        error=error,
        delay=delay,
        now=now,
        where=(Interview.summary_pending == step,),
        values={
            "summary_claimed_seq": None,
            "summary_notified": interview.summary_notified or notify,
        },
    ):  # pragma: no cover - the row is locked
        return SummaryFailure(retry_at=now, notify_recruiter=False, recorded=False)
    if channel_error:
        _audit(
            session,
            "summary.failed",
            interview_id,
            now,
            {"step": step.value, "error": error, "notify_recruiter": notify},
        )
    return SummaryFailure(retry_at=retry_at, notify_recruiter=notify)
