"""A loopback Lever API (v1) for tests, built from the documented shapes (tests/fixtures/lever).

Serves ``GET /v1/opportunities/:id/interviews/:id``, ``/v1/opportunities/:id``,
``/v1/postings/:id`` and ``/v1/feedback_templates/:id`` with Basic auth (the API
key as the user name), 404 for what it does not hold, and faults on demand:
``fail_with(503, times=2, path="/postings/")`` answers the next two such requests so,
``hang = True`` stops answering (the client's timeout must fire). Also builds
signed webhook bodies the way Lever signs them.
"""

from __future__ import annotations

import base64
import copy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sources.lever_events import signature_for

FIXTURES = Path(__file__).parent / "fixtures" / "lever"
API_KEY = "lever-test-api-key"
SIGNATURE_TOKEN = "lever-test-signature-token"


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return loaded


def webhook_body(
    event: str,
    *,
    token: str,
    triggered_at: int = 1772361000000,
    data: dict[str, Any] | None = None,
    secret: str = SIGNATURE_TOKEN,
    signature: str | None = None,
) -> bytes:
    """A webhook body as Lever sends it, signed with ``secret`` unless ``signature`` is given."""
    base = fixture("webhook_interview_created.json")
    payload = {
        "triggeredAt": triggered_at,
        "event": event,
        "signature": signature or signature_for(secret, token, triggered_at),
        "token": token,
        "data": base["data"] if data is None else data,
    }
    return json.dumps(payload).encode()


class FakeLever:
    """The fixtures' interview, opportunity, posting and form, editable by the tests."""

    def __init__(self) -> None:
        self.interviews: dict[tuple[str, str], dict[str, Any]] = {}
        self.opportunities: dict[str, dict[str, Any]] = {}
        self.postings: dict[str, dict[str, Any]] = {}
        self.templates: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        self.hang = False
        self._faults: list[tuple[int, str]] = []
        self._lock = threading.Lock()
        self._released = threading.Event()
        self.load_fixtures()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    # -- state -------------------------------------------------------------------------
    def load_fixtures(self) -> None:
        interview = fixture("interview.json")["data"]
        opportunity = fixture("opportunity.json")["data"]
        self.interviews[(opportunity["id"], interview["id"])] = interview
        self.opportunities[opportunity["id"]] = opportunity
        posting = fixture("posting.json")["data"]
        self.postings[posting["id"]] = posting
        template = fixture("feedback_template.json")["data"]
        self.templates[template["id"]] = template

    @property
    def interview(self) -> dict[str, Any]:
        """The fixtures' interview (edit it in place to change what Lever answers)."""
        return next(iter(self.interviews.values()))

    def delete_interview(self) -> None:
        self.interviews.clear()

    def fail_with(self, status: int, *, times: int = 1, path: str = "") -> None:
        """Answer the next ``times`` requests (whose path holds ``path``) with ``status``."""
        with self._lock:
            self._faults.extend([(status, path)] * times)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def close(self) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()

    # -- serving -----------------------------------------------------------------------
    def _answer(self, path: str, authorization: str | None) -> tuple[int, Any]:
        expected = "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()
        if authorization != expected:
            return 401, {"code": "Unauthorized", "message": "Invalid API key"}
        with self._lock:
            for i, (status, part) in enumerate(self._faults):
                if part in path:
                    del self._faults[i]
                    return status, {"code": "Fault", "message": "injected"}
        parts = [part for part in urlsplit(path).path.split("/") if part]
        record = self._lookup(parts)
        if record is None:
            return 404, {"code": "ResourceNotFound", "message": "not found"}
        return 200, {"data": copy.deepcopy(record)}

    def _lookup(self, parts: list[str]) -> dict[str, Any] | None:
        match parts:
            case ["v1", "opportunities", opportunity, "interviews", interview]:
                return self.interviews.get((opportunity, interview))
            case ["v1", "opportunities", opportunity]:
                return self.opportunities.get(opportunity)
            case ["v1", "postings", posting]:
                return self.postings.get(posting)
            case ["v1", "feedback_templates", template]:
                return self.templates.get(template)
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.requests.append(self.path)
                if fake.hang:
                    fake._released.wait(30)
                    return
                status, body = fake._answer(self.path, self.headers.get("Authorization"))
                encoded = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(encoded)))
                self.end_headers()
                self.wfile.write(encoded)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


@contextmanager
def fake_lever() -> Iterator[FakeLever]:
    fake = FakeLever()
    try:
        yield fake
    finally:
        fake.close()
