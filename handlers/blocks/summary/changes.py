"""The thread note after the posted summary was updated: who gave or edited what, what moved.

Feedback given after the summary, edits made after it and shadows' feedback never
change the consensus, the flags or any figure; the note says so instead of
claiming a change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from handlers.blocks.form_dm import Block
from handlers.blocks.limits import MESSAGE_MAX_BLOCKS, SECTION_TEXT_MAX
from handlers.blocks.summary.layout import section, split_text
from handlers.blocks.summary.names import (
    LEVEL_MAX,
    MINUS,
    listing,
    md_name,
    plural,
    recommendation_name,
    skill_name,
)
from handlers.blocks.text import mention, truncate
from rubric import Rubric
from rubric.consensus_types import PanelConsensus
from storage.views import Standing, SummaryData

ChangeKind = Literal[
    "submitted", "edited", "after_summary", "edited_after_summary", "edited_back", "shadow"
]
NOT_COUNTED: frozenset[ChangeKind] = frozenset(
    {"after_summary", "edited_after_summary", "edited_back", "shadow"}
)


@dataclass(frozen=True)
class FeedbackChange:
    interviewer: str
    kind: ChangeKind


def feedback_changes(data: SummaryData, changed: Sequence[str]) -> list[FeedbackChange]:
    """What happened to each changed interviewer's feedback (``changed_since_summary``)."""
    by_interviewer = {fb.interviewer: fb for fb in data.feedback}
    changes: list[FeedbackChange] = []
    for interviewer in dict.fromkeys(changed):
        fb = by_interviewer.get(interviewer)
        if fb is None:
            continue
        kind: ChangeKind
        if fb.standing == Standing.SHADOW:
            kind = "shadow"
        elif fb.standing == Standing.AFTER_SUMMARY:
            kind = "after_summary"
        elif fb.edit_after_summary is not None:
            kind = "edited_after_summary"
        else:  # changed since the post, yet the same answers as the version that counts
            kind = "edited_back"
        changes.append(FeedbackChange(interviewer, kind))
    return changes


_SENTENCES: dict[ChangeKind, str] = {
    "submitted": "{who} submitted feedback.",
    "edited": "{who} edited their feedback.",
    "after_summary": (
        "{who} submitted feedback after the summary: it is in the thread, not counted."
    ),
    "edited_after_summary": (
        "{who} edited their feedback after the summary: the edit is in the thread, not "
        "counted; the version from before the summary counts."
    ),
    "edited_back": (
        "{who} edited their feedback after the summary, back to the version from before it."
    ),
    "shadow": "{who} (shadow interviewer) submitted feedback: it is in the thread, not counted.",
}


def build_update_reply(changes: Sequence[str]) -> tuple[str, list[Block]]:
    """The short thread reply after the summary was updated.

    Args:
        changes: mrkdwn sentences, e.g. from :func:`describe_changes`.
    """
    sentences = [" ".join(c.split()) for c in changes if c.strip()]
    text = "Updated: " + (
        " ".join(sentences) if sentences else "the summary was refreshed; nothing else changed."
    )
    pieces = split_text(text)[:MESSAGE_MAX_BLOCKS]
    return truncate(text, SECTION_TEXT_MAX), [section(p) for p in pieces]


def describe_changes(
    before: PanelConsensus | None,
    after: PanelConsensus,
    rubric: Rubric,
    changes: Sequence[FeedbackChange],
) -> list[str]:
    """What changed, as mrkdwn sentences for :func:`build_update_reply`.

    Args:
        before: the consensus the posted summary showed; None if none was posted.
        after: the consensus now (both of counted feedback only).
        rubric: the interview's rubric (for names).
        changes: whose feedback arrived or changed since ``before``, and how.
    """
    lines = [_SENTENCES[c.kind].format(who=mention(c.interviewer)) for c in changes]
    moved = _flag_lines(before, after, rubric)
    if before is not None:
        moved += _consensus_lines(before, after, rubric)
    moved += _decision_lines(before, after, rubric)
    if changes and not moved and all(c.kind in NOT_COUNTED for c in changes):
        moved.append(
            "The consensus, the flags and every figure are unchanged: only feedback given "
            "before the summary counts."
        )
    return lines + moved


def _names(rubric: Rubric, skill_ids: Sequence[str]) -> str:
    return listing([md_name(skill_name(rubric, s)) for s in skill_ids], 5)


def _flag_lines(before: PanelConsensus | None, after: PanelConsensus, rubric: Rubric) -> list[str]:
    was_flagged = {s.skill_id for s in before.needs_discussion} if before else set()
    now_flagged = {s.skill_id for s in after.needs_discussion}
    added = [s.skill_id for s in after.skills if s.skill_id in now_flagged - was_flagged]
    removed = [
        s.skill_id
        for s in (before.skills if before else ())
        if s.skill_id in was_flagged - now_flagged
    ]
    parts = []
    if added:
        parts.append(f"+{plural(len(added), 'skill')} ({_names(rubric, added)})")
    if removed:
        parts.append(f"{MINUS}{plural(len(removed), 'skill')} ({_names(rubric, removed)})")
    return [f"Needs discussion: {', '.join(parts)}."] if parts else []


def _consensus_lines(before: PanelConsensus, after: PanelConsensus, rubric: Rubric) -> list[str]:
    lines: list[str] = []
    old = {skill.skill_id: skill for skill in before.skills}
    moved = [
        f"{md_name(skill_name(rubric, skill.skill_id))} "
        f"{md_name(old[skill.skill_id].consensus_label or '—', 2 * LEVEL_MAX)} → "
        f"{md_name(skill.consensus_label or '—', 2 * LEVEL_MAX)}"
        for skill in after.skills
        if skill.skill_id in old and old[skill.skill_id].consensus_label != skill.consensus_label
    ]
    if moved:
        lines.append(f"Consensus: {listing(moved, 5)}.")
    newly_assessed = [s for s in before.unassessed if s not in after.unassessed]
    if newly_assessed:
        lines.append(f"Now assessed: {_names(rubric, newly_assessed)}.")
    unassessed = [s for s in after.unassessed if s not in before.unassessed]
    if unassessed:
        lines.append(f"No longer assessed by anyone: {_names(rubric, unassessed)}.")
    if (before.comparable, before.unanimous) != (after.comparable, after.unanimous):
        lines.append(
            f"Agreement: {after.unanimous} of {plural(after.comparable, 'skill')} rated by two "
            "or more interviewers got the same level from everyone."
        )
    return lines


def _decision_lines(
    before: PanelConsensus | None, after: PanelConsensus, rubric: Rubric
) -> list[str]:
    lines: list[str] = []
    if before is None or before.split_decision != after.split_decision:
        if after.split_decision:
            lines.append("The recommendations are now split between hire and no hire.")
        elif before is not None:
            lines.append("The recommendations are no longer split.")
    new_strong_no = [i for i in after.strong_no if before is None or i not in before.strong_no]
    if new_strong_no:
        strongest = md_name(rubric.recommendations[0].name, LEVEL_MAX)
        lines.append(f"{strongest} from {', '.join(mention(i) for i in new_strong_no)}.")
    if before is not None and before.tally != after.tally:
        tally = " · ".join(
            f"{md_name(recommendation_name(rubric, rec_id), LEVEL_MAX)} {votes}"
            for rec_id, votes in after.tally
        )
        lines.append(f"Recommendations: {tally}.")
    return lines
