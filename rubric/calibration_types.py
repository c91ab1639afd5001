"""The public results of :mod:`rubric.calibration` (re-exported there; import them from it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rubric.consensus import ALPHA_TENTATIVE
from rubric.consensus_types import Agreement, PanelistInput
from rubric.model import Rubric

DEFAULT_MIN_RATINGS = 10
MIN_INTERVIEWERS_FOR_SPREAD = 3
"""Below this many interviewers with figures, the spread is withheld: it would identify them."""
NOTABLE_DEVIATION = 0.5
"""Half a level: an interviewer beyond it rates noticeably above or below the team. The
model's figures are not shrunk by the scale's ends, so a rater 0.8 levels off reads
0.7 to 0.9 in the seeded simulation (docs/calibration.md) and is always counted."""


@dataclass(frozen=True)
class CalibrationPanel:
    """One summarised interview: its panel's submitted feedback, and its shadows'."""

    interview_id: int
    target_level: str  # a level id of the rubric
    panelists: tuple[PanelistInput, ...]
    # Shadow (trainee) interviewers: compared with the panel, never part of any figure.
    observers: tuple[PanelistInput, ...] = ()


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
    mean: float  # the model's offset, in level steps from the team's average rater; + lenient
    ratings: int  # ratings behind the figure
    interviews: int  # distinct interviews those ratings come from
    agreement: float  # share of those ratings within half a step of the reference's median
    observed: float = 0.0  # raw mean of own level - reference median (shrunk at the ends)


@dataclass(frozen=True)
class InterviewerCalibration:
    interviewer: str
    ratings: int  # comparable ratings as a panelist (another panelist rated the same skill)
    interviews: int  # interviews with at least one comparable rating
    overall: Deviation | None  # None below min_ratings
    per_skill: tuple[tuple[str, Deviation], ...]  # rubric order; skills reaching min_ratings
    # As a shadow: compared with panels they observed; None below min_ratings such ratings.
    shadow: Deviation | None = None
    shadow_ratings: int = 0  # ratings as a shadow of skills a panelist rated

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
