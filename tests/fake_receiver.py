"""A customer's webhook receiver on loopback, for the outgoing webhooks' tests.

It does what docs/sources/outgoing-webhooks.md tells a receiver to do: verify
the v1 signature over the raw body against its own clock
(sources.signatures.verify_v1), refuse a bad one with 401, and de-duplicate by
the delivery id. Tests script its answers (``answers``: statuses, with optional
headers, used in order, then 200) and can take it down (connection refused) and
bring it back on the same port.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sources.signatures import verify_v1

SECRET = "outgoing-secret-for-tests-0123456789"


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    status: int  # what the receiver answered

    @property
    def delivery_id(self) -> str:
        return self.headers.get("X-Interview-Bot-Delivery", "")

    @property
    def event(self) -> str:
        return self.headers.get("X-Interview-Bot-Event", "")

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeReceiver:
    secret: str = SECRET
    path: str = "/hooks/interview-bot"
    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    kept: dict[str, Received] = field(default_factory=dict)  # by delivery id, de-duplicated
    port: int = 0
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def answer(self, *statuses: int, headers: dict[str, str] | None = None) -> None:
        """Answer the next requests with these statuses (then 200 again)."""
        self.answers.extend((status, dict(headers or {})) for status in statuses)

    def start(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), _handler(self))
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Close the listening socket: the next delivery gets connection refused."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _record(self, request: Received) -> tuple[int, dict[str, str]]:
        with self._lock:
            status, headers = self.answers.pop(0) if self.answers else (200, {})
            if not request.verified:
                status, headers = 401, {}
            kept = Received(request.path, request.headers, request.body, request.verified, status)
            self.received.append(kept)
            if 200 <= status < 300:
                self.kept.setdefault(kept.delivery_id, kept)  # a replay changes nothing
            return status, headers


def _handler(receiver: FakeReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = {k: v for k, v in self.headers.items()}
            verified = self.path == receiver.path and verify_v1(
                receiver.secret, body, headers, now=time.time()
            )
            status, extra = receiver._record(Received(self.path, headers, body, verified, 0))
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def running_receiver(secret: str = SECRET) -> Iterator[FakeReceiver]:
    receiver = FakeReceiver(secret=secret)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()
