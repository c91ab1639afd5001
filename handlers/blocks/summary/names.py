"""Names in the summary: the candidate, levels, skills, recommendations, and the level colours.

Levels are coloured by their distance from the interview's target level, so the
same colour means the same thing in every summary: green at the target, blue
then purple above it, yellow, orange then red below it (see :func:`level_swatches`).
The heatmap image (``handlers.heatmap``) uses the same colours.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from handlers.blocks.form_dm import level_name
from handlers.blocks.text import escape_mrkdwn, format_when, truncate
from rubric import Rubric
from storage.views import SummaryData

CandidateDisplay = Literal["full", "initials"]

# Lengths of rubric and interview text inside longer lines (the rubric's names are
# unbounded YAML text; the interview's are up to 200 characters).
NAME_MAX = 80  # candidate, role, skill, discipline and people's names inside a line
LEVEL_MAX = 30  # a level or recommendation name inside a line
SPREAD_MAX = 160  # "2 Junior, 2 Lead" on a rubric with many long level names
REASON_MAX = 200  # one reason a skill needs discussion
FALLBACK_NAME_MAX = 60
LIST_MAX = 8  # skill names listed inline before "and N more"

BOT_HANDLE = "@interview-bot"
ALPHA = "\N{GREEK SMALL LETTER ALPHA}"  # calibration's figure; the summary shows none
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
NO_FEEDBACK_EMOJI = ":grey_question:"  # no feedback that counts from this interviewer
NOT_ASSESSED_CHAR = "·"
NO_FEEDBACK_CHAR = "?"


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


def legend_groups(
    rubric: Rubric, swatches: Mapping[str, Swatch], target_level: str
) -> list[tuple[Swatch, list[str]]]:
    """Levels sharing a colour, grouped: ``(swatch, ["Senior (target)"])`` in scale order."""
    groups: list[tuple[Swatch, list[str]]] = []
    for level in rubric.levels:
        swatch = swatches[level.id]
        name = level.name + (" (target)" if level.id == target_level else "")
        if groups and groups[-1][0].emoji == swatch.emoji:
            groups[-1][1].append(name)
        else:
            groups.append((swatch, [name]))
    return groups


# -- the candidate ------------------------------------------------------------------------


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


# -- rubric names ---------------------------------------------------------------------------


def skill_name(rubric: Rubric, skill_id: str) -> str:
    try:
        return rubric.skill(skill_id).name
    except KeyError:
        return skill_id


def recommendation_name(rubric: Rubric, recommendation_id: str) -> str:
    try:
        return rubric.recommendation(recommendation_id).name
    except KeyError:
        return recommendation_id


def spread_words(rubric: Rubric, counts: Sequence[tuple[str, int]]) -> str:
    """How the ratings fall, in words: "all 3 Senior", "both Senior", "2 Junior, 2 Lead",
    "1 rating"."""
    if sum(n for _, n in counts) == 1:
        return "1 rating"
    if len(counts) == 1:
        level_id, n = counts[0]
        return f"{'both' if n == 2 else f'all {n}'} {level_name(rubric, level_id)}"
    return ", ".join(f"{n} {level_name(rubric, level_id)}" for level_id, n in counts)


# -- text helpers ---------------------------------------------------------------------------


def md_name(text: str, limit: int = NAME_MAX) -> str:
    """User or rubric text inside a mrkdwn line: one line, escaped, shortened."""
    return truncate(escape_mrkdwn(" ".join(text.split())), limit)


def plain_name(text: str, limit: int = NAME_MAX) -> str:
    return truncate(" ".join(text.split()), limit)


def date_token(moment: datetime, token: str) -> str:
    """Slack's ``<!date^…>``: shown in each reader's own time zone, with a UTC fallback."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return f"<!date^{int(moment.timestamp())}^{token}|{format_when(moment, UTC)}>"


def plural(count: int, noun: str, many: str | None = None) -> str:
    return f"{count} {noun if count == 1 else (many or noun + 's')}"


def listing(names: Sequence[str], limit: int = LIST_MAX) -> str:
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f" and {len(names) - limit} more"


def people(user_ids: Sequence[str], names: Mapping[str, str], *, escape: bool) -> str:
    """Interviewers by display name, never as mentions: "Dee, Eve", "Dee and 1 more
    interviewer", "2 interviewers" (for people a mention would ping into the thread)."""
    shown = [names[u] for u in user_ids if names.get(u)]
    shown = [md_name(n) if escape else plain_name(n) for n in shown]
    unnamed = len(user_ids) - len(shown)
    if not shown:
        return plural(unnamed, "interviewer")
    if unnamed:
        return f"{listing(shown)} and {unnamed} more interviewer{'s' if unnamed > 1 else ''}"
    return listing(shown)
