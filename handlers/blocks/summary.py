"""The hiring-channel summary of an interview, its thread replies, and a plain-text twin.

What a hiring lead reads before the debrief: where the panel agrees, where it
does not, and what nobody assessed. It supports the decision and never makes
one: no hire / no-hire verdict of its own, only the panel's votes and ratings.

Layout of the summary (at most 50 blocks for any panel and rubric; long parts
are packed several lines to a section and shortened when the budget is tight):

1. header (candidate or initials, role), a context line (target level, date,
   "n of m submitted", as of when), and who is missing on a partial summary;
2. *Needs discussion*: every flagged skill with each interviewer's level and
   the reasons, the split decision and any Strong no, with who;
3. the recommendation tally on the rubric's scale;
4. per discipline, one line per skill: a strip of squares (one per panel member,
   in panel order, coloured by level against the target), the skill and its
   consensus against the target; a legend below;
5. coverage and evidence gaps, and the panel's agreement (Krippendorff's alpha).

Levels are coloured by their distance from the interview's target level, so the
same colour means the same thing in every summary: green at the target, blue
then purple above it, yellow, orange then red below it (see :func:`level_swatches`).
The heatmap image (``handlers.heatmap``) uses the same colours.

Pure: plain data in, (fallback text, blocks) out; no Slack client, no database.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from handlers.blocks.form_dm import Block, level_name
from handlers.blocks.limits import (
    CONTEXT_ELEMENTS_MAX,
    HEADER_TEXT_MAX,
    MESSAGE_MAX_BLOCKS,
    SECTION_TEXT_MAX,
)
from handlers.blocks.text import escape_mrkdwn, format_when, mention, mrkdwn, plain, truncate
from rubric import Rubric
from rubric.consensus_types import PanelConsensus, SkillConsensus, Verdict
from storage.views import PanelistFeedback, SummaryData

CandidateDisplay = Literal["full", "initials"]

# Lengths of rubric and interview text inside longer lines (the rubric's names are
# unbounded YAML text; the interview's are up to 200 characters).
NAME_MAX = 80  # candidate, role, skill and discipline names inside a line
LEVEL_MAX = 30  # a level or recommendation name inside a line
REASON_MAX = 200  # one reason a skill needs discussion
FALLBACK_NAME_MAX = 60
LIST_MAX = 8  # skill names listed inline before "and N more"

BOT_HANDLE = "@interview-bot"
ALPHA = "\N{GREEK SMALL LETTER ALPHA}"
MINUS = "\N{MINUS SIGN}"


# -- the level colours ----------------------------------------------------------------


@dataclass(frozen=True)
class Swatch:
    """How a level is drawn: a Slack emoji square and the same colour for images."""

    emoji: str
    color: str  # hex RGB of the emoji in Slack's emoji set
    char: str  # a plain-text stand-in: the level's abbreviation, set per rubric


_AT_TARGET = (":large_green_square:", "#78B159")
_ABOVE = ((":large_blue_square:", "#55ACEE"), (":large_purple_square:", "#AA8ED6"))
_BELOW = (
    (":large_yellow_square:", "#FDCB58"),
    (":large_orange_square:", "#F4900C"),
    (":large_red_square:", "#DD2E44"),
)
NOT_ASSESSED_EMOJI = ":white_large_square:"  # "Not assessed", or the skill left unanswered
NO_FEEDBACK_EMOJI = ":grey_question:"  # the interviewer has not submitted yet
NOT_ASSESSED_CHAR = "·"
NO_FEEDBACK_CHAR = "?"

_VERDICT_MARKS = {
    Verdict.EXCEEDS: ("▲", "above target"),
    Verdict.MEETS: ("●", "meets target"),
    Verdict.BELOW: ("▼", "below target"),
}


def target_index(rubric: Rubric, target_level: str) -> int:
    """Index of the target level; the middle level if the rubric does not know it."""
    try:
        return rubric.level_index(target_level)
    except KeyError:
        return len(rubric.levels) // 2


def level_abbreviations(rubric: Rubric) -> dict[str, str]:
    """Short, unique stand-ins for levels in plain text: J/S/L, else two letters, else 1..n."""
    names = [level.name.strip() for level in rubric.levels]
    for width in (1, 2):
        abbreviations = [name[:width].upper() for name in names]
        if all(abbreviations) and len(set(abbreviations)) == len(abbreviations):
            return dict(zip(rubric.level_ids, abbreviations, strict=True))
    return {level_id: str(i + 1) for i, level_id in enumerate(rubric.level_ids)}


def level_swatches(rubric: Rubric, target_level: str) -> dict[str, Swatch]:
    """The colour of every level, by its distance from the target.

    At the target: green. One step above: blue, two or more: purple. One step
    below: yellow, two: orange, three or more: red. So up to six levels around
    the target get distinct colours; beyond that the extreme colour is shared
    (the legend then names every level it stands for). The mapping is monotone
    in the level, so the colours also read as an ordinal scale.
    """
    target = target_index(rubric, target_level)
    abbreviations = level_abbreviations(rubric)
    swatches: dict[str, Swatch] = {}
    for index, level_id in enumerate(rubric.level_ids):
        steps = index - target
        if steps == 0:
            emoji, color = _AT_TARGET
        elif steps > 0:
            emoji, color = _ABOVE[min(steps, len(_ABOVE)) - 1]
        else:
            emoji, color = _BELOW[min(-steps, len(_BELOW)) - 1]
        swatches[level_id] = Swatch(emoji, color, abbreviations[level_id])
    return swatches


# -- small pieces -----------------------------------------------------------------------


def candidate_initials(name: str) -> str:
    """``Ada Lovelace`` -> ``A. L.``; "Candidate" when the name has no letters."""
    parts = [part for part in re.split(r"[\s\-]+", name.strip()) if part]
    letters = [part[0].upper() for part in parts if part[0].isalpha()]
    return " ".join(f"{letter}." for letter in letters[:5]) or "Candidate"


def candidate_name(data: SummaryData, candidate_display: CandidateDisplay) -> str:
    """The candidate as this summary may show them (raw text, not escaped)."""
    if candidate_display == "initials":
        return candidate_initials(data.interview.candidate)
    if candidate_display == "full":
        return data.interview.candidate
    raise ValueError(f"candidate_display must be 'full' or 'initials', got {candidate_display!r}")


def panel_order(data: SummaryData) -> tuple[str, ...]:
    """Interviewers in panel order: the expected ones, then anyone else who submitted."""
    order = list(dict.fromkeys(data.expected))
    order += [fb.interviewer for fb in data.feedback if fb.interviewer not in order]
    return tuple(order)


def _late(data: SummaryData) -> frozenset[str]:
    return frozenset(fb.interviewer for fb in data.feedback if fb.late)


def _skill_name(rubric: Rubric, skill_id: str) -> str:
    try:
        return rubric.skill(skill_id).name
    except KeyError:
        return skill_id


def _recommendation_name(rubric: Rubric, recommendation_id: str) -> str:
    try:
        return rubric.recommendation(recommendation_id).name
    except KeyError:
        return recommendation_id


def _md_name(text: str, limit: int = NAME_MAX) -> str:
    return truncate(escape_mrkdwn(" ".join(text.split())), limit)


def _md_level(rubric: Rubric, level_id: str) -> str:
    return _md_name(level_name(rubric, level_id), LEVEL_MAX)


def _plain_name(text: str, limit: int = NAME_MAX) -> str:
    return truncate(" ".join(text.split()), limit)


def date_token(moment: datetime, token: str) -> str:
    """Slack's ``<!date^…>``: shown in each reader's own time zone, with a UTC fallback."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"<!date^{int(moment.timestamp())}^{token}|{format_when(moment, UTC)}>"


