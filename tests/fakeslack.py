"""The fake Slack Web API now lives in ``bot.fakeslack`` (the demo uses it too); re-exported here."""

from __future__ import annotations

from bot.fakeslack import (
    TRIGGER_TTL_SECONDS,
    Call,
    FakeSlack,
    Fault,
    Handler,
    Message,
    running_fake,
)

__all__ = [
    "TRIGGER_TTL_SECONDS",
    "Call",
    "FakeSlack",
    "Fault",
    "Handler",
    "Message",
    "running_fake",
]
