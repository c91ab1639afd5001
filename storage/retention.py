"""Retention: delete the candidate data of interviews that ended before a cutoff.

An interview that ended before the cutoff is over, whatever its state, so the
age of its end is the only test. Purging one deletes its row, and through
``ON DELETE CASCADE`` its feedback requests, feedback, skill ratings and drafts.
Its audit events stay (the record that things happened, and who did them), with
their ``detail`` reduced by :func:`scrub_audit_detail` to counts, ids and state
names, and one ``interview.purged`` event is added, without personal data.

Work goes in batches, each one transaction, so a large purge never holds one
long lock; on PostgreSQL a batch skips interviews another transaction has
locked (they are purged next time). Rubric snapshots, cached Slack time zones
and digest bookkeeping hold no candidate data and are kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from storage.audit import record_audit
from storage.locking import rowcount
from storage.models import (
    AuditEvent,
    Feedback,
    FeedbackDraft,
    FeedbackRequest,
    Interview,
    InterviewState,
    SkillRating,
)

__all__ = [
    "PURGE_BATCH",
    "ExpiredInterview",
    "PurgeReport",
    "purge_batch",
    "purge_expired",
    "scrub_audit_detail",
]

#: Interviews per transaction.
PURGE_BATCH = 100

# Audit detail keys whose text values are identifiers, state names or Slack error
# codes (see the record_audit calls in storage/). Any other text is dropped on
# purge: e.g. an import's ``source`` is a file path, which may name the candidate.
_SAFE_TEXT_KEYS = frozenset(
    {
        "action",
        "changed",
        "error",
        "from",
        "next",
        "reason",
        "request",
        "roles",
        "step",
        "surface",
        "until",
    }
)


@dataclass(frozen=True)
class ExpiredInterview:
    """An interview past retention, described without personal data."""

    interview_id: int
    state: str
    ends_at: datetime
    requests: int
    feedback: int
    ratings: int
    drafts: int


@dataclass
class PurgeReport:
    """What a purge did (or, in a dry run, would do)."""

    cutoff: datetime
    dry_run: bool = False
    interviews: list[ExpiredInterview] = field(default_factory=list)
    audit_scrubbed: int = 0  # audit events whose detail lost personal data

    @property
    def requests(self) -> int:
        return sum(i.requests for i in self.interviews)

    @property
    def feedback(self) -> int:
        return sum(i.feedback for i in self.interviews)

    @property
    def ratings(self) -> int:
        return sum(i.ratings for i in self.interviews)

    @property
    def drafts(self) -> int:
        return sum(i.drafts for i in self.interviews)


def scrub_audit_detail(detail: Mapping[str, Any]) -> dict[str, Any]:
    """``detail`` without personal data: what is kept of a purged interview's audit events.

    Numbers, booleans and nulls stay; text stays only under the keys known to
    hold ids, state names or error codes; a list of anything else (the Slack IDs
    an import added to a panel) becomes its length; anything else is dropped.
    """
    kept: dict[str, Any] = {}
    for key, value in detail.items():
        scalar = value is None or isinstance(value, bool | int | float)
        if scalar or (key in _SAFE_TEXT_KEYS and isinstance(value, str)):
            kept[key] = value
        elif isinstance(value, list):
            safe = key in _SAFE_TEXT_KEYS and all(isinstance(v, str) for v in value)
            kept[key] = value if safe else len(value)
    return kept


def purge_batch(
    session: Session, *, cutoff: datetime, now: datetime, actor: str, after_id: int = 0, limit: int
) -> tuple[list[ExpiredInterview], int]:
    """Purge up to ``limit`` interviews that ended before ``cutoff`` (ids above ``after_id``).

    One batch, in the caller's transaction: the interviews' rows (their requests,
    feedback, ratings and drafts go with them by cascade), their audit details
    scrubbed, one ``interview.purged`` event each by ``actor``.

    Returns:
        The purged interviews, by id, and the number of audit events scrubbed.
    """
    rows = session.execute(
        _expired_query(cutoff, after_id, limit).with_for_update(skip_locked=True)
    ).all()
    if not rows:
        return [], 0
    expired, request_ids, feedback_ids = _describe(session, rows)
    ids = [e.interview_id for e in expired]
    scrubbed = _scrub_audit(session, ids, request_ids, feedback_ids, apply=True)
    deleted = rowcount(session.execute(sa.delete(Interview).where(Interview.id.in_(ids))))
    if deleted != len(ids):  # pragma: no cover - the rows are locked (or SQLite is serial)
        raise RuntimeError(f"purge deleted {deleted} of {len(ids)} interviews; rolled back")
    for item in expired:
        record_audit(
            session,
            actor=actor,
            action="interview.purged",
            entity="interview",
            entity_id=item.interview_id,
            # Counts, a state name and dates: nothing about the candidate or the panel.
            detail={
                "state": item.state,
                "ended": item.ends_at.date().isoformat(),
                "cutoff": cutoff.isoformat(),
                "requests": item.requests,
                "feedback": item.feedback,
                "ratings": item.ratings,
                "drafts": item.drafts,
            },
            at=now,
        )
    return expired, scrubbed


def purge_expired(
    session_factory: sessionmaker[Session],
    *,
    cutoff: datetime,
    now: datetime,
    actor: str,
    dry_run: bool = False,
    batch_size: int = PURGE_BATCH,
    should_stop: Callable[[], bool] | None = None,
) -> PurgeReport:
    """Purge every interview that ended before ``cutoff``, one transaction per batch.

    Unlike most of ``storage`` this owns its transactions: a batch is atomic,
    the whole purge deliberately is not. ``dry_run`` reads the same batches and
    reports what would go, writing nothing. ``should_stop`` is asked between
    batches (a stopping sweep leaves the rest for next time). Idempotent: a
    second purge with the same cutoff finds nothing.
    """
    report = PurgeReport(cutoff=cutoff, dry_run=dry_run)
    after = 0
    while should_stop is None or not should_stop():
        if dry_run:
            with session_factory() as session:  # read only: closing it rolls back
                batch, scrubbed = _preview_batch(session, cutoff, after, batch_size)
        else:
            with session_factory.begin() as session:
                batch, scrubbed = purge_batch(
                    session, cutoff=cutoff, now=now, actor=actor, after_id=after, limit=batch_size
                )
        report.interviews.extend(batch)
        report.audit_scrubbed += scrubbed
        if len(batch) < batch_size:
            break
        after = batch[-1].interview_id
    return report


def _preview_batch(
    session: Session, cutoff: datetime, after_id: int, limit: int
) -> tuple[list[ExpiredInterview], int]:
    rows = session.execute(_expired_query(cutoff, after_id, limit)).all()
    if not rows:
        return [], 0
    expired, request_ids, feedback_ids = _describe(session, rows)
    ids = [e.interview_id for e in expired]
    return expired, _scrub_audit(session, ids, request_ids, feedback_ids, apply=False)


def _expired_query(
    cutoff: datetime, after_id: int, limit: int
) -> sa.Select[int, InterviewState, datetime]:
    return (
        sa.select(Interview.id, Interview.state, Interview.ends_at)
        .where(Interview.ends_at < cutoff, Interview.id > after_id)
        .order_by(Interview.id)
        .limit(limit)
    )


def _describe(
    session: Session, rows: Sequence[sa.Row[int, InterviewState, datetime]]
) -> tuple[list[ExpiredInterview], list[int], list[int]]:
    """Each interview with the number of rows that hang from it; its request and feedback ids."""
    ids = [row[0] for row in rows]
    requests = session.execute(
        sa.select(FeedbackRequest.interview_id, FeedbackRequest.id).where(
            FeedbackRequest.interview_id.in_(ids)
        )
    ).all()
    feedback = session.execute(
        sa.select(FeedbackRequest.interview_id, Feedback.id)
        .join(Feedback, Feedback.request_id == FeedbackRequest.id)
        .where(FeedbackRequest.interview_id.in_(ids))
    ).all()
    ratings = _count_by_interview(
        session,
        sa.select(FeedbackRequest.interview_id, sa.func.count())
        .join(Feedback, Feedback.request_id == FeedbackRequest.id)
        .join(SkillRating, SkillRating.feedback_id == Feedback.id),
        ids,
    )
    drafts = _count_by_interview(
        session,
        sa.select(FeedbackRequest.interview_id, sa.func.count()).join(
            FeedbackDraft, FeedbackDraft.request_id == FeedbackRequest.id
        ),
        ids,
    )
    per_request = Counter(owner for owner, _ in requests)
    per_feedback = Counter(owner for owner, _ in feedback)
    expired = [
        ExpiredInterview(
            interview_id=interview_id,
            state=InterviewState(state).value,
            ends_at=ends_at,
            requests=per_request[interview_id],
            feedback=per_feedback[interview_id],
            ratings=ratings.get(interview_id, 0),
            drafts=drafts.get(interview_id, 0),
        )
        for interview_id, state, ends_at in rows
    ]
    return expired, [r for _, r in requests], [f for _, f in feedback]


def _count_by_interview(
    session: Session, query: sa.Select[int, int], ids: Sequence[int]
) -> dict[int, int]:
    rows = session.execute(
        query.where(FeedbackRequest.interview_id.in_(ids)).group_by(FeedbackRequest.interview_id)
    ).all()
    return {interview_id: count for interview_id, count in rows}


def _scrub_audit(
    session: Session,
    interview_ids: Iterable[int],
    request_ids: Iterable[int],
    feedback_ids: Iterable[int],
    *,
    apply: bool,
) -> int:
    """Scrub the audit events of these interviews, their requests and feedback; how many changed."""
    linked = [
        ("interview", [str(i) for i in interview_ids]),
        ("request", [str(i) for i in request_ids]),
        ("feedback", [str(i) for i in feedback_ids]),
    ]
    events = session.scalars(
        sa.select(AuditEvent).where(
            sa.or_(
                *(
                    sa.and_(AuditEvent.entity == entity, AuditEvent.entity_id.in_(entity_ids))
                    for entity, entity_ids in linked
                    if entity_ids
                )
            )
        )
    )
    changed = 0
    for event in events:
        if not event.detail:
            continue
        clean = scrub_audit_detail(event.detail)
        if clean != event.detail:
            changed += 1
            if apply:
                event.detail = clean
    if apply:
        session.flush()
    return changed
