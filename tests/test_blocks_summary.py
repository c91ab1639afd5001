"""handlers.blocks.summary: the hiring-channel summary, its thread replies and plain text."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.blocks.limits import check_message, message_problems
from handlers.blocks.summary import (
    ALPHA,
    NO_FEEDBACK_EMOJI,
    NOT_ASSESSED_EMOJI,
    build_feedback_reply,
    build_not_in_channel_notice,
    build_summary,
    build_update_reply,
    candidate_initials,
    describe_changes,
    level_abbreviations,
    level_swatches,
    pack,
    pack_replies,
    render_summary_text,
    split_text,
)
from rubric import Rubric, load_builtin
from rubric.consensus import panel_consensus
from rubric.consensus_types import (
    Agreement,
    FocusGap,
    PanelConsensus,
    PanelistInput,
    PanelRating,
    SkillConsensus,
    Verdict,
)
from storage.views import InterviewView, PanelistFeedback, RatingView, SummaryData

MLE: Rubric = load_builtin("mle")
START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
NOW = END + timedelta(hours=30)
PANEL = ("U0AAA", "U0BBB", "U0CCC", "U0DDD")
YELLOW, GREEN, BLUE = ":large_yellow_square:", ":large_green_square:", ":large_blue_square:"

Blocks = list[dict[str, Any]]


# -- building data ------------------------------------------------------------------------


def make_interview(
    candidate: str = "Ada Lovelace", role: str = "Senior ML Engineer", target: str = "senior"
) -> InterviewView:
    return InterviewView(
        interview_id=7,
        candidate=candidate,
        role=role,
        target_level=target,
        starts_at=START,
        ends_at=END,
        state="summarised",
        hiring_channel="C0HIRING",
        recruiter="U0RECRUIT",
        hiring_lead="U0LEAD",
    )


def feedback(
    interviewer: str,
    levels: Mapping[str, str | None],
    *,
    rec: str | None,
    focus: Sequence[str] = (),
    notes: str = "",
    no_evidence: Sequence[str] = (),
    late: bool = False,
) -> PanelistFeedback:
    """One submitted feedback; ``levels`` maps skill id -> level id (None: Not assessed)."""
    submitted = END + timedelta(hours=2)
    return PanelistFeedback(
        interviewer=interviewer,
        focus_skills=tuple(focus),
        recommendation=rec,
        notes=notes,
        ratings=tuple(
            RatingView(
                skill, level, "" if skill in no_evidence or level is None else f"EV-{interviewer}"
            )
            for skill, level in levels.items()
        ),
        submitted_at=submitted,
        updated_at=submitted,
        late=late,
    )


def summary_data(
    rubric: Rubric,
    fbs: Sequence[PanelistFeedback],
    *,
    expected: Sequence[str] | None = None,
    interview: InterviewView | None = None,
) -> SummaryData:
    submitted = [f.interviewer for f in fbs]
    expected = tuple(expected if expected is not None else submitted)
    return SummaryData(
        interview=interview or make_interview(),
        rubric=rubric,
        expected=expected,
        feedback=tuple(fbs),
        missing=tuple(i for i in expected if i not in submitted),
        summary_channel=None,
        summary_ts=None,
    )


def inputs(fbs: Sequence[PanelistFeedback]) -> list[PanelistInput]:
    return [
        PanelistInput(
            interviewer=f.interviewer,
            focus=f.focus_skills,
            recommendation=f.recommendation,
            ratings=tuple(
                PanelRating(r.skill_id, r.level, has_evidence=bool(r.evidence)) for r in f.ratings
            ),
        )
        for f in fbs
    ]


def real_consensus(data: SummaryData) -> PanelConsensus:
    return panel_consensus(data.rubric, data.interview.target_level, inputs(data.feedback))


# The 4-person MLE panel: System design Junior/Junior/Lead/Lead (flagged), Agile assessed by
# nobody, U0BBB left their focus skill Communication Not assessed, a split decision with a
# Strong no from U0BBB, two ratings without evidence.
OTHER_SKILLS = [
    s.id for s in MLE.skills if s.id not in {"system_design", "agile", "communication", "planning"}
]


def panel_feedback(*, late_d: bool = False) -> list[PanelistFeedback]:
    def levels(system_design: str, communication: str | None, planning: str) -> dict[str, Any]:
        base: dict[str, str | None] = dict.fromkeys(OTHER_SKILLS, "senior")
        base.update(
            system_design=system_design,
            communication=communication,
            planning=planning,
            agile=None,
        )
        return base

    return [
        feedback("U0AAA", levels("junior", "senior", "senior"), rec="yes", focus=["system_design"]),
        feedback(
            "U0BBB",
            levels("junior", None, "senior"),
            rec="strong_no",
            focus=["communication"],
            no_evidence=["planning"],
        ),
        feedback("U0CCC", levels("lead", "senior", "senior"), rec="yes", no_evidence=["planning"]),
        feedback("U0DDD", levels("lead", "senior", "senior"), rec="strong_yes", late=late_d),
    ]


def skill_consensus(
    skill_id: str,
    ratings: Mapping[str, str],
    label: str,
    verdict: Verdict | None,
    *,
    not_assessed: Sequence[str] = (),
    reasons: Sequence[str] = (),
    without_evidence: int = 0,
) -> SkillConsensus:
    ids = [MLE.level_index(level) for level in ratings.values()]
    return SkillConsensus(
        skill_id=skill_id,
        ratings=tuple(sorted(ratings.items())),
        not_assessed_by=tuple(sorted(not_assessed)),
        consensus_low=label.split("-")[0].lower() if label else None,
        consensus_high=label.split("-")[-1].lower() if label else None,
        consensus_label=label,
        range_steps=max(ids) - min(ids) if len(ids) > 1 else 0,
        ad=None,
        ad_acceptable=None,
        verdict=verdict,
        needs_discussion=bool(reasons),
        reasons=tuple(reasons),
        without_evidence=without_evidence,
    )


def hand_consensus(interviewers: Sequence[str] = PANEL) -> PanelConsensus:
    """The consensus of panel_feedback(), written out by hand."""
    everyone_senior = dict.fromkeys(interviewers, "senior")
    skills = []
    for skill in MLE.skills:
        if skill.id == "system_design":
            skills.append(
                skill_consensus(
                    "system_design",
                    {"U0AAA": "junior", "U0BBB": "junior", "U0CCC": "lead", "U0DDD": "lead"},
                    "Junior-Lead",
                    Verdict.MEETS,
                    reasons=("ratings span Junior to Lead", "split around the target (Senior)"),
                )
            )
        elif skill.id == "agile":
            skills.append(skill_consensus("agile", {}, "", None, not_assessed=interviewers))
        elif skill.id == "communication":
            skills.append(
                skill_consensus(
                    "communication",
                    {i: "senior" for i in interviewers if i != "U0BBB"},
                    "Senior",
                    Verdict.MEETS,
                    not_assessed=["U0BBB"],
                )
            )
        elif skill.id == "planning":
            skills.append(
                skill_consensus(
                    "planning", everyone_senior, "Senior", Verdict.MEETS, without_evidence=2
                )
            )
        else:
            skills.append(skill_consensus(skill.id, everyone_senior, "Senior", Verdict.MEETS))
    return PanelConsensus(
        target_level="senior",
        skills=tuple(skills),
        tally=(("strong_no", 1), ("no", 0), ("yes", 2), ("strong_yes", 1)),
        split_decision=True,
        strong_no=("U0BBB",),
        unassessed=("agile",),
        focus_gaps=(FocusGap("U0BBB", "communication"),),
        agreement=Agreement(alpha=0.4234, reading="weak"),
        without_evidence=2,
    )


def texts(blocks: Blocks) -> list[str]:
    """Every text of every block, in order."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text"):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return found


