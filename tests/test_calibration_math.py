"""rubric.calibration: hand-computed figures, the krippendorff package, and simulations.

The model's offsets (``Deviation.mean``) are checked on designs whose answer can be
worked out by hand, and on the seeded simulation of issue 14 (the MLE 3-level scale,
where the raw ``Deviation.observed`` is shrunk by the floor and ceiling).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import krippendorff
import numpy as np
import pytest

from rubric import load_builtin
from rubric.calibration import (
    MIN_INTERVIEWERS_FOR_SPREAD,
    NOTABLE_DEVIATION,
    Calibration,
    CalibrationPanel,
    InterviewerCalibration,
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


def entry(cal: Calibration, user: str) -> InterviewerCalibration:
    found = cal.interviewer(user)
    assert found is not None, user
    return found


def overall(cal: Calibration, user: str) -> float:
    figure = entry(cal, user).overall
    assert figure is not None, user
    return figure.mean


# -- hand-computed: the raw comparison with the rest of the panel -----------------------------


def test_observed_deviation_and_agreement_by_hand() -> None:
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
    a, b, c = (entry(cal, u) for u in "ABC")
    assert a.overall is not None and b.overall is not None and c.overall is not None
    assert a.ratings == 2 and a.interviews == 2
    assert a.overall.observed == pytest.approx(1.0)
    assert a.overall.agreement == 0.0  # both a full level above the rest
    assert b.overall.observed == pytest.approx((-0.5 - 1) / 2)
    assert b.overall.agreement == pytest.approx(0.5)  # -0.5 is within half a step
    assert c.overall.observed == pytest.approx(-0.5) and c.ratings == 1
    assert dict(a.per_skill)["s0"].observed == pytest.approx(1.0)
    assert "s1" not in dict(a.per_skill)  # rated alone: never compared
    # the model agrees on the direction: A above, B below
    assert a.overall.mean > 0 > b.overall.mean

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
    a = entry(cal, "A").overall
    assert a is not None
    assert a.observed == pytest.approx(1 - 1.5) and a.agreement == 1.0


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


# -- hand-checkable: the model ------------------------------------------------------------------


def shifted_panels(
    rubric: Rubric, *, truths: Sequence[int], shifts: dict[str, int]
) -> list[CalibrationPanel]:
    """One panel per truth; on skill k the candidate is truth + k (mod 3), each
    interviewer rates it shifted by their own shift, clipped to the scale."""
    top = len(rubric.levels) - 1
    panels = []
    for n, truth in enumerate(truths, start=1):
        members = []
        for user, shift in sorted(shifts.items()):
            levels: dict[str, str | None] = {}
            for k, skill in enumerate(rubric.skills):
                level = truths[0] + (truth - truths[0] + k) % 3 + shift
                levels[skill.id] = f"l{min(max(level, 0), top)}"
            members.append(panelist(user, levels))
        panels.append(panel(n, *members))
    return panels


BALANCED = {"L": 1, "S": -1, "F0": 0, "F1": 0, "F2": 0}


def test_without_clipping_a_balanced_panel_reads_as_the_raw_mean() -> None:
    # 7 levels, candidates at l2-l4: a shift of one step never meets an end. For L the
    # rest is (t-1, t, t, t), median t: raw +1; for each F, (t+1, t-1, t, t): raw 0.
    rubric = make_rubric(7, 2)
    cal = calibrate(rubric, shifted_panels(rubric, truths=[2, 3, 4] * 10, shifts=BALANCED))
    for user, shift in BALANCED.items():
        figure = entry(cal, user).overall
        assert figure is not None and figure.ratings == 60
        assert figure.observed == shift
        assert figure.mean == pytest.approx(figure.observed, abs=0.02), user
        for _skill, per_skill in entry(cal, user).per_skill:
            assert per_skill.mean == pytest.approx(shift, abs=0.02)
    assert (cal.spread.lenient, cal.spread.severe) == (1, 1)


def test_on_three_levels_the_raw_mean_is_shrunk_and_the_model_is_not() -> None:
    # Candidates Junior, Senior and Lead in turn; L rates one step up, clipped: a Lead
    # candidate's Lead reads as agreement, so the raw mean is (1 + 1 + 0) / 3 = 2/3.
    # The model reads L's Lead on a Lead candidate as "a shift of 0 or more" and
    # learns from the other two that L's shift is one step.
    rubric = make_rubric(3, 3)
    cal = calibrate(rubric, shifted_panels(rubric, truths=[0, 1, 2] * 10, shifts=BALANCED))
    lenient, severe = entry(cal, "L").overall, entry(cal, "S").overall
    assert lenient is not None and severe is not None
    assert lenient.observed == pytest.approx(2 / 3) and severe.observed == pytest.approx(-2 / 3)
    assert lenient.mean == pytest.approx(1.0, abs=0.02)
    assert severe.mean == pytest.approx(-1.0, abs=0.02)
    assert all(abs(overall(cal, f"F{i}")) < 1e-9 for i in range(3))


def test_offsets_sum_to_zero_over_the_raters_weighted_by_ratings() -> None:
    # A always one step above B: the model cannot tell who is off, so each reads half
    # of the step (the team's average rater is the reference); the raw figures read
    # the whole step each way.
    rubric = make_rubric(7, 1)
    panels = [
        panel(i, panelist("A", {"s0": f"l{3 + i % 2}"}), panelist("B", {"s0": f"l{2 + i % 2}"}))
        for i in range(1, 21)
    ]
    cal = calibrate(rubric, panels, min_ratings=10)
    assert overall(cal, "A") == pytest.approx(-overall(cal, "B"), abs=1e-9)
    assert overall(cal, "A") == pytest.approx(0.5, abs=0.02)
    a = entry(cal, "A").overall
    assert a is not None and a.observed == 1.0


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
        found = entry(nine, user)
        assert found.ratings == 9
        assert found.overall is None and found.per_skill == ()
    assert nine.spread.interviewers == 0 and nine.spread.stdev is None
    panels.append(panel(10, panelist("A", {"s0": "l2"}), panelist("B", {"s0": "l1"})))
    ten = calibrate(rubric, panels, min_ratings=10)
    a = entry(ten, "A")
    assert a.overall is not None and a.overall.observed == 1.0 and a.overall.mean > 0
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
    # B is the middle: A one step above (raw: 2 - median(1, 0) = +1.5), C one below. On
    # 10 ratings the prior (half a rating at no shift) takes about 5% off each.
    assert cal.spread.lowest == pytest.approx(-1.0, abs=0.06)
    assert cal.spread.highest == pytest.approx(1.0, abs=0.06)
    assert cal.spread.highest == overall(cal, "A") and cal.spread.lowest == overall(cal, "C")
    assert abs(overall(cal, "B")) < 1e-9
    assert (cal.spread.lenient, cal.spread.severe) == (1, 1)
    assert cal.spread.stdev == pytest.approx(1.0, abs=0.06)
    a = entry(cal, "A").overall
    assert a is not None and a.observed == 1.5


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


# -- the simulation of issue 14: the MLE 3-level scale ------------------------------------------

MLE = load_builtin("mle")
LENIENT, SEVERE = "U0LENIENT", "U0SEVERE"
POOL = [LENIENT, SEVERE, *(f"U0FAIR{i}" for i in range(6))]
SHIFT = {LENIENT: 1, SEVERE: -1}


def mle_simulation(seed: int, *, interviews: int = 60) -> list[CalibrationPanel]:
    """Panels of 4 from 8 interviewers; every skill's true level uniform on Junior, Senior,
    Lead. The biased two move one step (up, down) with probability 0.8: a bias of 0.8
    levels. Everyone's rating then moves one step either way with probability 0.3. The
    result is clipped to the scale."""
    rng = random.Random(seed)
    top = len(MLE.levels) - 1
    panels = []
    for interview in range(1, interviews + 1):
        members = rng.sample(POOL, 4)
        truths = {skill.id: rng.randint(0, top) for skill in MLE.skills}
        inputs = []
        for user in members:
            levels: dict[str, str | None] = {}
            for skill in MLE.skills:
                level = truths[skill.id]
                if user in SHIFT and rng.random() < 0.8:
                    level += SHIFT[user]
                if rng.random() < 0.3:
                    level += rng.choice((-1, 1))
                levels[skill.id] = MLE.level_ids[min(max(level, 0), top)]
            inputs.append(panelist(user, levels))
        panels.append(CalibrationPanel(interview, "senior", tuple(inputs)))
    return panels


SEEDS = [1, 2, 3, 4, 5]  # docs/calibration.md gives each seed's figures


@pytest.mark.parametrize("seed", SEEDS)
def test_the_mle_simulation_recovers_both_biases_on_three_levels(seed: int) -> None:
    cal = calibrate(MLE, mle_simulation(seed))
    lenient, severe = entry(cal, LENIENT).overall, entry(cal, SEVERE).overall
    assert lenient is not None and severe is not None
    assert lenient.mean == pytest.approx(0.8, abs=0.2)
    assert severe.mean == pytest.approx(-0.8, abs=0.2)
    fair = [overall(cal, user) for user in POOL if user not in SHIFT]
    assert max(abs(v) for v in fair) <= 0.15, fair
    assert cal.spread.lenient >= 1 and cal.spread.severe >= 1
    assert cal.spread.lenient == 1 and cal.spread.severe == 1  # and no fair rater
    assert NOTABLE_DEVIATION <= 0.5
    # what the raw mean reads: shrunk by the ends
    assert 0.3 < lenient.observed < 0.7 and -0.7 < severe.observed < -0.3


# -- shadows ---------------------------------------------------------------------------------------

SHADOW = "U0SHADOW"


def with_observers(panels: list[CalibrationPanel], seed: int) -> list[CalibrationPanel]:
    """A trainee shadows every other interview, rating one step above the first
    panelist (clipped); U0FAIR0, when not on the panel, shadows every third, at random."""
    rng = random.Random(seed)
    out = []
    for p in panels:
        observers = []
        if p.interview_id % 2 == 0:
            first = {r.skill_id: MLE.level_ids.index(r.level or "") for r in p.panelists[0].ratings}
            up: dict[str, str | None] = {s: MLE.level_ids[min(v + 1, 2)] for s, v in first.items()}
            observers.append(panelist(SHADOW, up))
        if p.interview_id % 3 == 0 and "U0FAIR0" not in {m.interviewer for m in p.panelists}:
            observers.append(
                panelist("U0FAIR0", {s.id: rng.choice(MLE.level_ids) for s in MLE.skills})
            )
        out.append(CalibrationPanel(p.interview_id, p.target_level, p.panelists, tuple(observers)))
    return out


def test_observers_change_nobody_elses_figures_and_get_their_own() -> None:
    panels = mle_simulation(7)
    alone = calibrate(MLE, panels)
    shadowed = calibrate(MLE, with_observers(panels, 7))
    assert shadowed.skills == alone.skills  # alpha, discussed and unassessed shares
    assert shadowed.spread == alone.spread
    for before in alone.interviewers:
        after = entry(shadowed, before.interviewer)
        assert (after.ratings, after.interviews, after.overall, after.per_skill) == (
            before.ratings,
            before.interviews,
            before.overall,
            before.per_skill,
        )
    # the trainee: an entry with no panel figure, and a shadow figure of about +1
    trainee = entry(shadowed, SHADOW)
    assert trainee.overall is None and trainee.ratings == 0 and trainee.per_skill == ()
    assert trainee.shadow is not None and trainee.shadow_ratings == 30 * len(MLE.skills)
    assert trainee.shadow.ratings == trainee.shadow_ratings and trainee.shadow.interviews == 30
    assert trainee.shadow.mean > 0.8
    assert 0 < trainee.shadow.observed < trainee.shadow.mean  # the raw figure is shrunk
    # a panelist who also shadowed: both figures, the panel one as without shadowing
    both = entry(shadowed, "U0FAIR0")
    assert both.overall == entry(alone, "U0FAIR0").overall and both.shadow is not None
    assert entry(alone, "U0FAIR0").shadow is None
    assert sum(1 for i in shadowed.interviewers if i.shadow is not None) == 2


def test_an_observer_below_the_minimum_has_a_count_and_no_figure() -> None:
    panels = with_observers(mle_simulation(8, interviews=4), 8)  # trainee in interviews 2, 4
    cal = calibrate(MLE, panels, min_ratings=33)
    trainee = entry(cal, SHADOW)
    assert trainee.shadow is None and trainee.shadow_ratings == 32


def test_nobody_is_both_on_the_panel_and_shadowing_it() -> None:
    [first] = mle_simulation(9, interviews=1)
    twice = CalibrationPanel(1, "senior", first.panelists, (first.panelists[0],))
    with pytest.raises(ValueError, match="both on the panel and one of its observers"):
        calibrate(MLE, [twice])


# -- a 7-level scale, with not-rated skills --------------------------------------------------------

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
