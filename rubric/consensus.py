"""Panel consensus: where the interviewers agree, where they do not, and what nobody covered.

:func:`panel_consensus` is the hiring arithmetic behind the summary. It is pure and
deterministic, and it supports the decision without making one: it reports medians,
spreads, votes and agreement, never a hire / no-hire verdict of its own.

Per skill
    *Consensus* is the median of the ordinal level indexes (0 = lowest level). With an
    even number of ratings whose two middle values differ, the median falls between two
    levels and is reported as both (``consensus_low`` / ``consensus_high``, label
    ``"Senior-Lead"``); it is compared with the target level as the half-step it is, so
    "Senior-Lead" exceeds a Senior target and is below a Lead one.

    *Spread* is reported twice: ``range_steps`` (highest minus lowest level index) and
    Burke's *average deviation* from the median, ``AD = mean(|x_i - median|)`` in level
    steps (Burke, Finkelstein & Dusig 1999, "On average deviation indices for estimating
    interrater agreement", Organizational Research Methods 2(1)). AD is acceptable when
    ``AD <= c / 6`` for a scale of ``c`` levels, the practical-significance cut-off of
    Burke & Dunlap 2002 ("Estimating interrater agreement with the average deviation
    index: a user's guide", Organizational Research Methods 5(2)). Both need two ratings.

    A skill *needs discussion* when its ratings span two or more levels, or when the
    panel straddles the target (one rating below it, another at or above it). Unanimous
    ratings are never flagged.

Across the panel
    The recommendation tally (every option, in scale order), whether votes fall on both
    sides of hire / no hire, who voted the most negative option, skills nobody assessed,
    focus skills their interviewer left unassessed, ratings without evidence, and
    Krippendorff's alpha (ordinal) over all skills, see :func:`panel_agreement`.

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
    "panel_agreement",
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
        agreement=_agreement(rubric, panelists),
        without_evidence=sum(s.without_evidence for s in skills),
    )


def panel_agreement(rubric: Rubric, panel: Sequence[PanelistInput]) -> Agreement:
    """Krippendorff's alpha (ordinal) of the panel's ratings, with its reading.

    Coders are the interviewers, units the rubric's skills, values the level indexes;
    "Not assessed" and unanswered skills are missing values. The value domain is every
    level of the rubric, so alpha is taken on the rubric's whole ordinal scale (for the
    ordinal metric unused levels add no distance, so this only pins the scale).

    Alpha is ``1 - D_o / D_e`` over *pairable* values (those of units rated by at least two
    coders). It is undefined, reported as ``alpha=None`` with the reading "not enough
    data", when:

    * fewer than two interviewers rated any skill, or no skill has two ratings: there is
      nothing to pair (the ``krippendorff`` package raises ``ValueError`` here);
    * every pairable value is the same level. Then the expected disagreement ``D_e`` is 0
      as well as the observed one, and alpha is 0/0: the data have no variation, so they
      cannot show whether the interviewers tell levels apart (agreeing because everyone
      is "Senior" everywhere is not evidence of a reliable scale). The package, given the
      full value domain, returns ``nan`` with a ``RuntimeWarning`` in this case (without
      the domain it raises "There has to be more than one value in the domain."); it is
      detected before calling it. Reporting 1.0 ("reliable") would overstate it, and the
      per-skill figures already show the unanimity.

    Otherwise alpha is defined, can be negative (systematic disagreement), and is exactly
    1.0 for perfect agreement. Readings follow Krippendorff (2004, Content Analysis, 2nd
    ed., p. 241): "reliable" from .800, "tentative" from .667, "weak" below.
    """
    return _agreement(rubric, _normalise(rubric, panel))


def _agreement(rubric: Rubric, panel: Sequence[_Panelist]) -> Agreement:
    panelists = [p for p in panel if any(v is not None for v in p.levels.values())]
    if len(panelists) < 2:
        return Agreement(alpha=None, reading=NOT_ENOUGH_DATA)
    skill_ids = [skill.id for skill in rubric.skills]
    rows = [[_as_value(p.levels.get(skill_id)) for skill_id in skill_ids] for p in panelists]
    return ordinal_alpha(np.array(rows, dtype=np.float64), len(rubric.levels))


def ordinal_alpha(data: np.ndarray, n_levels: int) -> Agreement:
    """Krippendorff's alpha (ordinal) of a coders x units matrix of level indexes.

    ``nan`` marks a missing value. Undefined (``alpha=None``, "not enough data") when no
    unit has two values or every pairable value is the same level; see
    :func:`panel_agreement` for why.
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


def _as_value(index: int | None) -> float:
    return math.nan if index is None else float(index)


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
    rated = tuple((interviewer, levels[index].id) for interviewer, index in ratings)
    if not ratings:
        return SkillConsensus(
            skill_id=skill_id,
            ratings=rated,
            not_assessed_by=tuple(not_assessed_by),
            consensus_low=None,
            consensus_high=None,
            consensus_label="",
            range_steps=0,
            ad=None,
            ad_acceptable=None,
            verdict=None,
            needs_discussion=False,
            reasons=(),
            without_evidence=without_evidence,
        )

    xs = sorted(index for _, index in ratings)
    n = len(xs)
    low, high = xs[(n - 1) // 2], xs[n // 2]
    # Everything is done on twice the median, an integer, so that the half-step medians of
    # even panels compare exactly with the target and with Burke & Dunlap's c/6.
    twice_median = low + high
    twice_deviation = sum(abs(2 * x - twice_median) for x in xs)
    range_steps = xs[-1] - xs[0]
    if n >= 2:
        ad: float | None = twice_deviation / (2 * n)
        # AD <= c/6  <=>  twice_deviation / (2n) <= c/6  <=>  3 * twice_deviation <= n * c
        ad_acceptable: bool | None = 3 * twice_deviation <= n * len(levels)
    else:
        ad, ad_acceptable = None, None

    twice_target = 2 * target_index
    if twice_median < twice_target:
        verdict = Verdict.BELOW
    elif twice_median == twice_target:
        verdict = Verdict.MEETS
    else:
        verdict = Verdict.EXCEEDS

    reasons: list[str] = []
    if range_steps >= 2:
        reasons.append(f"ratings span {levels[xs[0]].name} to {levels[xs[-1]].name}")
    if xs[0] < target_index <= xs[-1]:
        reasons.append(f"split around the target ({levels[target_index].name})")

    label = levels[low].name if low == high else f"{levels[low].name}-{levels[high].name}"
    return SkillConsensus(
        skill_id=skill_id,
        ratings=rated,
        not_assessed_by=tuple(not_assessed_by),
        consensus_low=levels[low].id,
        consensus_high=levels[high].id,
        consensus_label=label,
        range_steps=range_steps,
        ad=ad,
        ad_acceptable=ad_acceptable,
        verdict=verdict,
        needs_discussion=bool(reasons),
        reasons=tuple(reasons),
        without_evidence=without_evidence,
    )
