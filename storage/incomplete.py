"""Interviews a source could not complete: stored, never sent, never guessed.

storage.intake stores one per ``external_id`` (``upsert_incomplete``) with the
import-row keys the source gave and what is missing; the recruiter is told in
Slack (``notify_due_at`` is a job-engine due column, claimed with
storage.jobs.claim_due by handlers.incomplete), and completing it in the schedule
modal creates the interview and resolves the row in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.incomplete_view import IncompleteView
from storage.jobs import Claimed, backoff, claim_due
from storage.models import IncompleteInterview

__all__ = [
    "DoneNotice",
    "IncompleteView",
    "all_incomplete",
    "claim_due_incomplete",
    "drop_incomplete",
    "incomplete_for",
    "load_due_incomplete",
    "load_incomplete",
    "mark_incomplete_notified",
    "record_incomplete_failure",
    "resolve_incomplete",
    "upsert_incomplete",
]

_ERROR_MAX = 255


def _view(row: IncompleteInterview) -> IncompleteView:
    return IncompleteView(
        id=row.id,
        source=row.source,
        external_id=row.external_id,
        row=dict(row.row or {}),
        missing=tuple(
            (str(m.get("field", "")), str(m.get("message", "")))
            for m in (row.missing or [])
            if isinstance(m, dict)
        ),
        recruiter=row.recruiter,
        notified_at=row.notified_at,
        last_error=row.last_error,
        created_at=row.created_at,
    )


def _open(session: Session, external_id: str) -> IncompleteInterview | None:
    return session.scalars(
        sa.select(IncompleteInterview).where(IncompleteInterview.external_id == external_id)
    ).one_or_none()


def upsert_incomplete(
    session: Session,
    *,
    source: str,
    external_id: str,
    row: Mapping[str, Any],
    missing: Sequence[Mapping[str, str]],
    recruiter: str | None,
    now: datetime,
) -> bool:
    """Store (or refresh) what a source gave for ``external_id``; True if anything changed.

    The recruiter is told (again) whenever the row or what is missing changed; a
    replay of the same row changes nothing and sends nothing. A row resolved
    earlier (its interview exists) is reopened: the source's latest version could
    not be applied.
    """
    stored = _open(session, external_id)
    wanted_missing = [dict(m) for m in missing]
    if stored is None:
        session.add(
            IncompleteInterview(
                source=source,
                external_id=external_id,
                row=dict(row),
                missing=wanted_missing,
                recruiter=recruiter,
                notify_due_at=now,
                created_at=now,
                updated_at=now,
            )
        )
        session.flush()
        return True
    same = (
        stored.row == dict(row)
        and stored.missing == wanted_missing
        and stored.recruiter == recruiter
        and stored.source == source
        and stored.resolved_interview_id is None
    )
    if same:
        return False
    stored.source = source
    stored.row = dict(row)
    stored.missing = wanted_missing
    stored.recruiter = recruiter
    stored.resolved_interview_id = None
    stored.notified_dms = []
    stored.notify_due_at = now
    stored.notify_attempts = 0
    stored.last_error = None
    stored.updated_at = now
    session.flush()
    return True


def resolve_incomplete(
    session: Session, external_id: str, interview_id: int, now: datetime
) -> bool:
    """The interview exists now: the incomplete row is done (nothing more is sent for it)."""
    stored = _open(session, external_id)
    if stored is None or stored.resolved_interview_id == interview_id:
        return False
    stored.resolved_interview_id = interview_id
    # The recruiters' DMs still offer the button: the job kind updates them.
    stored.notify_due_at = now if stored.notified_dms else None
    stored.notify_attempts = 0
    stored.updated_at = now
    session.flush()
    return True


def drop_incomplete(session: Session, external_id: str) -> bool:
    """The source cancelled it: nobody needs to complete it any more. True if one was open."""
    stored = _open(session, external_id)
    if stored is None or stored.resolved_interview_id is not None:
        return False
    session.delete(stored)
    session.flush()
    return True


def _open_rows() -> sa.Select[IncompleteInterview]:
    return (
        sa.select(IncompleteInterview)
        .where(IncompleteInterview.resolved_interview_id.is_(None))
        .order_by(IncompleteInterview.created_at, IncompleteInterview.id)
    )


def incomplete_for(session: Session, recruiter: str, *, limit: int = 50) -> list[IncompleteView]:
    """The open incomplete interviews ``recruiter`` is asked to complete (theirs, or nobody's)."""
    rows = session.scalars(
        _open_rows()
        .where(
            sa.or_(
                IncompleteInterview.recruiter == recruiter,
                IncompleteInterview.recruiter.is_(None),
            )
        )
        .limit(limit)
    ).all()
    return [_view(row) for row in rows]


def all_incomplete(session: Session) -> list[IncompleteView]:
    """Every open incomplete interview, oldest first (``interview-bot sources status``)."""
    return [_view(row) for row in session.scalars(_open_rows()).all()]


def load_incomplete(session: Session, incomplete_id: int) -> IncompleteView | None:
    """An open incomplete interview by id; None once resolved or dropped."""
    row = session.get(IncompleteInterview, incomplete_id)
    if row is None or row.resolved_interview_id is not None:
        return None
    return _view(row)


def claim_due_incomplete(session: Session, *, now: datetime, limit: int = 20) -> list[Claimed]:
    """Claim incomplete interviews due a DM, or whose DMs must say they are done (a lease)."""
    return claim_due(
        session, IncompleteInterview.id, IncompleteInterview.notify_due_at, now=now, limit=limit
    )


@dataclass(frozen=True)
class DoneNotice:
    """A completed incomplete interview whose recruiters' DMs still offer the button."""

    item: IncompleteView
    interview_id: int
    dms: tuple[tuple[str, str], ...]  # (channel, ts)


def load_due_incomplete(session: Session, incomplete_id: int) -> IncompleteView | DoneNotice | None:
    """What a claimed unit is: an open one to tell, a completed one to update, or gone."""
    row = session.get(IncompleteInterview, incomplete_id)
    if row is None:
        return None
    if row.resolved_interview_id is None:
        return _view(row)
    dms = tuple(
        (str(d[0]), str(d[1]))
        for d in row.notified_dms or []
        if isinstance(d, list) and len(d) == 2
    )
    return DoneNotice(_view(row), row.resolved_interview_id, dms)


def mark_incomplete_notified(
    session: Session, incomplete_id: int, *, now: datetime, dms: Sequence[tuple[str, str]] = ()
) -> None:
    """Told (``dms`` sent), or, for a completed one, its DMs updated (``dms`` empty)."""
    row = session.get(IncompleteInterview, incomplete_id)
    if row is None:
        return
    row.notified_dms = [list(dm) for dm in dms]
    row.last_error = None
    row.updated_at = now
    if dms:
        row.notified_at = now
    # Completed while the DM was on its way: it falls due again, to say so.
    row.notify_due_at = now if dms and row.resolved_interview_id is not None else None
    session.flush()


def record_incomplete_failure(
    session: Session, incomplete_id: int, *, error: str, permanent: bool, now: datetime
) -> timedelta | None:
    """A DM failed: a permanent error stops trying; a transient one backs off. Returns the wait."""
    row = session.get(IncompleteInterview, incomplete_id)
    if row is None:
        return None
    row.notify_attempts += 1
    row.last_error = error[:_ERROR_MAX]
    row.updated_at = now
    wait = None if permanent else backoff(row.notify_attempts)
    row.notify_due_at = None if wait is None else now + wait
    session.flush()
    return wait
