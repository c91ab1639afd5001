"""Webhook signatures, checked before a body is parsed, compared in constant time.

One scheme for the bot's own webhooks (incoming ``POST /webhooks/interviews`` and the
outgoing deliveries): ``X-Interview-Bot-Timestamp: <unix seconds>`` and
``X-Interview-Bot-Signature: v1=<hex HMAC-SHA256 of "<timestamp>.<raw body>">``,
refused when older (or newer) than 300 s. Vendors' schemes (Ashby, Greenhouse,
Lever) use :func:`hmac_sha256_hex` and :func:`same` with their own framing.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

__all__ = [
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "WINDOW_SECONDS",
    "header",
    "hmac_sha256_hex",
    "same",
    "sign_v1",
    "verify_v1",
]

TIMESTAMP_HEADER = "X-Interview-Bot-Timestamp"
SIGNATURE_HEADER = "X-Interview-Bot-Signature"
WINDOW_SECONDS = 300


def hmac_sha256_hex(secret: str | bytes, message: bytes) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def same(given: str, expected: str) -> bool:
    """Constant-time comparison of two signature strings (case of hex digits ignored)."""
    return hmac.compare_digest(given.strip().lower().encode(), expected.lower().encode())


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, case-insensitively (WSGI and test clients spell them differently)."""
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def sign_v1(secret: str, body: bytes, *, timestamp: int) -> dict[str, str]:
    """The headers that sign ``body`` with the bot's v1 scheme at ``timestamp``."""
    digest = hmac_sha256_hex(secret, f"{timestamp}.".encode() + body)
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: f"v1={digest}"}


def verify_v1(secret: str, body: bytes, headers: Mapping[str, str], *, now: float) -> bool:
    """Is ``body`` signed with the v1 scheme by ``secret``, within the 300 s window?"""
    stamp = header(headers, TIMESTAMP_HEADER)
    signature = header(headers, SIGNATURE_HEADER)
    if not stamp or not signature or not stamp.strip().isdigit() or len(stamp.strip()) > 12:
        return False
    timestamp = int(stamp.strip())
    if abs(now - timestamp) > WINDOW_SECONDS:
        return False
    scheme, _, given = signature.strip().partition("=")
    if scheme != "v1" or not given:
        return False
    return same(given, hmac_sha256_hex(secret, f"{timestamp}.".encode() + body))
