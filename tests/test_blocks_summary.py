"""handlers.blocks.summary: the hiring-channel summary message (the Block Kit renderer)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.blocks.limits import check_message
from handlers.blocks.summary import (
    ALPHA,
    DEBRIEF_ACTION,
    NO_FEEDBACK_EMOJI,
    NOT_ASSESSED_EMOJI,
    build_summary,
    candidate_initials,
    level_abbreviations,
    level_swatches,
    render_summary_text,
)
from rubric.consensus_types import PanelConsensus, SkillConsensus
from storage.views import Standing, SummaryData
from tests.summary_data import (
    BLUE,
    GREEN,
    MLE,
    NOW,
    PANEL,
    START,
    YELLOW,
    Blocks,
    all_text,
    assert_fits,
    block_text,
    feedback,
    find_block,
    hand_consensus,
    make_interview,
    make_rubric,
    panel_feedback,
    real_consensus,
    skill_line,
    summary_data,
    worst_panel,
)


@pytest.fixture
def full() -> tuple[SummaryData, PanelConsensus]:
    return summary_data(MLE, panel_feedback()), hand_consensus()


@pytest.fixture
def summary(full: tuple[SummaryData, PanelConsensus]) -> tuple[str, Blocks]:
    data, consensus = full
    text, blocks = build_summary(data, consensus, now=NOW)
    check_message(text, blocks)
    return text, blocks


# -- the head -------------------------------------------------------------------------------


def test_header_names_candidate_role_target_date_and_count(summary: tuple[str, Blocks]) -> None:
    _, blocks = summary
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Ada Lovelace — Senior ML Engineer", "emoji": False},
    }
    meta = block_text(blocks[1])
    assert blocks[1]["type"] == "context"
    assert "Target level *Senior*" in meta
    assert f"<!date^{int(START.timestamp())}^{{date_short}}|Mon 1 Mar 2027, 09:00 UTC>" in meta
    assert "*4 of 4 submitted*" in meta
    assert f"<!date^{int(NOW.timestamp())}^" in meta  # as of
    assert "Partial" not in all_text(blocks)
    assert "shadow" not in all_text(blocks)


def test_fallback_text(summary: tuple[str, Blocks]) -> None:
    text, _ = summary
    assert text == (
        "Interview summary: Ada Lovelace, Senior ML Engineer — 4 of 4 submitted, "
        "1 skill needs discussion"
    )


def test_partial_summary_names_the_missing_without_mentioning_them() -> None:
    data = summary_data(MLE, panel_feedback()[:3], expected=PANEL)
    assert data.missing == ("U0DDD",)
    text, blocks = build_summary(
        data, real_consensus(data), now=NOW, names={"U0DDD": "Dee <Doe>"}, posting=True
    )
    check_message(text, blocks)
    assert text == (
        "Interview summary: Ada Lovelace, Senior ML Engineer — 3 of 4 submitted, "
        "1 skill needs discussion"
    )
    assert "*3 of 4 submitted*" in block_text(blocks[1])
    partial = block_text(blocks[2])
    assert partial == (
        ":hourglass_flowing_sand: *Partial summary* — posted without feedback from Dee &lt;Doe&gt;."
        " Feedback given now is shown in the thread as given after the summary, and not counted."
    )
    # A mention would ping them into reading the panel's views: nowhere in the message.
    assert "<@U0DDD>" not in json.dumps(blocks) + text
    # The missing interviewer keeps their column, marked as without feedback.
    assert skill_line(blocks, "Fundamental knowledge").startswith(f"{GREEN * 3}{NO_FEEDBACK_EMOJI}")
    legend = block_text(blocks[find_block(blocks, "Squares, left to right")])
    assert "<@U0CCC> · Dee &lt;Doe&gt; _(no feedback before the summary)_" in legend
    assert f"{NO_FEEDBACK_EMOJI} no feedback before the summary" in legend


def test_partial_summary_without_names_counts_the_missing() -> None:
    data = summary_data(MLE, panel_feedback()[:2], expected=PANEL)
    _, blocks = build_summary(data, real_consensus(data), now=NOW, posting=True)
    partial = block_text(blocks[find_block(blocks, "Partial summary")])
    assert "posted without feedback from 2 interviewers." in partial
    assert "<@U0CCC>" not in json.dumps(blocks) and "<@U0DDD>" not in json.dumps(blocks)
    named = build_summary(data, real_consensus(data), now=NOW, names={"U0CCC": "Cy"})[1]
    # Not posted yet (the on-demand view): their feedback may still come and count.
    assert "no feedback yet from Cy and 1 more interviewer." in all_text(named)
    assert f"{NO_FEEDBACK_EMOJI} no feedback yet" in all_text(named)


def test_after_summary_feedback_is_counted_apart_and_changes_nothing() -> None:
    """U0DDD's Lead, given after the summary, would have moved System design: it does not."""
    fbs = panel_feedback(d_standing=Standing.AFTER_SUMMARY)
    data = summary_data(MLE, fbs, expected=PANEL)
    consensus = real_consensus(data)
    text, blocks = build_summary(data, consensus, now=NOW, names={"U0DDD": "Dee"})
    check_message(text, blocks)
    assert "*3 of 4 before the summary, 1 after*" in block_text(blocks[1])
    assert "3 of 4 before the summary, 1 after" in text
    assert "posted without feedback from Dee." in all_text(blocks)
    # J, J, L (a split around Senior) without U0DDD's Lead; theirs is the no-feedback square.
    line = skill_line(blocks, "System design and implementation")
    assert line.startswith(f"{YELLOW}{YELLOW}{BLUE}{NO_FEEDBACK_EMOJI}  ")
    assert "2 Junior, 1 Lead" in line
    assert "<@U0DDD>" not in json.dumps(blocks)
    assert "Strong yes 0" in all_text(blocks)  # their vote is not in the tally