def block_text(block: dict[str, Any]) -> str:
    return "\n".join(texts([block]))


def all_text(blocks: Blocks) -> str:
    return "\n".join(texts(blocks))


def find_block(blocks: Blocks, needle: str) -> int:
    for index, block in enumerate(blocks):
        if needle in block_text(block):
            return index
    raise AssertionError(f"{needle!r} in no block")


def skill_line(blocks: Blocks, skill_name: str) -> str:
    for line in all_text(blocks).splitlines():
        if f"*{skill_name}*" in line and line.startswith(":"):
            return line
    raise AssertionError(f"no skill line for {skill_name!r}")


@pytest.fixture
def full() -> tuple[SummaryData, PanelConsensus]:
    return summary_data(MLE, panel_feedback()), hand_consensus()


@pytest.fixture
def summary(full: tuple[SummaryData, PanelConsensus]) -> tuple[str, Blocks]:
    data, consensus = full
    text, blocks = build_summary(data, consensus, now=NOW)
    check_message(text, blocks)
    return text, blocks


# -- the summary ----------------------------------------------------------------------------


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


def test_fallback_text(summary: tuple[str, Blocks]) -> None:
    text, _ = summary
    assert text == (
        "Interview summary: Ada Lovelace, Senior ML Engineer — 4 of 4 submitted, "
        "1 skill needs discussion"
    )


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


