"""The debrief guide: an agenda for the hiring lead, computed once, rendered twice.

:func:`debrief_guide` is the model, a pure function of a posted summary's data. It
uses only the feedback that counts (``SummaryData.counted``): feedback given after
the summary and shadows' feedback are listed apart at the end, never in a figure.

The agenda
    Skills that need discussion (the flag rule of ``rubric.consensus``) come first:
    widest spread (``range_steps``) first, then splits before the rest, then rubric
    order. Each lists every counted interviewer's level and evidence side by side.
    The other assessed skills follow, one line each.

The speaking order: minority views first
    On each agenda skill, everyone states their rating and evidence before open
    discussion, in this order: the interviewers whose level the *fewest* panelists
    gave speak first (a lone dissenter is heard before the majority can anchor the
    room); ties go to the one *farther from the panel's median*; then panel order.
    The closing recommendation round uses the same rule on the recommendation scale,
    so a lone "Strong no" or a lone "Strong yes" speaks first; interviewers who gave
    no recommendation come last.

Then the coverage gaps to probe in a follow-up (skills nobody assessed, focus skills
left unassessed, expected interviewers whose feedback is not counted), the split
decision and any "Strong no", and the reminder that the panel decides, not the bot.

``handlers.blocks.debrief_render`` renders the model as a modal, a message (the
fallback when the modal cannot be opened) or plain text (the CLI and the demo).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

# The summary's "Debrief guide" button (value: the interview id), and its spread words.
from handlers.blocks.summary import DEBRIEF_ACTION, spread_words
from handlers.blocks.summary.model import consensus_of
from rubric.consensus_types import PanelConsensus, Verdict
from rubric.model import Rubric
from storage.views import PanelistFeedback, Standing, SummaryData

__all__ = [
    "DEBRIEF_ACTION",
    "REMINDER",
    "AgendaItem",
    "DebriefGuide",
    "NotCounted",
    "SkillLine",
    "Voice",
    "debrief_guide",
    "speaking_order",
]

REMINDER = "The panel decides, not the bot."
_WHY_NOT_COUNTED = {
    Standing.AFTER_SUMMARY: "given after the summary",
    Standing.SHADOW: "from a shadow interviewer",
}


# -- the model ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Voice:
    """One interviewer's turn on an agenda skill."""

    interviewer: str
    level: str  # the level's name
    evidence: str  # as given (raw text); "" when none


@dataclass(frozen=True)
class AgendaItem:
    skill_id: str
    skill: str  # the skill's name
    label: str  # the consensus label: "Senior", "split Junior / Lead"
    verdict: Verdict | None
    spread: str  # "2 Junior, 2 Lead"
    reasons: tuple[str, ...]  # why it needs discussion, from the flag rule
    speakers: tuple[Voice, ...]  # in speaking order
    not_assessed_by: tuple[str, ...]  # panel order


@dataclass(frozen=True)
class SkillLine:
    """A skill that needs no discussion, in one line."""

    skill: str
    label: str
    verdict: Verdict | None
    spread: str


@dataclass(frozen=True)
class NotCounted:
    """Feedback shown for what it is worth, outside every figure of the guide."""

    interviewer: str
    why: str  # "given after the summary", "from a shadow interviewer"
    recommendation: str | None  # its name
    levels: tuple[tuple[str, str], ...]  # (skill name, level name), rubric order


@dataclass(frozen=True)
class DebriefGuide:
    interview_id: int
    candidate: str  # as the summary may show it (raw text)
    role: str
    target: str  # the target level's name
    counted: int  # feedback that counts
    expected: int
    agenda: tuple[AgendaItem, ...]  # in agenda order
    settled: tuple[SkillLine, ...]  # assessed skills needing no discussion, rubric order
    votes: tuple[tuple[str, str | None], ...]  # (interviewer, recommendation name), speaking order
    split_decision: bool
    strong_no: tuple[str, ...]  # interviewers who gave the most negative recommendation
    strong_no_name: str
    unassessed: tuple[str, ...]  # skill names nobody assessed, rubric order
    focus_gaps: tuple[tuple[str, str], ...]  # (interviewer, skill name) left unassessed
    missing: tuple[str, ...]  # expected interviewers whose feedback is not counted
    not_counted: tuple[NotCounted, ...]
    edited_after: tuple[str, ...]  # edited after the summary: the earlier version is used


