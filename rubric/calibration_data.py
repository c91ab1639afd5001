"""The ratings behind calibration: validated, compared with their panels, as model input.

Private to :mod:`rubric.calibration`.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from rubric.calibration_model import RatingArrays
from rubric.calibration_types import CalibrationPanel, Deviation
from rubric.consensus import panel_consensus
from rubric.consensus_types import PanelistInput
from rubric.model import Rubric


@dataclass
class Tally:
    """Raw comparisons of one interviewer's ratings (overall, on one skill, or as a shadow)."""

    deviations: list[float] = field(default_factory=list)
    interviews: set[int] = field(default_factory=set)
    agreeing: int = 0

    def add(self, deviation: float, interview_id: int) -> None:
        self.deviations.append(deviation)
        self.interviews.add(interview_id)
        if abs(deviation) <= 0.5:
            self.agreeing += 1

    @property
    def count(self) -> int:
        return len(self.deviations)

    def figure(self, offset: float) -> Deviation:
        n = len(self.deviations)
        return Deviation(
            mean=offset,
            ratings=n,
            interviews=len(self.interviews),
            agreement=self.agreeing / n,
            observed=math.fsum(self.deviations) / n,
        )


Levels = dict[str, dict[str, int]]  # interviewer -> skill id -> level index


@dataclass
class Collected:
    """Every panel's level ratings (validated by panel_consensus) and its flags."""

    panelists: list[Levels] = field(default_factory=list)
    observers: list[Levels] = field(default_factory=list)
    flagged: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def collect(rubric: Rubric, panels: Sequence[CalibrationPanel]) -> Collected:
    index_of = {level_id: i for i, level_id in enumerate(rubric.level_ids)}

    def levels(members: tuple[PanelistInput, ...], target: str, *, flags: bool) -> Levels:
        consensus = panel_consensus(rubric, target, members)
        by_interviewer: Levels = {}
        for skill in consensus.skills:  # validated and de-duplicated by panel_consensus
            if flags and skill.needs_discussion:
                collected.flagged[skill.skill_id] += 1
            for interviewer, level_id in skill.ratings:
                by_interviewer.setdefault(interviewer, {})[skill.skill_id] = index_of[level_id]
        return by_interviewer

    collected = Collected()
    for panel in panels:
        collected.panelists.append(levels(panel.panelists, panel.target_level, flags=True))
        shadows: Levels = {}
        if panel.observers:
            seated = {p.interviewer for p in panel.panelists}
            if any(o.interviewer in seated for o in panel.observers):
                raise ValueError(
                    f"interview {panel.interview_id}: an interviewer is both on the panel "
                    "and one of its observers"
                )
            shadows = levels(panel.observers, panel.target_level, flags=False)
        collected.observers.append(shadows)
    return collected


@dataclass
class Comparisons:
    """Every rated unit (one interview's skill) as model input, with the raw tallies.

    Units are numbered in (interview, skill) order; ``pairable[u]`` says whether two or
    more panelists rated unit ``u``: only those units enter the fit.
    """

    raters: list[str]  # panelists, sorted; ``panel.rater`` indexes them
    observers: list[str]  # sorted; ``shadow.rater`` indexes them
    panel: RatingArrays
    shadow: RatingArrays
    unit_skill: list[int]
    pairable: list[bool]
    overall: dict[str, Tally]
    per_skill: dict[tuple[str, str], Tally]
    shadows: dict[str, Tally]


def compare(
    rubric: Rubric, panels: Sequence[CalibrationPanel], collected: Collected
) -> Comparisons:
    raters = sorted({i for panel_levels in collected.panelists for i in panel_levels})
    observers = sorted({i for shadow_levels in collected.observers for i in shadow_levels})
    rater_of = {user: r for r, user in enumerate(raters)}
    observer_of = {user: r for r, user in enumerate(observers)}
    panel_cols: tuple[list[int], list[int], list[int]] = ([], [], [])
    shadow_cols: tuple[list[int], list[int], list[int]] = ([], [], [])
    unit_skill: list[int] = []
    pairable: list[bool] = []
    overall: dict[str, Tally] = defaultdict(Tally)
    per_skill: dict[tuple[str, str], Tally] = defaultdict(Tally)
    shadows: dict[str, Tally] = defaultdict(Tally)
    for panel, panel_levels, shadow_levels in zip(
        panels, collected.panelists, collected.observers, strict=True
    ):
        for s, skill in enumerate(rubric.skills):
            rated = [(i, lv[skill.id]) for i, lv in panel_levels.items() if skill.id in lv]
            if not rated:
                continue  # no reference for anyone, shadows included
            unit = len(unit_skill)
            unit_skill.append(s)
            pairable.append(len(rated) > 1)
            for interviewer, level in rated:
                _append(panel_cols, rater_of[interviewer], unit, level)
                if len(rated) > 1:
                    rest = statistics.median(v for other, v in rated if other != interviewer)
                    overall[interviewer].add(level - rest, panel.interview_id)
                    per_skill[(interviewer, skill.id)].add(level - rest, panel.interview_id)
            reference = statistics.median(v for _i, v in rated)
            for observer, levels in shadow_levels.items():
                if skill.id in levels:
                    _append(shadow_cols, observer_of[observer], unit, levels[skill.id])
                    shadows[observer].add(levels[skill.id] - reference, panel.interview_id)
    return Comparisons(
        raters=raters,
        observers=observers,
        panel=RatingArrays.of(*panel_cols),
        shadow=RatingArrays.of(*shadow_cols),
        unit_skill=unit_skill,
        pairable=pairable,
        overall=overall,
        per_skill=per_skill,
        shadows=shadows,
    )


def _append(
    columns: tuple[list[int], list[int], list[int]], who: int, unit: int, level: int
) -> None:
    columns[0].append(who)
    columns[1].append(unit)
    columns[2].append(level)