def test_skill_lines_show_a_strip_the_consensus_and_the_verdict(
    summary: tuple[str, Blocks],
) -> None:
    _, blocks = summary
    assert skill_line(blocks, "System design and implementation") == (
        f"{YELLOW}{YELLOW}{BLUE}{BLUE}  *System design and implementation* Junior-Lead ● meets target :warning:"
    )
    assert skill_line(blocks, "Fundamental knowledge") == (
        f"{GREEN * 4}  *Fundamental knowledge* Senior ● meets target"
    )
    assert (
        skill_line(blocks, "Agile principles")
        == f"{NOT_ASSESSED_EMOJI * 4}  *Agile principles* — not assessed"
    )
    assert skill_line(blocks, "Communication") == (
        f"{GREEN}{NOT_ASSESSED_EMOJI}{GREEN}{GREEN}  *Communication* Senior ● meets target"
    )
    # Disciplines head their skills, in rubric order.
    body = all_text(blocks)
    positions = [body.index(f"*{d.name}*") for d in MLE.disciplines]
    assert positions == sorted(positions)


def test_verdicts_above_and_below_target() -> None:
    fbs = [
        feedback("U1", {"fundamentals": "lead", "planning": "junior"}, rec="yes"),
        feedback("U2", {"fundamentals": "senior", "planning": "junior"}, rec="yes"),
    ]
    data = summary_data(MLE, fbs)
    _, blocks = build_summary(data, real_consensus(data), now=NOW)
    assert skill_line(blocks, "Fundamental knowledge").endswith(
        "*Fundamental knowledge* Senior-Lead ▲ above target"
    )
    assert skill_line(blocks, "Planning").endswith("*Planning* Junior ▼ below target")


def test_legend_names_the_panel_in_order_marks_late_and_explains_colours() -> None:
    data = summary_data(MLE, panel_feedback(late_d=True))
    _, blocks = build_summary(data, hand_consensus(), now=NOW)
    legend = blocks[find_block(blocks, "Squares, left to right")]
    assert legend["type"] == "context"
    body = block_text(legend)
    assert "Squares, left to right: <@U0AAA> · <@U0BBB> · <@U0CCC> · <@U0DDD> _(late)_" in body
    assert f"{YELLOW} Junior  {GREEN} Senior (target)  {BLUE} Lead  {NOT_ASSESSED_EMOJI}" in body
    assert NO_FEEDBACK_EMOJI not in body  # nobody is missing
    # Late is marked wherever the interviewer is listed in the summary.
    discussion = block_text(blocks[find_block(blocks, "Needs discussion")])
    assert "<@U0DDD> _(late)_ Lead" in discussion


