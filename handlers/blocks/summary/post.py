"""The summary message for the hiring channel, rendered from :class:`.model.SummaryModel`.

Layout (at most 50 blocks for any panel and rubric; long parts are packed several
lines to a section and shortened when the budget is tight):

1. header (candidate or initials, role), a context line (target level, date,
   "n of m submitted" or "n of m before the summary, k after", as of when); on a
   partial summary, who had not submitted, by name (a mention would ping them
   into reading the panel's views); the number of shadow interviewers;
2. *Needs discussion*: every flagged skill with each counted interviewer's level
   and the reasons, the split decision and any Strong no, with who;
3. the recommendation tally on the rubric's scale;
4. per discipline, one line per skill: a strip of squares (one per panel member,
   in panel order, coloured by level against the target), the skill, the panel's
   level against the target or "split Junior / Lead", and the spread in words;
   a legend below;
5. coverage and evidence gaps; how many skills the panel rated unanimously;
6. a "Debrief guide" button.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from handlers.blocks.form_dm import Block
from handlers.blocks.limits import HEADER_TEXT_MAX, MESSAGE_MAX_BLOCKS
from handlers.blocks.summary.layout import DIVIDER, context, pack, section
from handlers.blocks.summary.model import (
    VERDICT_KEY,
    Cell,
    SkillRow,
    SummaryModel,
    Vote,
    gap_lines,
    summary_model,
)
from handlers.blocks.summary.names import (
    FALLBACK_NAME_MAX,
    LEVEL_MAX,
    NO_FEEDBACK_EMOJI,
    NOT_ASSESSED_EMOJI,
    REASON_MAX,
    SPREAD_MAX,
    CandidateDisplay,
    date_token,
    md_name,
    people,
    plural,
)
from handlers.blocks.text import escape_mrkdwn, mention, plain, truncate
from rubric.consensus_types import PanelConsensus
from storage.views import SummaryData

DEBRIEF_ACTION = "summary_debrief"


@dataclass
class _Parts:
    """The summary's pieces before packing: fixed blocks and groups of packable lines."""

    head: list[Block]
    discussion: list[str]
    decision: list[Block]
    skills: list[str]
    legend: Block
    gaps: list[str]
    tail: list[Block]


def build_summary(
    data: SummaryData,
    consensus: PanelConsensus,
    *,
    candidate_display: CandidateDisplay = "full",
    now: datetime,
    names: Mapping[str, str] | None = None,
    posting: bool = False,
) -> tuple[str, list[Block]]:
    """The summary message for the hiring channel.

    Args:
        data: the interview, its pinned rubric and the submitted feedback.
        consensus: ``rubric.consensus.panel_consensus`` of the counted feedback
            (``handlers.summary.consensus_of``).
        candidate_display: "initials" shows "A. L." instead of the name, everywhere.
        now: when the summary is (re-)rendered; shown as "as of".
        names: display names of Slack users, for people a mention would ping.
        posting: this is the message being posted (``data`` is read just before).

    Returns:
        (fallback text for notifications, at most 50 blocks).
    """
    model = summary_model(data, consensus, candidate_display=candidate_display, posting=posting)
    return render_blocks(model, now=now, names=names or {})


def render_blocks(
    model: SummaryModel, *, now: datetime, names: Mapping[str, str]
) -> tuple[str, list[Block]]:
    parts = _parts(model, now, names)
    blocks = _assemble(parts, budget=None)
    if len(blocks) > MESSAGE_MAX_BLOCKS:
        blocks = _assemble(parts, budget=MESSAGE_MAX_BLOCKS)
    subject = (
        f"{md_name(model.candidate, FALLBACK_NAME_MAX)}, {md_name(model.role, FALLBACK_NAME_MAX)}"
    )
    fallback = f"Interview summary: {subject} — {model.count_text}, {model.discussion_count}"
    return fallback, blocks


def _assemble(parts: _Parts, *, budget: int | None) -> list[Block]:
    groups = [parts.discussion, parts.skills, parts.gaps]
    limits: list[int | None] = [None, None, None]
    if budget is not None:
        # Every fixed block stays; the packed groups share what is left, in proportion
        # to their number of lines (each at least one block).
        fixed = len(parts.head) + len(parts.decision) + len(parts.tail) + 3  # legend, 2 dividers
        room = max(budget - fixed, len(groups))
        total = sum(len(g) for g in groups) or 1
        limits = [max(1, (room * len(g)) // total) for g in groups]
    discussion, skills, gaps = (
        [section(t) for t in pack(g, max_blocks=limit)]
        for g, limit in zip(groups, limits, strict=True)
    )
    blocks = [*parts.head, *discussion, *parts.decision, DIVIDER, *skills, parts.legend]
    blocks += [DIVIDER, *gaps, *parts.tail]
    return blocks


def _parts(model: SummaryModel, now: datetime, names: Mapping[str, str]) -> _Parts:
    decision_lines = _decision_lines(model)
    discussion = _discussion_lines(model)
    if not discussion and not decision_lines:
        discussion = [
            ":white_check_mark: *Needs discussion:* nothing flagged — no skill with ratings "
            "far apart, on both sides of the target or split, no split decision, no Strong no."
        ]
    elif not discussion:
        discussion = [":warning: *Needs discussion*\nNo skill flagged."]
    decision: list[Block] = [section("\n".join(decision_lines))] if decision_lines else []
    decision.append(section(f"*Recommendations*  {_tally(model)}"))
    tail = [
        context(
            escape_mrkdwn(model.agreement_text)
            + " · Each interviewer's notes and evidence are in the thread. This summary "
            "supports the debrief; the decision is the hiring team's."
        ),
        debrief_button(model.interview_id),
    ]
    return _Parts(
        head=_head(model, now, names),
        discussion=discussion,
        decision=decision,
        skills=_skill_lines(model),
        legend=_legend(model, names),
        gaps=_gap_lines(model),
        tail=tail,
    )


def debrief_button(interview_id: int) -> Block:
    """The one button under the summary: the debrief guide (its listener checks who asks)."""
    return {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "text": plain("Debrief guide"),
                "action_id": DEBRIEF_ACTION,
                "value": str(interview_id),
            }
        ],
    }


