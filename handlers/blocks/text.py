"""Small text helpers shared by the Block Kit builders.

Pure functions: no Slack client, no database. Lengths are counted in Python
characters (code points), as slack_sdk's own validation does.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any

ELLIPSIS = "…"

# The longest entity escape_mrkdwn produces is "&amp;" (5 characters).
_ENTITY_MAX = 5

# English names, independent of the process locale (strftime's %a/%b are not).
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in "…" when cut.

    Never leaves half an HTML entity (``&am…``) at the cut, so it is safe on
    text already passed through :func:`escape_mrkdwn`.
    """
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    if len(text) <= limit:
        return text
    if limit == 0:
        return ""
    head = text[: limit - 1]
    amp = head.rfind("&", max(0, len(head) - _ENTITY_MAX + 1))
    if amp != -1 and ";" not in head[amp:]:
        head = head[:amp]
    return head.rstrip() + ELLIPSIS


def escape_mrkdwn(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control: ``& < >``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def mention(user_id: str) -> str:
    """A mrkdwn user mention, ``<@U123>``."""
    return f"<@{user_id}>"


def format_when(moment: datetime, tz: tzinfo) -> str:
    """``moment`` in ``tz``, e.g. "Mon 1 Mar 2027, 10:00 CET".

    A naive ``moment`` is taken to be UTC (storage keeps times in UTC).
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(tz)
    zone = local.tzname() or local.strftime("%z")
    day, month = _DAYS[local.weekday()], _MONTHS[local.month - 1]
    return f"{day} {local.day} {month} {local.year}, {local:%H:%M} {zone}".rstrip()


def plain(text: str, *, emoji: bool = True) -> dict[str, Any]:
    """A ``plain_text`` text object."""
    return {"type": "plain_text", "text": text, "emoji": emoji}


def mrkdwn(text: str) -> dict[str, Any]:
    """A ``mrkdwn`` text object (escape user-supplied parts with :func:`escape_mrkdwn`)."""
    return {"type": "mrkdwn", "text": text}