def _plural(count: int, noun: str, plural: str | None = None) -> str:
    return f"{count} {noun if count == 1 else (plural or noun + 's')}"


def _listing(names: Sequence[str], limit: int = LIST_MAX) -> str:
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f" and {len(names) - limit} more"


def _consensus_by_skill(consensus: PanelConsensus) -> dict[str, SkillConsensus]:
    return {skill.skill_id: skill for skill in consensus.skills}


def _fallback_subject(data: SummaryData, candidate_display: CandidateDisplay) -> str:
    candidate = _md_name(candidate_name(data, candidate_display), FALLBACK_NAME_MAX)
    return f"{candidate}, {_md_name(data.interview.role, FALLBACK_NAME_MAX)}"


def _section(text: str) -> Block:
    return {"type": "section", "text": mrkdwn(truncate(text, SECTION_TEXT_MAX))}


def _context(*texts: str) -> Block:
    return {
        "type": "context",
        "elements": [mrkdwn(truncate(t, SECTION_TEXT_MAX)) for t in texts[:CONTEXT_ELEMENTS_MAX]],
    }


_DIVIDER: Block = {"type": "divider"}


def pack(items: Sequence[str], *, max_blocks: int | None = None, sep: str = "\n") -> list[str]:
    """Pack lines of mrkdwn into as few section texts as fit (each <= 3000 characters).

    With ``max_blocks``, every item is first shortened so that the items fit in
    that many texts: ``k`` items to a text, ``k = ceil(len(items) / max_blocks)``.
    """
    if not items:
        return []
    limit = SECTION_TEXT_MAX
    if max_blocks is not None and len(items) > max_blocks:
        per_text = math.ceil(len(items) / max(max_blocks, 1))
        limit = (SECTION_TEXT_MAX - (per_text - 1) * len(sep)) // per_text
    texts: list[str] = []
    current = ""
    for item in items:
        # A leading line break (a blank line before a heading) is kept between items
        # and dropped at the top of a section.
        if current and len(current) + len(sep) + len(truncate(item, limit)) <= SECTION_TEXT_MAX:
            current += sep + truncate(item, limit)
            continue
        if current:
            texts.append(current)
        current = truncate(item.lstrip("\n"), limit)
    if current:
        texts.append(current)
    return [text for text in texts if text.strip()]


