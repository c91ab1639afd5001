"""Panel consensus: medians, spread, verdicts, discussion flags, votes, coverage, alpha."""

from __future__ import annotations

import math
import os
import statistics
import subprocess
import sys
from collections.abc import Mapping, Sequence
from fractions import Fraction

import krippendorff
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rubric import Rubric, UnknownIdError, load_builtin
from rubric.consensus import NOT_ENOUGH_DATA, ordinal_alpha, panel_consensus
from rubric.consensus_types import (
    Agreement,
    FocusGap,
    PanelConsensus,
    PanelistInput,
    PanelRating,
    SkillConsensus,
    Verdict,
)

MLE = load_builtin()
MLE_SKILLS = [skill.id for skill in MLE.skills]
FUND = "fundamentals"
LIBS = "libraries_frameworks"


def person(
    interviewer: str,
    ratings: Mapping[str, str | None] | None = None,
    *,
    rec: str | None = None,
    focus: Sequence[str] = (),
    no_evidence: Sequence[str] = (),
) -> PanelistInput:
    """One interviewer; ``ratings`` maps skill id -> level id (None: Not assessed)."""
    return PanelistInput(
        interviewer=interviewer,
        focus=tuple(focus),
        recommendation=rec,
        ratings=tuple(
            PanelRating(skill_id=skill, level=level, has_evidence=skill not in no_evidence)
            for skill, level in (ratings or {}).items()
        ),
    )


def rated(skill: str, *levels: str | None) -> list[PanelistInput]:
    """Interviewers U0, U1, ... rating one skill with these levels."""
    return [person(f"U{i}", {skill: level}) for i, level in enumerate(levels)]


def skill_of(result: PanelConsensus, skill_id: str) -> SkillConsensus:
    (found,) = [s for s in result.skills if s.skill_id == skill_id]
    return found


def one_skill(target: str, *levels: str | None, rubric: Rubric = MLE) -> SkillConsensus:
    skill = rubric.skills[0].id
    return skill_of(panel_consensus(rubric, target, rated(skill, *levels)), skill)


def make_rubric(n_levels: int, n_skills: int) -> Rubric:
    """A small generated rubric: levels l0 (L0) < l1 (L1) < ..., skills s0, s1, ..."""
    level_ids = [f"l{i}" for i in range(n_levels)]
    return Rubric.model_validate(
        {
            "id": "gen",
            "name": "Generated",
            "version": "1",
            "levels": [{"id": lid, "name": lid.upper()} for lid in level_ids],
            "recommendations": [
                {"id": "nope", "name": "Nope", "hire": False},
                {"id": "meh", "name": "Meh", "hire": False},
                {"id": "ok", "name": "OK", "hire": True},
            ],
            "disciplines": [
                {
                    "id": "d",
                    "name": "D",
                    "skills": [
                        {
                            "id": f"s{i}",
                            "name": f"S{i}",
                            "question": "Q?",
                            "levels": {lid: {"short": lid, "full": lid} for lid in level_ids},
                        }
                        for i in range(n_skills)
                    ],
                }
            ],
        }
    )


def reference_ordinal_alpha(matrix: Sequence[Sequence[int | None]]) -> Fraction:
    """Krippendorff's ordinal alpha, straight from Krippendorff (2011), in exact fractions.

    ``matrix`` rows are coders, columns units; None is a missing value.
    """
    values = sorted({v for row in matrix for v in row if v is not None})
    o: dict[tuple[int, int], Fraction] = {}
    for unit in zip(*matrix, strict=True):
        present = [v for v in unit if v is not None]
        m = len(present)
        if m < 2:
            continue
        for i, c in enumerate(present):
            for j, k in enumerate(present):
                if i != j:
                    o[c, k] = o.get((c, k), Fraction(0)) + Fraction(1, m - 1)
    n_c = {c: sum((o.get((c, k), Fraction(0)) for k in values), Fraction(0)) for c in values}
    n = sum(n_c.values(), Fraction(0))

    def delta(c: int, k: int) -> Fraction:
        lo, hi = min(c, k), max(c, k)
        between = sum((n_c[g] for g in values if lo <= g <= hi), Fraction(0))
        return (between - (n_c[c] + n_c[k]) / 2) ** 2

    observed = sum(
        (o.get((c, k), Fraction(0)) * delta(c, k) for c in values for k in values), Fraction(0)
    )
    expected = sum((n_c[c] * n_c[k] * delta(c, k) for c in values for k in values), Fraction(0))
    return 1 - (n - 1) * observed / expected


