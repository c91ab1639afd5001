"""Renderers of the debrief guide (``handlers.blocks.debrief``): Block Kit and plain text.

Both say the same lines, built once by the ``_Style``-parametrised helpers below;
only the markup differs (mrkdwn with mentions, or plain text with names). The Block
Kit one keeps Slack's limits: at most ``max_blocks`` blocks (100 in a modal, 50 in a
message; agenda skills that do not fit are named at the end of the agenda), 3,000
characters a section, 10 fields a section, evidence cut to 500 characters.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from handlers.blocks.debrief import REMINDER, AgendaItem, DebriefGuide, SkillLine
from handlers.blocks.limits import (
    HEADER_TEXT_MAX,
    MESSAGE_MAX_BLOCKS,
    SECTION_FIELD_TEXT_MAX,
    SECTION_FIELDS_MAX,
    SECTION_TEXT_MAX,
    VIEW_MAX_BLOCKS,
    VIEW_MAX_BYTES,
)
from handlers.blocks.text import escape_mrkdwn, mention, mrkdwn, plain, truncate
from rubric.consensus_types import Verdict

__all__ = [
    "TITLE",
    "render_guide_blocks",
    "render_guide_message",
    "render_guide_text",
    "render_guide_view",
]

TITLE = "Debrief guide"
# A view's size in bytes, less room for its title and close button.
_MAX_BYTES = VIEW_MAX_BYTES - 1_000
EVIDENCE_MAX = 500  # per interviewer and skill: a full panel stays within Slack's view size
HOW_TO = (
    "Take the skills below in order. On each, every interviewer states their rating and "
    "evidence, in the order shown, before open discussion: minority views first (the level "
    "fewest panelists gave, then the farthest from the median, then panel order)."
)
_VERDICT_WORDS = {
    Verdict.MEETS: "meets target",
    Verdict.EXCEEDS: "above target",
    Verdict.BELOW: "below target",
    Verdict.SPLIT: "split",
}


@dataclass(frozen=True)
class _Style:
    who: Callable[[str], str]  # an interviewer, as a mention or a name
    text: Callable[[str], str]  # user or rubric text, escaped for the markup
    strong: Callable[[str], str]
    em: Callable[[str], str]

    def people(self, people: Sequence[str]) -> str:
        return ", ".join(self.who(p) for p in people)


_MRKDWN = _Style(mention, escape_mrkdwn, lambda t: f"*{t}*", lambda t: f"_{t}_")


def _plain_style(who: Callable[[str], str]) -> _Style:
    return _Style(who, lambda t: t, lambda t: t, lambda t: t)


# -- the lines both renderers say ------------------------------------------------------------
def _counted(guide: DebriefGuide) -> str:
    text = f"feedback of {guide.counted} of {guide.expected} interviewers counted"
    return text + (f", {len(guide.not_counted)} more not counted" if guide.not_counted else "")


def _item_title(style: _Style, number: int, item: AgendaItem) -> str:
    why = "; ".join(item.reasons)
    return (
        f"{style.strong(f'{number}. {style.text(item.skill)}')} — {style.text(item.label)} "
        f"({style.text(item.spread)}): {style.em(style.text(why))}"
    )


def _settled_line(style: _Style, line: SkillLine) -> str:
    verdict = f", {_VERDICT_WORDS[line.verdict]}" if line.verdict else ""
    return (
        f"• {style.strong(style.text(line.skill))}: {style.text(line.label)}{verdict} "
        f"({style.text(line.spread)})"
    )


def _vote_lines(style: _Style, guide: DebriefGuide) -> list[str]:
    lines = [
        f"{turn}. {style.who(who)} — "
        + (style.text(name) if name else style.em("no recommendation"))
        for turn, (who, name) in enumerate(guide.votes, start=1)
    ]
    if guide.split_decision:
        lines.append(
            f"{style.strong('Split decision')}: recommendations on both sides of hire / no hire."
        )
    if guide.strong_no:
        lines.append(
            f"{style.strong(style.text(guide.strong_no_name))} from {style.people(guide.strong_no)}"
        )
    return lines or [style.em("No recommendations were counted.")]


def _gap_lines(style: _Style, guide: DebriefGuide) -> list[str]:
    lines = []
    if guide.unassessed:
        lines.append("• Nobody assessed: " + ", ".join(style.text(s) for s in guide.unassessed))
    lines += [
        f"• {style.who(who)} left their focus skill {style.strong(style.text(skill))} unassessed"
        for who, skill in guide.focus_gaps
    ]
    if guide.missing:
        lines.append(f"• No counted feedback from {style.people(guide.missing)}")
    return lines


def _not_counted_lines(style: _Style, guide: DebriefGuide) -> list[str]:
    lines = []
    for entry in guide.not_counted:
        levels = ", ".join(f"{style.text(s)} {style.text(lv)}" for s, lv in entry.levels)
        rec = (
            f"recommends {style.text(entry.recommendation)}"
            if entry.recommendation
            else "no recommendation"
        )
        line = f"• {style.who(entry.interviewer)}, {entry.why}: {rec}"
        lines.append(truncate(line + (f"; {levels}" if levels else ""), 600))
    lines += [
        f"• {style.who(who)} edited their feedback after the summary: "
        "the guide uses the version from before it"
        for who in guide.edited_after
    ]
    return lines


def _tail(style: _Style, guide: DebriefGuide) -> list[tuple[str, list[str]]]:
    """The parts after the agenda, as (title, lines); empty parts left out."""
    parts = []
    if guide.settled:
        lines = [_settled_line(style, line) for line in guide.settled]
        parts.append((f"{style.strong('Other skills')} (no discussion needed)", lines))
    parts.append(
        (f"{style.strong('Recommendations round')} (same order)", _vote_lines(style, guide))
    )
    gaps = _gap_lines(style, guide)
    if gaps:
        parts.append((style.strong("Coverage gaps to probe in a follow-up"), gaps))
    if guide.not_counted or guide.edited_after:
        title = (
            f"{style.strong('Not counted')} (given after the summary / from shadows): "
            "in no figure above"
        )
        parts.append((title, _not_counted_lines(style, guide)))
    return parts


# -- Block Kit ---------------------------------------------------------------------------------
def render_guide_view(guide: DebriefGuide) -> dict[str, Any]:
    """The guide as a read-only modal."""
    return {
        "type": "modal",
        "title": plain(TITLE),
        "close": plain("Close"),
        "blocks": render_guide_blocks(guide, max_blocks=VIEW_MAX_BLOCKS),
    }


def render_guide_message(guide: DebriefGuide) -> tuple[str, list[dict[str, Any]]]:
    """The guide as a direct message (when the modal could not be opened): text, blocks."""
    count = len(guide.agenda)
    text = (
        f"Debrief guide for {guide.candidate} ({guide.role}): "
        f"{count} skill{'' if count == 1 else 's'} to discuss. {REMINDER}"
    )
    blocks = render_guide_blocks(guide, max_blocks=MESSAGE_MAX_BLOCKS)
    return truncate(text, SECTION_TEXT_MAX), blocks


def render_guide_blocks(guide: DebriefGuide, *, max_blocks: int) -> list[dict[str, Any]]:
    """The guide's blocks, at most ``max_blocks`` and within a view's size in bytes.

    Agenda skills that do not fit are named at the end of the agenda, last ones first.
    """
    shown = len(guide.agenda)
    while True:
        blocks = _blocks(guide, shown)
        fits = len(blocks) <= max_blocks and len(json.dumps(blocks)) <= _MAX_BYTES
        if fits or shown == 0:
            return blocks[:max_blocks]
        shown -= 1


def _blocks(guide: DebriefGuide, shown: int) -> list[dict[str, Any]]:
    style = _MRKDWN
    head = f"{guide.candidate} — {guide.role}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain(truncate(head, HEADER_TEXT_MAX), emoji=False)},
        _context(f"Target *{escape_mrkdwn(guide.target)}* · {_counted(guide)} · *{REMINDER}*"),
        _section(f"*How to run it.* {HOW_TO}"),
        {"type": "divider"},
        *_agenda_blocks(guide, shown),
        {"type": "divider"},
    ]
    for title, lines in _tail(style, guide):
        blocks += _line_sections(title, lines)
    blocks.append(
        _context(
            f":scales: *{REMINDER}* This guide orders the conversation; "
            "it does not weigh anyone's view."
        )
    )
    return blocks


def _agenda_blocks(guide: DebriefGuide, shown: int) -> list[dict[str, Any]]:
    style = _MRKDWN
    if not guide.agenda:
        return [_section("*Nothing flagged for discussion:* the panel's ratings agree.")]
    count = len(guide.agenda)
    blocks = [_section(f"*Agenda: {count} skill{'' if count == 1 else 's'} to discuss*")]
    for number, item in enumerate(guide.agenda[:shown], start=1):
        blocks.append(_section(_item_title(style, number, item)))
        fields = [
            mrkdwn(
                truncate(
                    f"*{turn}.* {mention(voice.interviewer)} · *{escape_mrkdwn(voice.level)}*\n"
                    + (_quote(voice.evidence) if voice.evidence.strip() else "_no evidence given_"),
                    SECTION_FIELD_TEXT_MAX,
                )
            )
            for turn, voice in enumerate(item.speakers, start=1)
        ]
        for start in range(0, len(fields), SECTION_FIELDS_MAX):
            blocks.append({"type": "section", "fields": fields[start : start + SECTION_FIELDS_MAX]})
        if item.not_assessed_by:
            blocks.append(_context("Not assessed by " + style.people(item.not_assessed_by)))
    rest = guide.agenda[shown:]
    if rest:
        names = ", ".join(escape_mrkdwn(item.skill) for item in rest)
        blocks.append(_section(f"_Also to discuss (not shown here, see the summary):_ {names}"))
    return blocks


def _line_sections(title: str, lines: Sequence[str]) -> list[dict[str, Any]]:
    """``title`` and ``lines`` in as few sections as fit Slack's 3,000 characters."""
    sections: list[dict[str, Any]] = []
    current = title
    for line in lines:
        if len(current) + 1 + len(line) > SECTION_TEXT_MAX:
            sections.append(_section(current))
            current = line
        else:
            current += "\n" + line
    sections.append(_section(current))
    return sections


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(truncate(text, SECTION_TEXT_MAX))}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [mrkdwn(truncate(text, SECTION_TEXT_MAX))]}


