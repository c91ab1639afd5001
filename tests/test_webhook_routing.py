"""POST /webhooks/<name>: routing, the 1 MiB limit before reading, headers, JSON answers."""

from __future__ import annotations

import io
import json
from collections.abc import Mapping
from typing import Any

import pytest
from slack_bolt import App
from sqlalchemy.engine import Engine

from bot.server import MAX_BODY_BYTES, BotWsgiApp
from sources.signatures import sign_v1, verify_v1
from sources.webhooks import WebhookReply


class Echo:
    path = "/webhooks/echo"

    def __init__(self) -> None:
        self.seen: list[tuple[bytes, dict[str, str]]] = []

    def handle(self, body: bytes, headers: Mapping[str, str]) -> WebhookReply:
        self.seen.append((body, dict(headers)))
        return WebhookReply(200, {"bytes": len(body)})


class Stream(io.BytesIO):
    """A request body that records how much of it was read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.taken = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.taken += len(chunk)
        return chunk


def call(
    wsgi: BotWsgiApp, path: str, body: bytes, *, method: str = "POST", length: bool = True
) -> tuple[str, dict[str, Any], Stream]:
    stream = Stream(body)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "wsgi.input": stream,
        "CONTENT_TYPE": "application/json",
        "HTTP_X_VENDOR_SIGNATURE": "sha256=abc",
    }
    if length:
        environ["CONTENT_LENGTH"] = str(len(body))
    statuses: list[str] = []
    chunks = wsgi(environ, lambda status, _headers: statuses.append(status))
    return statuses[0], json.loads(b"".join(chunks) or b"{}"), stream


@pytest.fixture
def wsgi(engine: Engine) -> tuple[BotWsgiApp, Echo]:
    app = App(token="xoxb-test", signing_secret="s", token_verification_enabled=False)
    echo = Echo()
    return BotWsgiApp(app, engine, [echo]), echo


def test_a_registered_endpoint_gets_the_raw_body_and_the_headers(
    wsgi: tuple[BotWsgiApp, Echo],
) -> None:
    app, echo = wsgi
    status, body, _ = call(app, "/webhooks/echo", b'{"a": 1}')
    assert status == "200 OK" and body == {"bytes": 8}
    [(raw, headers)] = echo.seen
    assert raw == b'{"a": 1}'
    assert headers["X-Vendor-Signature"] == "sha256=abc"
    assert headers["Content-Type"] == "application/json"


def test_unknown_endpoints_and_other_methods_are_404(wsgi: tuple[BotWsgiApp, Echo]) -> None:
    app, echo = wsgi
    assert call(app, "/webhooks/interviews", b"{}")[0] == "404 Not Found"
    assert call(app, "/webhooks/echo", b"", method="GET")[0] == "404 Not Found"
    assert echo.seen == []


def test_a_body_over_one_mib_is_refused_before_it_is_read(wsgi: tuple[BotWsgiApp, Echo]) -> None:
    app, echo = wsgi
    status, body, stream = call(app, "/webhooks/echo", b"x" * (MAX_BODY_BYTES + 1))
    assert status == "413 Request Entity Too Large" and "1 MiB" in body["error"]
    assert stream.taken == 0
    # Without a Content-Length, at most one byte past the limit is read.
    status, _, stream = call(app, "/webhooks/echo", b"x" * (3 * MAX_BODY_BYTES), length=False)
    assert status == "413 Request Entity Too Large"
    assert stream.taken == MAX_BODY_BYTES + 1
    assert echo.seen == []


def test_the_v1_signature_round_trip_and_its_window() -> None:
    body = b'{"interviews": []}'
    headers = sign_v1("secret", body, timestamp=1_800_000_000)
    assert verify_v1("secret", body, headers, now=1_800_000_000 + 299)
    assert not verify_v1("secret", body, headers, now=1_800_000_000 + 301)
    assert not verify_v1("secret", body, headers, now=1_800_000_000 - 301)
    assert not verify_v1("other", body, headers, now=1_800_000_000)
    assert not verify_v1("secret", body + b" ", headers, now=1_800_000_000)
    lowered = {k.lower(): v for k, v in headers.items()}
    assert verify_v1("secret", body, lowered, now=1_800_000_000)  # header names any case
    broken = dict(headers, **{"X-Interview-Bot-Signature": "v0=" + "0" * 64})
    assert not verify_v1("secret", body, broken, now=1_800_000_000)
    assert not verify_v1("secret", body, {}, now=1_800_000_000)
