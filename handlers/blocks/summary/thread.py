"""The summary thread's replies: each interviewer's notes and evidence, packed into messages.

Counted feedback comes first, each reply as it always was. Feedback that does not
count follows, in messages of its own and headed as such: feedback first given
after the summary ("given after the summary — not counted"), edits made after it
(the edited answers; the version from before the summary is the one that counts)
and shadow interviewers' feedback ("shadow interviewer — not counted").
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from handlers.blocks.form_dm import Block, level_name
from handlers.blocks.limits import MESSAGE_MAX_BLOCKS
from handlers.blocks.summary.layout import pack, section, split_text
from handlers.blocks.summary.names import (
    LEVEL_MAX,
    date_token,
    md_name,
    recommendation_name,
    skill_name,
)
from handlers.blocks.text import escape_mrkdwn, mention
from rubric import Rubric
from storage.views import PanelistFeedback, RatingView, Standing, SummaryData

AFTER_SUMMARY_NOTE = "given after the summary — not counted"
SHADOW_NOTE = "shadow interviewer — not counted"
EDIT_NOTE = "edited after the summary — not counted; the version from before the summary counts"

# Slack posts about one message a second to a channel: the panel's replies share as
# few messages as fit, each within 50 blocks and this much section text (long
# messages collapse behind "Show more" anyway).
REPLIES_MAX_CHARS = 12_000

Reply = tuple[str, str, list[Block]]  # (key, fallback text, blocks)
_WHEN = "{date_short_pretty} {time}"


def build_feedback_reply(data: SummaryData, feedback: PanelistFeedback) -> tuple[str, list[Block]]:
    """The thread's reply with one interviewer's notes and evidence, marked by its standing.

    Evidence and notes are user text: escaped, then split over several sections
    or shortened so that the reply stays within 50 blocks of 3000 characters.

    Returns:
        (fallback text, blocks).
    """
    note = {Standing.AFTER_SUMMARY: AFTER_SUMMARY_NOTE, Standing.SHADOW: SHADOW_NOTE}.get(
        feedback.standing, ""
    )
    when = f"Submitted {date_token(feedback.submitted_at, _WHEN)}"
    if feedback.updated_at > feedback.submitted_at:
        when += f", edited {date_token(feedback.updated_at, _WHEN)}"
    return _reply(
        data.rubric,
        feedback,
        note,
        when,
        (feedback.recommendation, feedback.notes, feedback.ratings),
    )


def build_edit_reply(data: SummaryData, feedback: PanelistFeedback) -> tuple[str, list[Block]]:
    """The reply showing an edit made after the summary (``feedback.edit_after_summary``)."""
    edit = feedback.edit_after_summary
    if edit is None:
        raise ValueError("build_edit_reply needs feedback edited after the summary")
    when = f"Edited {date_token(edit.edited_at, _WHEN)}"
    return _reply(
        data.rubric, feedback, EDIT_NOTE, when, (edit.recommendation, edit.notes, edit.ratings)
    )


def _reply(
    rubric: Rubric,
    feedback: PanelistFeedback,
    note: str,
    when: str,
    answers: tuple[str | None, str, Sequence[RatingView]],
) -> tuple[str, list[Block]]:
    recommendation, notes_text, ratings = answers
    who = mention(feedback.interviewer)
    marked = f" _({note})_" if note else ""
    if recommendation:
        name = md_name(recommendation_name(rubric, recommendation), LEVEL_MAX)
        head = f"*Feedback from {who}*{marked} — recommends *{name}*"
        fallback = f"Feedback from {who}: {name}"
    else:
        head = f"*Feedback from {who}*{marked} — no overall recommendation"
        fallback = f"Feedback from {who}: no overall recommendation"
    if note:
        fallback += f" ({note})"
    blocks: list[Block] = [section(f"{head}\n{when}")]

    notes = escape_mrkdwn(notes_text.strip())
    note_texts = split_text("*Notes*\n" + notes) if notes else []
    blocks += [section(t) for t in note_texts[: MESSAGE_MAX_BLOCKS // 4]]

    items = _evidence_items(rubric, feedback.focus_skills, ratings)
    if items:
        items[0] = "*Ratings and evidence*\n" + items[0]
    room = MESSAGE_MAX_BLOCKS - len(blocks)
    blocks += [section(t) for t in pack(items, max_blocks=room, sep="\n\n")]
    return fallback, blocks


def _evidence_items(
    rubric: Rubric, focus_skills: Sequence[str], ratings: Sequence[RatingView]
) -> list[str]:
    order = {skill.id: i for i, skill in enumerate(rubric.skills)}
    focus = set(focus_skills)
    items: list[str] = []
    for rating in sorted(ratings, key=lambda r: order.get(r.skill_id, len(order))):
        name = f"*{md_name(skill_name(rubric, rating.skill_id))}*"
        if rating.skill_id in focus:
            name += " _(focus)_"
        level = (
            md_name(level_name(rubric, rating.level), LEVEL_MAX) if rating.level else "Not assessed"
        )
        evidence = escape_mrkdwn(rating.evidence.strip())
        if evidence:
            items.append(f"{name} — {level}: {evidence}")
        elif rating.level:
            items.append(f"{name} — {level} _(no evidence)_")
        else:
            items.append(f"{name} — {level}")
    return items


def thread_replies(
    data: SummaryData, *, changed: Collection[str] = (), update: bool = False
) -> list[list[Reply]]:
    """The replies a unit posts, in groups that never share a message.

    Groups, in order: counted feedback, feedback given after the summary, edits made
    after it, shadows' feedback. Keys are ``reply:<user>`` and ``edit:<user>``.

    ``update`` False (the thread's ``finish``): every counted reply (its answers are
    the version from before the summary, which never changes), and the other
    replies of interviewers not in ``changed`` (their update follows). ``update``
    True: the replies of the interviewers in ``changed`` that do not count.
    """

    def wanted(fb: PanelistFeedback) -> bool:
        return (fb.interviewer in changed) == update

    counted: list[Reply] = (
        []
        if update
        else [(f"reply:{f.interviewer}", *build_feedback_reply(data, f)) for f in data.counted]
    )
    late = [
        (f"reply:{f.interviewer}", *build_feedback_reply(data, f))
        for f in data.after_summary
        if wanted(f)
    ]
    edits = [
        (f"edit:{f.interviewer}", *build_edit_reply(data, f))
        for f in data.edited_after_summary
        if wanted(f)
    ]
    shadows = [
        (f"reply:{f.interviewer}", *build_feedback_reply(data, f))
        for f in data.shadow_feedback
        if wanted(f)
    ]
    return [group for group in (counted, late, edits, shadows) if group]


def pack_replies(replies: Sequence[Reply]) -> list[tuple[list[str], str, list[Block]]]:
    """Group ``(key, text, blocks)`` replies into as few thread messages as fit.

    Order is kept; a divider separates replies in one message. Each message has at
    most 50 blocks and ``REPLIES_MAX_CHARS`` of text; a reply bigger than that (it
    is built to fit 50 blocks alone) goes alone. Returns ``(keys, fallback text,
    blocks)`` per message.
    """
    messages: list[tuple[list[str], str, list[Block]]] = []
    for key, text, blocks in replies:
        size = _text_size(blocks)
        if messages:
            keys, fallback, packed = messages[-1]
            if (
                len(packed) + 1 + len(blocks) <= MESSAGE_MAX_BLOCKS
                and _text_size(packed) + size <= REPLIES_MAX_CHARS
            ):
                messages[-1] = (
                    [*keys, key],
                    f"{fallback}\n{text}",
                    [*packed, {"type": "divider"}, *blocks],
                )
                continue
        messages.append(([key], text, list(blocks)))
    return messages


def _text_size(blocks: Sequence[Block]) -> int:
    return sum(len(str((b.get("text") or {}).get("text", ""))) for b in blocks)