def _quote(evidence: str) -> str:
    # One line: a quote ends at the first newline in mrkdwn.
    return ">" + truncate(escape_mrkdwn(" ".join(evidence.split())), EVIDENCE_MAX)


# -- plain text (CLI, demo) -----------------------------------------------------------------
def render_guide_text(guide: DebriefGuide, who: Callable[[str], str] = str) -> str:
    """The guide as plain text; ``who`` names an interviewer (their id by default)."""
    style = _plain_style(who)
    lines = [
        f"Debrief guide: {guide.candidate} — {guide.role}",
        f"Target {guide.target}; {_counted(guide)}. {REMINDER}",
        "",
        HOW_TO,
        "",
    ]
    if not guide.agenda:
        lines.append("Nothing flagged for discussion: the panel's ratings agree.")
    for number, item in enumerate(guide.agenda, start=1):
        lines.append(_item_title(style, number, item))
        for turn, voice in enumerate(item.speakers, start=1):
            said = truncate(" ".join(voice.evidence.split()), EVIDENCE_MAX) or "no evidence given"
            lines.append(f"   {turn}. {who(voice.interviewer)}, {voice.level}: {said}")
        if item.not_assessed_by:
            lines.append("   Not assessed by " + style.people(item.not_assessed_by))
    for title, part in _tail(style, guide):
        lines += ["", title, *part]
    lines += ["", REMINDER]
    return "\n".join(lines) + "\n"
