"""A fake Ashby API on 127.0.0.1:<ephemeral>, answering the documented endpoints.

RPC style as Ashby's reference describes it: ``POST /<category>.<method>`` with a
JSON body, Basic auth with the API key as user name and an empty password (401
without it, 403 with a wrong one), ``{"success": true, "results": ...}`` or HTTP
200 with ``success: false`` and ``errorInfo``. Records are seeded from the JSON
fixtures in tests/fixtures/ashby/. Every call is recorded; faults (a status, a
body, a delay) can be queued per method.
"""

from __future__ import annotations

import base64
import copy
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures" / "ashby"
API_KEY = "ashby-test-key"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return data


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    authorization: str | None


@dataclass
class Fault:
    status: int = 500
    body: dict[str, Any] = field(default_factory=lambda: {"error": "internal"})
    delay: float = 0.0
    times: int = 1


def _not_found(code: str) -> dict[str, Any]:
    return {"success": False, "errorInfo": {"code": code, "message": code, "requestId": "r1"}}


class FakeAshby:
    """Applications, candidates, jobs, interviews and users by id, and a call log."""

    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.calls: list[Call] = []
        self.faults: dict[str, list[Fault]] = {}
        self.applications: dict[str, dict[str, Any]] = {}
        self.candidates: dict[str, dict[str, Any]] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.interviews: dict[str, dict[str, Any]] = {}
        self.users: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.seed_fixtures()

    # -- data --------------------------------------------------------------
    def seed_fixtures(self) -> None:
        application = fixture("application_info.json")["results"]
        self.applications[application["id"]] = application
        candidate = application["candidate"]
        self.candidates[candidate["id"]] = dict(candidate)
        job = application["job"]
        self.jobs[job["id"]] = dict(job)
        interview = fixture("interview_info.json")["results"]
        self.interviews[interview["id"]] = interview
        second = dict(interview, id="a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", title="System Design")
        self.interviews[second["id"]] = second
        user = fixture("user_info.json")["results"]
        self.users[user["id"]] = user

    def fail(self, method: str, fault: Fault) -> None:
        with self._lock:
            self.faults.setdefault(method, []).append(fault)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    # -- endpoints ---------------------------------------------------------
    def answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        tables: dict[str, tuple[dict[str, dict[str, Any]], str, str]] = {
            "application.info": (self.applications, "applicationId", "application_not_found"),
            "candidate.info": (self.candidates, "id", "candidate_not_found"),
            "job.info": (self.jobs, "id", "job_not_found"),
            "interview.info": (self.interviews, "id", "interview_not_found"),
            "user.info": (self.users, "userId", "user_not_found"),
        }
        if method not in tables:
            return _not_found("endpoint_not_found")
        table, key, missing = tables[method]
        with self._lock:
            record = table.get(str(params.get(key)))
            if record is None:
                return _not_found(missing)
            return {"success": True, "results": copy.deepcopy(record)}

    def _authorized(self, header: str | None) -> int | None:
        """None when the key is right; else the status Ashby documents (401 missing, 403 wrong)."""
        if not header or not header.startswith("Basic "):
            return 401
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return 403
        return None if (user == self.api_key and password == "") else 403

    def _next_fault(self, method: str) -> Fault | None:
        with self._lock:
            queue = self.faults.get(method) or self.faults.get("*")
            if not queue:
                return None
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
            return fault

    # -- server ------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "start() first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeAshby:
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                method = self.path.lstrip("/")
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    params = json.loads(raw or b"{}")
                except ValueError:
                    params = {}
                authorization = self.headers.get("Authorization")
                with fake._lock:
                    fake.calls.append(Call(method, dict(params), authorization))
                fault = fake._next_fault(method)
                if fault is not None:
                    if fault.delay:
                        time.sleep(fault.delay)
                    self._reply(fault.status, fault.body)
                    return
                refused = fake._authorized(authorization)
                if refused is not None:
                    self._reply(refused, {"success": False, "errors": ["unauthorized"]})
                    return
                self._reply(200, fake.answer(method, params))

            def _reply(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (a timeout test)
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@contextmanager
def running_fake_ashby() -> Iterator[FakeAshby]:
    fake = FakeAshby().start()
    try:
        yield fake
    finally:
        fake.stop()