def split_text(text: str, limit: int = SECTION_TEXT_MAX) -> list[str]:
    """Cut long (escaped) text into pieces of at most ``limit`` characters.

    Cuts at a line break or a space when one is in the second half of the piece,
    and never inside an HTML entity (``&amp;``).
    """
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit + 1)
        if cut < limit // 2:
            cut = rest.rfind(" ", 0, limit + 1)
        if cut < limit // 2:
            cut = limit
        amp = rest.rfind("&", max(0, cut - 5), cut)
        if amp > 0 and ";" not in rest[amp:cut]:
            cut = amp
        piece = rest[:cut].rstrip()
        if not piece:
            piece, cut = rest[:limit], limit
        pieces.append(piece)
        rest = rest[cut:].strip()
    if rest:
        pieces.append(rest)
    return pieces


# -- the summary --------------------------------------------------------------------------


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
) -> tuple[str, list[Block]]:
    """The summary message for the hiring channel.

    Args:
        data: the interview, its pinned rubric and the submitted feedback.
        consensus: ``rubric.consensus.panel_consensus`` of that feedback.
        candidate_display: "initials" shows "A. L." instead of the name, everywhere.
        now: when the summary is (re-)rendered; shown as "as of".

    Returns:
        (fallback text for notifications, at most 50 blocks).
    """
    candidate = candidate_name(data, candidate_display)
    parts = _summary_parts(data, consensus, candidate, now)
    blocks = _assemble(parts, budget=None)
    if len(blocks) > MESSAGE_MAX_BLOCKS:
        blocks = _assemble(parts, budget=MESSAGE_MAX_BLOCKS)

    flagged = len(consensus.needs_discussion)
    discussion = (
        f"{_plural(flagged, 'skill')} need{'s' if flagged == 1 else ''} discussion"
        if flagged
        else "no skills flagged for discussion"
    )
    fallback = (
        f"Interview summary: {_fallback_subject(data, candidate_display)} — "
        f"{_submitted_count(data)}, {discussion}"
    )
    return fallback, blocks


def _submitted_count(data: SummaryData) -> str:
    submitted = len(data.feedback)
    expected = max(len(panel_order(data)), submitted)
    return f"{submitted} of {expected} submitted"


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
        [_section(t) for t in pack(g, max_blocks=limit)]
        for g, limit in zip(groups, limits, strict=True)
    )
    blocks = [*parts.head, *discussion, *parts.decision, _DIVIDER, *skills, parts.legend]
    blocks += [_DIVIDER, *gaps, *parts.tail]
    return blocks


def _summary_parts(
    data: SummaryData, consensus: PanelConsensus, candidate: str, now: datetime
) -> _Parts:
    rubric = data.rubric
    interview = data.interview
    panel = panel_order(data)
    late = _late(data)
    missing = set(data.missing)
    swatches = level_swatches(rubric, consensus.target_level or interview.target_level)
    by_skill = _consensus_by_skill(consensus)

    def who(interviewer: str) -> str:
        return mention(interviewer) + (" _(late)_" if interviewer in late else "")

    # -- head
    header = f"{' '.join(candidate.split())} — {' '.join(interview.role.split())}"
    target = _md_level(rubric, consensus.target_level or interview.target_level)
    head: list[Block] = [
        {"type": "header", "text": plain(truncate(header, HEADER_TEXT_MAX), emoji=False)},
        _context(
            f"Target level *{target}* · interview "
            f"{date_token(interview.starts_at, '{date_short}')}"
            f" · *{_submitted_count(data)}* · as of "
            f"{date_token(now, '{date_short_pretty} {time}')}"
        ),
    ]
    if data.missing:
        head.append(
            _section(
                ":hourglass_flowing_sand: *Partial summary* — no feedback yet from "
                + ", ".join(mention(m) for m in data.missing)
                + ". This message is updated when it arrives."
            )
        )

    # -- needs discussion
    discussion: list[str] = []
    for skill in consensus.needs_discussion:
        levels = dict(skill.ratings)
        not_assessed = set(skill.not_assessed_by)
        ratings = []
        for interviewer in panel:
            if interviewer in missing:
                continue
            if interviewer in levels:
                ratings.append(f"{who(interviewer)} {_md_level(rubric, levels[interviewer])}")
            elif interviewer in not_assessed:
                ratings.append(f"{who(interviewer)} not assessed")
        line = f"• *{_md_name(_skill_name(rubric, skill.skill_id))}* — " + " · ".join(ratings)
        reasons = "; ".join(truncate(escape_mrkdwn(r), REASON_MAX) for r in skill.reasons)
        if reasons:
            line += f"\n      _{truncate(reasons, 2 * REASON_MAX)}_"
        discussion.append(line)
    if discussion:
        count = len(discussion)
        discussion[0] = f":warning: *Needs discussion ({_plural(count, 'skill')})*\n{discussion[0]}"

    decision_lines = _decision_lines(data, consensus, who)
    if not discussion and not decision_lines:
        discussion = [
            ":white_check_mark: *Needs discussion:* nothing flagged — no skill with ratings "
            "far apart or on both sides of the target, no split decision, no Strong no."
        ]
    elif not discussion:
        discussion = [":warning: *Needs discussion*\nNo skill flagged."]
    decision: list[Block] = [_section("\n".join(decision_lines))] if decision_lines else []
    decision.append(_section(f"*Recommendations*  {_tally_text(rubric, consensus, data)}"))

    # -- skills by discipline
    skills: list[str] = []
    for discipline in rubric.disciplines:
        first = True
        for skill_def in discipline.skills:
            row = by_skill.get(skill_def.id)
            strip = "".join(
                _square(row, interviewer, interviewer in missing, swatches) for interviewer in panel
            )
            line = f"{strip}  *{_md_name(skill_def.name)}* {_verdict_md(rubric, row)}"
            if row is not None and row.needs_discussion:
                line += " :warning:"
            if first:
                line = f"\n*{_md_name(discipline.name)}*\n{line}"
                first = False
            skills.append(line)
    legend = _context(
        "Squares, left to right: "
        + " · ".join(who(i) + (" _(no feedback yet)_" if i in missing else "") for i in panel),
        _legend_md(rubric, swatches, consensus.target_level or interview.target_level, missing),
    )

    # -- gaps and agreement
    gaps = _gap_lines(rubric, consensus)
    tail: list[Block] = [
        _context(
            _agreement_text(consensus)
            + " · Each interviewer's notes and evidence are in the thread. This summary "
            "supports the debrief; the decision is the hiring team's."
        )
    ]
    return _Parts(head, discussion, decision, skills, legend, gaps, tail)