def package_alpha(matrix: Sequence[Sequence[int | None]], n_levels: int) -> float:
    data = np.array([[np.nan if v is None else float(v) for v in row] for row in matrix])
    return float(
        krippendorff.alpha(
            reliability_data=data,
            value_domain=np.arange(n_levels, dtype=np.float64),
            level_of_measurement="ordinal",
        )
    )


# -- verdicts on hand examples (issue 14) ------------------------------------------------


def test_two_junior_two_lead_against_senior_is_split_not_meets() -> None:
    s = one_skill("senior", "junior", "junior", "lead", "lead")
    assert s.verdict is Verdict.SPLIT
    assert (s.consensus, s.consensus_label) == (None, "split Junior / Lead")
    assert (s.split_low, s.split_high) == ("junior", "lead")
    assert s.counts == (("junior", 2), ("lead", 2))
    assert s.range_steps == 2
    assert s.needs_discussion
    assert s.reasons == ("ratings span Junior to Lead", "split around the target (Senior)")


def test_junior_and_lead_is_split() -> None:
    s = one_skill("senior", "lead", "junior")
    assert (s.verdict, s.consensus, s.consensus_label) == (
        Verdict.SPLIT,
        None,
        "split Junior / Lead",
    )
    assert s.counts == (("junior", 1), ("lead", 1))
    assert s.needs_discussion


def test_three_senior_one_lead_meets_senior() -> None:
    s = one_skill("senior", "senior", "lead", "senior", "senior")
    assert (s.verdict, s.consensus, s.consensus_label) == (Verdict.MEETS, "senior", "Senior")
    assert (s.split_low, s.split_high) == (None, None)
    assert s.counts == (("senior", 3), ("lead", 1))
    assert s.range_steps == 1
    assert (s.needs_discussion, s.reasons) == (False, ())


def test_even_split_below_the_target_is_split_not_below() -> None:
    # Junior, Senior against Lead: both below the target, but the median is between two
    # levels nobody gave as the panel's, so no level and no "below" is claimed.
    s = one_skill("lead", "junior", "senior")
    assert (s.verdict, s.consensus, s.consensus_label) == (
        Verdict.SPLIT,
        None,
        "split Junior / Senior",
    )
    assert (s.split_low, s.split_high) == ("junior", "senior")
    assert s.needs_discussion
    assert s.reasons == ("the panel is split evenly: 1 Junior, 1 Senior",)


def test_even_split_names_the_two_middle_levels() -> None:
    s = one_skill("lead", "junior", "junior", "senior", "senior")
    assert s.consensus_label == "split Junior / Senior"
    assert s.reasons == ("the panel is split evenly: 2 Junior, 2 Senior",)
    four = make_rubric(4, 1)
    s = one_skill("l3", "l0", "l1", "l2", "l2", "l2", "l1", rubric=four)  # [0,1,1,2,2,2]
    assert (s.verdict, s.consensus_label) == (Verdict.SPLIT, "split L1 / L2")
    assert s.reasons == ("ratings span L0 to L2", "the panel is split evenly: 1 L0, 2 L1, 3 L2")


def test_even_count_with_equal_middle_values_is_that_level() -> None:
    s = one_skill("senior", "junior", "senior", "senior", "lead")
    # Junior and Lead straddle Senior: a split, even though the middle is Senior.
    assert (s.verdict, s.consensus_label) == (Verdict.SPLIT, "split Junior / Lead")
    s = one_skill("junior", "junior", "senior", "senior", "lead")
    assert (s.verdict, s.consensus, s.consensus_label) == (Verdict.EXCEEDS, "senior", "Senior")
    assert s.reasons == ("ratings span Junior to Lead",)


def test_straddle_of_three_levels_is_split_lowest_highest() -> None:
    s = one_skill("senior", "lead", "junior", "senior")
    assert (s.verdict, s.consensus, s.consensus_label) == (
        Verdict.SPLIT,
        None,
        "split Junior / Lead",
    )
    assert s.counts == (("junior", 1), ("senior", 1), ("lead", 1))
    assert s.ratings == (("U0", "lead"), ("U1", "junior"), ("U2", "senior"))
    assert s.reasons == ("ratings span Junior to Lead", "split around the target (Senior)")


def test_straddle_on_a_wider_scale_names_the_extremes() -> None:
    five = make_rubric(5, 1)
    s = one_skill("l2", "l1", "l2", "l2", "l4", rubric=five)
    assert (s.verdict, s.consensus_label) == (Verdict.SPLIT, "split L1 / L4")
    assert (s.split_low, s.split_high) == ("l1", "l4")


