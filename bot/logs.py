"""Log output: one line per record, ``key=value`` text or JSON, with context and redaction.

``configure_logging`` installs one handler on the root logger. Every record gets
the fields of ``handlers.logcontext`` (``request_id`` of a Slack request, ``job``
of a sweep unit), and every formatted line passes through ``redact`` so a Slack
token never reaches the log, whichever code logged it.

Notes and evidence are free text that no pattern can redact, so they are kept
out at the source: the Slack libraries never log below INFO, even when the bot
logs at DEBUG (at DEBUG slack_sdk logs every Web API request body, such as the
summary thread, and Socket Mode logs every payload it receives through Bolt's
logger), and ``LibraryBodyFilter`` cuts the request bodies that Bolt puts into a
few lines above DEBUG. A PostgreSQL error's DETAIL line, which repeats row
values, is cut from every line (statement parameters never get that far: the
engine is created with ``hide_parameters``, see ``storage.engine.create_engine_for``).
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

# Loggers capped at INFO (see the module docstring); their children inherit the cap.
# bot.slack_client.sdk is the logger our WebClient is given.
LIBRARY_LOGGERS = ("slack_sdk", "slack_bolt", "bot.slack_client.sdk")

# Bolt and slack_sdk log whole request bodies in a few lines above DEBUG: an invalid
# signature ("..., body: <raw body>"), a middleware that did not call next() ("... for
# the request (<body>)"), an unreadable Socket Mode frame ("payload: ..."). A body can
# be a submitted feedback modal (or a legitimate one whose signature has expired).
_LIBRARY_BODY = re.compile(r"(\bbody: |\bpayload: |for the request \().*", re.DOTALL)

# PostgreSQL repeats row values in an error's DETAIL line ("Failing row contains
# (...)", "Key (col)=(value) already exists"), and a failing row may hold notes.
_DB_DETAIL = re.compile(r"^(DETAIL:\s+).*$", re.MULTILINE)

# Set on the handler this module installs, so a later call replaces it, not doubles it.
_HANDLER_FLAG = "_interview_bot_handler"


def redact(text: str) -> str:
    """``text`` with anything shaped like a Slack token replaced."""
    return TOKEN_PATTERN.sub(REDACTED, text)


def hide_row_values(text: str) -> str:
    """``text`` without the row values of a PostgreSQL error's DETAIL line."""
    return _DB_DETAIL.sub(r"\1[omitted]", text)


class ContextFilter(logging.Filter):
    """Copies the current ``log_context`` fields onto each record (never drops one)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in current_fields().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class LibraryBodyFilter(logging.Filter):
    """Cuts the request body out of the Slack libraries' log lines (never drops a line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _is_library(record.name):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: logging reports it later
            return True
        cut = _LIBRARY_BODY.sub(r"\1[omitted]", message)
        if cut != message:
            record.msg, record.args = cut, None
        return True


def _is_library(name: str) -> bool:
    return any(name == lib or name.startswith(lib + ".") for lib in LIBRARY_LOGGERS)


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
            ("msg", hide_row_values(record.getMessage())),
            *_context(record).items(),
        ]
        if record.exc_info:
            pairs.append(("exc", hide_row_values(self.formatException(record.exc_info))))
        elif record.exc_text:
            pairs.append(("exc", hide_row_values(record.exc_text)))
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
            "msg": hide_row_values(record.getMessage()),
            **_context(record),
        }
        if record.exc_info:
            data["exc"] = hide_row_values(self.formatException(record.exc_info))
        elif record.exc_text:
            data["exc"] = hide_row_values(record.exc_text)
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
        handler.addFilter(LibraryBodyFilter())
    cap_library_loggers(level)
    return True


# The HTTP client of the interview sources logs every request's full URL at INFO,
# and a URL can be a credential (a Zapier hook's path, an ICS feed's secret address).
HTTP_CLIENT_LOGGERS = ("httpx", "httpcore")


def cap_library_loggers(level: int | str) -> None:
    """Set the Slack libraries' loggers to ``level``, but never below INFO.

    The HTTP client's loggers never go below WARNING: its INFO lines carry URLs.
    """
    numeric = logging.getLevelName(level) if isinstance(level, str) else level
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.INFO, int(numeric)))
    for name in HTTP_CLIENT_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, int(numeric)))


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
    handler.addFilter(LibraryBodyFilter())
    setattr(handler, _HANDLER_FLAG, True)
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, _HANDLER_FLAG, False):
            root.removeHandler(old)
            old.close()
    root.addHandler(handler)
    root.setLevel(level)
    cap_library_loggers(level)
    return handler
