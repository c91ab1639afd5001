"""Block Kit pieces the summary's messages share: sections, contexts, packing of lines."""

from __future__ import annotations

import math
from collections.abc import Sequence

from handlers.blocks.form_dm import Block
from handlers.blocks.limits import CONTEXT_ELEMENTS_MAX, SECTION_TEXT_MAX
from handlers.blocks.text import mrkdwn, truncate

DIVIDER: Block = {"type": "divider"}


def section(text: str) -> Block:
    return {"type": "section", "text": mrkdwn(truncate(text, SECTION_TEXT_MAX))}


def context(*texts: str) -> Block:
    return {
        "type": "context",
        "elements": [mrkdwn(truncate(t, SECTION_TEXT_MAX)) for t in texts[:CONTEXT_ELEMENTS_MAX]],
    }


def pack(items: Sequence[str], *, max_blocks: int | None = None, sep: str = "\n") -> list[str]:
    """Pack lines of mrkdwn into as few section texts as fit (each <= 3000 characters).

    With ``max_blocks``, every item is first shortened so that the items fit in
    that many texts: ``k`` items to a text, ``k = ceil(len(items) / max_blocks)``.
    """
    if not items:
        return []
    limit = SECTION_TEXT_MAX
    if max_blocks is not None and len(items) > max_blocks:
        per_text = math.ceil(len(items) / max(max_blocks, 1))
        limit = (SECTION_TEXT_MAX - (per_text - 1) * len(sep)) // per_text
    texts: list[str] = []
    current = ""
    for item in items:
        # A leading line break (a blank line before a heading) is kept between items
        # and dropped at the top of a section.
        if current and len(current) + len(sep) + len(truncate(item, limit)) <= SECTION_TEXT_MAX:
            current += sep + truncate(item, limit)
            continue
        if current:
            texts.append(current)
        current = truncate(item.lstrip("\n"), limit)
    if current:
        texts.append(current)
    return [text for text in texts if text.strip()]


def split_text(text: str, limit: int = SECTION_TEXT_MAX) -> list[str]:
    """Cut long (escaped) text into pieces of at most ``limit`` characters.

    Cuts at a line break or a space when one is in the second half of the piece,
    and never inside an HTML entity (``&amp;``).
    """
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit + 1)
        if cut < limit // 2:
            cut = rest.rfind(" ", 0, limit + 1)
        if cut < limit // 2:
            cut = limit
        amp = rest.rfind("&", max(0, cut - 5), cut)
        if amp > 0 and ";" not in rest[amp:cut]:
            cut = amp
        piece = rest[:cut].rstrip()
        if not piece:
            piece, cut = rest[:limit], limit
        pieces.append(piece)
        rest = rest[cut:].strip()
    if rest:
        pieces.append(rest)
    return pieces