@pytest.mark.parametrize(
    ("level", "target", "verdict"),
    [
        ("senior", "senior", Verdict.MEETS),
        ("junior", "senior", Verdict.BELOW),
        ("lead", "senior", Verdict.EXCEEDS),
        ("lead", "lead", Verdict.MEETS),
    ],
)
def test_one_rater_gives_their_level(level: str, target: str, verdict: Verdict) -> None:
    s = one_skill(target, level)
    assert (s.consensus, s.consensus_label, s.verdict) == (level, MLE.level(level).name, verdict)
    assert s.counts == ((level, 1),)
    assert (s.range_steps, s.needs_discussion) == (0, False)


def test_all_not_assessed_has_no_verdict() -> None:
    panel = [*rated(FUND, None, None), person("U9", {LIBS: "senior"})]
    result = panel_consensus(MLE, "senior", panel)
    s = skill_of(result, FUND)
    assert s.ratings == ()
    assert s.not_assessed_by == ("U0", "U1")
    assert (s.consensus, s.split_low, s.split_high, s.consensus_label) == (None, None, None, "")
    assert (s.counts, s.range_steps, s.verdict) == ((), 0, None)
    assert (s.needs_discussion, s.reasons, s.without_evidence) == (False, (), 0)
    assert FUND in result.unassessed


def test_not_assessed_is_neither_a_rating_nor_a_level() -> None:
    panel = [*rated(FUND, "lead", None, "lead"), person("U9", {LIBS: "junior"})]
    s = skill_of(panel_consensus(MLE, "senior", panel), FUND)
    assert s.ratings == (("U0", "lead"), ("U2", "lead"))
    assert s.not_assessed_by == ("U1",)
    assert (s.consensus_label, s.counts) == ("Lead", (("lead", 2),))


@pytest.mark.parametrize(
    ("levels", "target", "verdict", "label"),
    [
        (("senior", "lead"), "senior", Verdict.SPLIT, "split Senior / Lead"),
        (("senior", "lead"), "lead", Verdict.SPLIT, "split Senior / Lead"),
        (("senior", "lead", "lead"), "senior", Verdict.EXCEEDS, "Lead"),
        (("senior", "lead", "lead"), "lead", Verdict.MEETS, "Lead"),
        (("junior", "senior", "senior"), "lead", Verdict.BELOW, "Senior"),
        (("junior", "junior", "senior"), "senior", Verdict.BELOW, "Junior"),
        (("junior", "senior", "lead"), "lead", Verdict.BELOW, "Senior"),
        (("junior", "senior", "lead"), "junior", Verdict.EXCEEDS, "Senior"),
    ],
)
def test_verdict(levels: tuple[str, ...], target: str, verdict: Verdict, label: str) -> None:
    s = one_skill(target, *levels)
    assert (s.verdict, s.consensus_label) == (verdict, label)


def test_unknown_target_level_is_an_error() -> None:
    with pytest.raises(UnknownIdError, match="principal"):
        panel_consensus(MLE, "principal", [])


# -- needs discussion ----------------------------------------------------------------------


def test_adjacent_ratings_split_around_the_target() -> None:
    # One below the target and one at it: flagged, though the median is a level given.
    s = one_skill("senior", "junior", "senior", "senior")
    assert (s.verdict, s.consensus_label) == (Verdict.MEETS, "Senior")
    assert s.reasons == ("split around the target (Senior)",)
    s = one_skill("lead", "lead", "senior", "lead")
    assert s.reasons == ("split around the target (Lead)",)
    assert s.verdict is Verdict.MEETS


def test_adjacent_ratings_on_one_side_of_the_target_are_not_flagged() -> None:
    assert not one_skill("senior", "senior", "lead", "lead").needs_discussion  # at or above
    assert not one_skill("lead", "junior", "senior", "senior").needs_discussion  # all below
    assert not one_skill("junior", "senior", "lead", "senior").needs_discussion


def test_range_alone_flags() -> None:
    four = make_rubric(4, 1)
    s = one_skill("l0", "l1", "l3", "l3", rubric=four)
    assert s.reasons == ("ratings span L1 to L3",)
    assert (s.verdict, s.consensus_label) == (Verdict.EXCEEDS, "L3")
    assert s.needs_discussion


