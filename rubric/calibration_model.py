"""The calibration model: each interviewer's shift from a candidate's latent level.

A rating on a short ordinal scale is clipped: on Junior / Senior / Lead a lenient
interviewer cannot rate a Lead candidate above Lead, so the mean of (own level - the
panel's level) shrinks towards zero as the scale's ends swallow the shift. This model
reads the shift before the clipping:

- every unit (one candidate's skill in one interview) has a latent true level ``t``,
  one of the rubric's levels, with a per-skill prior ``pi`` estimated from the data;
- interviewer ``r`` rates ``clip(t + d)``, where the shift ``d`` (whole steps, from
  ``-(K - 1)`` to ``K - 1``) follows that interviewer's own distribution ``p_r``;
- a rating at an end of the scale is censored (Lead on a Senior candidate says
  ``d >= 1``); expectation-maximisation shares it among the shifts it allows.

An interviewer's offset is the mean of ``p_r``, in level steps: the shift they apply
on average, as if the scale had no ends. The fit is penalised three ways: a
pseudo-count prior on ``p_r`` with most weight on no shift (every probability stays
positive; small samples steady), a cost of ``SHIFT_COST * d^2`` per rating (where the
data cannot tell +1 from +2, e.g. no candidate was Junior, the smaller shift wins
instead of a few ambiguous units deciding it), and a small prior on ``pi``. Offsets
are then centred to sum to zero over the fitted interviewers, weighted by their
ratings: the reference is the team's average rater.

Pure numpy, vectorised over ratings; deterministic for a given input order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "SHIFT_COST",
    "SHIFT_PRIOR",
    "FittedShifts",
    "RatingArrays",
    "fit_shifts",
    "group_offsets",
    "prior_shifts",
]

SHIFT_PRIOR = 0.5
"""Pseudo-ratings behind each interviewer's shift prior (shared as _SHIFT_WIDTH says)."""
SHIFT_COST = 0.02
"""Per rating, the penalty of a shift of d steps is SHIFT_COST * d^2: the fit prefers the
smallest shifts that explain the ratings (see docs/calibration.md, "The model")."""
_NEWTON_STEPS = 60
_SHIFT_WIDTH = 0.5  # the prior's spread in steps: 79% no shift, 11% each one step
_TRUTH_PRIOR = 0.1  # small: a level no candidate has gets no weight to pull shifts with
_MAX_ITERATIONS = 500
# On the largest change of a probability or an offset in one iteration. EM's last steps
# are slow (the split of ratings at the scale's ends): stopping here leaves offsets
# within about 1e-3 of the limit, well below the one decimal shown.
_TOLERANCE = 1e-5

Floats = NDArray[np.float64]
Ints = NDArray[np.intp]


@dataclass(frozen=True)
class RatingArrays:
    """Ratings as parallel arrays: who, on which unit, which level index."""

    rater: Ints
    unit: Ints
    level: Ints

    @staticmethod
    def of(rater: list[int], unit: list[int], level: list[int]) -> RatingArrays:
        return RatingArrays(
            np.asarray(rater, dtype=np.intp),
            np.asarray(unit, dtype=np.intp),
            np.asarray(level, dtype=np.intp),
        )

    def __len__(self) -> int:
        return len(self.level)


@dataclass(frozen=True)
class FittedShifts:
    levels: int
    shifts: Floats  # (raters, 2K - 1): each rater's distribution of shifts -(K-1)..K-1
    truth_prior: Floats  # (skills, K): each skill's distribution of true levels
    centre: float  # the ratings-weighted mean raw offset, subtracted from every figure
    offsets: Floats  # (raters,): centred offsets in level steps (0 for raters not fitted)

    def posterior(self, ratings: RatingArrays, unit_skill: Ints, units: int) -> Floats:
        """(units, K): each unit's true level given ``ratings`` (prior alone if unrated)."""
        log_prior = np.log(self.truth_prior)[unit_skill]
        return _posterior(ratings, _log_tables(self.shifts, self.levels), log_prior, units)


def _clip_map(levels: int) -> Floats:
    """(t, d, y): 1 where a true level t shifted by d is rated y (ends clipped)."""
    shifts = np.arange(-(levels - 1), levels)
    table = np.zeros((levels, len(shifts), levels))
    for t in range(levels):
        rated = np.clip(t + shifts, 0, levels - 1)
        table[t, np.arange(len(shifts)), rated] = 1.0
    return table


def _shift_prior(levels: int) -> Floats:
    d = np.arange(-(levels - 1), levels, dtype=np.float64)
    q = np.exp(-0.5 * (d / _SHIFT_WIDTH) ** 2)
    return np.asarray(q / q.sum(), dtype=np.float64)


def _log_tables(shifts: Floats, levels: int) -> Floats:
    """(raters * K, K): log P(rated y | true t) per rater, row r * K + y, column t."""
    tables = np.einsum("rd,tdy->ryt", shifts, _clip_map(levels))
    return np.asarray(np.log(tables).reshape(-1, levels), dtype=np.float64)


def _posterior(ratings: RatingArrays, log_tables: Floats, log_prior: Floats, units: int) -> Floats:
    levels = log_prior.shape[1]
    rows = log_tables[ratings.rater * levels + ratings.level]  # (ratings, K)
    loglik: Floats = np.stack(
        [np.bincount(ratings.unit, weights=rows[:, t], minlength=units) for t in range(levels)],
        axis=1,
    )
    loglik = loglik + log_prior
    loglik -= loglik.max(axis=1, keepdims=True)
    weights = np.exp(loglik)
    return np.asarray(weights / weights.sum(axis=1, keepdims=True), dtype=np.float64)


