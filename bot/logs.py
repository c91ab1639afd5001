"""Log output: one line per record, ``key=value`` text or JSON, with context and redaction.

``configure_logging`` installs one handler on the root logger. Every record gets
the fields of ``handlers.logcontext`` (``request_id`` of a Slack request, ``job``
of a sweep unit), and every formatted line passes through ``redact`` so a Slack
token never reaches the log, whichever code logged it.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from handlers.logcontext import FIELDS, current_fields

LogFormat = Literal["text", "json"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]

TOKEN_PATTERN = re.compile(r"xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+")
REDACTED = "[redacted]"

# Bare text values need no quotes; anything else is quoted and escaped.
_BARE = re.compile(r"[A-Za-z0-9_.:/@+-]+")

# Set on the handler this module installs, so a later call replaces it, not doubles it.
_HANDLER_FLAG = "_interview_bot_handler"


def redact(text: str) -> str:
    """``text`` with anything shaped like a Slack token replaced."""
    return TOKEN_PATTERN.sub(REDACTED, text)


class ContextFilter(logging.Filter):
    """Copies the current ``log_context`` fields onto each record (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in current_fields().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _context(record: logging.LogRecord) -> dict[str, str]:
    return {key: str(value) for key in FIELDS if (value := getattr(record, key, None))}


class TextFormatter(logging.Formatter):
    """``ts=... level=INFO logger=handlers.sweep msg="..." request_id=... job=...``"""

    def format(self, record: logging.LogRecord) -> str:
        pairs: list[tuple[str, str]] = [
            ("ts", _timestamp(record)),
            ("level", record.levelname),
            ("logger", record.name),
            ("msg", record.getMessage()),
            *_context(record).items(),
        ]
        if record.exc_info:
            pairs.append(("exc", self.formatException(record.exc_info)))
        elif record.exc_text:
            pairs.append(("exc", record.exc_text))
        if record.stack_info:
            pairs.append(("stack", self.formatStack(record.stack_info)))
        return redact(" ".join(f"{key}={_quote(value)}" for key, value in pairs))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, the context fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            **_context(record),
        }
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            data["exc"] = record.exc_text
        if record.stack_info:
            data["stack"] = self.formatStack(record.stack_info)
        # Tokens are [A-Za-z0-9-] only, so redacting the encoded line keeps it valid JSON.
        return redact(json.dumps(data, ensure_ascii=False, default=str))


def _quote(value: str) -> str:
    if value and _BARE.fullmatch(value):
        return value
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return f'"{escaped}"'


def make_formatter(format: LogFormat) -> logging.Formatter:
    return JsonFormatter() if format == "json" else TextFormatter()


def fallback_logging(level: int) -> bool:
    """``logging.basicConfig`` for the moments before the config is read.

    Returns False (and changes nothing) when the root logger already has handlers,
    i.e. someone else (an embedding program, a test runner) owns the logging.
    """
    root = logging.getLogger()
    if root.handlers:
        return False
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    for handler in root.handlers:
        setattr(handler, _HANDLER_FLAG, True)
    return True


def configure_logging(
    format: LogFormat = "text", level: LogLevel | int = "INFO", *, stream: TextIO | None = None
) -> logging.Handler:
    """Install one handler writing ``format`` lines to stderr on the root logger.

    Replaces the handler an earlier call (or ``fallback_logging``) installed; other
    handlers on the root logger are left alone.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(make_formatter(format))
    handler.addFilter(ContextFilter())
    setattr(handler, _HANDLER_FLAG, True)
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, _HANDLER_FLAG, False):
            root.removeHandler(old)
            old.close()
    root.addHandler(handler)
    root.setLevel(level)
    return handler