def test_unanimous_is_never_flagged() -> None:
    for target in MLE.level_ids:
        for level in MLE.level_ids:
            s = one_skill(target, level, level, level)
            assert (s.needs_discussion, s.reasons) == (False, ())
            assert s.verdict is not Verdict.SPLIT
            assert s.consensus == level


def test_panel_lists_the_skills_that_need_discussion() -> None:
    panel = [
        person("A", {FUND: "junior", LIBS: "senior"}),
        person("B", {FUND: "lead", LIBS: "senior"}),
    ]
    result = panel_consensus(MLE, "senior", panel)
    assert [s.skill_id for s in result.needs_discussion] == [FUND]


# -- agreement a lead can check: comparable and unanimous skills ----------------------------


def test_comparable_and_unanimous_skills() -> None:
    panel = [
        person("A", {FUND: "senior", LIBS: "lead", "agile": "junior", "learning": None}),
        person("B", {FUND: "senior", LIBS: "senior", "agile": None, "learning": "lead"}),
        person("C", {FUND: "senior", "learning": "lead"}),
    ]
    result = panel_consensus(MLE, "senior", panel)
    # FUND (3 x Senior), LIBS (Lead, Senior) and learning (2 x Lead) have two level
    # ratings; agile has one ("Not assessed" is not a rating).
    assert (result.comparable, result.unanimous) == (3, 2)


def test_nothing_comparable() -> None:
    panel = [person("A", {FUND: "senior"}), person("B", {LIBS: "lead", FUND: None})]
    result = panel_consensus(MLE, "senior", panel)
    assert (result.comparable, result.unanimous) == (0, 0)


# -- evidence -------------------------------------------------------------------------------


def test_ratings_without_evidence_are_counted_per_skill_and_in_total() -> None:
    panel = [
        person("A", {FUND: "senior", LIBS: "lead"}, no_evidence=[FUND, LIBS]),
        person("B", {FUND: "senior", LIBS: None}, no_evidence=[LIBS]),  # Not assessed: no count
        person("C", {FUND: "junior"}, no_evidence=[FUND]),
    ]
    result = panel_consensus(MLE, "senior", panel)
    assert skill_of(result, FUND).without_evidence == 2
    assert skill_of(result, LIBS).without_evidence == 1
    assert result.without_evidence == 3


# -- recommendations ------------------------------------------------------------------------


def test_tally_lists_every_option_in_scale_order() -> None:
    panel = [
        person("D", rec="strong_no"),
        person("A", rec="yes"),
        person("C", rec="yes"),
        person("B", rec="strong_no"),
        person("E"),  # no recommendation
    ]
    result = panel_consensus(MLE, "senior", panel)
    assert result.tally == (("strong_no", 2), ("no", 0), ("yes", 2), ("strong_yes", 0))
    assert result.split_decision
    assert result.strong_no == ("B", "D")


def test_no_votes() -> None:
    result = panel_consensus(MLE, "senior", [person("A"), person("B")])
    assert result.tally == (("strong_no", 0), ("no", 0), ("yes", 0), ("strong_yes", 0))
    assert not result.split_decision
    assert result.strong_no == ()


@pytest.mark.parametrize(
    ("votes", "split"),
    [
        (("yes", "strong_yes"), False),
        (("no", "strong_no"), False),
        (("no", "yes"), True),
        (("strong_no", "strong_yes"), True),
        (("yes",), False),
    ],
)
def test_split_decision_needs_votes_on_both_sides(votes: tuple[str, ...], split: bool) -> None:
    panel = [person(f"U{i}", rec=vote) for i, vote in enumerate(votes)]
    assert panel_consensus(MLE, "senior", panel).split_decision is split


def test_strong_no_is_the_first_option_of_any_rubric() -> None:
    gen = make_rubric(3, 1)
    panel = [person("B", rec="nope"), person("A", rec="meh"), person("C", rec="nope")]
    result = panel_consensus(gen, "l1", panel)
    assert result.strong_no == ("B", "C")
    assert result.tally == (("nope", 2), ("meh", 1), ("ok", 0))
    assert not result.split_decision


# -- coverage ---------------------------------------------------------------------------------


def test_unassessed_skills_in_rubric_order() -> None:
    panel = [
        person("A", {FUND: "senior", "learning": None}),
        person("B", {"agile": "lead", "learning": None}),
    ]
    result = panel_consensus(MLE, "senior", panel)
    assert result.unassessed == tuple(s for s in MLE_SKILLS if s not in {FUND, "agile"})
    assert [s.skill_id for s in result.skills] == MLE_SKILLS