def _expected_counts(ratings: RatingArrays, truth: Floats, groups: int, levels: int) -> Floats:
    """(groups, K, K): expected ratings of each group (the rater index) per (t, y)."""
    weights = truth[ratings.unit]  # (ratings, K)
    cell = ratings.rater * levels + ratings.level
    counts = np.stack(
        [
            np.bincount(cell, weights=weights[:, t], minlength=groups * levels)
            for t in range(levels)
        ],
        axis=1,
    )  # (groups * K, K): row g * K + y, column t
    return np.asarray(counts.reshape(groups, levels, levels).transpose(0, 2, 1), dtype=np.float64)


def _update_shifts(counts: Floats, shifts: Floats, prior: Floats) -> Floats:
    """One EM step for the shift distributions, given expected (t, y) counts.

    A count of (t, y) belongs to every shift d with clip(t + d) = y, shared in
    proportion to the current probabilities of those shifts. The new distribution
    maximises ``sum_d a_d log p_d - SHIFT_COST * n * sum_d p_d d^2`` (``a`` the shared
    counts plus the prior's, ``n`` the group's ratings): ``p_d = a_d / (mu + c n d^2)``
    with ``mu`` such that they sum to one.
    """
    levels = counts.shape[1]
    clip = _clip_map(levels)
    rated = np.einsum("gd,tdy->gty", shifts, clip)  # P(y | t) per group
    share = np.divide(counts, rated, out=np.zeros_like(counts), where=rated > 0)
    mass = shifts * np.einsum("gty,tdy->gd", share, clip) + prior
    d = np.arange(-(levels - 1), levels, dtype=np.float64)
    cost = SHIFT_COST * counts.sum(axis=(1, 2))[:, None] * d**2  # (groups, 2K - 1)
    # sum_d a_d / (mu + cost_d) - 1 is convex and decreasing in mu; Newton from below
    # (mu = a_0, where it is >= 0) climbs to its root without overshooting.
    mu = mass[:, levels - 1 : levels].copy()
    for _ in range(_NEWTON_STEPS):
        terms = mass / (mu + cost)
        excess = terms.sum(axis=1, keepdims=True) - 1.0
        slope = (terms / (mu + cost)).sum(axis=1, keepdims=True)
        mu = mu + excess / slope
        if float(np.abs(excess).max(initial=0.0)) < 1e-12:
            break
    new = mass / (mu + cost)
    return np.asarray(new / new.sum(axis=1, keepdims=True), dtype=np.float64)


def _largest_change(new: Floats, old: Floats) -> float:
    """The largest change of any shift probability, or of any group's mean shift."""
    d = np.arange(-(new.shape[1] // 2), new.shape[1] // 2 + 1, dtype=np.float64)
    step = new - old
    return max(float(np.abs(step).max(initial=0.0)), float(np.abs(step @ d).max(initial=0.0)))


def fit_shifts(
    ratings: RatingArrays, unit_skill: Ints, *, raters: int, units: int, skills: int, levels: int
) -> tuple[FittedShifts, Floats]:
    """Fit the model to ``ratings``; returns it and each unit's posterior true level."""
    prior_shift = _shift_prior(levels)
    shifts = np.tile(prior_shift, (raters, 1))
    truth_prior = np.full((skills, levels), 1.0 / levels)
    skill_units = np.bincount(unit_skill, minlength=skills).astype(np.float64)
    truth = np.full((units, levels), 1.0 / levels)
    for _ in range(_MAX_ITERATIONS):
        truth = _posterior(
            ratings, _log_tables(shifts, levels), np.log(truth_prior)[unit_skill], units
        )
        per_skill = np.stack(
            [np.bincount(unit_skill, weights=truth[:, t], minlength=skills) for t in range(levels)],
            axis=1,
        )
        truth_prior = (per_skill + _TRUTH_PRIOR) / (skill_units + levels * _TRUTH_PRIOR)[:, None]
        counts = _expected_counts(ratings, truth, raters, levels)
        new = _update_shifts(counts, shifts, SHIFT_PRIOR * prior_shift)
        change = _largest_change(new, shifts)
        shifts = new
        if change < _TOLERANCE:
            break
    raw = shifts @ np.arange(-(levels - 1), levels, dtype=np.float64)
    weight = np.bincount(ratings.rater, minlength=raters).astype(np.float64)
    centre = float(weight @ raw / weight.sum()) if weight.sum() else 0.0
    offsets = np.where(weight > 0, raw - centre, 0.0)
    fitted = FittedShifts(levels, shifts, truth_prior, centre, offsets)
    return fitted, truth


def group_offsets(
    ratings: RatingArrays, truth: Floats, *, groups: int, start: Floats, centre: float
) -> Floats:
    """(groups,): centred offsets of groups of ratings against fixed true levels.

    ``ratings.rater`` holds the group index (an interviewer on one skill, or an
    observer); ``truth`` the units' posterior levels from the panel's fit, which these
    ratings do not move. ``start`` (groups, 2K - 1) seeds each group's shifts and is
    their prior: a skill's figure leans on the interviewer's overall shifts, an
    observer's on the model's prior.
    """
    levels = truth.shape[1]
    counts = _expected_counts(ratings, truth, groups, levels)
    prior = SHIFT_PRIOR * start
    shifts = start
    for _ in range(_MAX_ITERATIONS):
        new = _update_shifts(counts, shifts, prior)
        change = _largest_change(new, shifts)
        shifts = new
        if change < _TOLERANCE:
            break
    raw = shifts @ np.arange(-(levels - 1), levels, dtype=np.float64)
    return np.asarray(raw - centre, dtype=np.float64)


def prior_shifts(groups: int, levels: int) -> Floats:
    """(groups, 2K - 1): the model's prior shift distribution, for every group."""
    return np.tile(_shift_prior(levels), (groups, 1))
