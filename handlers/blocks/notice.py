"""A small read-only modal for telling someone why a form cannot open."""

from __future__ import annotations

from typing import Any

from handlers.blocks.text import mrkdwn, plain, truncate


def build_notice_modal(message: str, *, title: str = "Interview feedback") -> dict[str, Any]:
    return {
        "type": "modal",
        "title": plain(truncate(title, 24)),
        "close": plain("OK"),
        "blocks": [{"type": "section", "text": mrkdwn(truncate(message, 3000))}],
    }
