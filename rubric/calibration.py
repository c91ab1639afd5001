"""Calibration: how consistently interviewers apply one rubric version, across many panels.

:func:`calibrate` is pure and deterministic. It takes the summarised panels of one
rubric version (the caller picks the period) and reports, in plain figures:

Per skill
    *alpha*: Krippendorff's alpha (ordinal) over every panel at once. Coders are the
    interviewers, units the panels (one candidate's skill), values the level indexes;
    "Not assessed" is a missing value. It says whether interviewers tell this skill's
    levels apart the same way; a low alpha points at a descriptor that reads
    differently to different people. Shown only on ``min_ratings`` pairable ratings
    (ratings in panels where someone else rated the skill too).

    *needs discussion*: the share of panels that rated the skill at all whose summary
    flagged it (:func:`rubric.consensus.panel_consensus`: ratings two levels apart, or
    straddling the target level).

    *unassessed*: the share of panels where nobody rated it (a coverage gap).

Per interviewer
    Each of their ratings is compared with *the rest of its panel*: the median of the
    other panelists' levels for that skill in that interview (leaving the interviewer
    out, so that they do not pull the reference towards themselves). Only ratings with
    at least one other rating to compare with count.

    *deviation*: the mean of ``own level - rest median``, in level steps: positive is
    lenient (rates above the panel), negative severe. Overall, and per skill.

    *agreement*: the share of those ratings within half a step of the rest's median,
    i.e. at the same level (or either neighbour of a median between two levels).

    No figure is reported on fewer than ``min_ratings`` ratings: the interviewer's
    entry then holds only the count, and ``per_skill`` only the skills that reach it.

Across interviewers (for the hiring-lead view, never a ranked list of names)
    :attr:`Calibration.spread`: how many interviewers have figures, the spread of their
    overall deviations (standard deviation, lowest and highest), and how many rate more
    than half a level above or below their panels.

Input contract: every panel lists each interviewer at most once and each interviewer
rates a skill at most once (``ValueError`` otherwise, as in panel_consensus); ratings of
skills or levels the rubric does not have are ignored.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from rubric.consensus import ALPHA_TENTATIVE, NOT_ENOUGH_DATA, ordinal_alpha, panel_consensus
from rubric.consensus_types import Agreement, PanelistInput
from rubric.model import Rubric

__all__ = [
    "DEFAULT_MIN_RATINGS",
    "MIN_INTERVIEWERS_FOR_SPREAD",
    "NOTABLE_DEVIATION",
    "Calibration",
    "CalibrationPanel",
    "Deviation",
    "InterviewerCalibration",
    "SkillCalibration",
    "Spread",
    "VersionCalibration",
    "calibrate",
]

DEFAULT_MIN_RATINGS = 10
MIN_INTERVIEWERS_FOR_SPREAD = 3
"""Below this many interviewers with figures, the spread is withheld: it would identify them."""
NOTABLE_DEVIATION = 0.5
"""Half a level: an interviewer beyond it rates noticeably above or below their panels."""


@dataclass(frozen=True)
class CalibrationPanel:
    """One summarised interview: its panel's submitted feedback."""

    interview_id: int
    target_level: str  # a level id of the rubric
    panelists: tuple[PanelistInput, ...]


@dataclass(frozen=True)
class SkillCalibration:
    skill_id: str
    panels: int  # panels in the data
    rated_panels: int  # panels where at least one interviewer rated the skill
    ratings: int  # level ratings ("Not assessed" excluded)
    pairable: int  # ratings in panels where the skill has two or more ratings
    agreement: Agreement  # alpha over all panels; None below min_ratings pairable ratings
    needs_discussion: int  # panels whose summary flagged the skill
    unassessed: int  # panels where nobody rated it

    @property
    def needs_discussion_share(self) -> float | None:
        return self.needs_discussion / self.rated_panels if self.rated_panels else None

    @property
    def unassessed_share(self) -> float | None:
        return self.unassessed / self.panels if self.panels else None


@dataclass(frozen=True)
class Deviation:
    mean: float  # own level - rest of the panel's median, in level steps; + is lenient
    ratings: int  # ratings behind the mean
    interviews: int  # distinct interviews those ratings come from
    agreement: float  # share of those ratings within half a step of the rest's median