def test_shadows_get_a_line_and_no_column() -> None:
    shadow = feedback("U0SHADOW", {"fundamentals": "lead"}, rec="strong_yes")
    shadow = type(shadow)(**{**shadow.__dict__, "standing": Standing.SHADOW})
    data = summary_data(MLE, [*panel_feedback(), shadow], shadows=["U0SHADOW", "U0TRAINEE"])
    consensus = real_consensus(data)
    text, blocks = build_summary(data, consensus, now=NOW)
    check_message(text, blocks)
    line = block_text(blocks[find_block(blocks, "shadow interviewer")])
    assert line == ":mortar_board: 2 shadow interviewers: feedback in the thread, not counted."
    assert "*4 of 4 submitted*" in block_text(blocks[1])
    assert "U0SHADOW" not in json.dumps(blocks)
    assert skill_line(blocks, "Fundamental knowledge") == (
        f"{GREEN * 4}  *Fundamental knowledge* Senior ● meets target · all 4 Senior"
    )


# -- needs discussion and the decision ----------------------------------------------------


def test_needs_discussion_comes_first_with_every_level_and_the_reasons(
    summary: tuple[str, Blocks],
) -> None:
    _, blocks = summary
    first = find_block(blocks, "Needs discussion")
    assert first == 2  # right after the header and its context line
    assert first < find_block(blocks, "*Recommendations*") < find_block(blocks, "*Core technical*")
    discussion = block_text(blocks[first])
    assert discussion.startswith(
        ":warning: *Needs discussion (1 skill)*\n• *System design and implementation* — "
    )
    assert (
        "<@U0AAA> Junior · <@U0BBB> Junior · <@U0CCC> Lead · <@U0DDD> Lead" in discussion
    )  # panel order
    assert "ratings span Junior to Lead; split around the target (Senior)" in discussion


def test_unanimous_skills_are_not_in_needs_discussion(summary: tuple[str, Blocks]) -> None:
    _, blocks = summary
    discussion = block_text(blocks[find_block(blocks, "Needs discussion")])
    for skill in MLE.skills:
        if skill.id != "system_design":
            assert skill.name not in discussion


def test_split_decision_and_strong_no_are_called_out_with_who(summary: tuple[str, Blocks]) -> None:
    _, blocks = summary
    decision = block_text(blocks[find_block(blocks, "Split decision")])
    assert find_block(blocks, "Split decision") < find_block(blocks, "*Recommendations*")
    assert (
        ":scales: *Split decision* — hire: <@U0AAA> Yes, <@U0CCC> Yes, <@U0DDD> Strong yes; "
        "no hire: <@U0BBB> Strong no"
    ) in decision
    assert ":no_entry: *Strong no* from <@U0BBB>" in decision


def test_strong_no_is_called_out_even_without_a_split() -> None:
    fbs = [feedback("U0AAA", {"fundamentals": "senior"}, rec="strong_no")]
    data = summary_data(MLE, fbs)
    consensus = real_consensus(data)
    assert consensus.strong_no == ("U0AAA",) and not consensus.split_decision
    text, blocks = build_summary(data, consensus, now=NOW)
    check_message(text, blocks)
    assert "*Strong no* from <@U0AAA>" in all_text(blocks)
    assert "Split decision" not in all_text(blocks)


