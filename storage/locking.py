"""Small SQL helpers shared by the state transitions: row counts and the one row lock."""

from __future__ import annotations

from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from storage.models import Base, Interview

__all__ = ["lock_interview", "lock_row", "rowcount"]

_Row = TypeVar("_Row", bound=Base)


def rowcount(result: object) -> int:
    """Rows a conditional UPDATE/DELETE touched: how a claim or transition knows it won."""
    # Session.execute is typed as returning Result; DML returns a CursorResult.
    assert isinstance(result, CursorResult)
    return result.rowcount


def lock_row(session: Session, model: type[_Row], *where: sa.ColumnElement[bool]) -> _Row | None:
    """The one row of ``model`` matching ``where``, re-read and locked for this transaction.

    FOR UPDATE on PostgreSQL (SQLite serialises write transactions anyway), so
    transitions of one row take turns; re-read (``populate_existing``), so what
    the session held before the lock never hides a change committed meanwhile.
    """
    return session.scalars(
        sa.select(model).where(*where).with_for_update().execution_options(populate_existing=True)
    ).one_or_none()


def lock_interview(session: Session, interview_id: int) -> Interview | None:
    """The interview, re-read and locked (:func:`lock_row`).

    Concurrent submissions, declines and summary transitions for one interview
    take turns, and the summary's due time stays right.
    """
    return lock_row(session, Interview, Interview.id == interview_id)
