"""Slack-signed requests into the bot, shaped like the payloads Slack sends.

Shapes follow bolt-python's scenario tests and Slack's reference payloads. Each
builder returns (body bytes, content type); ``post`` signs and sends over real HTTP.
Used by the tests and by ``interview-bot demo`` (both talk to a bot on loopback).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

TEAM = {"id": "T0TEAM", "domain": "test"}


@dataclass
class Reply:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    if not secret:
        raise ValueError("cannot sign a request without a signing secret")
    try:
        signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body.decode())
    except UnicodeDecodeError:
        # Not text (a garbled body for a test): the same HMAC over the raw bytes.
        digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256)
        signature = "v0=" + digest.hexdigest()
    assert signature is not None
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def post(
    url: str,
    body: bytes,
    content_type: str,
    *,
    secret: str | None,
    headers: dict[str, str] | None = None,
    timestamp: int | None = None,
    timeout: float = 10,
) -> Reply:
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an HTTP URL: {url!r}")
    all_headers = {"Content-Type": content_type, **(headers or {})}
    if secret is not None:
        all_headers.update(sign(secret, body, timestamp))
    request = urllib.request.Request(url, data=body, headers=all_headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return Reply(response.status, response.read())
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, exc.read())


def interactive(payload: dict[str, Any]) -> tuple[bytes, str]:
    return urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"


def block_action(
    user: str,
    action_id: str,
    value: str,
    *,
    trigger_id: str,
    container: dict[str, Any] | None = None,
) -> tuple[bytes, str]:
    return interactive(
        {
            "type": "block_actions",
            "team": TEAM,
            "user": {"id": user, "username": user.lower(), "team_id": TEAM["id"]},
            "api_app_id": "A0APP",
            "token": "legacy-verification-token",
            "trigger_id": trigger_id,
            "container": container
            or {"type": "message", "channel_id": f"D{user}", "message_ts": "1.0"},
            "channel": {"id": f"D{user}", "name": "directmessage"},
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "actions",
                    "value": value,
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
    )


def view_submission(
    user: str,
    view: dict[str, Any],
    values: dict[str, dict[str, dict[str, Any]]],
    *,
    trigger_id: str = "",
) -> tuple[bytes, str]:
    submitted = {
        **view,
        "id": view.get("id", "V0VIEW"),
        "team_id": TEAM["id"],
        "state": {"values": values},
        "hash": view.get("hash", "h0"),
    }
    return interactive(
        {
            "type": "view_submission",
            "team": TEAM,
            "user": {"id": user, "username": user.lower(), "team_id": TEAM["id"]},
            "api_app_id": "A0APP",
            "token": "legacy-verification-token",
            "trigger_id": trigger_id,
            "view": submitted,
        }
    )


def slash_command(
    user: str, text: str, *, trigger_id: str, command: str = "/interview"
) -> tuple[bytes, str]:
    body = urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": TEAM["id"],
            "team_domain": TEAM["domain"],
            "channel_id": "C0SOMEWHERE",
            "channel_name": "somewhere",
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0APP",
            "response_url": "http://127.0.0.1:9/unused",
            "trigger_id": trigger_id,
        }
    ).encode()
    return body, "application/x-www-form-urlencoded"


def event(event_body: dict[str, Any], *, event_id: str | None = None) -> tuple[bytes, str]:
    body = {
        "token": "legacy-verification-token",
        "team_id": TEAM["id"],
        "api_app_id": "A0APP",
        "event": event_body,
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM["id"], "user_id": "U0BOT", "is_bot": True}],
    }
    return json.dumps(body).encode(), "application/json"


def app_home_opened(user: str) -> tuple[bytes, str]:
    return event({"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home"})