def test_tally_on_the_rubric_scale(summary: tuple[str, Blocks]) -> None:
    _, blocks = summary
    assert "*Recommendations*  Strong no 1 · No 0 · Yes 2 · Strong yes 1" in all_text(blocks)


# -- skills ------------------------------------------------------------------------------------


def test_skill_lines_show_a_strip_the_consensus_and_the_spread(
    summary: tuple[str, Blocks],
) -> None:
    _, blocks = summary
    assert skill_line(blocks, "System design and implementation") == (
        f"{YELLOW}{YELLOW}{BLUE}{BLUE}  *System design and implementation* "
        "split Junior / Lead · 2 Junior, 2 Lead :warning:"
    )
    assert skill_line(blocks, "Fundamental knowledge") == (
        f"{GREEN * 4}  *Fundamental knowledge* Senior ● meets target · all 4 Senior"
    )
    assert (
        skill_line(blocks, "Agile principles")
        == f"{NOT_ASSESSED_EMOJI * 4}  *Agile principles* — not assessed"
    )
    assert skill_line(blocks, "Communication") == (
        f"{GREEN}{NOT_ASSESSED_EMOJI}{GREEN}{GREEN}  *Communication* Senior ● meets target"
        " · all 3 Senior"
    )
    # Disciplines head their skills, in rubric order.
    body = all_text(blocks)
    positions = [body.index(f"*{d.name}*") for d in MLE.disciplines]
    assert positions == sorted(positions)


def test_an_even_split_is_split_never_meets_target_nor_a_level_nobody_gave() -> None:
    """J, J, L, L against Senior: no single level; "Senior" was given by nobody."""
    fbs = [
        feedback(who, {"system_design": level}, rec="yes")
        for who, level in zip(PANEL, ("junior", "junior", "lead", "lead"), strict=True)
    ]
    data = summary_data(MLE, fbs)
    _, blocks = build_summary(data, real_consensus(data), now=NOW)
    line = skill_line(blocks, "System design and implementation")
    assert line == (
        f"{YELLOW}{YELLOW}{BLUE}{BLUE}  *System design and implementation* "
        "split Junior / Lead · 2 Junior, 2 Lead :warning:"
    )
    assert "meets" not in line and "Senior" not in line
    plain = render_summary_text(data, real_consensus(data))
    sd = next(x for x in plain.splitlines() if "System design" in x and x.startswith("  J"))
    assert "split Junior / Lead · 2 Junior, 2 Lead" in sd and "meets" not in sd


def test_verdicts_above_and_below_target() -> None:
    fbs = [
        feedback("U1", {"fundamentals": "lead", "planning": "junior"}, rec="yes"),
        feedback("U2", {"fundamentals": "lead", "planning": "junior"}, rec="yes"),
        feedback("U3", {"fundamentals": "senior"}, rec="yes"),
    ]
    data = summary_data(MLE, fbs)
    _, blocks = build_summary(data, real_consensus(data), now=NOW)
    assert skill_line(blocks, "Fundamental knowledge").endswith(
        "*Fundamental knowledge* Lead ▲ above target · 1 Senior, 2 Lead"
    )
    assert skill_line(blocks, "Planning").endswith("*Planning* Junior ▼ below target · both Junior")


def test_one_rating_says_so() -> None:
    data = summary_data(MLE, [feedback("U1", {"planning": "junior"}, rec="yes")])
    _, blocks = build_summary(data, real_consensus(data), now=NOW)
    assert skill_line(blocks, "Planning").endswith("Junior ▼ below target · 1 rating")


def test_legend_names_the_panel_in_order_and_explains_colours(
    summary: tuple[str, Blocks],
) -> None:
    _, blocks = summary
    legend = blocks[find_block(blocks, "Squares, left to right")]
    assert legend["type"] == "context"
    body = block_text(legend)
    assert "Squares, left to right: <@U0AAA> · <@U0BBB> · <@U0CCC> · <@U0DDD>" in body
    assert f"{YELLOW} Junior  {GREEN} Senior (target)  {BLUE} Lead  {NOT_ASSESSED_EMOJI}" in body
    assert "▲ above / ● meets / ▼ below target · split: no single level given" in body
    assert NO_FEEDBACK_EMOJI not in body  # nobody is missing


def test_gaps_name_unassessed_skills_focus_gaps_and_evidence(summary: tuple[str, Blocks]) -> None:
    _, blocks = summary
    gaps = block_text(blocks[find_block(blocks, "*Gaps*")])
    assert ":mag: *Nobody assessed* (1): Agile principles" in gaps
    assert ":dart: *Focus skills left Not assessed*: Communication (<@U0BBB>)" in gaps
    assert "*Evidence*: 2 ratings without evidence (Planning 2)" in gaps
    assert find_block(blocks, "*Gaps*") > find_block(blocks, "Squares, left to right")


