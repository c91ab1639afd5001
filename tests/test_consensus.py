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
from rubric.consensus import NOT_ENOUGH_DATA, panel_agreement, panel_consensus
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


def panel_from_matrix(
    rubric: Rubric, matrix: Sequence[Sequence[int | None]]
) -> list[PanelistInput]:
    """Coder i rates skill j with level matrix[i][j]; None: the skill is left unanswered."""
    return [
        person(
            f"C{i}",
            {rubric.skills[j].id: rubric.level_ids[v] for j, v in enumerate(row) if v is not None},
        )
        for i, row in enumerate(matrix)
    ]


# -- consensus: the median -------------------------------------------------------------


def test_odd_count_takes_the_middle_level() -> None:
    s = one_skill("senior", "lead", "junior", "senior")
    assert (s.consensus_low, s.consensus_high, s.consensus_label) == ("senior", "senior", "Senior")
    assert s.ratings == (("U0", "lead"), ("U1", "junior"), ("U2", "senior"))


def test_even_count_between_two_levels_names_both() -> None:
    s = one_skill("senior", "lead", "senior")
    assert (s.consensus_low, s.consensus_high, s.consensus_label) == (
        "senior",
        "lead",
        "Senior-Lead",
    )


def test_even_count_with_equal_middle_values_is_one_level() -> None:
    s = one_skill("senior", "junior", "senior", "senior", "lead")
    assert (s.consensus_low, s.consensus_high, s.consensus_label) == ("senior", "senior", "Senior")


def test_median_between_non_adjacent_levels() -> None:
    # [0, 0, 2, 2]: the median is index 1.0, halfway between Junior and Lead.
    s = one_skill("senior", "junior", "junior", "lead", "lead")
    assert (s.consensus_low, s.consensus_high, s.consensus_label) == (
        "junior",
        "lead",
        "Junior-Lead",
    )
    assert s.verdict is Verdict.MEETS


def test_single_rating() -> None:
    s = one_skill("senior", "lead")
    assert (s.consensus_low, s.consensus_high, s.consensus_label) == ("lead", "lead", "Lead")
    assert (s.range_steps, s.ad, s.ad_acceptable) == (0, None, None)
    assert s.verdict is Verdict.EXCEEDS
    assert not s.needs_discussion


def test_nobody_assessed() -> None:
    s = one_skill("senior", None, None)
    assert s.ratings == ()
    assert s.not_assessed_by == ("U0", "U1")
    assert (s.consensus_low, s.consensus_high, s.consensus_label) == (None, None, "")
    assert (s.range_steps, s.ad, s.ad_acceptable, s.verdict) == (0, None, None, None)
    assert (s.needs_discussion, s.reasons, s.without_evidence) == (False, (), 0)


def test_not_assessed_is_neither_a_rating_nor_a_level() -> None:
    panel = [*rated(FUND, "lead", None, "senior"), person("U9", {LIBS: "junior"})]
    s = skill_of(panel_consensus(MLE, "senior", panel), FUND)
    assert s.ratings == (("U0", "lead"), ("U2", "senior"))
    assert s.not_assessed_by == ("U1",)
    assert s.consensus_label == "Senior-Lead"


# -- spread: range and Burke's average deviation ---------------------------------------


@pytest.mark.parametrize(
    ("levels", "range_steps", "ad", "acceptable"),
    [
        # c = 3 levels: acceptable when AD <= 3/6 = 0.5.
        (("senior", "senior"), 0, 0.0, True),
        (("senior", "lead"), 1, 0.5, True),  # median 1.5: |1 - 1.5| + |2 - 1.5| = 1, / 2
        (("junior", "lead"), 2, 1.0, False),  # median 1.0
        (("junior", "junior", "lead", "lead"), 2, 1.0, False),  # median 1.0: (1+1+1+1) / 4
        (("junior", "senior", "lead"), 2, 2 / 3, False),  # median 1: (1+0+1) / 3
        (("junior", "senior", "senior", "lead"), 2, 0.5, True),  # median 1: (1+0+0+1) / 4
        (("senior", "senior", "senior", "lead"), 1, 0.25, True),
        (("junior", "senior", "lead", "lead"), 2, 0.75, False),  # median 1.5: (1.5+.5+.5+.5)/4
    ],
)
def test_range_and_average_deviation(
    levels: tuple[str, ...], range_steps: int, ad: float, acceptable: bool
) -> None:
    s = one_skill("senior", *levels)
    assert s.range_steps == range_steps
    assert s.ad == ad
    assert s.ad_acceptable is acceptable