def test_focus_gaps_sorted_by_interviewer_then_rubric_order() -> None:
    panel = [
        person("B", {LIBS: "senior"}, focus=["learning", LIBS, FUND]),  # FUND unanswered
        person("A", {FUND: None, "agile": "lead"}, focus=["agile", FUND, "no_such_skill"]),
    ]
    result = panel_consensus(MLE, "senior", panel)
    assert result.focus_gaps == (
        FocusGap("A", FUND),
        FocusGap("B", FUND),
        FocusGap("B", "learning"),
    )


def test_everything_empty() -> None:
    result = panel_consensus(MLE, "lead", [])
    assert result.target_level == "lead"
    assert len(result.skills) == len(MLE_SKILLS)
    assert result.unassessed == tuple(MLE_SKILLS)
    assert (result.focus_gaps, result.strong_no, result.split_decision) == ((), (), False)
    assert (result.comparable, result.unanimous) == (0, 0)
    assert result.without_evidence == 0
    assert result.needs_discussion == ()


# -- defensive input handling -------------------------------------------------------------------


def test_unknown_skills_levels_and_recommendations_are_ignored() -> None:
    panel = [
        person("A", {FUND: "senior", "no_such_skill": "lead", LIBS: "principal"}, rec="maybe"),
        person("B", {FUND: "senior"}, rec="yes"),
    ]
    result = panel_consensus(MLE, "senior", panel)
    assert skill_of(result, FUND).ratings == (("A", "senior"), ("B", "senior"))
    assert skill_of(result, LIBS).ratings == ()
    assert skill_of(result, LIBS).not_assessed_by == ()
    assert LIBS in result.unassessed
    assert result.tally == (("strong_no", 0), ("no", 0), ("yes", 1), ("strong_yes", 0))


def test_an_interviewer_twice_is_an_error() -> None:
    with pytest.raises(ValueError, match="'A' appears twice"):
        panel_consensus(MLE, "senior", [person("A"), person("B"), person("A")])


def test_a_skill_rated_twice_is_an_error() -> None:
    twice = PanelistInput(
        interviewer="A",
        focus=(),
        recommendation=None,
        ratings=(PanelRating(FUND, "senior", True), PanelRating(FUND, None, True)),
    )
    with pytest.raises(ValueError, match="rated skill 'fundamentals' twice"):
        panel_consensus(MLE, "senior", [twice])


# -- Krippendorff's alpha (for calibration, per skill across panels) ------------------------


def as_data(matrix: Sequence[Sequence[int | None]]) -> np.ndarray:
    return np.array([[np.nan if v is None else float(v) for v in row] for row in matrix])


def test_alpha_matches_the_package_on_a_hand_built_matrix() -> None:
    # Coders A, B, C over five units; C did not rate the fifth one.
    matrix: list[list[int | None]] = [
        [0, 2, 0, 1, 2],
        [0, 2, 1, 1, 2],
        [0, 1, 0, 2, None],
    ]
    expected = float(
        krippendorff.alpha(
            reliability_data=as_data(matrix),
            value_domain=[0.0, 1.0, 2.0],
            level_of_measurement="ordinal",
        )
    )
    agreement = ordinal_alpha(as_data(matrix), 3)
    assert agreement.alpha == expected
    assert agreement.alpha == pytest.approx(float(reference_ordinal_alpha(matrix)), abs=1e-12)
    assert 0.667 <= expected < 0.8
    assert agreement.reading == "tentative"


def test_alpha_krippendorffs_ordinal_textbook_example() -> None:
    # Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers,
    # 12 units, values 1-5 with missing data; ordinal alpha = 0.815.
    matrix: list[list[int | None]] = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
        [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
    ]
    as_indexes = [[None if v is None else v - 1 for v in row] for row in matrix]
    agreement = ordinal_alpha(as_data(as_indexes), 5)
    assert agreement.alpha is not None
    assert round(agreement.alpha, 3) == 0.815
    assert agreement.alpha == pytest.approx(float(reference_ordinal_alpha(as_indexes)), abs=1e-12)
    assert agreement.reading == "reliable"


def test_alpha_hand_computed_systematic_disagreement() -> None:
    # Two units, two coders who swap Junior and Senior: o_01 = o_10 = 2, n_0 = n_1 = 2,
    # ordinal delta^2 = (4 - 2)^2 = 4, e_01 = e_10 = 4/3, alpha = 1 - 4*16/(4*32/3) = -0.5.
    assert ordinal_alpha(as_data([[0, 1], [1, 0]]), 3) == Agreement(-0.5, "weak")


