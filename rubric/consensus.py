"""Panel consensus: where the interviewers agree, where they do not, and what nobody covered.

:func:`panel_consensus` is the hiring arithmetic behind the summary. It is pure and
deterministic, and it supports the decision without making one: it reports the level the
panel gave, how the ratings are spread, the votes and the coverage, never a hire /
no-hire verdict of its own.

Per skill
    Level ratings are taken as ordinal indexes (0 = lowest level); "Not assessed" is not a
    rating. ``counts`` lists how many ratings each level got ("2 Junior, 2 Lead"), and
    ``range_steps`` is the highest minus the lowest index given.

    The verdict is **split** (:attr:`Verdict.SPLIT`) when the panel gave no single level:

    * the ratings *straddle* the target: one strictly below it and another strictly
      above it (label "split <lowest level given> / <highest level given>"); or
    * an *even split*: an even number of ratings whose two middle values differ, so
      the median is not a level anyone gave (label "split <lower middle> / <upper
      middle>").

    A split has no consensus level and is never called meeting, above or below the
    target. Otherwise the *consensus* is the median, a level someone gave (with an even
    number of ratings the two middle values are then equal), and the verdict compares
    it with the target: below, meets or exceeds.

    **The flag rule.** This is the only place it is defined; the summary, the debrief
    guide and calibration all read ``needs_discussion``. A skill *needs discussion* when

    1. its ratings span two or more levels (``range_steps >= 2``): "ratings span Junior
       to Lead";
    2. or they straddle the target in the wide sense, one rating below it and another
       at or above it: "split around the target (Senior)";
    3. or the verdict is split. A straddle already gives reason 2; an even split that
       does not straddle the target adds "the panel is split evenly: 1 Junior,
       1 Senior", which says why no level is shown.

    Unanimous ratings are never flagged (they span nothing and straddle nothing).

Across the panel
    The recommendation tally (every option, in scale order), whether votes fall on both
    sides of hire / no hire, who voted the most negative option, skills nobody assessed,
    focus skills their interviewer left unassessed, ratings without evidence, and the
    panel's agreement as a figure a lead can check: of the ``comparable`` skills (rated
    at a level by two or more interviewers), how many were ``unanimous``.

    There is no per-panel reliability coefficient: Krippendorff's alpha evaluates one
    variable at a time, and one candidate's skills are different variables. Alpha is
    computed per skill across panels by ``rubric.calibration``, with :func:`ordinal_alpha`.

Input contract: every interviewer appears at most once in the panel and rates each skill
at most once (``ValueError`` otherwise: counting such input twice would be silently
wrong); ``target_level`` is a level of the rubric (``UnknownIdError`` otherwise).
Ratings of unknown skills or levels, unknown recommendations and unknown focus skills
are ignored (storage validates them against the pinned rubric; this is only a guard).
The order of ``panel`` never matters: interviewers are sorted first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import krippendorff
import numpy as np

from rubric.consensus_types import (
    Agreement,
    FocusGap,
    PanelConsensus,
    PanelistInput,
    SkillConsensus,
    Verdict,
)
from rubric.model import Recommendation, Rubric

__all__ = [
    "ALPHA_RELIABLE",
    "ALPHA_TENTATIVE",
    "NOT_ENOUGH_DATA",
    "ordinal_alpha",
    "panel_consensus",
]

ALPHA_RELIABLE = 0.800
"""Krippendorff (2004): rely on data with alpha >= .800 ..."""

ALPHA_TENTATIVE = 0.667
"""... and draw only tentative conclusions from .667 <= alpha < .800."""

NOT_ENOUGH_DATA = "not enough data"


@dataclass(frozen=True)
class _Panelist:
    """One interviewer's input, checked against the rubric."""

    interviewer: str
    focus: frozenset[str]  # rubric skill ids
    recommendation: Recommendation | None
    levels: dict[str, int | None]  # skill id -> level index; None: "Not assessed"
    evidence: dict[str, bool]  # skill id -> has evidence


