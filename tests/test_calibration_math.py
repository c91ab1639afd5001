"""rubric.calibration: hand-computed figures, the krippendorff package, and a simulation."""

from __future__ import annotations

import random
from collections.abc import Sequence

import krippendorff
import numpy as np
import pytest

from rubric.calibration import (
    MIN_INTERVIEWERS_FOR_SPREAD,
    CalibrationPanel,
    calibrate,
)
from rubric.consensus_types import PanelistInput, PanelRating
from rubric.model import Rubric
from tests.test_consensus import make_rubric, reference_ordinal_alpha


def panelist(user: str, levels: dict[str, str | None]) -> PanelistInput:
    return PanelistInput(
        interviewer=user,
        focus=(),
        recommendation="ok",
        ratings=tuple(
            PanelRating(skill, level, has_evidence=True) for skill, level in levels.items()
        ),
    )


def panel(interview_id: int, *members: PanelistInput, target: str = "l1") -> CalibrationPanel:
    return CalibrationPanel(interview_id, target, tuple(members))


# -- hand-computed ---------------------------------------------------------------------------


def test_deviation_and_agreement_by_hand() -> None:
    rubric = make_rubric(3, 2)
    panels = [
        # s0: A l2, B l1, C l1 -> A: 2 - median(1, 1) = +1; B: 1 - median(2, 1) = -0.5; C: -0.5
        panel(
            1, panelist("A", {"s0": "l2"}), panelist("B", {"s0": "l1"}), panelist("C", {"s0": "l1"})
        ),
        # s0: A l1, B l0 -> A: +1, B: -1. s1: only A rated it: no comparison.
        panel(2, panelist("A", {"s0": "l1", "s1": "l2"}), panelist("B", {"s0": "l0"})),
    ]
    cal = calibrate(rubric, panels, min_ratings=1)
    a, b, c = (cal.interviewer(u) for u in "ABC")
    assert a is not None and a.overall is not None
    assert a.ratings == 2 and a.interviews == 2
    assert a.overall.mean == pytest.approx(1.0)
    assert a.overall.agreement == 0.0  # both a full level above the rest
    assert b is not None and b.overall is not None
    assert b.overall.mean == pytest.approx((-0.5 - 1) / 2)
    assert b.overall.agreement == pytest.approx(0.5)  # -0.5 is within half a step
    assert c is not None and c.overall is not None
    assert c.overall.mean == pytest.approx(-0.5) and c.ratings == 1
    assert dict(a.per_skill)["s0"].mean == pytest.approx(1.0)
    assert "s1" not in dict(a.per_skill)  # rated alone: never compared

    s0, s1 = cal.skills
    assert (s0.panels, s0.rated_panels, s0.ratings, s0.pairable) == (2, 2, 5, 5)
    assert s0.unassessed == 0 and s0.unassessed_share == 0
    # panel 1 spans l1-l2 around an l1 target: not flagged; panel 2 straddles l1: flagged
    assert s0.needs_discussion == 1 and s0.needs_discussion_share == pytest.approx(0.5)
    assert (s1.rated_panels, s1.unassessed, s1.unassessed_share) == (1, 1, 0.5)
    assert s1.agreement.alpha is None  # nothing to pair


def test_a_median_between_levels_counts_as_agreeing_with_either_neighbour() -> None:
    rubric = make_rubric(3, 1)
    cal = calibrate(
        rubric,
        [
            panel(
                1,
                panelist("A", {"s0": "l1"}),
                panelist("B", {"s0": "l1"}),
                panelist("C", {"s0": "l2"}),
            )
        ],
        min_ratings=1,
    )
    a = cal.interviewer("A")
    assert a is not None and a.overall is not None
    assert a.overall.mean == pytest.approx(1 - 1.5) and a.overall.agreement == 1.0


def test_not_assessed_is_neither_a_rating_nor_a_gap_filler() -> None:
    rubric = make_rubric(3, 1)
    cal = calibrate(
        rubric,
        [panel(1, panelist("A", {"s0": None}), panelist("B", {"s0": None}))],
        min_ratings=1,
    )
    [s0] = cal.skills
    assert s0.ratings == 0 and s0.unassessed == 1 and s0.needs_discussion_share is None
    assert all(i.ratings == 0 for i in cal.interviewers)


