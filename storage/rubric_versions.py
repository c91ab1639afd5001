"""Rubric snapshots: the exact rubric an interview was scheduled with.

Storage takes the rubric as plain data (id, version, digest, definition), so it
stays independent of how ``rubric/`` models and canonicalises rubrics.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.models import RubricVersion

__all__ = ["ensure_rubric_version", "load_rubric_version"]

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def ensure_rubric_version(
    session: Session,
    *,
    rubric_id: str,
    version: str,
    digest: str,
    definition: dict[str, Any],
) -> RubricVersion:
    """Return the snapshot of ``rubric_id`` with ``digest``, inserting it if new.

    Idempotent: the same content (same digest) always maps to the same row,
    whatever ``version`` says; a change in content makes a new row. Safe when
    another transaction inserts the same snapshot concurrently: the insert runs
    in a SAVEPOINT, and on a unique violation the winner's row is returned.
    Flushes, never commits.

    Args:
        digest: sha256 hex (lowercase) of the canonical rubric JSON.
        definition: the full rubric, JSON-serialisable.

    Raises:
        ValueError: ``digest`` is not 64 lowercase hex characters.
    """
    if not _SHA256_HEX.fullmatch(digest):
        raise ValueError(f"digest must be a lowercase sha256 hex string, got {digest!r}")
    existing = _find(session, rubric_id=rubric_id, digest=digest)
    if existing is not None:
        return existing
    row = RubricVersion(rubric_id=rubric_id, version=version, digest=digest, definition=definition)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        # A concurrent transaction committed the same snapshot between our
        # SELECT and INSERT; only the SAVEPOINT was rolled back.
        winner = _find(session, rubric_id=rubric_id, digest=digest)
        if winner is None:
            raise
        return winner
    return row


def load_rubric_version(session: Session, id: int) -> RubricVersion | None:
    """Return the rubric snapshot with primary key ``id``, or None."""
    return session.get(RubricVersion, id)


def _find(session: Session, *, rubric_id: str, digest: str) -> RubricVersion | None:
    stmt = sa.select(RubricVersion).where(
        RubricVersion.rubric_id == rubric_id, RubricVersion.digest == digest
    )
    return session.scalars(stmt).one_or_none()