def test_gaps_name_unassessed_skills_focus_gaps_and_evidence(summary: tuple[str, Blocks]) -> None:
    _, blocks = summary
    gaps = block_text(blocks[find_block(blocks, "*Gaps*")])
    assert ":mag: *Nobody assessed* (1): Agile principles" in gaps
    assert ":dart: *Focus skills left Not assessed*: Communication (<@U0BBB>)" in gaps
    assert "*Evidence*: 2 ratings without evidence (Planning 2)" in gaps
    assert find_block(blocks, "*Gaps*") > find_block(blocks, "Squares, left to right")


def test_agreement_line(
    full: tuple[SummaryData, PanelConsensus], summary: tuple[str, Blocks]
) -> None:
    _, blocks = summary
    assert f"Panel agreement (Krippendorff's {ALPHA}, ordinal): 0.42 — weak" in block_text(
        blocks[-1]
    )
    data, consensus = full
    undefined = PanelConsensus(
        **{**consensus.__dict__, "agreement": Agreement(alpha=None, reading="not enough data")}
    )
    _, blocks = build_summary(data, undefined, now=NOW)
    assert "Panel agreement: not enough data" in block_text(blocks[-1])


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


def test_partial_summary_names_the_missing() -> None:
    fbs = panel_feedback()[:3]
    data = summary_data(MLE, fbs, expected=PANEL)
    assert data.missing == ("U0DDD",)
    text, blocks = build_summary(data, real_consensus(data), now=NOW)
    check_message(text, blocks)
    assert text == (
        "Interview summary: Ada Lovelace, Senior ML Engineer — 3 of 4 submitted, "
        "1 skill needs discussion"
    )
    assert "*3 of 4 submitted*" in block_text(blocks[1])
    partial = block_text(blocks[2])
    assert partial.startswith(":hourglass_flowing_sand: *Partial summary* — no feedback yet")
    assert "<@U0DDD>" in partial
    # The missing interviewer keeps their column, marked "no feedback yet".
    assert skill_line(blocks, "Fundamental knowledge").startswith(f"{GREEN * 3}{NO_FEEDBACK_EMOJI}")
    legend = block_text(blocks[find_block(blocks, "Squares, left to right")])
    assert "<@U0DDD> _(no feedback yet)_" in legend
    assert f"{NO_FEEDBACK_EMOJI} no feedback yet" in legend


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


# -- the sweep: any panel of 1..12 on any rubric of 1..30 skills ------------------------------

LONG = "Ünïcode & <long> name " * 12  # escapes grow it


def make_rubric(
    n_skills: int, *, n_levels: int = 3, long_names: bool = False, one_per_discipline: bool = False
) -> Rubric:
    def name(base: str) -> str:
        return f"{base} {LONG}" if long_names else base

    per = 1 if one_per_discipline else 4
    disciplines = []
    for d in range(0, n_skills, per):
        skills = [
            {
                "id": f"s{i}",
                "name": name(f"Skill {i}"),
                "question": f"Q{i}?",
                "levels": {
                    f"l{k}": {"short": f"l{k}", "full": f"level {k}"} for k in range(n_levels)
                },
            }
            for i in range(d, min(d + per, n_skills))
        ]
        disciplines.append({"id": f"d{d}", "name": name(f"Discipline {d}"), "skills": skills})

    def level_name(k: int) -> str:
        return f"Level {k} & <{'x' * 40}>" if long_names else f"L{k}"

    return Rubric.model_validate(
        {
            "id": "gen",
            "name": "Generated",
            "version": "1",
            "levels": [{"id": f"l{k}", "name": level_name(k)} for k in range(n_levels)],
            "recommendations": [
                {"id": "strong_no", "name": name("Strong no"), "hire": False},
                {"id": "no", "name": "No", "hire": False},
                {"id": "yes", "name": "Yes", "hire": True},
                {"id": "strong_yes", "name": "Strong yes", "hire": True},
            ],
            "disciplines": disciplines,
        }
    )


