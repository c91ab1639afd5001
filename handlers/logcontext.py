"""Fields added to every log record of the current request or sweep unit.

``log_context(request_id=...)`` / ``log_context(job=...)`` set them for a ``with``
block (nested blocks add to and override the outer fields); the logging setup in
``bot.logs`` copies them onto each record. Being ``contextvars``-based, the fields
follow the code into threads only when the thread is started with a copied context
(``bot.app`` does that for Bolt's listener executor, ``bot.server`` for each request).
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType

_EMPTY: Mapping[str, str] = MappingProxyType({})
_fields: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "interview_bot_log_fields", default=_EMPTY
)

# The fields log lines carry, in the order formatters print them.
FIELDS = ("request_id", "job")


def current_fields() -> Mapping[str, str]:
    """The fields in effect here (read-only)."""
    return _fields.get()


def start_log_context(**fields: str) -> None:
    """Replace the fields for the rest of the current context (no ``with`` block).

    For a Slack request, whose middleware cannot wrap the listener: run the request in
    a context of its own (``contextvars.copy_context().run``) so the fields end with it.
    """
    _fields.set(MappingProxyType({k: str(v) for k, v in fields.items()}))


@contextmanager
def log_context(**fields: str) -> Iterator[None]:
    merged = MappingProxyType({**_fields.get(), **{k: str(v) for k, v in fields.items()}})
    token = _fields.set(merged)
    try:
        yield
    finally:
        _fields.reset(token)