def test_perfect_agreement_with_more_than_one_value_is_one() -> None:
    data = as_data([[0, 1, 2, None], [0, 1, 2, 1], [None, 1, 2, None]])
    assert ordinal_alpha(data, 3) == Agreement(1.0, "reliable")


@pytest.mark.parametrize(
    "matrix",
    [
        pytest.param([], id="nobody"),
        pytest.param([[0, 1, 2]], id="one coder"),
        pytest.param([[0, 1, None], [None, None, 2]], id="no unit rated twice"),
        pytest.param([[1, 1, 1], [1, 1, 1]], id="every value the same"),
        pytest.param([[1, 1, 0], [1, 1, None]], id="every pairable value the same"),
    ],
)
def test_alpha_not_enough_data(matrix: list[list[int | None]]) -> None:
    assert ordinal_alpha(as_data(matrix), 3) == Agreement(None, NOT_ENOUGH_DATA)


def test_every_value_the_same_is_0_over_0_in_the_package() -> None:
    # Why "not enough data": with the full domain the package divides 0 by 0 ...
    data = np.array([[1.0, 1.0, 0.0], [1.0, 1.0, np.nan]])
    with pytest.warns(RuntimeWarning, match="invalid value"):
        value = krippendorff.alpha(
            reliability_data=data, value_domain=[0.0, 1.0, 2.0], level_of_measurement="ordinal"
        )
    assert math.isnan(value)
    # ... and without it the domain is a single value, which it refuses.
    with pytest.raises(ValueError, match="more than one value in the domain"):
        krippendorff.alpha(reliability_data=np.ones((2, 3)), level_of_measurement="ordinal")


# -- properties ----------------------------------------------------------------------------------


@st.composite
def rubrics(draw: st.DrawFn) -> Rubric:
    return make_rubric(draw(st.integers(2, 5)), draw(st.integers(1, 4)))


@st.composite
def panels(draw: st.DrawFn, rubric: Rubric) -> list[PanelistInput]:
    names = draw(st.lists(st.sampled_from("ABCDEFG"), max_size=6, unique=True))
    skills = [s.id for s in rubric.skills]
    answers = st.one_of(st.none(), st.sampled_from(rubric.level_ids))
    panel = []
    for name in names:
        answered = draw(st.lists(st.sampled_from(skills), unique=True))
        panel.append(
            PanelistInput(
                interviewer=name,
                focus=tuple(draw(st.lists(st.sampled_from(skills), unique=True, max_size=2))),
                recommendation=draw(
                    st.one_of(st.none(), st.sampled_from([r.id for r in rubric.recommendations]))
                ),
                ratings=tuple(
                    PanelRating(skill, draw(answers), draw(st.booleans())) for skill in answered
                ),
            )
        )
    return panel


@st.composite
def cases(draw: st.DrawFn) -> tuple[Rubric, str, list[PanelistInput]]:
    rubric = draw(st.one_of(st.just(MLE), rubrics()))
    return rubric, draw(st.sampled_from(rubric.level_ids)), draw(panels(rubric))


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(case=cases(), data=st.data())
def test_reordering_interviewers_changes_nothing(
    case: tuple[Rubric, str, list[PanelistInput]], data: st.DataObject
) -> None:
    rubric, target, panel = case
    shuffled = data.draw(st.permutations(panel))
    assert panel_consensus(rubric, target, shuffled) == panel_consensus(rubric, target, panel)


@PROPERTY
@given(case=cases())
def test_consensus_is_a_level_someone_gave_or_the_verdict_is_split(
    case: tuple[Rubric, str, list[PanelistInput]],
) -> None:
    rubric, target, panel = case
    target_index = rubric.level_index(target)
    result = panel_consensus(rubric, target, panel)
    for s in result.skills:
        given_levels = {level for _, level in s.ratings}
        xs = sorted(rubric.level_index(level) for _, level in s.ratings)
        assert [i for i, _ in s.ratings] == sorted(i for i, _ in s.ratings)
        assert s.counts == tuple(
            (lid, sum(1 for _, level in s.ratings if level == lid))
            for lid in rubric.level_ids
            if lid in given_levels
        )
        if not xs:
            assert (s.verdict, s.consensus, s.consensus_label, s.range_steps) == (None, None, "", 0)
            continue
        assert s.range_steps == xs[-1] - xs[0]
        if s.verdict is Verdict.SPLIT:
            assert s.consensus is None and s.needs_discussion
            assert {s.split_low, s.split_high} <= given_levels
            assert s.split_low != s.split_high
            assert s.consensus_label.startswith("split ")
            continue
        assert s.consensus in given_levels
        assert s.consensus_label == rubric.level(s.consensus).name
        # Not split: the plain median is that level, compared with the target.
        median = statistics.median(xs)
        assert median == rubric.level_index(s.consensus)
        expected = (
            Verdict.BELOW
            if median < target_index
            else Verdict.MEETS
            if median == target_index
            else Verdict.EXCEEDS
        )
        assert s.verdict is expected