def panel_consensus(
    rubric: Rubric, target_level: str, panel: Sequence[PanelistInput]
) -> PanelConsensus:
    """The panel's consensus on every skill of ``rubric``, against ``target_level``.

    See the module documentation for the definitions. Raises ``UnknownIdError`` (a
    ``KeyError``) for a target level the rubric does not have, and ``ValueError`` when an
    interviewer appears twice or rates a skill twice.
    """
    target_index = rubric.level_index(target_level)
    panelists = _normalise(rubric, panel)

    skills = tuple(
        _skill_consensus(rubric, skill_id, target_index, panelists)
        for skill_id in (skill.id for skill in rubric.skills)
    )

    votes = [p.recommendation for p in panelists if p.recommendation is not None]
    tally = tuple(
        (rec.id, sum(1 for vote in votes if vote.id == rec.id)) for rec in rubric.recommendations
    )
    most_negative = rubric.recommendations[0].id
    focus_gaps = tuple(
        FocusGap(interviewer=p.interviewer, skill_id=skill.id)
        for p in panelists
        for skill in rubric.skills
        if skill.id in p.focus and p.levels.get(skill.id) is None
    )
    return PanelConsensus(
        target_level=target_level,
        skills=skills,
        tally=tally,
        split_decision=any(v.hire for v in votes) and any(not v.hire for v in votes),
        strong_no=tuple(
            p.interviewer
            for p in panelists
            if p.recommendation is not None and p.recommendation.id == most_negative
        ),
        unassessed=tuple(s.skill_id for s in skills if not s.ratings),
        focus_gaps=focus_gaps,
        without_evidence=sum(s.without_evidence for s in skills),
        comparable=sum(1 for s in skills if len(s.ratings) >= 2),
        unanimous=sum(1 for s in skills if len(s.ratings) >= 2 and len(s.counts) == 1),
    )


def ordinal_alpha(data: np.ndarray, n_levels: int) -> Agreement:
    """Krippendorff's alpha (ordinal) of a coders x units matrix of level indexes.

    ``nan`` marks a missing value; the value domain is every level index of the scale
    (for the ordinal metric unused levels add no distance, so this only pins the scale).
    Alpha is ``1 - D_o / D_e`` over *pairable* values (those of units rated by at least
    two coders). It is undefined, reported as ``alpha=None`` with the reading "not enough
    data", when:

    * there are fewer than two coders, or no unit has two values: there is nothing to
      pair (the ``krippendorff`` package raises ``ValueError`` here);
    * every pairable value is the same level. Then the expected disagreement ``D_e`` is 0
      as well as the observed one, and alpha is 0/0: the data have no variation, so they
      cannot show whether the coders tell levels apart. The package, given the full value
      domain, returns ``nan`` with a ``RuntimeWarning`` in this case (without the domain
      it raises "There has to be more than one value in the domain."); it is detected
      before calling it. Reporting 1.0 ("reliable") would overstate it.

    Otherwise alpha is defined, can be negative (systematic disagreement), and is exactly
    1.0 for perfect agreement. Readings follow Krippendorff (2004, Content Analysis, 2nd
    ed., p. 241): "reliable" from .800, "tentative" from .667, "weak" below.
    """
    if data.ndim != 2 or data.shape[0] < 2:
        return Agreement(alpha=None, reading=NOT_ENOUGH_DATA)
    rated = ~np.isnan(data)
    pairable = data[:, rated.sum(axis=0) >= 2]
    distinct = np.unique(pairable[~np.isnan(pairable)])
    if distinct.size < 2:
        return Agreement(alpha=None, reading=NOT_ENOUGH_DATA)

    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            value = float(
                krippendorff.alpha(
                    reliability_data=data,
                    value_domain=np.arange(n_levels, dtype=np.float64),
                    level_of_measurement="ordinal",
                )
            )
    except ValueError:  # pragma: no cover - excluded by the checks above; a guard only
        return Agreement(alpha=None, reading=NOT_ENOUGH_DATA)
    if not math.isfinite(value):  # pragma: no cover - idem
        return Agreement(alpha=None, reading=NOT_ENOUGH_DATA)
    return Agreement(alpha=value, reading=_reading(value))


def _reading(alpha: float) -> str:
    if alpha >= ALPHA_RELIABLE:
        return "reliable"
    if alpha >= ALPHA_TENTATIVE:
        return "tentative"
    return "weak"