def interviewer_id(i: int) -> str:
    return f"U{i:010d}"


def worst_panel(
    rubric: Rubric, n_panel: int, *, evidence: str = "", notes: str = "", missing: int = 0
) -> SummaryData:
    """Every skill spread as wide as the panel allows, votes on both sides, some gaps."""
    n_levels = len(rubric.levels)
    fbs = []
    panel = [interviewer_id(i) for i in range(n_panel)]
    for p, interviewer in enumerate(panel[: n_panel - missing]):
        ratings = []
        for s, skill in enumerate(rubric.skills):
            level = None if (p + s) % 5 == 4 else rubric.level_ids[(p + s) % n_levels]
            ratings.append(RatingView(skill.id, level, evidence if s % 3 else ""))
        fbs.append(
            PanelistFeedback(
                interviewer=interviewer,
                focus_skills=tuple(skill.id for skill in rubric.skills),
                recommendation=("strong_no", "no", "yes", "strong_yes")[p % 4],
                notes=notes,
                ratings=tuple(ratings),
                submitted_at=END,
                updated_at=END + timedelta(minutes=p),
                late=p % 2 == 1,
            )
        )
    interview = make_interview(candidate="C" * 200, role="R" * 200, target="l1")
    return summary_data(rubric, fbs, expected=panel, interview=interview)


def assert_fits(text: str, blocks: Blocks) -> None:
    assert message_problems(text, blocks) == []
    assert len(blocks) <= 50
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "context":
            assert len(block["elements"]) <= 10


@pytest.mark.parametrize("n_panel", range(1, 13))
@pytest.mark.parametrize("n_skills", [1, 2, 3, 7, 16, 29, 30])
def test_sweep_summary_fits(n_panel: int, n_skills: int) -> None:
    rubric = make_rubric(n_skills, long_names=True, one_per_discipline=n_skills % 2 == 0)
    data = worst_panel(rubric, n_panel, missing=n_panel // 4)
    consensus = real_consensus(data)
    text, blocks = build_summary(data, consensus, now=NOW)
    assert_fits(text, blocks)
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
)
def test_sweep_summary_fits_any_rubric(
    n_panel: int,
    n_skills: int,
    n_levels: int,
    long_names: bool,
    one_per_discipline: bool,
    missing: int,
) -> None:
    rubric = make_rubric(
        n_skills, n_levels=n_levels, long_names=long_names, one_per_discipline=one_per_discipline
    )
    data = worst_panel(rubric, n_panel, missing=min(missing, n_panel))
    text, blocks = build_summary(data, real_consensus(data), now=NOW)
    assert_fits(text, blocks)


def test_budget_is_kept_even_for_absurd_input(full: tuple[SummaryData, PanelConsensus]) -> None:
    # 100 skills flagged with very long reasons: more than 50 blocks' worth, shortened to fit.
    rubric = make_rubric(100, long_names=True, one_per_discipline=True)
    data = worst_panel(rubric, 12)
    consensus = real_consensus(data)
    skills = tuple(
        SkillConsensus(**{**s.__dict__, "needs_discussion": True, "reasons": ("x" * 400,) * 3})
        for s in consensus.skills
    )
    consensus = PanelConsensus(**{**consensus.__dict__, "skills": skills})
    text, blocks = build_summary(data, consensus, now=NOW)
    assert_fits(text, blocks)


@pytest.mark.parametrize("n_skills", [1, 16, 30])
@pytest.mark.parametrize("n_panel", [1, 12])
def test_sweep_thread_replies_with_maximum_evidence_and_notes(n_panel: int, n_skills: int) -> None:
    rubric = make_rubric(n_skills, long_names=True)
    # '&' escapes to five characters: the worst case for the 1500 / 3000 character inputs.
    for evidence, notes in (("&" * 1500, "<" * 3000), ("word " * 300, "line\n" * 600)):
        data = worst_panel(rubric, n_panel, evidence=evidence, notes=notes)
        for fb in data.feedback:
            text, blocks = build_feedback_reply(data, fb)
            assert_fits(text, blocks)
            body = all_text(blocks)
            assert "&amp;" in body or "word" in body
            assert "<<" not in body and "&a…" not in body