@PROPERTY
@given(case=cases())
def test_a_straddle_is_never_meets_above_or_below(
    case: tuple[Rubric, str, list[PanelistInput]],
) -> None:
    rubric, target, panel = case
    target_index = rubric.level_index(target)
    for s in panel_consensus(rubric, target, panel).skills:
        xs = [rubric.level_index(level) for _, level in s.ratings]
        if xs and min(xs) < target_index < max(xs):
            assert s.verdict is Verdict.SPLIT
            assert (s.split_low, s.split_high) == (
                rubric.level_ids[min(xs)],
                rubric.level_ids[max(xs)],
            )
        if s.verdict is Verdict.MEETS:
            assert not (min(xs) < target_index < max(xs))


@PROPERTY
@given(case=cases())
def test_the_flag_rule(case: tuple[Rubric, str, list[PanelistInput]]) -> None:
    rubric, target, panel = case
    target_index = rubric.level_index(target)
    result = panel_consensus(rubric, target, panel)
    for s in result.skills:
        xs = [rubric.level_index(level) for _, level in s.ratings]
        expected = bool(xs) and (
            max(xs) - min(xs) >= 2
            or min(xs) < target_index <= max(xs)
            or s.verdict is Verdict.SPLIT
        )
        assert s.needs_discussion is expected
        assert bool(s.reasons) is expected
        if xs and len(set(xs)) == 1:
            assert not s.needs_discussion
    assert result.comparable == sum(1 for s in result.skills if len(s.ratings) >= 2)
    assert result.unanimous == sum(
        1 for s in result.skills if len(s.ratings) >= 2 and len({lv for _, lv in s.ratings}) == 1
    )


@PROPERTY
@given(case=cases(), data=st.data())
def test_unanimous_ratings_are_never_flagged(
    case: tuple[Rubric, str, list[PanelistInput]], data: st.DataObject
) -> None:
    rubric, target, panel = case
    skill = rubric.skills[0].id
    level = data.draw(st.sampled_from(rubric.level_ids))
    unanimous = [
        PanelistInput(
            p.interviewer,
            p.focus,
            p.recommendation,
            (*(r for r in p.ratings if r.skill_id != skill), PanelRating(skill, level, True)),
        )
        for p in panel
    ]
    s = skill_of(panel_consensus(rubric, target, unanimous), skill)
    assert (s.needs_discussion, s.reasons, s.range_steps) == (False, (), 0)
    if s.ratings:
        assert (s.consensus, s.counts) == (level, ((level, len(s.ratings)),))


@PROPERTY
@given(data=st.data())
def test_a_rating_two_steps_from_all_others_always_flags(data: st.DataObject) -> None:
    rubric = data.draw(st.one_of(st.just(MLE), st.integers(3, 6).map(lambda c: make_rubric(c, 2))))
    target = data.draw(st.sampled_from(rubric.level_ids))
    c = len(rubric.levels)
    new = data.draw(st.sampled_from([i for i in range(c) if i >= 2 or i <= c - 3]))
    far_from_new = [i for i in range(c) if abs(i - new) >= 2]
    existing = data.draw(st.lists(st.sampled_from(far_from_new), min_size=1, max_size=6))
    skill = rubric.skills[0].id
    # Any other answers (other skills, "Not assessed" on this one), then the existing ratings.
    others = [
        PanelistInput(
            p.interviewer,
            p.focus,
            p.recommendation,
            tuple(r for r in p.ratings if r.skill_id != skill or r.level is None),
        )
        for p in data.draw(panels(rubric))
    ]
    raters = [person(f"R{i}", {skill: rubric.level_ids[x]}) for i, x in enumerate(existing)]
    newcomer = person("Z", {skill: rubric.level_ids[new]})
    after = skill_of(panel_consensus(rubric, target, [*others, *raters, newcomer]), skill)
    assert after.needs_discussion
    assert after.range_steps >= 2
    assert after.reasons[0].startswith("ratings span ")


