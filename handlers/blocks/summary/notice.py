"""The recruiter's DM when the summary cannot be posted: the bot is not in the hiring channel."""

from __future__ import annotations

import re

from handlers.blocks.form_dm import Block
from handlers.blocks.summary.layout import context, section
from handlers.blocks.summary.names import BOT_HANDLE, FALLBACK_NAME_MAX, md_name
from handlers.blocks.text import escape_mrkdwn
from storage.views import SummaryData

_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,}")


def build_not_in_channel_notice(
    data: SummaryData, *, bot_handle: str = BOT_HANDLE
) -> tuple[str, list[Block]]:
    """A DM to the recruiter: the summary could not be posted because the bot is not in
    the hiring channel; how to invite it; it retries by itself."""
    channel = data.summary_channel or data.interview.hiring_channel
    where = f"<#{channel}>" if _CHANNEL_ID.fullmatch(channel) else f"`{escape_mrkdwn(channel)}`"
    interview = data.interview
    subject = f"*{md_name(interview.candidate)}* — {md_name(interview.role)}"
    blocks = [
        section(
            f":warning: I could not post the interview summary for {subject} in {where}: "
            "I am not a member of that channel."
        ),
        section(
            f"*To fix it*, open {where} and send `/invite {escape_mrkdwn(bot_handle)}` "
            "(or add the app from the channel's settings, under Integrations)."
        ),
        context("I will retry automatically; nothing else to do once I am in the channel."),
    ]
    fallback_subject = (
        f"{md_name(interview.candidate, FALLBACK_NAME_MAX)}, "
        f"{md_name(interview.role, FALLBACK_NAME_MAX)}"
    )
    fallback = (
        f"Could not post the interview summary for {fallback_subject} in {where}: "
        f"invite {bot_handle} to the channel"
    )
    return fallback, blocks
