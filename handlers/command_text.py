"""``/interview`` text: the sub-command and its interview number, shared by guard and listener."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from rubric.durations import parse_duration

SUBCOMMANDS = ("help", "list", "summary", "schedule", "cancel", "calibration")
# Interview ids are integers; twelve digits is more than any deployment will reach.
_MAX_ID_DIGITS = 12
_RUBRIC_ID = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
# A window longer than ten years is a typo, not a question.
MAX_SINCE = timedelta(days=3660)


@dataclass(frozen=True)
class CommandText:
    sub: str  # one of SUBCOMMANDS; anything unknown reads as "help"
    interview_id: int | None = None  # for summary and cancel, when well-formed
    usage: bool = False  # arguments that do not fit the sub-command
    rubric_id: str | None = None  # calibration: one rubric
    since: timedelta | None = None  # calibration: --since 90d


def parse_command(text: object) -> CommandText:
    words = str(text or "").split()
    sub = words[0].lower() if words else "help"
    if sub not in SUBCOMMANDS:
        return CommandText("help")
    if sub == "calibration":
        return _calibration(words[1:])
    if sub not in ("summary", "cancel"):
        return CommandText(sub)
    args = words[1:]
    if len(args) != 1:
        return CommandText(sub, usage=True)
    digits = args[0].removeprefix("#")
    if not digits.isascii() or not digits.isdigit() or len(digits) > _MAX_ID_DIGITS:
        return CommandText(sub, usage=True)
    return CommandText(sub, interview_id=int(digits))


def _calibration(args: list[str]) -> CommandText:
    """``calibration [rubric] [--since 90d]``, in either order; anything else is usage."""
    rubric_id: str | None = None
    since: timedelta | None = None
    words = iter(args)
    for word in words:
        value: str | None
        if word.lower() == "--since":
            value = next(words, None)
        elif word.lower().startswith("--since="):
            value = word.split("=", 1)[1]
        else:
            if rubric_id is not None or not _RUBRIC_ID.fullmatch(word.lower()):
                return CommandText("calibration", usage=True)
            rubric_id = word.lower()
            continue
        if since is not None or value is None:
            return CommandText("calibration", usage=True)
        try:
            since = parse_duration(value.lower())
        except ValueError:
            return CommandText("calibration", usage=True)
        if not timedelta(days=1) <= since <= MAX_SINCE:
            return CommandText("calibration", usage=True)
    return CommandText("calibration", rubric_id=rubric_id, since=since)