def speaking_order(ratings: Sequence[tuple[str, int]], panel: Sequence[str]) -> tuple[str, ...]:
    """Who speaks first on one question: minority views first (see the module docstring).

    ``ratings`` are (interviewer, index on the scale); ``panel`` gives the panel order
    for the last tie-break (anyone not in it comes after, by id).
    """
    if not ratings:
        return ()
    given = Counter(index for _, index in ratings)
    xs = sorted(index for _, index in ratings)
    twice_median = xs[(len(xs) - 1) // 2] + xs[len(xs) // 2]  # exact for half-step medians
    position = {who: k for k, who in enumerate(panel)}
    ordered = sorted(
        ratings,
        key=lambda r: (
            given[r[1]],
            -abs(2 * r[1] - twice_median),
            position.get(r[0], len(position)),
            r[0],
        ),
    )
    return tuple(who for who, _ in ordered)


def debrief_guide(data: SummaryData, *, candidate: str | None = None) -> DebriefGuide:
    """The guide for a summary's data; ``candidate`` overrides the name shown (initials)."""
    rubric = data.rubric
    counted = data.counted
    consensus = consensus_of(data)
    panel = _panel_order(data)
    agenda = _agenda(rubric, consensus, counted, panel)
    settled = tuple(
        SkillLine(
            rubric.skill(s.skill_id).name,
            s.consensus_label,
            s.verdict,
            spread_words(rubric, s.counts),
        )
        for s in consensus.skills
        if s.ratings and not s.needs_discussion
    )
    strong_no = rubric.recommendations[0]
    return DebriefGuide(
        interview_id=data.interview.interview_id,
        candidate=data.interview.candidate if candidate is None else candidate,
        role=data.interview.role,
        target=rubric.level(data.interview.target_level).name,
        counted=len(counted),
        expected=len(data.expected),
        agenda=agenda,
        settled=settled,
        votes=_votes(rubric, counted, panel),
        split_decision=consensus.split_decision,
        strong_no=_in_panel_order(consensus.strong_no, panel),
        strong_no_name=strong_no.name,
        unassessed=tuple(rubric.skill(s).name for s in consensus.unassessed),
        focus_gaps=tuple(
            (gap.interviewer, rubric.skill(gap.skill_id).name) for gap in consensus.focus_gaps
        ),
        missing=tuple(who for who in data.expected if who not in {f.interviewer for f in counted}),
        not_counted=tuple(_not_counted(rubric, f) for f in data.feedback if not f.counts),
        edited_after=tuple(f.interviewer for f in data.edited_after_summary if f.counts),
    )


def _agenda(
    rubric: Rubric,
    consensus: PanelConsensus,
    counted: Sequence[PanelistFeedback],
    panel: Sequence[str],
) -> tuple[AgendaItem, ...]:
    """The skills that need discussion, in agenda order, with everyone's turn."""
    evidence = {(f.interviewer, r.skill_id): r.evidence for f in counted for r in f.ratings}
    order = {skill.id: k for k, skill in enumerate(rubric.skills)}
    flagged = sorted(
        consensus.needs_discussion,
        key=lambda s: (-s.range_steps, s.verdict is not Verdict.SPLIT, order[s.skill_id]),
    )
    agenda = []
    for s in flagged:
        level_of = dict(s.ratings)
        turns = speaking_order(
            [(who, rubric.level_index(level)) for who, level in s.ratings], panel
        )
        voices = tuple(
            Voice(who, rubric.level(level_of[who]).name, evidence.get((who, s.skill_id), ""))
            for who in turns
        )
        agenda.append(
            AgendaItem(
                skill_id=s.skill_id,
                skill=rubric.skill(s.skill_id).name,
                label=s.consensus_label,
                verdict=s.verdict,
                spread=spread_words(rubric, s.counts),
                reasons=s.reasons,
                speakers=voices,
                not_assessed_by=_in_panel_order(s.not_assessed_by, panel),
            )
        )
    return tuple(agenda)


def _panel_order(data: SummaryData) -> tuple[str, ...]:
    order = list(dict.fromkeys(data.expected))
    order += [f.interviewer for f in data.feedback if f.interviewer not in order]
    return tuple(order)


def _in_panel_order(people: Sequence[str], panel: Sequence[str]) -> tuple[str, ...]:
    position = {who: k for k, who in enumerate(panel)}
    return tuple(sorted(people, key=lambda who: (position.get(who, len(position)), who)))


def _votes(
    rubric: Rubric, counted: Sequence[PanelistFeedback], panel: Sequence[str]
) -> tuple[tuple[str, str | None], ...]:
    scale = {rec.id: k for k, rec in enumerate(rubric.recommendations)}
    voted = [(f.interviewer, f.recommendation) for f in counted if f.recommendation in scale]
    first = speaking_order([(who, scale[rec]) for who, rec in voted if rec is not None], panel)
    names = {who: rubric.recommendation(rec).name for who, rec in voted if rec is not None}
    silent = _in_panel_order([f.interviewer for f in counted if f.interviewer not in names], panel)
    return tuple((who, names[who]) for who in first) + tuple((who, None) for who in silent)


def _not_counted(rubric: Rubric, f: PanelistFeedback) -> NotCounted:
    rated = {r.skill_id: r.level for r in f.ratings if r.level is not None}
    levels = tuple(
        (skill.name, rubric.level(rated[skill.id]).name)
        for skill in rubric.skills
        if skill.id in rated and rated[skill.id] in rubric.level_ids
    )
    names = {rec.id: rec.name for rec in rubric.recommendations}
    recommendation = names.get(f.recommendation) if f.recommendation is not None else None
    why = _WHY_NOT_COUNTED.get(f.standing, "not counted")
    return NotCounted(f.interviewer, why, recommendation, levels)
