"""Lever's webhook envelope: verified before anything in it is believed.

Lever puts its signature inside the JSON body, not in a header: ``{"triggeredAt":
<ms>, "event": ..., "token": ..., "signature": ..., "data": {...}}``, where
``signature`` is the hex HMAC-SHA256 of ``token + triggeredAt`` keyed by the
webhook's signature token (Lever's "Verifying webhooks"). So the body is parsed
once (the server has already bounded it to 1 MiB), only the three signed fields
are read, and nothing else (``event``, ``data``) is looked at unless the signature
matches one of the configured tokens (Lever gives each webhook its own token).

The signature covers ``token`` and ``triggeredAt`` but not ``data``: the bot
therefore believes only the ids in ``data`` and fetches the interview itself from
Lever's API, and a ``token`` is taken in once (storage.webhook_events), so a
captured request cannot be replayed with other ids. Lever documents no freshness
window for ``triggeredAt`` and retries failed deliveries later, so a delivery is
not refused for its age.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sources.signatures import hmac_sha256_hex, same

__all__ = [
    "HANDLED_EVENTS",
    "LeverEvent",
    "Malformed",
    "SignedEnvelope",
    "parse_event",
    "read_envelope",
    "verified",
]

HANDLED_EVENTS = frozenset({"interviewCreated", "interviewUpdated", "interviewDeleted"})

# Lever ids are UUIDs; anything else must never reach a URL path of its API.
_LEVER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")
_TOKEN_MAX = 128  # webhook_events.event_id is 128 characters
_SIGNATURE_MAX = 128
_EVENT_MAX = 64


class Malformed(ValueError):
    """A signed payload that is not what Lever documents (answered 400)."""


@dataclass(frozen=True)
class SignedEnvelope:
    """The parsed body and the three fields the signature is about."""

    token: str
    triggered_at: str  # as it is signed: the decimal digits of the ms timestamp
    signature: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class LeverEvent:
    """A verified interview event: which interview of which opportunity."""

    event: str
    token: str  # unique per delivery: the de-duplication key
    opportunity_id: str
    interview_id: str

    @property
    def external_id(self) -> str:
        return f"lever:{self.interview_id}"


def read_envelope(body: bytes) -> SignedEnvelope | None:
    """The signed fields of ``body``, or None when it has none that could be checked."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested past the stack
        return None
    if not isinstance(payload, dict):
        return None
    token: Any = payload.get("token")
    signature: Any = payload.get("signature")
    stamp = payload.get("triggeredAt")
    if not _ascii(token, _TOKEN_MAX) or not _ascii(signature, _SIGNATURE_MAX):
        return None
    if isinstance(stamp, bool) or not isinstance(stamp, int | str):
        return None
    triggered_at = str(stamp)
    if not triggered_at.isascii() or not triggered_at.isdigit() or len(triggered_at) > 16:
        return None
    return SignedEnvelope(token, triggered_at, signature, payload)


def _ascii(value: object, longest: int) -> bool:
    # Lever's tokens and signatures are ASCII; anything else (a lone surrogate) cannot be hashed.
    return isinstance(value, str) and 0 < len(value) <= longest and value.isascii()


def signature_for(secret: str, token: str, triggered_at: int | str) -> str:
    """Lever's signature: hex HMAC-SHA256 of ``token + triggeredAt`` keyed by ``secret``."""
    return hmac_sha256_hex(secret, f"{token}{triggered_at}".encode())


def verified(envelope: SignedEnvelope | None, secrets: Sequence[str]) -> bool:
    """Does the envelope's signature match one of ``secrets`` (each compared in constant time)?"""
    if envelope is None or not secrets:
        return False
    matched = False
    for secret in secrets:  # no early exit: the time does not say which token matched
        expected = signature_for(secret, envelope.token, envelope.triggered_at)
        matched = same(envelope.signature, expected) or matched
    return matched


def parse_event(envelope: SignedEnvelope) -> str | LeverEvent:
    """The verified event: a LeverEvent for the interview events, else the event's name.

    Raises:
        Malformed: with a message naming the field, for a payload Lever would not send.
    """
    event = envelope.payload.get("event")
    if not isinstance(event, str) or not 0 < len(event) <= _EVENT_MAX:
        raise Malformed("event: expected the event's name, a string")
    if event not in HANDLED_EVENTS:
        return event
    data = envelope.payload.get("data")
    if not isinstance(data, dict):
        raise Malformed("data: expected an object")
    return LeverEvent(
        event=event,
        token=envelope.token,
        opportunity_id=_lever_id(data, "opportunityId"),
        interview_id=_lever_id(data, "interviewId"),
    )


def _lever_id(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not _LEVER_ID.match(value):
        raise Malformed(f"data.{key}: expected a Lever id")
    return value