@st.composite
def matrices(draw: st.DrawFn) -> tuple[list[list[int | None]], int]:
    n_levels = draw(st.integers(2, 5))
    units = draw(st.integers(1, 8))
    value = st.one_of(st.none(), st.integers(0, n_levels - 1))
    rows = draw(st.lists(st.lists(value, min_size=units, max_size=units), max_size=6))
    return rows, n_levels


@PROPERTY
@given(case=matrices())
def test_alpha_agrees_with_the_package_and_the_textbook_formula(
    case: tuple[list[list[int | None]], int],
) -> None:
    matrix, n_levels = case
    agreement = ordinal_alpha(as_data(matrix), n_levels)
    pairable = {
        v
        for unit in zip(*matrix, strict=True)
        if sum(v is not None for v in unit) >= 2
        for v in unit
        if v is not None
    }
    if len(matrix) < 2 or len(pairable) < 2:
        assert agreement == Agreement(None, NOT_ENOUGH_DATA)
        return
    assert agreement.alpha == package_alpha(matrix, n_levels)
    assert agreement.alpha == pytest.approx(float(reference_ordinal_alpha(matrix)), abs=1e-9)
    assert agreement.reading == (
        "reliable"
        if agreement.alpha >= 0.8
        else "tentative"
        if agreement.alpha >= 0.667
        else "weak"
    )


@PROPERTY
@given(case=cases())
def test_deterministic_within_a_run(case: tuple[Rubric, str, list[PanelistInput]]) -> None:
    rubric, target, panel = case
    assert panel_consensus(rubric, target, panel) == panel_consensus(rubric, target, list(panel))


_SCRIPT = """
from rubric import load_builtin
from rubric.consensus import panel_consensus
from rubric.consensus_types import PanelistInput, PanelRating
mle = load_builtin()
skills = [s.id for s in mle.skills]
levels = ["junior", "senior", "lead", None]
panel = [
    PanelistInput(
        interviewer=name,
        focus=tuple(skills[k::5]),
        recommendation=mle.recommendations[k % 4].id,
        ratings=tuple(
            PanelRating(skill, levels[(i * (k + 2)) % 4], (i + k) % 3 != 0)
            for i, skill in enumerate(skills)
            if (i + k) % 6
        ),
    )
    for k, name in enumerate(["U7", "U2", "U9", "U1", "U4"])
]
print(repr(panel_consensus(mle, "senior", panel)))
"""


def test_deterministic_across_runs() -> None:
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, check=True
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1
    (output,) = outputs
    assert "verdict=<Verdict.SPLIT" in output and "needs_discussion=True" in output


def test_full_mle_example() -> None:
    # A realistic panel, every field checked once.
    panel = [
        person(
            "U3",
            {FUND: "senior", LIBS: "lead", "system_design": None},
            rec="yes",
            focus=["system_design"],
            no_evidence=[LIBS],
        ),
        person("U1", {FUND: "junior", LIBS: "senior", "communication": "senior"}, rec="no"),
        person("U2", {FUND: "senior", LIBS: "senior", "communication": "senior"}, rec="strong_yes"),
    ]
    result = panel_consensus(MLE, "senior", panel)
    fund = skill_of(result, FUND)
    assert fund == SkillConsensus(
        skill_id=FUND,
        ratings=(("U1", "junior"), ("U2", "senior"), ("U3", "senior")),
        not_assessed_by=(),
        consensus="senior",
        split_low=None,
        split_high=None,
        consensus_label="Senior",
        counts=(("junior", 1), ("senior", 2)),
        range_steps=1,
        verdict=Verdict.MEETS,
        needs_discussion=True,
        reasons=("split around the target (Senior)",),
        without_evidence=0,
    )
    libs = skill_of(result, LIBS)
    assert (libs.consensus_label, libs.verdict, libs.needs_discussion) == (
        "Senior",
        Verdict.MEETS,
        False,
    )
    assert libs.without_evidence == 1
    design = skill_of(result, "system_design")
    assert design.not_assessed_by == ("U3",)
    assert result.focus_gaps == (FocusGap("U3", "system_design"),)
    assert result.tally == (("strong_no", 0), ("no", 1), ("yes", 1), ("strong_yes", 1))
    assert result.split_decision
    assert result.strong_no == ()
    assert result.without_evidence == 1
    assert "system_design" in result.unassessed and FUND not in result.unassessed
    # FUND, LIBS and communication have two or more ratings; only communication is unanimous.
    assert (result.comparable, result.unanimous) == (3, 1)
