"""What an incoming webhook endpoint is, for the HTTP server (bot.server) to route to.

The server refuses a body over 1 MiB before reading it (413), reads the raw bytes,
and calls :meth:`WebhookEndpoint.handle` with them and the request headers; the
endpoint checks its signature before parsing anything and answers JSON. An
endpoint whose secret is not configured is not registered, so its path is 404.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["WebhookEndpoint", "WebhookReply", "bad_request", "unauthorized"]


@dataclass(frozen=True)
class WebhookReply:
    status: int
    body: Mapping[str, Any] = field(default_factory=dict)

    def encoded(self) -> bytes:
        return json.dumps(self.body, ensure_ascii=False, sort_keys=True).encode()


class WebhookEndpoint(Protocol):
    path: str  # e.g. "/webhooks/interviews"

    def handle(self, body: bytes, headers: Mapping[str, str]) -> WebhookReply:
        """Answer one request; never raise for bad input (400/401 with a message instead)."""
        ...


def unauthorized(message: str = "missing, wrong or expired signature") -> WebhookReply:
    return WebhookReply(401, {"error": message})


def bad_request(message: str, **extra: Any) -> WebhookReply:
    return WebhookReply(400, {"error": message, **extra})
