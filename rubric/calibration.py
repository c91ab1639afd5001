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
    flagged it (:func:`rubric.consensus.panel_consensus`).

    *unassessed*: the share of panels where nobody rated it (a coverage gap).

Per interviewer
    Only *comparable* ratings count: ratings of a skill that someone else on the panel
    rated too in the same interview.

    *deviation* (:attr:`Deviation.mean`): the interviewer's offset in level steps from
    the shift model of :mod:`rubric.calibration_model`: the shift they apply on
    average to a candidate's latent level, read as if the scale had no floor or
    ceiling, relative to the team's average rater (offsets sum to zero over the
    interviewers, weighted by their ratings). Positive is lenient, negative severe.
    Overall, and per skill (each skill's shifts fitted against the same latent
    levels, starting from and leaning on the interviewer's overall shifts).

    *observed* (:attr:`Deviation.observed`): the raw mean of ``own level - median of
    the rest of the panel``. On a short scale it is shrunk by the ends (a lenient
    rater's Lead on a Lead candidate reads as agreement); kept to show what the
    ratings look like, not to judge.

    *agreement*: the share of those ratings within half a step of the rest's median,
    i.e. at the same level (or either neighbour of a median between two levels).

    No figure is reported on fewer than ``min_ratings`` ratings: the interviewer's
    entry then holds only the count, and ``per_skill`` only the skills that reach it.

Shadows (observers)
    :attr:`CalibrationPanel.observers` rate as panelists do but are never part of any
    reference, of the model's fit, of alpha, of the shares or of the spread. Each
    gets :attr:`InterviewerCalibration.shadow`: their offset against the panel's
    latent levels (which their ratings do not move), on the same centred scale, over
    ratings of skills that a panelist rated (``observed`` and ``agreement`` against
    the median of the whole panel), from ``min_ratings`` such ratings.

Across interviewers (for the hiring-lead view, never a ranked list of names)
    :attr:`Calibration.spread`: how many interviewers have figures, the spread of their
    overall deviations (standard deviation, lowest and highest), and how many rate more
    than :data:`NOTABLE_DEVIATION` above or below the team.

Input contract: every panel lists each interviewer at most once (observers included,
and nobody both as a panelist and an observer) and each interviewer rates a skill at
most once (``ValueError`` otherwise, as in panel_consensus); ratings of skills or
levels the rubric does not have are ignored.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from rubric.calibration_data import Collected, Comparisons, collect, compare
from rubric.calibration_model import (
    FittedShifts,
    Ints,
    RatingArrays,
    fit_shifts,
    group_offsets,
    prior_shifts,
)
from rubric.calibration_types import (
    DEFAULT_MIN_RATINGS,
    MIN_INTERVIEWERS_FOR_SPREAD,
    NOTABLE_DEVIATION,
    Calibration,
    CalibrationPanel,
    Deviation,
    InterviewerCalibration,
    SkillCalibration,
    Spread,
    VersionCalibration,
)
from rubric.consensus import NOT_ENOUGH_DATA, ordinal_alpha
from rubric.consensus_types import Agreement
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


def _skill_figures(
    rubric: Rubric, panels: Sequence[CalibrationPanel], collected: Collected, min_ratings: int
) -> tuple[SkillCalibration, ...]:
    """Alpha, discussed and unassessed shares per skill: panelists only."""
    coders = sorted({i for panel_levels in collected.panelists for i in panel_levels})
    row = {interviewer: r for r, interviewer in enumerate(coders)}
    skills = []
    for skill in rubric.skills:
        matrix = np.full((len(coders), len(panels)), np.nan)
        rated_panels = ratings = pairable = 0
        for column, panel_levels in enumerate(collected.panelists):
            rated = [(i, lv[skill.id]) for i, lv in panel_levels.items() if skill.id in lv]
            if not rated:
                continue
            rated_panels += 1
            ratings += len(rated)
            pairable += len(rated) if len(rated) > 1 else 0
            for interviewer, level in rated:
                matrix[row[interviewer], column] = level
        agreement = (
            ordinal_alpha(matrix, len(rubric.levels))
            if pairable >= min_ratings
            else Agreement(alpha=None, reading=NOT_ENOUGH_DATA)
        )
        skills.append(
            SkillCalibration(
                skill_id=skill.id,
                panels=len(panels),
                rated_panels=rated_panels,
                ratings=ratings,
                pairable=pairable,
                agreement=agreement,
                needs_discussion=collected.flagged[skill.id],
                unassessed=len(panels) - rated_panels,
            )
        )
    return tuple(skills)


@dataclass(frozen=True)
class _Offsets:
    overall: dict[str, float]
    per_skill: dict[tuple[str, str], float]
    shadow: dict[str, float]


def _model_offsets(rubric: Rubric, data: Comparisons) -> _Offsets:
    """Fit the shift model on pairable units; then per-skill and shadow offsets."""
    levels, skills = len(rubric.levels), len(rubric.skills)
    unit_skill = np.asarray(data.unit_skill, dtype=np.intp)
    pairable = np.asarray(data.pairable, dtype=bool)
    # Fit units: the pairable ones, renumbered 0..n-1 in order.
    fit_unit = np.cumsum(pairable) - 1
    keep = pairable[data.panel.unit] if len(data.panel) else np.zeros(0, dtype=bool)
    fit_ratings = RatingArrays(
        data.panel.rater[keep], fit_unit[data.panel.unit[keep]], data.panel.level[keep]
    )
    model, truth = fit_shifts(
        fit_ratings,
        unit_skill[pairable],
        raters=len(data.raters),
        units=int(pairable.sum()),
        skills=skills,
        levels=levels,
    )
    overall = {user: float(model.offsets[r]) for r, user in enumerate(data.raters)}

    skill_of = unit_skill[pairable][fit_ratings.unit]
    by_skill = RatingArrays(
        fit_ratings.rater * skills + skill_of, fit_ratings.unit, fit_ratings.level
    )
    skill_offsets = group_offsets(
        by_skill,
        truth,
        groups=len(data.raters) * skills,
        start=np.repeat(model.shifts, skills, axis=0),
        centre=model.centre,
    )
    per_skill = {
        (user, skill.id): float(skill_offsets[r * skills + s])
        for r, user in enumerate(data.raters)
        for s, skill in enumerate(rubric.skills)
    }
    return _Offsets(overall, per_skill, _shadow_offsets(data, model, unit_skill))


def _shadow_offsets(data: Comparisons, model: FittedShifts, unit_skill: Ints) -> dict[str, float]:
    if not data.observers:
        return {}
    # Every unit a panelist rated is a reference for shadows, pairable or not.
    truth = model.posterior(data.panel, unit_skill, len(unit_skill))
    levels = model.levels
    offsets = group_offsets(
        data.shadow,
        truth,
        groups=len(data.observers),
        start=prior_shifts(len(data.observers), levels),
        centre=model.centre,
    )
    return {user: float(offsets[o]) for o, user in enumerate(data.observers)}


def calibrate(
    rubric: Rubric,
    panels: Sequence[CalibrationPanel],
    *,
    min_ratings: int = DEFAULT_MIN_RATINGS,
) -> Calibration:
    """The calibration figures of ``panels``, all rated on ``rubric`` (one version)."""
    if min_ratings < 1:
        raise ValueError("min_ratings must be at least 1")
    panels = sorted(panels, key=lambda p: p.interview_id)
    collected = collect(rubric, panels)
    skills = _skill_figures(rubric, panels, collected, min_ratings)
    data = compare(rubric, panels, collected)
    offsets = _model_offsets(rubric, data)
    users = sorted({*data.raters, *data.observers})
    interviewers = tuple(_interviewer(user, rubric, data, offsets, min_ratings) for user in users)
    return Calibration(
        rubric_id=rubric.id,
        rubric_version=rubric.version,
        panels=len(panels),
        min_ratings=min_ratings,
        skills=skills,
        interviewers=interviewers,
        spread=_spread(i.overall.mean for i in interviewers if i.overall is not None),
    )


def _interviewer(
    user: str, rubric: Rubric, data: Comparisons, offsets: _Offsets, min_ratings: int
) -> InterviewerCalibration:
    tally = data.overall.get(user)
    shadow = data.shadows.get(user)
    shadow_figure = (
        shadow.figure(offsets.shadow[user])
        if shadow is not None and shadow.count >= min_ratings
        else None
    )
    shadow_ratings = shadow.count if shadow is not None else 0
    if tally is None:
        return InterviewerCalibration(user, 0, 0, None, (), shadow_figure, shadow_ratings)
    enough = tally.count >= min_ratings
    skills = tuple(
        (skill.id, t.figure(offsets.per_skill[(user, skill.id)]))
        for skill in rubric.skills
        if (t := data.per_skill.get((user, skill.id))) is not None and t.count >= min_ratings
    )
    return InterviewerCalibration(
        interviewer=user,
        ratings=tally.count,
        interviews=len(tally.interviews),
        overall=tally.figure(offsets.overall[user]) if enough else None,
        per_skill=skills if enough else (),
        shadow=shadow_figure,
        shadow_ratings=shadow_ratings,
    )


def _spread(means: Iterable[float]) -> Spread:
    values = list(means)
    if len(values) < MIN_INTERVIEWERS_FOR_SPREAD:
        # With one or two people the "spread" would be their own figures, unnamed.
        return Spread(len(values), None, None, None, 0, 0)
    return Spread(
        interviewers=len(values),
        stdev=statistics.stdev(values),
        lowest=min(values),
        highest=max(values),
        lenient=sum(1 for v in values if v > NOTABLE_DEVIATION),
        severe=sum(1 for v in values if v < -NOTABLE_DEVIATION),
    )