def test_agreement_in_words_and_no_alpha(
    full: tuple[SummaryData, PanelConsensus], summary: tuple[str, Blocks]
) -> None:
    _, blocks = summary
    tail = block_text(blocks[-2])
    assert (
        "Agreement: 14 of 15 skills rated by two or more interviewers got the same level "
        "from everyone." in tail
    )
    payload = json.dumps(blocks, ensure_ascii=False)
    for word in (ALPHA, "alpha", "Krippendorff", "reliable", "tentative"):
        assert word not in payload
    data, consensus = full
    nothing = PanelConsensus(**{**consensus.__dict__, "comparable": 0, "unanimous": 0})
    _, blocks = build_summary(data, nothing, now=NOW)
    assert "Agreement: no skill was rated by two or more interviewers." in block_text(blocks[-2])


def test_the_debrief_guide_button(summary: tuple[str, Blocks]) -> None:
    _, blocks = summary
    [actions] = [b for b in blocks if b["type"] == "actions"]
    assert actions is blocks[-1]
    assert actions["elements"] == [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "Debrief guide", "emoji": True},
            "action_id": DEBRIEF_ACTION,
            "value": "7",
        }
    ]
    assert DEBRIEF_ACTION == "summary_debrief"


def test_no_verdict_of_its_own(summary: tuple[str, Blocks]) -> None:
    _, blocks = summary
    body = all_text(blocks).lower()
    for verdict in ("we recommend", "do not hire", "should hire", "verdict", "no-hire"):
        assert verdict not in body


def test_initials_hide_the_name_everywhere(full: tuple[SummaryData, PanelConsensus]) -> None:
    data, consensus = full
    text, blocks = build_summary(data, consensus, candidate_display="initials", now=NOW)
    check_message(text, blocks)
    payload = json.dumps(blocks, ensure_ascii=False) + text
    assert "Ada" not in payload and "Lovelace" not in payload
    assert block_text(blocks[0]) == "A. L. — Senior ML Engineer"
    assert text.startswith("Interview summary: A. L., Senior ML Engineer — ")
    plain_text = render_summary_text(data, consensus, candidate_display="initials")
    assert "Ada" not in plain_text and "Lovelace" not in plain_text
    assert plain_text.startswith("Interview summary: A. L. — Senior ML Engineer\n")
    with pytest.raises(ValueError, match="candidate_display"):
        build_summary(data, consensus, candidate_display="nickname", now=NOW)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "initials"),
    [
        ("Ada Lovelace", "A. L."),
        ("  grace   brewster hopper ", "G. B. H."),
        ("Jean-Luc Picard", "J. L. P."),
        ("Ada", "A."),
        ("1234", "Candidate"),
        ("", "Candidate"),
    ],
)
def test_candidate_initials(name: str, initials: str) -> None:
    assert candidate_initials(name) == initials


def test_nothing_flagged() -> None:
    fbs = [feedback(f"U{i}", {"fundamentals": "senior"}, rec="yes") for i in range(3)]
    data = summary_data(MLE, fbs)
    text, blocks = build_summary(data, real_consensus(data), now=NOW)
    check_message(text, blocks)
    assert text.endswith("3 of 3 submitted, no skills flagged for discussion")
    assert ":white_check_mark: *Needs discussion:* nothing flagged" in block_text(blocks[2])


def test_no_feedback_at_all() -> None:
    data = summary_data(MLE, [], expected=PANEL)
    text, blocks = build_summary(data, real_consensus(data), now=NOW)
    check_message(text, blocks)
    assert "0 of 4 submitted" in text
    assert skill_line(blocks, "Planning") == f"{NO_FEEDBACK_EMOJI * 4}  *Planning* — not assessed"


def test_user_text_is_escaped() -> None:
    interview = make_interview(candidate="Bob <script> & Co", role="ML <Engineer>")
    data = summary_data(MLE, panel_feedback(), interview=interview)
    text, blocks = build_summary(data, hand_consensus(), now=NOW)
    check_message(text, blocks)
    assert "Bob &lt;script&gt; &amp; Co, ML &lt;Engineer&gt;" in text
    assert block_text(blocks[0]) == "Bob <script> & Co — ML <Engineer>"  # plain_text header


def test_a_skill_the_consensus_lacks_shows_as_not_assessed(
    full: tuple[SummaryData, PanelConsensus],
) -> None:
    data, consensus = full
    partial = PanelConsensus(**{**consensus.__dict__, "skills": consensus.skills[1:]})
    text, blocks = build_summary(data, partial, now=NOW)
    check_message(text, blocks)
    assert skill_line(blocks, MLE.skills[0].name).endswith("— not assessed")