def _square(
    skill: SkillConsensus | None, interviewer: str, missing: bool, swatches: Mapping[str, Swatch]
) -> str:
    if missing:
        return NO_FEEDBACK_EMOJI
    level = dict(skill.ratings).get(interviewer) if skill is not None else None
    if level is None or level not in swatches:
        return NOT_ASSESSED_EMOJI
    return swatches[level].emoji


def _verdict_md(rubric: Rubric, skill: SkillConsensus | None) -> str:
    if skill is None or not skill.consensus_label:
        return "— not assessed"
    label = _md_name(skill.consensus_label, 2 * LEVEL_MAX + 1)
    if skill.verdict is None:
        return label
    mark, words = _VERDICT_MARKS[skill.verdict]
    return f"{label} {mark} {words}"


def _legend_groups(
    rubric: Rubric, swatches: Mapping[str, Swatch], target_level: str
) -> list[tuple[Swatch, list[str]]]:
    groups: list[tuple[Swatch, list[str]]] = []
    for level in rubric.levels:
        swatch = swatches[level.id]
        name = level.name + (" (target)" if level.id == target_level else "")
        if groups and groups[-1][0].emoji == swatch.emoji:
            groups[-1][1].append(name)
        else:
            groups.append((swatch, [name]))
    return groups


def _legend_md(
    rubric: Rubric, swatches: Mapping[str, Swatch], target_level: str, missing: set[str]
) -> str:
    parts = [
        f"{swatch.emoji} {'/'.join(_md_name(n, LEVEL_MAX + 9) for n in names)}"
        for swatch, names in _legend_groups(rubric, swatches, target_level)
    ]
    parts.append(f"{NOT_ASSESSED_EMOJI} not assessed")
    if missing:
        parts.append(f"{NO_FEEDBACK_EMOJI} no feedback yet")
    return "  ".join(parts) + "  · ▲ above / ● meets / ▼ below target"


def _votes(data: SummaryData) -> list[tuple[PanelistFeedback, bool]]:
    votes = []
    for fb in data.feedback:
        if fb.recommendation is None:
            continue
        try:
            votes.append((fb, data.rubric.recommendation(fb.recommendation).hire))
        except KeyError:
            continue
    return votes


def _decision_lines(
    data: SummaryData, consensus: PanelConsensus, who: Callable[[str], str]
) -> list[str]:
    rubric = data.rubric
    lines: list[str] = []
    if consensus.split_decision:
        votes = _votes(data)

        def side(hire: bool) -> str:
            named = [
                f"{who(fb.interviewer)} "
                f"{_md_name(_recommendation_name(rubric, fb.recommendation or ''), LEVEL_MAX)}"
                for fb, vote in votes
                if vote is hire
            ]
            return ", ".join(named) or "nobody"

        lines.append(f":scales: *Split decision* — hire: {side(True)}; no hire: {side(False)}")
    if consensus.strong_no:
        strongest = _md_name(rubric.recommendations[0].name, LEVEL_MAX)
        lines.append(
            f":no_entry: *{strongest}* from " + ", ".join(who(i) for i in consensus.strong_no)
        )
    return lines