def _normalise(rubric: Rubric, panel: Sequence[PanelistInput]) -> list[_Panelist]:
    """The panel sorted by interviewer, reduced to what the rubric knows."""
    level_index = {level_id: i for i, level_id in enumerate(rubric.level_ids)}
    skill_ids = {skill.id for skill in rubric.skills}
    recommendations = {rec.id: rec for rec in rubric.recommendations}
    seen: set[str] = set()
    panelists: list[_Panelist] = []
    for entry in sorted(panel, key=lambda p: p.interviewer):
        if entry.interviewer in seen:
            raise ValueError(f"interviewer {entry.interviewer!r} appears twice in the panel")
        seen.add(entry.interviewer)
        levels: dict[str, int | None] = {}
        evidence: dict[str, bool] = {}
        for rating in entry.ratings:
            if rating.skill_id not in skill_ids:
                continue
            if rating.level is not None and rating.level not in level_index:
                continue
            if rating.skill_id in levels:
                raise ValueError(
                    f"interviewer {entry.interviewer!r} rated skill {rating.skill_id!r} twice"
                )
            levels[rating.skill_id] = None if rating.level is None else level_index[rating.level]
            evidence[rating.skill_id] = rating.has_evidence
        panelists.append(
            _Panelist(
                interviewer=entry.interviewer,
                focus=frozenset(entry.focus) & skill_ids,
                recommendation=(
                    recommendations.get(entry.recommendation)
                    if entry.recommendation is not None
                    else None
                ),
                levels=levels,
                evidence=evidence,
            )
        )
    return panelists


def _skill_consensus(
    rubric: Rubric, skill_id: str, target_index: int, panelists: Sequence[_Panelist]
) -> SkillConsensus:
    ratings: list[tuple[str, int]] = []
    not_assessed_by: list[str] = []
    without_evidence = 0
    for p in panelists:  # sorted by interviewer
        if skill_id not in p.levels:
            continue
        index = p.levels[skill_id]
        if index is None:
            not_assessed_by.append(p.interviewer)
            continue
        ratings.append((p.interviewer, index))
        if not p.evidence[skill_id]:
            without_evidence += 1

    levels = rubric.levels
    xs = sorted(index for _, index in ratings)
    counts = tuple((levels[i].id, xs.count(i)) for i in sorted(set(xs)))
    outcome = _outcome(rubric, xs, target_index)
    return SkillConsensus(
        skill_id=skill_id,
        ratings=tuple((interviewer, levels[index].id) for interviewer, index in ratings),
        not_assessed_by=tuple(not_assessed_by),
        consensus=outcome.consensus,
        split_low=outcome.split_low,
        split_high=outcome.split_high,
        consensus_label=outcome.label,
        counts=counts,
        range_steps=xs[-1] - xs[0] if xs else 0,
        verdict=outcome.verdict,
        needs_discussion=bool(outcome.reasons),
        reasons=outcome.reasons,
        without_evidence=without_evidence,
    )


@dataclass(frozen=True)
class _Outcome:
    consensus: str | None = None
    split_low: str | None = None
    split_high: str | None = None
    label: str = ""
    verdict: Verdict | None = None
    reasons: tuple[str, ...] = ()


def _outcome(rubric: Rubric, xs: Sequence[int], target_index: int) -> _Outcome:
    """The verdict and the flag of sorted level indexes ``xs``; see the module docstring."""
    if not xs:
        return _Outcome()
    levels = rubric.levels
    n = len(xs)
    lower_middle, upper_middle = xs[(n - 1) // 2], xs[n // 2]
    straddles = xs[0] < target_index < xs[-1]
    even_split = lower_middle != upper_middle  # only possible with an even number

    reasons: list[str] = []
    if xs[-1] - xs[0] >= 2:
        reasons.append(f"ratings span {levels[xs[0]].name} to {levels[xs[-1]].name}")
    if xs[0] < target_index <= xs[-1]:
        reasons.append(f"split around the target ({levels[target_index].name})")

    if straddles or even_split:
        low, high = (xs[0], xs[-1]) if straddles else (lower_middle, upper_middle)
        if not straddles:
            spread = ", ".join(f"{xs.count(i)} {levels[i].name}" for i in sorted(set(xs)))
            reasons.append(f"the panel is split evenly: {spread}")
        return _Outcome(
            split_low=levels[low].id,
            split_high=levels[high].id,
            label=f"split {levels[low].name} / {levels[high].name}",
            verdict=Verdict.SPLIT,
            reasons=tuple(reasons),
        )

    median = lower_middle  # a level someone gave: the middle one, or two equal middles
    if median < target_index:
        verdict = Verdict.BELOW
    elif median == target_index:
        verdict = Verdict.MEETS
    else:
        verdict = Verdict.EXCEEDS
    return _Outcome(
        consensus=levels[median].id,
        label=levels[median].name,
        verdict=verdict,
        reasons=tuple(reasons),
    )
