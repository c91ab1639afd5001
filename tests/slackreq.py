"""Slack-signed request builders now live in ``bot.slackreq`` (the demo uses them too); re-exported here."""

from __future__ import annotations

from bot.slackreq import (
    TEAM,
    Reply,
    app_home_opened,
    block_action,
    event,
    interactive,
    post,
    sign,
    slash_command,
    view_submission,
)

__all__ = [
    "TEAM",
    "Reply",
    "app_home_opened",
    "block_action",
    "event",
    "interactive",
    "post",
    "sign",
    "slash_command",
    "view_submission",
]
