"""The data behind calibration: summarised panels, per rubric version, over a period.

Reads only; :func:`rubric.calibration.calibrate` does the math. Only summarised
interviews count: their panels have all been shown each other's ratings, so the
figures reveal nothing an interviewer could not already see, and ratings are
never compared before the panel has submitted independently.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rubric.calibration import CalibrationPanel, VersionCalibration, calibrate
from rubric.consensus_types import PanelistInput, PanelRating
from storage.feedback_history import counted_versions, standing_of
from storage.models import Feedback, FeedbackRequest, Interview, InterviewState, SkillRating
from storage.queries import rubrics_for_versions
from storage.views import Standing

__all__ = ["VersionCalibration", "calibration_report"]


def calibration_report(
    session: Session,
    *,
    since: datetime,
    until: datetime,
    rubric_id: str | None = None,
    min_ratings: int,
) -> list[VersionCalibration]:
    """Figures per rubric version of the interviews summarised that ended in [since, until).

    Ordered by rubric id, then oldest version first; the newest of each rubric is
    marked ``latest``.
    """
    where = [
        Interview.state == InterviewState.SUMMARISED,
        Interview.ends_at >= since,
        Interview.ends_at < until,
    ]
    if rubric_id is not None:
        where.append(Interview.rubric_id == rubric_id)
    interviews = session.execute(
        sa.select(
            Interview.id, Interview.rubric_version_id, Interview.target_level, Interview.ends_at
        ).where(*where)
    ).all()
    if not interviews:
        return []
    ids = [row.id for row in interviews]
    panelists = _panelists(session, ids)
    rubrics = rubrics_for_versions(session, {row.rubric_version_id for row in interviews})

    by_version: dict[int, list[tuple[datetime, CalibrationPanel]]] = defaultdict(list)
    for row in interviews:
        by_version[row.rubric_version_id].append(
            (
                row.ends_at,
                _panel(row.id, row.target_level, panelists.get(row.id)),
            )
        )
    reports: list[VersionCalibration] = []
    for version_id, entries in by_version.items():
        rubric = rubrics[version_id]
        ends = [ends_at for ends_at, _panel in entries]
        reports.append(
            VersionCalibration(
                rubric=rubric,
                first_interview=min(ends),
                last_interview=max(ends),
                calibration=calibrate(
                    rubric, [panel for _e, panel in entries], min_ratings=min_ratings
                ),
                latest=False,
            )
        )
    reports.sort(key=lambda r: (r.rubric.id, r.last_interview, r.first_interview))
    newest: dict[str, int] = {r.rubric.id: i for i, r in enumerate(reports)}
    return [
        VersionCalibration(r.rubric, r.first_interview, r.last_interview, r.calibration, True)
        if newest[r.rubric.id] == i
        else r
        for i, r in enumerate(reports)
    ]


@dataclass
class _Given:
    """One submitted feedback of a summarised interview, as calibration reads it."""

    interview_id: int
    request_id: int
    interviewer: str
    focus: tuple[str, ...]
    recommendation: str | None
    shadow: bool
    edited_after: int | None  # the summary's posted seq, if edited after it
    ratings: list[PanelRating] = field(default_factory=list)


def _panelists(
    session: Session, interview_ids: list[int]
) -> dict[int, tuple[list[PanelistInput], list[PanelistInput]]]:
    """``(panel, observers)`` per interview: the counted feedback, and shadows' feedback.

    One rule (:func:`storage.feedback_history.standing_of`): feedback first given
    after the summary was posted is left out; for an edit after it, the version
    from before counts; shadows are observers, compared with the panel, never
    part of it. Evidence text is never read: calibration needs levels only.
    """
    given: dict[int, _Given] = {}
    for chunk in _chunks(interview_ids, 500):
        for row in session.execute(
            sa.select(
                Feedback.id,
                Feedback.first_seq,
                Feedback.seq,
                FeedbackRequest.id.label("request_id"),
                FeedbackRequest.interview_id,
                FeedbackRequest.interviewer,
                FeedbackRequest.focus_skills,
                FeedbackRequest.shadow,
                Feedback.recommendation,
                Interview.summary_posted_seq,
            )
            .join(Feedback, Feedback.request_id == FeedbackRequest.id)
            .join(Interview, Interview.id == FeedbackRequest.interview_id)
            .where(FeedbackRequest.interview_id.in_(chunk))
        ):
            posted = row.summary_posted_seq
            standing = standing_of(shadow=row.shadow, first_seq=row.first_seq, posted_seq=posted)
            if standing == Standing.AFTER_SUMMARY:
                continue
            edited = posted is not None and row.seq > posted and not row.shadow
            given[row.id] = _Given(
                row.interview_id,
                row.request_id,
                row.interviewer,
                tuple(str(s) for s in (row.focus_skills or [])),
                row.recommendation,
                row.shadow,
                posted if edited else None,
            )
        for rating in session.execute(
            sa.select(SkillRating.feedback_id, SkillRating.skill_id, SkillRating.level)
            .join(Feedback, Feedback.id == SkillRating.feedback_id)
            .join(FeedbackRequest, FeedbackRequest.id == Feedback.request_id)
            .where(FeedbackRequest.interview_id.in_(chunk))
        ):
            if rating.feedback_id in given:
                given[rating.feedback_id].ratings.append(
                    PanelRating(rating.skill_id, rating.level, has_evidence=False)
                )
    _use_counted_versions(session, [g for g in given.values() if g.edited_after is not None])
    out: dict[int, tuple[list[PanelistInput], list[PanelistInput]]] = defaultdict(lambda: ([], []))
    for g in given.values():
        entry = PanelistInput(g.interviewer, g.focus, g.recommendation, tuple(g.ratings))
        out[g.interview_id][1 if g.shadow else 0].append(entry)
    return out


def _use_counted_versions(session: Session, edited: list[_Given]) -> None:
    """Replace the answers of feedback edited after its summary by the version that counts."""
    versions = counted_versions(
        session, {g.request_id: g.edited_after for g in edited if g.edited_after is not None}
    )
    for g in edited:
        version = versions.get(g.request_id)
        if version is None:
            continue  # history older than migration 0006: the current answers stand
        g.recommendation = version.recommendation
        g.ratings = [PanelRating(r.skill_id, r.level, has_evidence=False) for r in version.ratings]


def _panel(
    interview_id: int,
    target_level: str,
    given: tuple[list[PanelistInput], list[PanelistInput]] | None,
) -> CalibrationPanel:
    panel, observers = given or ([], [])
    return CalibrationPanel(interview_id, target_level, tuple(panel), observers=tuple(observers))


def _chunks(items: list[int], size: int) -> list[list[int]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
