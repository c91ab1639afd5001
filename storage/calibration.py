"""The data behind calibration: summarised panels, per rubric version, over a period.

Reads only; :func:`rubric.calibration.calibrate` does the math. Only summarised
interviews count: their panels have all been shown each other's ratings, so the
figures reveal nothing an interviewer could not already see, and ratings are
never compared before the panel has submitted independently.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from rubric.calibration import CalibrationPanel, VersionCalibration, calibrate
from rubric.consensus_types import PanelistInput, PanelRating
from storage.models import Feedback, FeedbackRequest, Interview, InterviewState, SkillRating
from storage.queries import rubrics_for_versions

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
                CalibrationPanel(row.id, row.target_level, tuple(panelists.get(row.id, ()))),
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


def _panelists(session: Session, interview_ids: list[int]) -> dict[int, list[PanelistInput]]:
    """Every submitted feedback of these interviews, as the math's input, in two queries."""
    feedback: dict[int, tuple[int, str, tuple[str, ...], str | None]] = {}
    ratings: dict[int, list[PanelRating]] = defaultdict(list)
    for chunk in _chunks(interview_ids, 500):
        for row in session.execute(
            sa.select(
                Feedback.id,
                FeedbackRequest.interview_id,
                FeedbackRequest.interviewer,
                FeedbackRequest.focus_skills,
                Feedback.recommendation,
            )
            .join(Feedback, Feedback.request_id == FeedbackRequest.id)
            .where(FeedbackRequest.interview_id.in_(chunk))
        ):
            focus = tuple(str(s) for s in (row.focus_skills or []))
            feedback[row.id] = (row.interview_id, row.interviewer, focus, row.recommendation)
        for rating in session.execute(
            sa.select(SkillRating.feedback_id, SkillRating.skill_id, SkillRating.level)
            .join(Feedback, Feedback.id == SkillRating.feedback_id)
            .join(FeedbackRequest, FeedbackRequest.id == Feedback.request_id)
            .where(FeedbackRequest.interview_id.in_(chunk))
        ):
            # Evidence text is never read here: calibration needs levels only.
            ratings[rating.feedback_id].append(
                PanelRating(rating.skill_id, rating.level, has_evidence=False)
            )
    out: dict[int, list[PanelistInput]] = defaultdict(list)
    for feedback_id, (interview_id, interviewer, focus, recommendation) in feedback.items():
        out[interview_id].append(
            PanelistInput(interviewer, focus, recommendation, tuple(ratings[feedback_id]))
        )
    return out


def _chunks(items: list[int], size: int) -> list[list[int]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