# -- the colours -------------------------------------------------------------------------------


def test_level_colours_are_relative_to_the_target() -> None:
    def emoji(target: str) -> list[str]:
        swatches = level_swatches(MLE, target)
        return [swatches[level].emoji for level in MLE.level_ids]

    assert emoji("senior") == [YELLOW, GREEN, BLUE]
    assert emoji("junior") == [GREEN, BLUE, ":large_purple_square:"]
    assert emoji("lead") == [":large_orange_square:", YELLOW, GREEN]
    seven = make_rubric(1, n_levels=9)
    swatches = level_swatches(seven, "l4")
    assert [swatches[f"l{k}"].emoji for k in range(9)] == [
        ":large_red_square:",
        ":large_red_square:",
        ":large_orange_square:",
        YELLOW,
        GREEN,
        BLUE,
        ":large_purple_square:",
        ":large_purple_square:",
        ":large_purple_square:",
    ]
    # A shared colour is explained in the legend.
    fbs = [feedback("U1", {"s0": "l0"}, rec="yes")]
    data = summary_data(seven, fbs, interview=make_interview(target="l4"))
    _, blocks = build_summary(data, real_consensus(data), now=NOW)
    assert ":large_red_square: L0/L1" in all_text(blocks)


def test_level_abbreviations() -> None:
    assert level_abbreviations(MLE) == {"junior": "J", "senior": "S", "lead": "L"}
    assert set(level_abbreviations(make_rubric(1, n_levels=4)).values()) == {"L0", "L1", "L2", "L3"}
    many = make_rubric(1, n_levels=12)
    assert len(set(level_abbreviations(many).values())) == 12


# -- the sweep: any panel of 1..12 on any rubric of 1..30 skills ------------------------------


@pytest.mark.parametrize("n_skills", [1, 16, 30])
@pytest.mark.parametrize("n_panel", [1, 4, 12])
def test_sweep_summary_within_limits(n_panel: int, n_skills: int) -> None:
    rubric = make_rubric(n_skills, long_names=True)
    data = worst_panel(rubric, n_panel, missing=n_panel // 4, after=n_panel // 4, shadows=3)
    consensus = real_consensus(data)
    text, blocks = build_summary(data, consensus, now=NOW, names={}, posting=True)
    assert_fits(text, blocks)
    assert blocks[-1]["type"] == "actions"  # the button survives the tightest budget
    _, initials = build_summary(data, consensus, candidate_display="initials", now=NOW)
    assert_fits(text, initials)
    # Every skill keeps its line.
    body = all_text(blocks)
    assert all(f"Skill {i} " in body for i in range(n_skills))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_panel=st.integers(1, 12),
    n_skills=st.integers(1, 30),
    n_levels=st.integers(2, 9),
    long_names=st.booleans(),
    one_per_discipline=st.booleans(),
    missing=st.integers(0, 12),
    after=st.integers(0, 12),
    shadows=st.integers(0, 4),
)
def test_sweep_summary_fits_any_rubric(
    n_panel: int,
    n_skills: int,
    n_levels: int,
    long_names: bool,
    one_per_discipline: bool,
    missing: int,
    after: int,
    shadows: int,
) -> None:
    rubric = make_rubric(
        n_skills, n_levels=n_levels, long_names=long_names, one_per_discipline=one_per_discipline
    )
    missing = min(missing, n_panel)
    data = worst_panel(
        rubric, n_panel, missing=missing, after=min(after, n_panel - missing), shadows=shadows
    )
    names = {i: "Näme <&> " * 20 for i in data.expected}
    text, blocks = build_summary(data, real_consensus(data), now=NOW, names=names, posting=True)
    assert_fits(text, blocks)


def test_budget_is_kept_even_for_absurd_input() -> None:
    # 100 skills flagged with very long reasons: more than 50 blocks' worth, shortened to fit.
    rubric = make_rubric(100, long_names=True, one_per_discipline=True)
    data = worst_panel(rubric, 12, missing=2, shadows=2)
    consensus = real_consensus(data)
    skills = tuple(
        SkillConsensus(**{**s.__dict__, "needs_discussion": True, "reasons": ("x" * 400,) * 3})
        for s in consensus.skills
    )
    consensus = PanelConsensus(**{**consensus.__dict__, "skills": skills})
    text, blocks = build_summary(data, consensus, now=NOW, posting=True)
    assert_fits(text, blocks)
    assert blocks[-1]["type"] == "actions"
