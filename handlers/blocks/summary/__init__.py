"""The hiring-channel summary of an interview, its thread replies, and a plain-text twin.

What a hiring lead reads before the debrief: where the panel agrees, where it
does not, and what nobody assessed. It supports the decision and never makes
one: no hire / no-hire verdict of its own, only the panel's votes and ratings.

One model of what the summary says (:mod:`.model`, computed once from the
stored feedback and the consensus of the counted part of it), rendered by
:mod:`.post` (Block Kit) and :mod:`.text` (plain text); the thread's replies in
:mod:`.thread`, the update note in :mod:`.changes`, the recruiter's notice in
:mod:`.notice`; names, colours and Slack dates in :mod:`.names`.

Pure: plain data in, (fallback text, blocks) out; no Slack client, no database.
"""

from handlers.blocks.summary.changes import (
    FeedbackChange,
    build_update_reply,
    describe_changes,
    feedback_changes,
)
from handlers.blocks.summary.layout import pack, split_text
from handlers.blocks.summary.model import (
    Cell,
    Column,
    SkillRow,
    SummaryModel,
    consensus_of,
    panel_inputs,
    summary_model,
)
from handlers.blocks.summary.names import (
    ALPHA,
    NO_FEEDBACK_CHAR,
    NO_FEEDBACK_EMOJI,
    NOT_ASSESSED_CHAR,
    NOT_ASSESSED_EMOJI,
    CandidateDisplay,
    Swatch,
    candidate_initials,
    candidate_name,
    date_token,
    level_abbreviations,
    level_swatches,
    spread_words,
)
from handlers.blocks.summary.notice import build_not_in_channel_notice
from handlers.blocks.summary.post import DEBRIEF_ACTION, build_summary, render_blocks
from handlers.blocks.summary.text import render_summary_text, render_text
from handlers.blocks.summary.thread import (
    REPLIES_MAX_CHARS,
    build_edit_reply,
    build_feedback_reply,
    pack_replies,
    thread_replies,
)

__all__ = [
    "ALPHA",
    "DEBRIEF_ACTION",
    "NOT_ASSESSED_CHAR",
    "NOT_ASSESSED_EMOJI",
    "NO_FEEDBACK_CHAR",
    "NO_FEEDBACK_EMOJI",
    "REPLIES_MAX_CHARS",
    "CandidateDisplay",
    "Cell",
    "Column",
    "FeedbackChange",
    "SkillRow",
    "SummaryModel",
    "Swatch",
    "build_edit_reply",
    "build_feedback_reply",
    "build_not_in_channel_notice",
    "build_summary",
    "build_update_reply",
    "candidate_initials",
    "candidate_name",
    "consensus_of",
    "date_token",
    "describe_changes",
    "feedback_changes",
    "level_abbreviations",
    "level_swatches",
    "pack",
    "pack_replies",
    "panel_inputs",
    "render_blocks",
    "render_summary_text",
    "render_text",
    "split_text",
    "spread_words",
    "summary_model",
    "thread_replies",
]
