"""Small SQL helpers shared by the state transitions: row counts and row locks."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from storage.models import Interview


def rowcount(result: object) -> int:
    """Rows a conditional UPDATE/DELETE touched: how a claim or transition knows it won."""
    # Session.execute is typed as returning Result; DML returns a CursorResult.
    assert isinstance(result, CursorResult)
    return result.rowcount


def lock_interview(session: Session, interview_id: int) -> Interview | None:
    """The interview, re-read and locked for this transaction.

    FOR UPDATE on PostgreSQL (SQLite serialises write transactions anyway), so
    concurrent submissions and declines for one interview take turns and the
    summary's due time stays right.
    """
    return session.scalars(
        sa.select(Interview)
        .where(Interview.id == interview_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