def _head(model: SummaryModel, now: datetime, names: Mapping[str, str]) -> list[Block]:
    header = f"{' '.join(model.candidate.split())} — {' '.join(model.role.split())}"
    head: list[Block] = [
        {"type": "header", "text": plain(truncate(header, HEADER_TEXT_MAX), emoji=False)},
        context(
            f"Target level *{md_name(model.target_name, LEVEL_MAX)}* · interview "
            f"{date_token(model.starts_at, '{date_short}')}"
            f" · *{model.count_text}* · as of "
            f"{date_token(now, '{date_short_pretty} {time}')}"
        ),
    ]
    if model.partial:
        who = people(model.not_counted, names, escape=True)
        head.append(
            section(f":hourglass_flowing_sand: *Partial summary* — {model.partial_note(who)}")
        )
    if model.shadows:
        head.append(context(f":mortar_board: {model.shadow_note}"))
    return head


def _discussion_lines(model: SummaryModel) -> list[str]:
    lines: list[str] = []
    for flag in model.flags:
        ratings = " · ".join(
            f"{mention(who)} {md_name(level, LEVEL_MAX) if level else 'not assessed'}"
            for who, level in flag.ratings
        )
        line = f"• *{md_name(flag.name)}* — {ratings}"
        reasons = "; ".join(truncate(escape_mrkdwn(r), REASON_MAX) for r in flag.reasons)
        if reasons:
            line += f"\n      _{truncate(reasons, 2 * REASON_MAX)}_"
        lines.append(line)
    if lines:
        heading = f":warning: *Needs discussion ({plural(len(lines), 'skill')})*"
        lines[0] = f"{heading}\n{lines[0]}"
    return lines


def _decision_lines(model: SummaryModel) -> list[str]:
    lines: list[str] = []
    if model.split_decision:

        def side(votes: Sequence[Vote]) -> str:
            named = [
                f"{mention(v.interviewer)} {md_name(v.recommendation, LEVEL_MAX)}" for v in votes
            ]
            return ", ".join(named) or "nobody"

        lines.append(
            f":scales: *Split decision* — hire: {side(model.hire)}; no hire: {side(model.no_hire)}"
        )
    if model.strong_no:
        lines.append(
            f":no_entry: *{md_name(model.strongest_no, LEVEL_MAX)}* from "
            + ", ".join(mention(i) for i in model.strong_no)
        )
    return lines


def _tally(model: SummaryModel) -> str:
    parts = [f"{md_name(name, LEVEL_MAX)} {votes}" for name, votes in model.tally]
    if model.abstained:
        parts.append(f"none given {model.abstained}")
    return " · ".join(parts)


def _skill_lines(model: SummaryModel) -> list[str]:
    lines: list[str] = []
    for discipline in model.disciplines:
        for index, row in enumerate(discipline.rows):
            strip = "".join(_square(model, cell) for cell in row.cells)
            line = f"{strip}  *{md_name(row.name)}* {_verdict(row)}"
            if row.flagged:
                line += " :warning:"
            if index == 0:
                line = f"\n*{md_name(discipline.name)}*\n{line}"
            lines.append(line)
    return lines


def _square(model: SummaryModel, cell: Cell) -> str:
    if cell.kind == "no_feedback":
        return NO_FEEDBACK_EMOJI
    swatch = model.swatch(cell)
    return swatch.emoji if swatch is not None else NOT_ASSESSED_EMOJI


def _verdict(row: SkillRow) -> str:
    if not row.label:
        return "— not assessed"
    return f"{md_name(row.verdict_words, 2 * LEVEL_MAX + 16)} · {md_name(row.spread, SPREAD_MAX)}"


def _legend(model: SummaryModel, names: Mapping[str, str]) -> Block:
    def who(column_interviewer: str, counted: bool) -> str:
        if counted:
            return mention(column_interviewer)
        name = names.get(column_interviewer)
        shown = md_name(name) if name else "an interviewer"
        return f"{shown} _({model.no_feedback_label})_"

    squares = " · ".join(who(c.interviewer, c.counted) for c in model.columns)
    keys = [
        f"{swatch.emoji} {'/'.join(md_name(n, LEVEL_MAX + 9) for n in levels)}"
        for swatch, levels in model.legend
    ]
    keys.append(f"{NOT_ASSESSED_EMOJI} not assessed")
    if model.not_counted:
        keys.append(f"{NO_FEEDBACK_EMOJI} {model.no_feedback_label}")
    return context(f"Squares, left to right: {squares}", "  ".join(keys) + f"  · {VERDICT_KEY}")


_GAP_ICONS = {
    "Nobody assessed": ":mag:",
    "Focus skills left Not assessed": ":dart:",
    "Coverage": ":mag:",
    "Evidence": ":memo:",
}


def _gap_lines(model: SummaryModel) -> list[str]:
    lines = gap_lines(
        model, name=md_name, who=mention, label=lambda text: f"{_GAP_ICONS[text]} *{text}*"
    )
    lines[0] = "*Gaps*\n" + lines[0]
    return lines