def test_c_over_6_scales_with_the_number_of_levels() -> None:
    # Six levels: c/6 = 1.0, so ratings a level apart either side of the median pass.
    six = make_rubric(6, 1)
    s = one_skill("l2", "l1", "l3", rubric=six)
    assert (s.ad, s.ad_acceptable) == (1.0, True)
    s = one_skill("l2", "l0", "l3", rubric=six)
    assert (s.ad, s.ad_acceptable) == (1.5, False)
    # Five levels: c/6 = 0.8333..., and AD = 5/6 on the boundary is acceptable
    # ([0, 1, 2, 2, 2, 4], median 2: 2+1+0+0+0+2 = 5 over 6 ratings).
    five = make_rubric(5, 1)
    s = one_skill("l2", "l0", "l1", "l2", "l2", "l2", "l4", rubric=five)
    assert s.ad == 5 / 6
    assert s.ad_acceptable is True


# -- verdict against the target ----------------------------------------------------------


@pytest.mark.parametrize(
    ("levels", "target", "verdict"),
    [
        (("senior",), "senior", Verdict.MEETS),
        (("junior",), "senior", Verdict.BELOW),
        (("lead",), "senior", Verdict.EXCEEDS),
        (("senior", "lead"), "senior", Verdict.EXCEEDS),  # Senior-Lead vs Senior
        (("senior", "lead"), "lead", Verdict.BELOW),  # Senior-Lead vs Lead
        (("junior", "senior"), "junior", Verdict.EXCEEDS),
        (("junior", "senior"), "senior", Verdict.BELOW),
        (("junior", "lead"), "senior", Verdict.MEETS),
        (("junior", "senior", "lead"), "lead", Verdict.BELOW),
    ],
)
def test_verdict(levels: tuple[str, ...], target: str, verdict: Verdict) -> None:
    assert one_skill(target, *levels).verdict is verdict


def test_unknown_target_level_is_an_error() -> None:
    with pytest.raises(UnknownIdError, match="principal"):
        panel_consensus(MLE, "principal", [])


# -- needs discussion ----------------------------------------------------------------------


def test_wide_range_and_straddle_give_both_reasons_in_order() -> None:
    s = one_skill("senior", "lead", "junior", "senior")
    assert s.needs_discussion
    assert s.reasons == ("ratings span Junior to Lead", "split around the target (Senior)")


def test_adjacent_ratings_split_around_the_target() -> None:
    s = one_skill("senior", "junior", "senior")
    assert s.reasons == ("split around the target (Senior)",)
    s = one_skill("lead", "lead", "senior", "lead")
    assert s.reasons == ("split around the target (Lead)",)


def test_adjacent_ratings_on_one_side_of_the_target_are_not_flagged() -> None:
    assert not one_skill("senior", "senior", "lead").needs_discussion  # all at or above
    assert not one_skill("lead", "junior", "senior").needs_discussion  # all below
    assert not one_skill("junior", "senior", "lead").needs_discussion


def test_range_alone_flags() -> None:
    four = make_rubric(4, 1)
    s = one_skill("l0", "l1", "l3", rubric=four)
    assert s.reasons == ("ratings span L1 to L3",)
    assert s.needs_discussion


def test_unanimous_is_never_flagged() -> None:
    for target in MLE.level_ids:
        for level in MLE.level_ids:
            s = one_skill(target, level, level, level)
            assert (s.needs_discussion, s.reasons) == (False, ())


def test_panel_lists_the_skills_that_need_discussion() -> None:
    panel = [
        person("A", {FUND: "junior", LIBS: "senior"}),
        person("B", {FUND: "lead", LIBS: "senior"}),
    ]
    result = panel_consensus(MLE, "senior", panel)
    assert [s.skill_id for s in result.needs_discussion] == [FUND]


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
    assert result.agreement == Agreement(alpha=None, reading=NOT_ENOUGH_DATA)
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


# -- agreement: Krippendorff's alpha ------------------------------------------------------------


def test_alpha_matches_the_package_on_a_hand_built_matrix() -> None:
    # Coders A, B, C over the first five MLE skills; C did not assess the fifth one.
    first5 = MLE_SKILLS[:5]
    panel = [
        person("B", dict(zip(first5, ["junior", "lead", "senior", "senior", "lead"], strict=True))),
        person("A", dict(zip(first5, ["junior", "lead", "junior", "senior", "lead"], strict=True))),
        person("C", dict(zip(first5, ["junior", "senior", "junior", "lead", None], strict=True))),
    ]
    matrix: list[list[int | None]] = [  # rows A, B, C
        [0, 2, 0, 1, 2],
        [0, 2, 1, 1, 2],
        [0, 1, 0, 2, None],
    ]
    data = np.array(
        [[np.nan if v is None else float(v) for v in row] + [np.nan] * 11 for row in matrix]
    )
    expected = float(
        krippendorff.alpha(
            reliability_data=data, value_domain=[0.0, 1.0, 2.0], level_of_measurement="ordinal"
        )
    )
    agreement = panel_consensus(MLE, "senior", panel).agreement
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
    rubric = make_rubric(5, 12)
    agreement = panel_consensus(rubric, "l2", panel_from_matrix(rubric, as_indexes)).agreement
    assert agreement.alpha is not None
    assert round(agreement.alpha, 3) == 0.815
    assert agreement.alpha == pytest.approx(float(reference_ordinal_alpha(as_indexes)), abs=1e-12)
    assert agreement.reading == "reliable"