# -- thread replies --------------------------------------------------------------------------


def test_feedback_reply() -> None:
    fb = PanelistFeedback(
        interviewer="U0DDD",
        focus_skills=("system_design",),
        recommendation="strong_yes",
        notes="Great <b>systems</b> thinking & clear",
        ratings=(
            RatingView("planning", "senior", ""),
            RatingView("system_design", "lead", "Designed a *sharded* feature store"),
            RatingView("agile", None, ""),
        ),
        submitted_at=END + timedelta(hours=40),
        updated_at=END + timedelta(hours=41),
        late=True,
    )
    data = summary_data(MLE, [*panel_feedback()[:3], fb])
    text, blocks = build_feedback_reply(data, fb)
    check_message(text, blocks)
    assert text == "Feedback from <@U0DDD>: Strong yes (late)"
    head = block_text(blocks[0])
    assert head.startswith(
        "*Feedback from <@U0DDD>* _(late)_ — recommends *Strong yes*\nSubmitted "
    )
    assert ", edited <!date^" in head
    body = all_text(blocks)
    assert "*Notes*\nGreat &lt;b&gt;systems&lt;/b&gt; thinking &amp; clear" in body
    # Rubric order; focus marked; evidence escaped but kept.
    lines = [line for line in body.splitlines() if line.startswith("*") and " — " in line]
    assert lines[1:] == [
        "*System design and implementation* _(focus)_ — Lead: Designed a *sharded* feature store",
        "*Planning* — Senior _(no evidence)_",
        "*Agile principles* — Not assessed",
    ]


def test_feedback_reply_without_recommendation_or_notes() -> None:
    fb = feedback("U0AAA", {"planning": "junior"}, rec=None)
    data = summary_data(MLE, [fb])
    text, blocks = build_feedback_reply(data, fb)
    check_message(text, blocks)
    assert text == "Feedback from <@U0AAA>: no overall recommendation"
    assert "*Notes*" not in all_text(blocks)
    assert "(late)" not in all_text(blocks)