@dataclass(frozen=True)
class InterviewerCalibration:
    interviewer: str
    ratings: int  # comparable ratings (another panelist rated the same skill)
    interviews: int  # interviews with at least one comparable rating
    overall: Deviation | None  # None below min_ratings
    per_skill: tuple[tuple[str, Deviation], ...]  # rubric order; skills reaching min_ratings

    def most_deviating(self, limit: int = 3) -> tuple[tuple[str, Deviation], ...]:
        """Skills furthest from the panels, largest first (ties: rubric order)."""
        order = {skill_id: i for i, (skill_id, _d) in enumerate(self.per_skill)}
        ranked = sorted(self.per_skill, key=lambda item: (-abs(item[1].mean), order[item[0]]))
        return tuple(ranked[:limit])


@dataclass(frozen=True)
class Spread:
    # Figures are None (counts 0) with fewer than MIN_INTERVIEWERS_FOR_SPREAD interviewers.
    interviewers: int  # with an overall figure (at least min_ratings ratings)
    stdev: float | None  # of their overall deviations
    lowest: float | None
    highest: float | None
    lenient: int  # overall deviation above +NOTABLE_DEVIATION
    severe: int  # below -NOTABLE_DEVIATION


@dataclass(frozen=True)
class Calibration:
    rubric_id: str
    rubric_version: str
    panels: int
    min_ratings: int
    skills: tuple[SkillCalibration, ...]  # rubric order
    interviewers: tuple[InterviewerCalibration, ...]  # sorted by user id, never by figure
    spread: Spread

    def skill(self, skill_id: str) -> SkillCalibration:
        return next(s for s in self.skills if s.skill_id == skill_id)

    def interviewer(self, user: str) -> InterviewerCalibration | None:
        return next((i for i in self.interviewers if i.interviewer == user), None)

    def needing_clarification(self, limit: int = 3) -> tuple[SkillCalibration, ...]:
        """Skills whose alpha is below .667 (tentative), lowest first: rubric candidates."""
        weak = [
            s
            for s in self.skills
            if s.agreement.alpha is not None and s.agreement.alpha < ALPHA_TENTATIVE
        ]
        order = {s.skill_id: i for i, s in enumerate(self.skills)}
        weak.sort(key=lambda s: (s.agreement.alpha, order[s.skill_id]))
        return tuple(weak[:limit])


@dataclass(frozen=True)
class VersionCalibration:
    """One rubric version's figures; versions are never pooled."""

    rubric: Rubric
    first_interview: datetime  # the earliest interview on this version in the period
    last_interview: datetime
    calibration: Calibration
    latest: bool  # the newest version of its rubric in the period


@dataclass
class _Tally:
    deviations: list[float]
    interviews: set[int]
    agreeing: int = 0

    def add(self, deviation: float, interview_id: int) -> None:
        self.deviations.append(deviation)
        self.interviews.add(interview_id)
        if abs(deviation) <= 0.5:
            self.agreeing += 1

    def figure(self) -> Deviation:
        n = len(self.deviations)
        return Deviation(
            mean=math.fsum(self.deviations) / n,
            ratings=n,
            interviews=len(self.interviews),
            agreement=self.agreeing / n,
        )


def _tally() -> _Tally:
    return _Tally([], set())