def test_alpha_hand_computed_systematic_disagreement() -> None:
    # Two units, two coders who swap Junior and Senior: o_01 = o_10 = 2, n_0 = n_1 = 2,
    # ordinal delta^2 = (4 - 2)^2 = 4, e_01 = e_10 = 4/3, alpha = 1 - 4*16/(4*32/3) = -0.5.
    panel = panel_from_matrix(MLE, [[0, 1], [1, 0]])
    assert panel_consensus(MLE, "senior", panel).agreement == Agreement(-0.5, "weak")


def test_perfect_agreement_with_more_than_one_value_is_one() -> None:
    panel = panel_from_matrix(MLE, [[0, 1, 2, None], [0, 1, 2, 1], [None, 1, 2, None]])
    assert panel_consensus(MLE, "senior", panel).agreement == Agreement(1.0, "reliable")


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
    panel = panel_from_matrix(MLE, matrix)
    assert panel_consensus(MLE, "senior", panel).agreement == Agreement(None, NOT_ENOUGH_DATA)


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


def test_interviewers_who_assessed_nothing_are_not_coders() -> None:
    panel = [
        person("A", {FUND: "senior", LIBS: "lead"}),
        person("B", {FUND: None, LIBS: None}),
    ]
    assert panel_consensus(MLE, "senior", panel).agreement == Agreement(None, NOT_ENOUGH_DATA)


def test_panel_agreement_alone_equals_the_consensus_agreement() -> None:
    panel = panel_from_matrix(MLE, [[0, 1, 2, 2], [0, 2, 2, 1], [1, 1, 2, None]])
    assert panel_agreement(MLE, panel) == panel_consensus(MLE, "lead", panel).agreement


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
def test_spread_is_non_negative_and_matches_a_plain_median(
    case: tuple[Rubric, str, list[PanelistInput]],
) -> None:
    rubric, target, panel = case
    result = panel_consensus(rubric, target, panel)
    c = len(rubric.levels)
    for s in result.skills:
        assert s.range_steps >= 0
        xs = [rubric.level_index(level) for _, level in s.ratings]
        assert [i for i, _ in s.ratings] == sorted(i for i, _ in s.ratings)
        if len(xs) < 2:
            assert (s.ad, s.ad_acceptable, s.range_steps) == (None, None, 0)
            continue
        median = statistics.median(xs)
        assert s.ad is not None and s.ad >= 0
        assert s.ad == pytest.approx(statistics.fmean(abs(x - median) for x in xs))
        assert s.ad <= s.range_steps
        assert s.ad_acceptable is (Fraction(s.ad) <= Fraction(c, 6))
        assert s.range_steps == max(xs) - min(xs)
        target_index = rubric.level_index(target)
        expected = (
            Verdict.BELOW
            if median < target_index
            else Verdict.MEETS
            if median == target_index
            else Verdict.EXCEEDS
        )
        assert s.verdict is expected


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
    assert s.ad in (None, 0.0)


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


@PROPERTY
@given(case=cases())
def test_alpha_agrees_with_the_package_and_the_textbook_formula(
    case: tuple[Rubric, str, list[PanelistInput]],
) -> None:
    rubric, target, panel = case
    agreement = panel_consensus(rubric, target, panel).agreement
    matrix: list[list[int | None]] = []
    for p in sorted(panel, key=lambda p: p.interviewer):
        given_levels: dict[str, int | None] = {
            r.skill_id: None if r.level is None else rubric.level_index(r.level) for r in p.ratings
        }
        row = [given_levels.get(s.id) for s in rubric.skills]
        if any(v is not None for v in row):
            matrix.append(row)
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
    assert agreement.alpha == package_alpha(matrix, len(rubric.levels))
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
    assert "alpha=" in output and "needs_discussion=True" in output


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
        consensus_low="senior",
        consensus_high="senior",
        consensus_label="Senior",
        range_steps=1,
        ad=1 / 3,
        ad_acceptable=True,
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
    assert result.agreement.alpha == package_alpha([[0, 1, 1], [1, 1, 1], [1, 2, None]], 3)