# -- alpha: a published example and the package -----------------------------------------------

# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", the 4 coders x 12 units
# example with missing values; ordinal alpha 0.815 (the package's README gives the same).
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


def panels_from_matrix(matrix: Sequence[Sequence[int | None]]) -> list[CalibrationPanel]:
    """Units become panels (skill s0), coders interviewers, value v level l{v-1}."""
    coders = [f"U{c}" for c in range(len(matrix))]
    panels = []
    for unit in range(len(matrix[0])):
        members = [
            panelist(coders[c], {"s0": f"l{row[unit] - 1}"})
            for c, row in enumerate(matrix)
            if row[unit] is not None
        ]
        panels.append(panel(unit + 1, *members, target="l0"))
    return panels


def test_skill_alpha_matches_krippendorffs_worked_example() -> None:
    cal = calibrate(make_rubric(5, 1), panels_from_matrix(KRIPPENDORFF_2011), min_ratings=1)
    alpha = cal.skills[0].agreement.alpha
    assert alpha == pytest.approx(0.815, abs=5e-4)
    assert alpha == pytest.approx(float(reference_ordinal_alpha(KRIPPENDORFF_2011)), abs=1e-9)
    assert cal.skills[0].agreement.reading == "reliable"  # from .800


@pytest.mark.parametrize("seed", range(5))
def test_skill_alpha_equals_the_package_on_random_panels(seed: int) -> None:
    rng = random.Random(seed)
    coders, units, levels = 6, 40, 4
    matrix: list[list[int | None]] = [
        [rng.randint(1, levels) if rng.random() < 0.6 else None for _ in range(units)]
        for _ in range(coders)
    ]
    cal = calibrate(make_rubric(levels, 1), panels_from_matrix(matrix), min_ratings=1)
    data = np.array([[np.nan if v is None else v - 1 for v in row] for row in matrix], float)
    expected = krippendorff.alpha(
        reliability_data=data,
        value_domain=np.arange(levels, dtype=float),
        level_of_measurement="ordinal",
    )
    assert cal.skills[0].agreement.alpha == pytest.approx(expected, abs=1e-9)


def test_alpha_needs_min_ratings_pairable_ratings() -> None:
    panels = panels_from_matrix(KRIPPENDORFF_2011)  # 41 ratings, 40 pairable (unit 12 has one)
    assert calibrate(make_rubric(5, 1), panels, min_ratings=40).skills[0].agreement.alpha
    shy = calibrate(make_rubric(5, 1), panels, min_ratings=41).skills[0]
    assert shy.agreement.alpha is None and shy.agreement.reading == "not enough data"
    assert (shy.ratings, shy.pairable) == (41, 40)


# -- the minimum and the spread ------------------------------------------------------------------


def test_no_interviewer_figure_below_min_ratings() -> None:
    rubric = make_rubric(3, 1)
    panels = [
        panel(i, panelist("A", {"s0": "l2"}), panelist("B", {"s0": "l1"})) for i in range(1, 10)
    ]
    nine = calibrate(rubric, panels, min_ratings=10)
    for user in "AB":
        entry = nine.interviewer(user)
        assert entry is not None and entry.ratings == 9
        assert entry.overall is None and entry.per_skill == ()
    assert nine.spread.interviewers == 0 and nine.spread.stdev is None
    panels.append(panel(10, panelist("A", {"s0": "l2"}), panelist("B", {"s0": "l1"})))
    ten = calibrate(rubric, panels, min_ratings=10)
    a = ten.interviewer("A")
    assert a is not None and a.overall is not None and a.overall.mean == 1.0
    assert dict(a.per_skill)["s0"].ratings == 10


def test_the_spread_names_nobody_and_needs_three_interviewers() -> None:
    rubric = make_rubric(3, 1)
    two = [panel(i, panelist("A", {"s0": "l2"}), panelist("B", {"s0": "l0"})) for i in range(10)]
    cal = calibrate(rubric, two, min_ratings=5)
    assert cal.spread.interviewers == 2
    assert (cal.spread.stdev, cal.spread.lowest, cal.spread.highest) == (None, None, None)
    assert MIN_INTERVIEWERS_FOR_SPREAD == 3
    three = [
        panel(
            i,
            panelist("A", {"s0": "l2"}),
            panelist("B", {"s0": "l1"}),
            panelist("C", {"s0": "l0"}),
        )
        for i in range(10)
    ]
    cal = calibrate(rubric, three, min_ratings=5)
    assert cal.spread.interviewers == 3
    # A: 2 - median(1, 0) = +1.5; B: 1 - median(2, 0) = 0; C: -1.5
    assert (cal.spread.lowest, cal.spread.highest) == (-1.5, 1.5)
    assert (cal.spread.lenient, cal.spread.severe) == (1, 1)
    assert cal.spread.stdev == pytest.approx(1.5)


