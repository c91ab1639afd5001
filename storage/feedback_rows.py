"""The feedback and draft rows of storage.feedback: read, compare, write (no rules here).

The rules (who, when, what fits the rubric) are storage.feedback's; these only
move answers between :class:`~storage.views.RatingView` and the rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from storage.models import Feedback, FeedbackDraft, SkillRating
from storage.views import RatingView

__all__ = [
    "apply_answers",
    "delete_draft",
    "draft_for_update",
    "draft_ratings",
    "feedback_of",
    "rating_row",
    "ratings_json",
    "same_answers",
]


def feedback_of(session: Session, request_id: int, *, reload: bool) -> Feedback | None:
    stmt = (
        sa.select(Feedback)
        .where(Feedback.request_id == request_id)
        .options(selectinload(Feedback.ratings))
    )
    if reload:
        stmt = stmt.execution_options(populate_existing=True)
    return session.scalars(stmt).one_or_none()


def same_answers(
    feedback: Feedback, recommendation: str, notes: str, ratings: Sequence[RatingView]
) -> bool:
    stored = {r.skill_id: (r.level, r.evidence) for r in feedback.ratings}
    wanted = {r.skill_id: (r.level, r.evidence) for r in ratings}
    return (
        feedback.recommendation == recommendation and feedback.notes == notes and stored == wanted
    )


def apply_answers(
    feedback: Feedback,
    recommendation: str,
    notes: str,
    ratings: Sequence[RatingView],
    now: datetime,
) -> None:
    """Make ``feedback`` say this, updating rating rows in place (their ids keep their order)."""
    rows = {row.skill_id: row for row in feedback.ratings}
    for rating in ratings:
        row = rows.pop(rating.skill_id, None)
        if row is None:
            feedback.ratings.append(rating_row(rating))
        else:
            row.level = rating.level
            row.evidence = rating.evidence
    for row in rows.values():
        feedback.ratings.remove(row)  # delete-orphan
    feedback.recommendation = recommendation
    feedback.notes = notes
    feedback.updated_at = now


def rating_row(rating: RatingView) -> SkillRating:
    return SkillRating(skill_id=rating.skill_id, level=rating.level, evidence=rating.evidence)


def draft_for_update(session: Session, request_id: int) -> FeedbackDraft | None:
    # FOR UPDATE: two pages saved at once merge one after the other (PostgreSQL;
    # SQLite serialises every write transaction anyway).
    return session.scalars(
        sa.select(FeedbackDraft)
        .where(FeedbackDraft.request_id == request_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


def delete_draft(session: Session, request_id: int) -> None:
    # A bulk DELETE (it may be gone already: a concurrent submission deleted it),
    # synchronised with the session, so a later get() does not return it.
    session.execute(sa.delete(FeedbackDraft).where(FeedbackDraft.request_id == request_id))


def draft_ratings(draft: FeedbackDraft) -> dict[str, RatingView]:
    ratings: dict[str, RatingView] = {}
    for item in draft.ratings or ():
        if not isinstance(item, Mapping) or not isinstance(item.get("skill_id"), str):
            continue
        level = item.get("level")
        evidence = item.get("evidence")
        ratings[item["skill_id"]] = RatingView(
            skill_id=item["skill_id"],
            level=level if isinstance(level, str) else None,
            evidence=evidence if isinstance(evidence, str) else "",
        )
    return ratings


def ratings_json(ratings: Iterable[RatingView]) -> list[dict[str, Any]]:
    return [{"skill_id": r.skill_id, "level": r.level, "evidence": r.evidence} for r in ratings]