def test_update_reply() -> None:
    changes = [
        "<@U0DDD> submitted feedback (late).",
        "Needs discussion: +1 skill (Planning).",
    ]
    text, blocks = build_update_reply(changes)
    check_message(text, blocks)
    assert text == (
        "Updated: <@U0DDD> submitted feedback (late). Needs discussion: +1 skill (Planning)."
    )
    assert blocks == [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    text, blocks = build_update_reply([])
    check_message(text, blocks)
    assert text.startswith("Updated: ")
    text, blocks = build_update_reply(["x" * 2000] * 40)
    assert_fits(text, blocks)


def test_describe_changes_after_late_feedback() -> None:
    before_data = summary_data(MLE, panel_feedback()[:3], expected=PANEL)
    late = feedback(
        "U0DDD",
        {**dict.fromkeys(OTHER_SKILLS, "senior"), "planning": "lead", "agile": "junior"},
        rec="no",
        late=True,
    )
    after_data = summary_data(MLE, [*panel_feedback()[:3], late], expected=PANEL)
    before, after = real_consensus(before_data), real_consensus(after_data)
    changes = describe_changes(before, after, MLE, ["U0DDD"])
    assert changes[0] == "<@U0DDD> submitted feedback (late)."
    joined = " ".join(changes)
    assert "Now assessed: Agile principles." in joined
    assert "Recommendations: Strong no 1 · No 1 · Yes 2 · Strong yes 0." in joined
    text, blocks = build_update_reply(changes)
    check_message(text, blocks)


def test_describe_changes_flags_and_split() -> None:
    base = hand_consensus()
    calm_skills = tuple(
        SkillConsensus(**{**s.__dict__, "needs_discussion": False, "reasons": ()})
        for s in base.skills
    )
    calm = PanelConsensus(
        **{**base.__dict__, "skills": calm_skills, "split_decision": False, "strong_no": ()}
    )
    changes = describe_changes(calm, base, MLE, ["U0BBB"])
    assert changes[0] == "<@U0BBB> edited their feedback."
    assert "Needs discussion: +1 skill (System design and implementation)." in changes
    assert "The recommendations are now split between hire and no hire." in changes
    assert "Strong no from <@U0BBB>." in changes
    back = describe_changes(base, calm, MLE, [])
    assert f"Needs discussion: {chr(0x2212)}1 skill (System design and implementation)." in back
    assert "The recommendations are no longer split." in back
    first = describe_changes(None, base, MLE, ["U0AAA"])
    assert first[0] == "<@U0AAA> submitted feedback."
    assert describe_changes(base, base, MLE, []) == []


def test_describe_changes_consensus_and_agreement() -> None:
    base = hand_consensus()
    moved_skills = tuple(
        SkillConsensus(**{**s.__dict__, "consensus_label": "Senior-Lead"})
        if s.skill_id == "fundamentals"
        else s
        for s in base.skills
    )
    moved = PanelConsensus(
        **{
            **base.__dict__,
            "skills": moved_skills,
            "agreement": Agreement(alpha=0.7, reading="tentative"),
        }
    )
    changes = describe_changes(base, moved, MLE, [])
    assert changes == [
        "Consensus: Fundamental knowledge Senior → Senior-Lead.",
        "Panel agreement: 0.70 (tentative).",
    ]


# -- the recruiter's notice -----------------------------------------------------------------


def test_not_in_channel_notice(full: tuple[SummaryData, PanelConsensus]) -> None:
    data, _ = full
    text, blocks = build_not_in_channel_notice(data)
    check_message(text, blocks)
    body = all_text(blocks)
    assert "<#C0HIRING>" in body and "<#C0HIRING>" in text
    assert "`/invite @interview-bot`" in body
    assert "retry" in body
    assert "*Ada Lovelace* — Senior ML Engineer" in body
    odd = SummaryData(**{**data.__dict__, "summary_channel": "not a <channel>"})
    text, blocks = build_not_in_channel_notice(odd)
    check_message(text, blocks)
    assert "`not a &lt;channel&gt;`" in all_text(blocks)


# -- plain text -------------------------------------------------------------------------------


def test_render_summary_text_has_the_same_facts(full: tuple[SummaryData, PanelConsensus]) -> None:
    data, consensus = full
    out = render_summary_text(data, consensus)
    assert not re.search(r"<[@#!]|:[a-z_]+:|\*\w", out), "no Slack markup or emoji codes"
    lines = out.splitlines()
    assert lines[0] == "Interview summary: Ada Lovelace — Senior ML Engineer"
    assert lines[1] == (
        "Target level: Senior · interview Mon 1 Mar 2027, 09:00 UTC · 4 of 4 submitted"
    )
    assert out.index("Needs discussion (1 skill)") < out.index("Recommendations:")
    assert (
        "  ! System design and implementation — @U0AAA Junior · @U0BBB Junior · @U0CCC Lead · @U0DDD Lead"
        in lines
    )
    assert "      ratings span Junior to Lead; split around the target (Senior)" in lines
    assert (
        "  Split decision — hire: @U0AAA Yes, @U0CCC Yes, @U0DDD Strong yes; "
        "no hire: @U0BBB Strong no"
    ) in lines
    assert "  Strong no from @U0BBB" in lines
    assert "Recommendations: Strong no 1 · No 0 · Yes 2 · Strong yes 1" in lines
    assert "Skills (columns: 1. @U0AAA, 2. @U0BBB, 3. @U0CCC, 4. @U0DDD)" in lines
    sd = next(line for line in lines if "System design" in line and line.startswith("  J"))
    assert re.fullmatch(
        r"  J J L L  System design and implementation +Junior-Lead ● meets target  ! needs discussion",
        sd,
    )
    agile = next(line for line in lines if "Agile principles" in line and line.startswith("  ·"))
    assert re.fullmatch(r"  · · · ·  Agile principles +— not assessed", agile)
    assert "Key: J Junior  S Senior (target)  L Lead  · not assessed  ▲ above" in out
    assert "  Nobody assessed (1): Agile principles" in lines
    assert "  Focus skills left Not assessed: Communication (@U0BBB)" in lines
    assert "  Evidence: 2 ratings without evidence (Planning 2)" in lines
    assert (
        lines[-1]
        == f"Panel agreement (Krippendorff's {ALPHA}, ordinal): 0.42 — weak (≥ 0.80 reliable, ≥ 0.67 tentative)"
    )
    assert out.endswith("\n")


def test_render_summary_text_partial_late_and_names() -> None:
    fbs = panel_feedback(late_d=True)[1:]
    data = summary_data(MLE, fbs, expected=PANEL)
    out = render_summary_text(data, real_consensus(data), names={"U0AAA": "Ann", "U0DDD": "Dee"})
    assert "Partial summary: no feedback yet from Ann" in out
    assert "1. Ann (no feedback yet)" in out and "4. Dee (late)" in out
    assert "? no feedback yet" in out
    fundamentals = next(line for line in out.splitlines() if "Fundamental knowledge" in line)
    assert fundamentals.startswith("  ? S S S  ")


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


# -- packing helpers -----------------------------------------------------------------------------


def test_pack_and_split() -> None:
    assert pack(["a", "b"]) == ["a\nb"]
    assert pack(["x" * 2000, "y" * 2000]) == ["x" * 2000, "y" * 2000]
    packed = pack(["z" * 3000] * 100, max_blocks=10)
    assert len(packed) <= 10 and all(len(t) <= 3000 for t in packed)
    pieces = split_text("&amp;" * 1000, 3000)
    assert all(len(p) <= 3000 for p in pieces)
    assert "".join(pieces) == "&amp;" * 1000  # never cut inside an entity
    words = split_text("word " * 1000, 100)
    assert all(len(p) <= 100 and not p.endswith(" ") for p in words)
    assert " ".join(words).split() == ["word"] * 1000


# -- the thread's replies, packed ----------------------------------------------------------


def _replies(data: SummaryData) -> list[tuple[str, str, Blocks]]:
    return [(fb.interviewer, *build_feedback_reply(data, fb)) for fb in data.feedback]


def test_a_panel_with_short_evidence_gets_one_thread_message() -> None:
    data = worst_panel(make_rubric(16), 12, evidence="Solid answer.", notes="Fine.")
    [(who, text, blocks)] = pack_replies(_replies(data))
    assert who == [fb.interviewer for fb in data.feedback]
    assert_fits(text, blocks)
    body = all_text(blocks)
    positions = [body.index(f"Feedback from <@{u}>") for u in who]
    assert positions == sorted(positions)  # the panel's order, each once
    assert sum(1 for b in blocks if b["type"] == "divider") == len(who) - 1


@pytest.mark.parametrize("n_panel", [2, 12])
def test_long_replies_spread_over_messages_within_limits(n_panel: int) -> None:
    data = worst_panel(make_rubric(16, long_names=True), n_panel, evidence="&" * 1500, notes="x")
    replies = _replies(data)
    messages = pack_replies(replies)
    assert len(messages) > 1
    assert [u for who, _t, _b in messages for u in who] == [r[0] for r in replies]
    for _who, text, blocks in messages:
        assert_fits(text, blocks)
        assert sum(len(str(b.get("text", {}).get("text", ""))) for b in blocks) <= 12_000 or (
            len(_who) == 1  # a single reply may be bigger; it was built to fit alone
        )


def test_no_replies_no_messages() -> None:
    assert pack_replies([]) == []