def _tally_parts(rubric: Rubric, consensus: PanelConsensus, data: SummaryData) -> list[str]:
    parts = [f"{_recommendation_name(rubric, rec_id)} {votes}" for rec_id, votes in consensus.tally]
    abstained = sum(1 for fb in data.feedback if fb.recommendation is None)
    if abstained:
        parts.append(f"none given {abstained}")
    return parts


def _tally_text(rubric: Rubric, consensus: PanelConsensus, data: SummaryData) -> str:
    return " · ".join(
        _md_name(part, LEVEL_MAX + 8) for part in _tally_parts(rubric, consensus, data)
    )


def _gap_lines(rubric: Rubric, consensus: PanelConsensus) -> list[str]:
    lines: list[str] = []
    if consensus.unassessed:
        names = [_md_name(_skill_name(rubric, s)) for s in consensus.unassessed]
        lines.append(f":mag: *Nobody assessed* ({len(names)}): {_listing(names, 30)}")
    if consensus.focus_gaps:
        lines.append(
            ":dart: *Focus skills left Not assessed*: "
            + "; ".join(
                f"{_md_name(_skill_name(rubric, gap.skill_id))} ({mention(gap.interviewer)})"
                for gap in consensus.focus_gaps
            )
        )
    if not lines:
        lines.append(":mag: *Coverage*: every skill was assessed by someone.")
    lines.append(":memo: " + _evidence_text(rubric, consensus, markup=True))
    if lines:
        lines[0] = "*Gaps*\n" + lines[0]
    return lines


def _evidence_text(rubric: Rubric, consensus: PanelConsensus, *, markup: bool) -> str:
    label = "*Evidence*" if markup else "Evidence"
    if not consensus.without_evidence:
        return f"{label}: every rating came with evidence."
    name = _md_name if markup else _plain_name
    where = [
        f"{name(_skill_name(rubric, s.skill_id))} {s.without_evidence}"
        for s in consensus.skills
        if s.without_evidence
    ]
    count = consensus.without_evidence
    text = f"{label}: {_plural(count, 'rating')} without evidence"
    return text + (f" ({_listing(where, 10)})" if where else "")


def _agreement_text(consensus: PanelConsensus) -> str:
    agreement = consensus.agreement
    if agreement.alpha is None:
        return "Panel agreement: not enough data"
    return (
        f"Panel agreement (Krippendorff's {ALPHA}, ordinal): {agreement.alpha:.2f} — "
        f"{agreement.reading} (≥ 0.80 reliable, ≥ 0.67 tentative)"
    )


# -- thread replies -------------------------------------------------------------------------


