"""Shared builders for the summary's tests: panels, consensus by hand, Block Kit text helpers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from handlers.blocks.limits import message_problems
from rubric import Rubric, load_builtin
from rubric.consensus import panel_consensus
from rubric.consensus_types import (
    FocusGap,
    PanelConsensus,
    PanelistInput,
    PanelRating,
    SkillConsensus,
    Verdict,
)
from storage.views import (
    FeedbackEdit,
    InterviewView,
    PanelistFeedback,
    RatingView,
    Standing,
    SummaryData,
)

MLE: Rubric = load_builtin("mle")
START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
NOW = END + timedelta(hours=30)
PANEL = ("U0AAA", "U0BBB", "U0CCC", "U0DDD")
YELLOW, GREEN, BLUE = ":large_yellow_square:", ":large_green_square:", ":large_blue_square:"
POSTED_TS = "1772362800.000100"

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
    standing: Standing = Standing.COUNTED,
    edit: FeedbackEdit | None = None,
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
        standing=standing,
        edit_after_summary=edit,
    )


def summary_data(
    rubric: Rubric,
    fbs: Sequence[PanelistFeedback],
    *,
    expected: Sequence[str] | None = None,
    interview: InterviewView | None = None,
    shadows: Sequence[str] | None = None,
    posted: bool = False,
) -> SummaryData:
    """``expected`` defaults to everyone who submitted but shadows; ``shadows`` to the
    shadows who submitted. A summary with feedback given after it is posted."""
    submitted = [f.interviewer for f in fbs]
    shadow_ids = [f.interviewer for f in fbs if f.standing == Standing.SHADOW]
    expected = tuple(
        expected if expected is not None else [i for i in submitted if i not in shadow_ids]
    )
    posted = posted or any(f.standing == Standing.AFTER_SUMMARY for f in fbs)
    return SummaryData(
        interview=interview or make_interview(),
        rubric=rubric,
        expected=expected,
        feedback=tuple(fbs),
        missing=tuple(i for i in expected if i not in submitted),
        summary_channel="C0HIRING" if posted else None,
        summary_ts=POSTED_TS if posted else None,
        shadows=tuple(shadows if shadows is not None else shadow_ids),
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
    """The consensus of the counted feedback, as the worker computes it."""
    return panel_consensus(data.rubric, data.interview.target_level, inputs(data.counted))


# The 4-person MLE panel: System design Junior/Junior/Lead/Lead (split, flagged), Agile
# assessed by nobody, U0BBB left their focus skill Communication Not assessed, a split
# decision with a Strong no from U0BBB, two ratings without evidence.
OTHER_SKILLS = [
    s.id for s in MLE.skills if s.id not in {"system_design", "agile", "communication", "planning"}
]


def levels_of(system_design: str, communication: str | None, planning: str) -> dict[str, Any]:
    base: dict[str, str | None] = dict.fromkeys(OTHER_SKILLS, "senior")
    base.update(
        system_design=system_design, communication=communication, planning=planning, agile=None
    )
    return base


def panel_feedback(*, d_standing: Standing = Standing.COUNTED) -> list[PanelistFeedback]:
    return [
        feedback(
            "U0AAA", levels_of("junior", "senior", "senior"), rec="yes", focus=["system_design"]
        ),
        feedback(
            "U0BBB",
            levels_of("junior", None, "senior"),
            rec="strong_no",
            focus=["communication"],
            no_evidence=["planning"],
        ),
        feedback(
            "U0CCC", levels_of("lead", "senior", "senior"), rec="yes", no_evidence=["planning"]
        ),
        feedback(
            "U0DDD", levels_of("lead", "senior", "senior"), rec="strong_yes", standing=d_standing
        ),
    ]


def skill_consensus(
    skill_id: str,
    ratings: Mapping[str, str],
    verdict: Verdict | None,
    *,
    not_assessed: Sequence[str] = (),
    reasons: Sequence[str] = (),
    without_evidence: int = 0,
) -> SkillConsensus:
    """A skill's consensus by hand: the median level, or a split of the two middle ones."""
    ids = sorted(MLE.level_index(level) for level in ratings.values())
    counts = tuple((MLE.level_ids[i], ids.count(i)) for i in sorted(set(ids)))
    consensus = low = high = None
    label = ""
    if verdict == Verdict.SPLIT:
        low, high = MLE.level_ids[ids[0]], MLE.level_ids[ids[-1]]
        label = f"split {MLE.level(low).name} / {MLE.level(high).name}"
    elif ids:
        consensus = MLE.level_ids[ids[(len(ids) - 1) // 2]]
        label = MLE.level(consensus).name
    return SkillConsensus(
        skill_id=skill_id,
        ratings=tuple(sorted(ratings.items())),
        not_assessed_by=tuple(sorted(not_assessed)),
        consensus=consensus,
        split_low=low,
        split_high=high,
        consensus_label=label,
        counts=counts,
        range_steps=ids[-1] - ids[0] if len(ids) > 1 else 0,
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
                    Verdict.SPLIT,
                    reasons=("ratings span Junior to Lead", "split around the target (Senior)"),
                )
            )
        elif skill.id == "agile":
            skills.append(skill_consensus("agile", {}, None, not_assessed=interviewers))
        elif skill.id == "communication":
            skills.append(
                skill_consensus(
                    "communication",
                    {i: "senior" for i in interviewers if i != "U0BBB"},
                    Verdict.MEETS,
                    not_assessed=["U0BBB"],
                )
            )
        elif skill.id == "planning":
            skills.append(
                skill_consensus("planning", everyone_senior, Verdict.MEETS, without_evidence=2)
            )
        else:
            skills.append(skill_consensus(skill.id, everyone_senior, Verdict.MEETS))
    return PanelConsensus(
        target_level="senior",
        skills=tuple(skills),
        tally=(("strong_no", 1), ("no", 0), ("yes", 2), ("strong_yes", 1)),
        split_decision=True,
        strong_no=("U0BBB",),
        unassessed=("agile",),
        focus_gaps=(FocusGap("U0BBB", "communication"),),
        without_evidence=2,
        comparable=15,
        unanimous=14,
    )


# -- generated rubrics and panels ------------------------------------------------------------

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
    rubric: Rubric,
    n_panel: int,
    *,
    evidence: str = "",
    notes: str = "",
    missing: int = 0,
    after: int = 0,
    shadows: int = 0,
) -> SummaryData:
    """Every skill spread as wide as the panel allows, votes on both sides, some gaps.

    The last ``missing`` have not submitted; of those who did, the last ``after`` gave
    their feedback after the summary; ``shadows`` more interviewers are shadows.
    """
    n_levels = len(rubric.levels)
    fbs = []
    panel = [interviewer_id(i) for i in range(n_panel)]
    shadow_ids = [interviewer_id(100 + i) for i in range(shadows)]
    given = panel[: n_panel - missing]
    for p, interviewer in enumerate(given + shadow_ids):
        ratings = []
        for s, skill in enumerate(rubric.skills):
            level = None if (p + s) % 5 == 4 else rubric.level_ids[(p + s) % n_levels]
            ratings.append(RatingView(skill.id, level, evidence if s % 3 else ""))
        standing = Standing.COUNTED
        if interviewer in shadow_ids:
            standing = Standing.SHADOW
        elif p >= len(given) - after:
            standing = Standing.AFTER_SUMMARY
        fbs.append(
            PanelistFeedback(
                interviewer=interviewer,
                focus_skills=tuple(skill.id for skill in rubric.skills),
                recommendation=("strong_no", "no", "yes", "strong_yes")[p % 4],
                notes=notes,
                ratings=tuple(ratings),
                submitted_at=END,
                updated_at=END + timedelta(minutes=p),
                standing=standing,
            )
        )
    interview = make_interview(candidate="C" * 200, role="R" * 200, target="l1")
    return summary_data(rubric, fbs, expected=panel, interview=interview)


# -- reading blocks --------------------------------------------------------------------------


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
