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


def last_input_block(view: object) -> str | None:
    """The block_id of a submitted view's last input block, where an error can be shown.

    ``response_action: errors`` may only name input blocks of the view; the last
    one sits next to the submit button, where the person is looking.
    """
    blocks = view.get("blocks") if isinstance(view, dict) else None
    inputs = [
        str(block["block_id"])
        for block in (blocks if isinstance(blocks, list) else [])
        if isinstance(block, dict) and block.get("type") == "input" and block.get("block_id")
    ]
    return inputs[-1] if inputs else None