def calibrate(
    rubric: Rubric,
    panels: Sequence[CalibrationPanel],
    *,
    min_ratings: int = DEFAULT_MIN_RATINGS,
) -> Calibration:
    """The calibration figures of ``panels``, all rated on ``rubric`` (one version)."""
    if min_ratings < 1:
        raise ValueError("min_ratings must be at least 1")
    skill_ids = [skill.id for skill in rubric.skills]
    index_of = {level_id: i for i, level_id in enumerate(rubric.level_ids)}
    panels = sorted(panels, key=lambda p: p.interview_id)

    # levels[p][interviewer][skill] = level index, for level ratings only
    levels: list[dict[str, dict[str, int]]] = []
    flagged: dict[str, int] = defaultdict(int)
    for panel in panels:
        consensus = panel_consensus(rubric, panel.target_level, panel.panelists)
        for skill in consensus.skills:
            if skill.needs_discussion:
                flagged[skill.skill_id] += 1
        by_interviewer: dict[str, dict[str, int]] = {}
        for skill in consensus.skills:  # validated and de-duplicated by panel_consensus
            for interviewer, level_id in skill.ratings:
                by_interviewer.setdefault(interviewer, {})[skill.skill_id] = index_of[level_id]
        levels.append(by_interviewer)

    overall: dict[str, _Tally] = defaultdict(_tally)
    per_skill: dict[tuple[str, str], _Tally] = defaultdict(_tally)
    skills: list[SkillCalibration] = []
    coders = sorted({i for panel_levels in levels for i in panel_levels})
    row = {interviewer: r for r, interviewer in enumerate(coders)}
    for skill_id in skill_ids:
        matrix = np.full((len(coders), len(panels)), np.nan)
        rated_panels = ratings = pairable = 0
        for column, (panel, panel_levels) in enumerate(zip(panels, levels, strict=True)):
            rated = {i: lv[skill_id] for i, lv in panel_levels.items() if skill_id in lv}
            if not rated:
                continue
            rated_panels += 1
            ratings += len(rated)
            for interviewer, level in rated.items():
                matrix[row[interviewer], column] = level
            if len(rated) < 2:
                continue
            pairable += len(rated)
            for interviewer, level in rated.items():
                rest = [v for other, v in rated.items() if other != interviewer]
                deviation = level - statistics.median(rest)
                overall[interviewer].add(deviation, panel.interview_id)
                per_skill[(interviewer, skill_id)].add(deviation, panel.interview_id)
        agreement = (
            ordinal_alpha(matrix, len(rubric.levels))
            if pairable >= min_ratings
            else Agreement(alpha=None, reading=NOT_ENOUGH_DATA)
        )
        skills.append(
            SkillCalibration(
                skill_id=skill_id,
                panels=len(panels),
                rated_panels=rated_panels,
                ratings=ratings,
                pairable=pairable,
                agreement=agreement,
                needs_discussion=flagged[skill_id],
                unassessed=len(panels) - rated_panels,
            )
        )

    interviewers = tuple(
        _interviewer(user, overall.get(user), per_skill, skill_ids, min_ratings) for user in coders
    )
    return Calibration(
        rubric_id=rubric.id,
        rubric_version=rubric.version,
        panels=len(panels),
        min_ratings=min_ratings,
        skills=tuple(skills),
        interviewers=interviewers,
        spread=_spread(i.overall.mean for i in interviewers if i.overall is not None),
    )


def _interviewer(
    user: str,
    tally: _Tally | None,
    per_skill: dict[tuple[str, str], _Tally],
    skill_ids: Sequence[str],
    min_ratings: int,
) -> InterviewerCalibration:
    if tally is None:
        return InterviewerCalibration(user, 0, 0, None, ())
    mine = {
        skill_id: per_skill[(user, skill_id)]
        for skill_id in skill_ids
        if (user, skill_id) in per_skill
    }
    skills = tuple(
        (skill_id, t.figure()) for skill_id, t in mine.items() if len(t.deviations) >= min_ratings
    )
    enough = len(tally.deviations) >= min_ratings
    return InterviewerCalibration(
        interviewer=user,
        ratings=len(tally.deviations),
        interviews=len(tally.interviews),
        overall=tally.figure() if enough else None,
        per_skill=skills if enough else (),
    )


def _spread(means: Iterable[float]) -> Spread:
    values = list(means)
    if len(values) < MIN_INTERVIEWERS_FOR_SPREAD:
        # With one or two people the "spread" would be their own figures, unnamed.
        return Spread(len(values), None, None, None, 0, 0)
    return Spread(
        interviewers=len(values),
        stdev=statistics.stdev(values),
        lowest=min(values) if values else None,
        highest=max(values) if values else None,
        lenient=sum(1 for v in values if v > NOTABLE_DEVIATION),
        severe=sum(1 for v in values if v < -NOTABLE_DEVIATION),
    )