def build_feedback_reply(data: SummaryData, feedback: PanelistFeedback) -> tuple[str, list[Block]]:
    """The summary thread's reply with one interviewer's notes and evidence.

    Evidence and notes are user text: escaped, then split over several sections
    or shortened so that the reply stays within 50 blocks of 3000 characters.

    Returns:
        (fallback text, blocks).
    """
    rubric = data.rubric
    who = mention(feedback.interviewer)
    late = " _(late)_" if feedback.late else ""
    if feedback.recommendation:
        recommendation = _md_name(_recommendation_name(rubric, feedback.recommendation), LEVEL_MAX)
        head = f"*Feedback from {who}*{late} — recommends *{recommendation}*"
        fallback = f"Feedback from {who}: {recommendation}"
    else:
        head = f"*Feedback from {who}*{late} — no overall recommendation"
        fallback = f"Feedback from {who}: no overall recommendation"
    if feedback.late:
        fallback += " (late)"
    head += f"\nSubmitted {date_token(feedback.submitted_at, '{date_short_pretty} {time}')}"
    if feedback.updated_at > feedback.submitted_at:
        head += f", edited {date_token(feedback.updated_at, '{date_short_pretty} {time}')}"
    blocks: list[Block] = [_section(head)]

    notes = escape_mrkdwn(feedback.notes.strip())
    note_texts = split_text("*Notes*\n" + notes) if notes else []
    blocks += [_section(t) for t in note_texts[: MESSAGE_MAX_BLOCKS // 4]]

    items = _evidence_items(rubric, feedback)
    if items:
        items[0] = "*Ratings and evidence*\n" + items[0]
    room = MESSAGE_MAX_BLOCKS - len(blocks)
    blocks += [_section(t) for t in pack(items, max_blocks=room, sep="\n\n")]
    return fallback, blocks


# Slack posts about one message a second to a channel: the panel's replies share as
# few messages as fit, each within 50 blocks and this much section text (long
# messages collapse behind "Show more" anyway).
REPLIES_MAX_CHARS = 12_000


def pack_replies(
    replies: Sequence[tuple[str, str, list[Block]]],
) -> list[tuple[list[str], str, list[Block]]]:
    """Group ``(interviewer, text, blocks)`` replies into as few thread messages as fit.

    Order is kept; a divider separates replies in one message. Each message has at
    most 50 blocks and ``REPLIES_MAX_CHARS`` of text; a reply bigger than that (it
    is built to fit 50 blocks alone) goes alone. Returns ``(interviewers, fallback
    text, blocks)`` per message.
    """
    messages: list[tuple[list[str], str, list[Block]]] = []
    for interviewer, text, blocks in replies:
        size = _text_size(blocks)
        if messages:
            who, fallback, packed = messages[-1]
            if (
                len(packed) + 1 + len(blocks) <= MESSAGE_MAX_BLOCKS
                and _text_size(packed) + size <= REPLIES_MAX_CHARS
            ):
                messages[-1] = (
                    [*who, interviewer],
                    f"{fallback}\n{text}",
                    [*packed, {"type": "divider"}, *blocks],
                )
                continue
        messages.append(([interviewer], text, list(blocks)))
    return messages


def _text_size(blocks: Sequence[Block]) -> int:
    return sum(len(str((b.get("text") or {}).get("text", ""))) for b in blocks)


def _evidence_items(rubric: Rubric, feedback: PanelistFeedback) -> list[str]:
    order = {skill.id: i for i, skill in enumerate(rubric.skills)}
    ratings = sorted(feedback.ratings, key=lambda r: order.get(r.skill_id, len(order)))
    focus = set(feedback.focus_skills)
    items: list[str] = []
    for rating in ratings:
        name = f"*{_md_name(_skill_name(rubric, rating.skill_id))}*"
        if rating.skill_id in focus:
            name += " _(focus)_"
        level = _md_level(rubric, rating.level) if rating.level else "Not assessed"
        evidence = escape_mrkdwn(rating.evidence.strip())
        if evidence:
            items.append(f"{name} — {level}: {evidence}")
        elif rating.level:
            items.append(f"{name} — {level} _(no evidence)_")
        else:
            items.append(f"{name} — {level}")
    return items


def build_update_reply(changes: Sequence[str]) -> tuple[str, list[Block]]:
    """The short thread reply after late feedback updated the summary.

    Args:
        changes: mrkdwn sentences, e.g. from :func:`describe_changes`.
    """
    sentences = [" ".join(c.split()) for c in changes if c.strip()]
    text = "Updated: " + (
        " ".join(sentences) if sentences else "the summary was refreshed; nothing else changed."
    )
    pieces = split_text(text)[:MESSAGE_MAX_BLOCKS]
    return truncate(text, SECTION_TEXT_MAX), [_section(p) for p in pieces]


def describe_changes(
    before: PanelConsensus | None,
    after: PanelConsensus,
    rubric: Rubric,
    new_or_edited: Sequence[str],
) -> list[str]:
    """What changed in the consensus, as mrkdwn sentences for :func:`build_update_reply`.

    Args:
        before: the consensus the posted summary showed; None if none was posted.
        after: the consensus now.
        rubric: the interview's rubric (for names).
        new_or_edited: interviewers whose feedback arrived or changed since ``before``.
            Someone who appears in ``before`` (a rating, "Not assessed", a Strong no)
            edited their feedback; anyone else submitted it, late if a summary was posted.
    """
    lines: list[str] = []
    earlier = _participants(before) if before is not None else frozenset()
    for interviewer in dict.fromkeys(new_or_edited):
        if interviewer in earlier:
            lines.append(f"{mention(interviewer)} edited their feedback.")
        elif before is not None:
            lines.append(f"{mention(interviewer)} submitted feedback (late).")
        else:
            lines.append(f"{mention(interviewer)} submitted feedback.")

    def names(skill_ids: Sequence[str]) -> str:
        return _listing([_md_name(_skill_name(rubric, s)) for s in skill_ids], 5)

    was_flagged = {s.skill_id for s in before.needs_discussion} if before else set()
    now_flagged = {s.skill_id for s in after.needs_discussion}
    added = [s.skill_id for s in after.skills if s.skill_id in now_flagged - was_flagged]
    removed = [
        s.skill_id
        for s in (before.skills if before else ())
        if s.skill_id in was_flagged - now_flagged
    ]
    flag_parts = []
    if added:
        flag_parts.append(f"+{_plural(len(added), 'skill')} ({names(added)})")
    if removed:
        flag_parts.append(f"{MINUS}{_plural(len(removed), 'skill')} ({names(removed)})")
    if flag_parts:
        lines.append(f"Needs discussion: {', '.join(flag_parts)}.")

    if before is not None:
        old = _consensus_by_skill(before)
        moved = []
        for skill in after.skills:
            previous = old.get(skill.skill_id)
            if previous is not None and previous.consensus_label != skill.consensus_label:
                moved.append(
                    f"{_md_name(_skill_name(rubric, skill.skill_id))} "
                    f"{_md_name(previous.consensus_label or '—', 2 * LEVEL_MAX)} → "
                    f"{_md_name(skill.consensus_label or '—', 2 * LEVEL_MAX)}"
                )
        if moved:
            lines.append(f"Consensus: {_listing(moved, 5)}.")
        newly_assessed = [s for s in before.unassessed if s not in after.unassessed]
        if newly_assessed:
            lines.append(f"Now assessed: {names(newly_assessed)}.")
        unassessed = [s for s in after.unassessed if s not in before.unassessed]
        if unassessed:
            lines.append(f"No longer assessed by anyone: {names(unassessed)}.")

    if before is None or before.split_decision != after.split_decision:
        if after.split_decision:
            lines.append("The recommendations are now split between hire and no hire.")
        elif before is not None:
            lines.append("The recommendations are no longer split.")
    new_strong_no = [i for i in after.strong_no if before is None or i not in before.strong_no]
    if new_strong_no:
        strongest = _md_name(rubric.recommendations[0].name, LEVEL_MAX)
        lines.append(f"{strongest} from {', '.join(mention(i) for i in new_strong_no)}.")
    if before is not None and before.tally != after.tally:
        tally = " · ".join(
            f"{_md_name(_recommendation_name(rubric, rec_id), LEVEL_MAX)} {votes}"
            for rec_id, votes in after.tally
        )
        lines.append(f"Recommendations: {tally}.")
    if before is not None and _agreement_key(before) != _agreement_key(after):
        alpha = after.agreement.alpha
        lines.append(
            "Panel agreement: "
            + (
                f"{alpha:.2f} ({after.agreement.reading})."
                if alpha is not None
                else "not enough data."
            )
        )
    return lines


def _agreement_key(consensus: PanelConsensus) -> tuple[str | None, str]:
    alpha = consensus.agreement.alpha
    return (f"{alpha:.2f}" if alpha is not None else None, consensus.agreement.reading)


def _participants(consensus: PanelConsensus) -> frozenset[str]:
    people: set[str] = set(consensus.strong_no)
    people.update(gap.interviewer for gap in consensus.focus_gaps)
    for skill in consensus.skills:
        people.update(interviewer for interviewer, _ in skill.ratings)
        people.update(skill.not_assessed_by)
    return frozenset(people)


# -- the recruiter's notice -----------------------------------------------------------------


_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,}")


def build_not_in_channel_notice(
    data: SummaryData, *, bot_handle: str = BOT_HANDLE
) -> tuple[str, list[Block]]:
    """A DM to the recruiter: the summary could not be posted because the bot is not in
    the hiring channel; how to invite it; it retries by itself."""
    channel = data.summary_channel or data.interview.hiring_channel
    where = f"<#{channel}>" if _CHANNEL_ID.fullmatch(channel) else f"`{escape_mrkdwn(channel)}`"
    interview = data.interview
    subject = f"*{_md_name(interview.candidate)}* — {_md_name(interview.role)}"
    blocks = [
        _section(
            f":warning: I could not post the interview summary for {subject} in {where}: "
            "I am not a member of that channel."
        ),
        _section(
            f"*To fix it*, open {where} and send `/invite {escape_mrkdwn(bot_handle)}` "
            "(or add the app from the channel's settings, under Integrations)."
        ),
        _context("I will retry automatically; nothing else to do once I am in the channel."),
    ]
    fallback = (
        f"Could not post the interview summary for {_fallback_subject(data, 'full')} in {where}: "
        f"invite {bot_handle} to the channel"
    )
    return fallback, blocks


# -- plain text -----------------------------------------------------------------------------


def render_summary_text(
    data: SummaryData,
    consensus: PanelConsensus,
    *,
    candidate_display: CandidateDisplay = "full",
    names: Mapping[str, str] | None = None,
) -> str:
    """The summary as plain text (README, CLI, demo): the same facts, no Slack markup.

    Levels appear as their abbreviations (J/S/L), ``·`` is "not assessed" and
    ``?`` "no feedback yet". ``names`` maps Slack IDs to display names
    (default: ``@U…``). Ends with a newline.
    """
    rubric = data.rubric
    interview = data.interview
    panel = panel_order(data)
    late = _late(data)
    missing = set(data.missing)
    target_level = consensus.target_level or interview.target_level
    swatches = level_swatches(rubric, target_level)
    by_skill = _consensus_by_skill(consensus)

    def person(interviewer: str) -> str:
        return (names or {}).get(interviewer) or f"@{interviewer}"

    def who(interviewer: str) -> str:
        return person(interviewer) + (" (late)" if interviewer in late else "")

    candidate = _plain_name(candidate_name(data, candidate_display))
    lines = [
        f"Interview summary: {candidate} — {_plain_name(interview.role)}",
        f"Target level: {_plain_name(level_name(rubric, target_level), LEVEL_MAX)}"
        f" · interview {format_when(interview.starts_at, UTC)} · {_submitted_count(data)}",
    ]
    if data.missing:
        lines.append(
            "Partial summary: no feedback yet from " + ", ".join(person(m) for m in data.missing)
        )

    flagged = consensus.needs_discussion
    lines += ["", f"Needs discussion ({_plural(len(flagged), 'skill')})"]
    for skill in flagged:
        levels = dict(skill.ratings)
        ratings = []
        for interviewer in panel:
            if interviewer in levels:
                level = _plain_name(level_name(rubric, levels[interviewer]), LEVEL_MAX)
                ratings.append(f"{who(interviewer)} {level}")
            elif interviewer in skill.not_assessed_by:
                ratings.append(f"{who(interviewer)} not assessed")
        lines.append(
            f"  ! {_plain_name(_skill_name(rubric, skill.skill_id))} — " + " · ".join(ratings)
        )
        if skill.reasons:
            lines.append("      " + "; ".join(skill.reasons))
    if consensus.split_decision:
        votes = _votes(data)

        def side(hire: bool) -> str:
            named = [
                f"{who(fb.interviewer)} "
                f"{_plain_name(_recommendation_name(rubric, fb.recommendation or ''), LEVEL_MAX)}"
                for fb, vote in votes
                if vote is hire
            ]
            return ", ".join(named) or "nobody"

        lines.append(f"  Split decision — hire: {side(True)}; no hire: {side(False)}")
    if consensus.strong_no:
        strongest = _plain_name(rubric.recommendations[0].name, LEVEL_MAX)
        lines.append(f"  {strongest} from " + ", ".join(who(i) for i in consensus.strong_no))
    if not flagged and not consensus.split_decision and not consensus.strong_no:
        lines.append("  nothing flagged")

    tally = " · ".join(
        _plain_name(part, LEVEL_MAX + 8) for part in _tally_parts(rubric, consensus, data)
    )
    lines += ["", f"Recommendations: {tally}"]

    width = max(len(s.char) for s in swatches.values())
    columns = ", ".join(
        f"{n}. {who(i)}" + (" (no feedback yet)" if i in missing else "")
        for n, i in enumerate(panel, 1)
    )
    lines += ["", f"Skills (columns: {columns})"]
    name_width = min(max((len(_plain_name(s.name, 40)) for s in rubric.skills), default=0), 40)
    for discipline in rubric.disciplines:
        lines.append(_plain_name(discipline.name))
        for skill_def in discipline.skills:
            row = by_skill.get(skill_def.id)
            cells = []
            for interviewer in panel:
                rated = dict(row.ratings).get(interviewer) if row is not None else None
                if interviewer in missing:
                    cell = NO_FEEDBACK_CHAR
                elif rated is not None and rated in swatches:
                    cell = swatches[rated].char
                else:
                    cell = NOT_ASSESSED_CHAR
                cells.append(cell.ljust(width))
            verdict = (
                _plain_verdict(row) if row is not None and row.consensus_label else "— not assessed"
            )
            flag = "  ! needs discussion" if row is not None and row.needs_discussion else ""
            lines.append(
                f"  {' '.join(cells)}  {_plain_name(skill_def.name, 40).ljust(name_width)}  "
                f"{verdict}{flag}".rstrip()
            )
    keys = []
    for key_level in rubric.levels:
        target = " (target)" if key_level.id == target_level else ""
        keys.append(
            f"{swatches[key_level.id].char} {_plain_name(key_level.name, LEVEL_MAX)}{target}"
        )
    keys.append(f"{NOT_ASSESSED_CHAR} not assessed")
    if missing:
        keys.append(f"{NO_FEEDBACK_CHAR} no feedback yet")
    lines.append("Key: " + "  ".join(keys) + "  ▲ above / ● meets / ▼ below target")

    lines += ["", "Gaps"]
    if consensus.unassessed:
        unassessed = [_plain_name(_skill_name(rubric, s)) for s in consensus.unassessed]
        lines.append(f"  Nobody assessed ({len(unassessed)}): {', '.join(unassessed)}")
    if consensus.focus_gaps:
        lines.append(
            "  Focus skills left Not assessed: "
            + "; ".join(
                f"{_plain_name(_skill_name(rubric, gap.skill_id))} ({person(gap.interviewer)})"
                for gap in consensus.focus_gaps
            )
        )
    if not consensus.unassessed and not consensus.focus_gaps:
        lines.append("  Coverage: every skill was assessed by someone.")
    lines.append("  " + _evidence_text(rubric, consensus, markup=False))
    lines += ["", _agreement_text(consensus)]
    return "\n".join(lines) + "\n"


def _plain_verdict(skill: SkillConsensus) -> str:
    label = _plain_name(skill.consensus_label, 2 * LEVEL_MAX + 1)
    if skill.verdict is None:
        return label
    mark, words = _VERDICT_MARKS[skill.verdict]
    return f"{label} {mark} {words}"
