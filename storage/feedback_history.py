"""Feedback history: every version of a feedback, and the version that counts.

Each creation or edit of a feedback writes one :class:`~storage.models.FeedbackVersion`
in the same transaction, numbered with the interview's feedback change number
(``feedback.seq``). Once the summary is posted (``interviews.summary_posted_seq``),
an edit no longer replaces the independent answers: the version numbered at or
before the post is the one the consensus, the flags and calibration use, and the
edit is shown as made after the summary (DESIGN "After a partial summary").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.models import FeedbackVersion
from storage.views import RatingView, Standing

__all__ = ["Version", "counted_versions", "record_version", "standing_of"]


@dataclass(frozen=True)
class Version:
    """A stored version's answers."""

    seq: int
    at: datetime
    recommendation: str | None
    notes: str
    ratings: tuple[RatingView, ...]


def record_version(
    session: Session,
    request_id: int,
    *,
    seq: int,
    actor: str,
    recommendation: str | None,
    notes: str,
    ratings: Iterable[RatingView],
    at: datetime,
) -> None:
    """Store one version of a request's feedback (after its change was numbered)."""
    session.add(
        FeedbackVersion(
            request_id=request_id,
            seq=seq,
            at=at,
            actor=actor,
            recommendation=recommendation,
            notes=notes,
            ratings=[
                {"skill_id": r.skill_id, "level": r.level, "evidence": r.evidence} for r in ratings
            ],
        )
    )


def standing_of(*, shadow: bool, first_seq: int, posted_seq: int | None) -> Standing:
    """Whether a feedback counts: the one rule every reader applies.

    A shadow's never counts; feedback first given after the summary was posted
    (numbered above ``posted_seq``) does not either; everything else does.
    """
    if shadow:
        return Standing.SHADOW
    if posted_seq is not None and first_seq > posted_seq:
        return Standing.AFTER_SUMMARY
    return Standing.COUNTED


def counted_versions(
    session: Session, wanted: Mapping[int, int], *, order: Sequence[str] = ()
) -> dict[int, Version]:
    """The newest version at or before a change number, per request, in one query.

    Args:
        wanted: request id -> the summary's ``summary_posted_seq`` (the last change
            the posted summary may count) for requests edited after it.
        order: skill ids in rubric order, to sort each version's ratings.

    Returns:
        request id -> that version; a request with none (history older than
        migration 0006) is absent, and the caller keeps its current answers.
    """
    if not wanted:
        return {}
    rank = {skill_id: i for i, skill_id in enumerate(order)}
    newest: dict[int, FeedbackVersion] = {}
    rows = session.scalars(
        sa.select(FeedbackVersion)
        .where(FeedbackVersion.request_id.in_(list(wanted)))
        .order_by(FeedbackVersion.request_id, FeedbackVersion.seq)
    )
    for row in rows:
        if row.seq <= wanted[row.request_id]:
            newest[row.request_id] = row
    return {request_id: _version(row, rank) for request_id, row in newest.items()}


def _version(row: FeedbackVersion, rank: Mapping[str, int]) -> Version:
    ratings = [r for r in (_rating(item) for item in row.ratings or ()) if r is not None]
    ratings.sort(key=lambda r: rank.get(r.skill_id, len(rank)))
    return Version(
        seq=row.seq,
        at=row.at,
        recommendation=row.recommendation,
        notes=row.notes,
        ratings=tuple(ratings),
    )


def _rating(item: Any) -> RatingView | None:
    if not isinstance(item, Mapping) or not isinstance(item.get("skill_id"), str):
        return None
    level, evidence = item.get("level"), item.get("evidence")
    return RatingView(
        skill_id=item["skill_id"],
        level=level if isinstance(level, str) else None,
        evidence=evidence if isinstance(evidence, str) else "",
    )
