"""``/interview`` text: the sub-command and its interview number, shared by guard and listener."""

from __future__ import annotations

from dataclasses import dataclass

SUBCOMMANDS = ("help", "list", "summary", "schedule", "cancel")
# Interview ids are integers; twelve digits is more than any deployment will reach.
_MAX_ID_DIGITS = 12


@dataclass(frozen=True)
class CommandText:
    sub: str  # one of SUBCOMMANDS; anything unknown reads as "help"
    interview_id: int | None = None  # for summary and cancel, when well-formed
    usage: bool = False  # summary/cancel without exactly one well-formed id


def parse_command(text: object) -> CommandText:
    words = str(text or "").split()
    sub = words[0].lower() if words else "help"
    if sub not in SUBCOMMANDS:
        return CommandText("help")
    if sub not in ("summary", "cancel"):
        return CommandText(sub)
    args = words[1:]
    if len(args) != 1:
        return CommandText(sub, usage=True)
    digits = args[0].removeprefix("#")
    if not digits.isascii() or not digits.isdigit() or len(digits) > _MAX_ID_DIGITS:
        return CommandText(sub, usage=True)
    return CommandText(sub, interview_id=int(digits))