def test_skills_needing_clarification_are_the_weakly_reliable_ones() -> None:
    rubric = make_rubric(3, 3)
    rng = random.Random(7)
    panels = []
    for i in range(60):
        truth = rng.randint(0, 2)
        members = []
        for user in ("A", "B", "C"):
            levels = {
                "s0": f"l{truth}",  # everyone agrees
                "s1": f"l{rng.randint(0, 2)}",  # noise: nobody agrees
                "s2": f"l{truth if rng.random() < 0.6 else rng.randint(0, 2)}",
            }
            members.append(panelist(user, levels))
        panels.append(panel(i, *members))
    cal = calibrate(rubric, panels)
    ids = [s.skill_id for s in cal.needing_clarification()]
    assert ids[0] == "s1"
    assert "s0" not in ids
    assert cal.skill("s0").agreement.alpha == pytest.approx(1.0)


# -- the simulation ------------------------------------------------------------------------------

BIASES = {"U0LENIENT": 1.0, "U0SEVERE": -1.0, **{f"U0FAIR{i}": 0.0 for i in range(6)}}


def simulate(
    rubric: Rubric, *, seed: int, interviews: int, biases: dict[str, float]
) -> list[CalibrationPanel]:
    """Panels of 4 drawn from the pool; each rates truth + bias + noise (-1/0/+1).

    Truths sit in the middle of a 7-level scale so that no bias or noise is clipped:
    an interviewer's expected deviation from the rest of the panel is their bias.
    """
    rng = random.Random(seed)
    pool = sorted(biases)
    panels = []
    for interview in range(1, interviews + 1):
        members = rng.sample(pool, 4)
        truths = {skill.id: rng.randint(2, 4) for skill in rubric.skills}
        inputs = []
        for user in members:
            levels: dict[str, str | None] = {}
            for skill in rubric.skills:
                if rng.random() < 0.15:
                    continue  # not rated
                noise = rng.choices((-1, 0, 1), weights=(1, 3, 1))[0]
                levels[skill.id] = f"l{truths[skill.id] + int(biases[user]) + noise}"
            inputs.append(panelist(user, levels))
        panels.append(panel(interview, *inputs, target="l3"))
    return panels


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_simulation_recovers_every_bias_within_a_fifth_of_a_level(seed: int) -> None:
    rubric = make_rubric(7, 6)
    cal = calibrate(rubric, simulate(rubric, seed=seed, interviews=300, biases=BIASES))
    for user, bias in BIASES.items():
        entry = cal.interviewer(user)
        assert entry is not None and entry.overall is not None, user
        assert entry.overall.mean == pytest.approx(bias, abs=0.2), (user, entry.overall)
        for skill_id, deviation in entry.per_skill:
            assert deviation.mean == pytest.approx(bias, abs=0.45), (user, skill_id, deviation)
    assert cal.spread.lenient == 1 and cal.spread.severe == 1
    # the biased pair are the extremes of the spread, which names nobody
    lenient, severe = cal.interviewer("U0LENIENT"), cal.interviewer("U0SEVERE")
    assert lenient is not None and lenient.overall is not None
    assert severe is not None and severe.overall is not None
    assert cal.spread.highest == lenient.overall.mean
    assert cal.spread.lowest == severe.overall.mean


def test_the_simulation_is_deterministic_and_order_free() -> None:
    rubric = make_rubric(7, 3)
    panels = simulate(rubric, seed=9, interviews=50, biases=BIASES)
    shuffled = list(reversed(panels))
    assert calibrate(rubric, panels) == calibrate(rubric, shuffled)


def test_rejects_a_minimum_below_one() -> None:
    with pytest.raises(ValueError, match="min_ratings"):
        calibrate(make_rubric(3, 1), [], min_ratings=0)
