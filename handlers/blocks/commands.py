"""Replies to the ``/interview`` slash command: help, the ephemeral list, short notices."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from handlers.blocks.app_home import more, open_form_item, owned_item
from handlers.blocks.form_dm import Block, context, section
from handlers.blocks.text import escape_mrkdwn, truncate
from storage.views import FormContext, InterviewProgress

COMMAND = "/interview"
SUBCOMMANDS: tuple[tuple[str, str], ...] = (
    ("help", "show this help"),
    ("list", "your pending feedback, and the interviews you recruit for or lead"),
    ("summary <id>", "the panel's current summary (the interview's recruiter and hiring lead)"),
    ("schedule", "schedule an interview (recruiters)"),
    ("cancel <id>", "cancel an interview by its ID from `/interview list` (recruiters)"),
    (
        "calibration [rubric] [--since 90d]",
        "how consistently the team rates each skill (hiring leads and recruiters)",
    ),
)

LIST_OPEN_LIMIT = 10
LIST_OWNED_LIMIT = 15
NOTICE_FALLBACK_MAX = 300


def build_help() -> tuple[str, list[Block]]:
    """What ``/interview`` can do."""
    lines = [f"`{COMMAND} {escape_mrkdwn(usage)}` — {what}" for usage, what in SUBCOMMANDS]
    fallback = f"{COMMAND} subcommands: " + ", ".join(
        escape_mrkdwn(usage) for usage, _what in SUBCOMMANDS
    )
    blocks: list[Block] = [
        section(f"*`{COMMAND}` commands*\n" + "\n".join(lines)),
        context(
            "Feedback forms arrive as a DM from the bot when an interview ends; "
            "the bot's Home tab lists them too."
        ),
    ]
    return fallback, blocks


def build_list(
    *,
    open_forms: Sequence[FormContext],
    owned: Sequence[InterviewProgress],
    tz: tzinfo,
    now: datetime,
) -> tuple[str, list[Block]]:
    """The ephemeral ``/interview list`` reply, in the viewer's time zone.

    Lists the viewer's pending feedback (soonest due first, each with its Give
    feedback button) and the interviews they own with "n of m submitted" and the
    interview ID that ``/interview cancel <id>`` takes.
    """
    pending = sorted(open_forms, key=lambda ctx: ctx.request.due_at)
    blocks: list[Block] = [section("*Feedback to give*")]
    if pending:
        blocks += [open_form_item(ctx, tz=tz, now=now) for ctx in pending[:LIST_OPEN_LIMIT]]
        blocks += more(len(pending), LIST_OPEN_LIMIT)
    else:
        blocks.append(context("Nothing waiting for your feedback."))

    if owned:
        blocks.append({"type": "divider"})
        blocks.append(section("*Interviews you own*"))
        blocks += [
            owned_item(progress, tz=tz, show_id=True) for progress in owned[:LIST_OWNED_LIMIT]
        ]
        blocks += more(len(owned), LIST_OWNED_LIMIT)
        blocks.append(context(f"To cancel one: `{COMMAND} cancel &lt;id&gt;`"))

    overdue = sum(1 for ctx in pending if ctx.request.due_at <= now)
    parts = [_count(len(pending), "feedback form", "feedback forms") + " to fill in"]
    if overdue:
        parts[0] += f" ({overdue} overdue)"
    if owned:
        parts.append(_count(len(owned), "interview", "interviews") + " you own")
    fallback = "You have " + " and ".join(parts)
    return fallback, blocks


def build_notice(text: str) -> tuple[str, list[Block]]:
    """A short reply such as a refusal or a confirmation.

    ``text`` is mrkdwn: escape user-supplied parts with ``escape_mrkdwn``.
    """
    text = text.strip() or "Done."
    return truncate(text, NOTICE_FALLBACK_MAX), [section(text)]


def _count(n: int, one: str, many: str) -> str:
    return f"{n if n else 'no'} {one if n == 1 else many}"
