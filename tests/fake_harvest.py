"""A fake Greenhouse (Harvest v3 API and its OAuth token endpoint) on 127.0.0.1.

Built from the documented shapes (tests/fixtures/greenhouse/README.md):
``POST /token`` (HTTP Basic client id and secret, ``grant_type=client_credentials``)
issues bearer tokens; ``GET /v3/interviews`` filters by ``updated_at`` /
``starts_at`` (``gte|<ISO>``) and pages with an opaque ``cursor`` in the ``Link``
header (a cursor request takes no other parameter, as v3 requires);
``GET /v3/applications|candidates|jobs|job_interviews`` filter by ``ids``.

Faults: :meth:`FakeHarvest.fail_next` answers the next matching requests with a
status (a 429 with ``Retry-After``, a 500); :meth:`FakeHarvest.expire_tokens`
makes every issued token stale, so the next call gets a 401.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

CLIENT_ID = "gh-client-id"
CLIENT_SECRET = "gh-client-secret"
LISTS = ("applications", "candidates", "jobs", "job_interviews")


@dataclass
class Fault:
    status: int
    path: str  # a path prefix: "/v3/interviews", "/token", "/v3"
    retry_after: int | None = None
    times: int = 1
    skip: int = 0  # matching requests answered normally first (e.g. a later page fails)


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    authorization: str | None


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@dataclass
class FakeHarvest:
    interviews: dict[int, dict[str, Any]] = field(default_factory=dict)
    records: dict[str, dict[int, dict[str, Any]]] = field(
        default_factory=lambda: {kind: {} for kind in LISTS}
    )
    faults: list[Fault] = field(default_factory=list)
    requests: list[Seen] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)
    token_forms: list[dict[str, list[str]]] = field(default_factory=list)  # what /token got
    issued: int = 0
    token_lifetime: int = 3600
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- the server --------------------------------------------------------------------
    def start(self) -> FakeHarvest:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                fake._serve(self, "POST")

            def do_GET(self) -> None:
                fake._serve(self, "GET")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def token_url(self) -> str:
        return f"{self.url}/token"

    # -- test controls -----------------------------------------------------------------
    def fail_next(
        self,
        status: int,
        *,
        path: str = "/v3",
        retry_after: int | None = None,
        times: int = 1,
        skip: int = 0,
    ) -> None:
        with self._lock:
            self.faults.append(Fault(status, path, retry_after, times, skip))

    def expire_tokens(self) -> None:
        with self._lock:
            self.tokens.clear()

    def put_interview(self, record: dict[str, Any]) -> None:
        with self._lock:
            self.interviews[int(record["id"])] = json.loads(json.dumps(record))

    def delete_interview(self, interview_id: int) -> None:
        with self._lock:
            self.interviews.pop(interview_id, None)

    def put(self, kind: str, record: dict[str, Any]) -> None:
        with self._lock:
            self.records[kind][int(record["id"])] = json.loads(json.dumps(record))

    def calls(self, path: str) -> list[Seen]:
        return [seen for seen in self.requests if seen.path == path]

    @contextmanager
    def running(self) -> Iterator[FakeHarvest]:
        self.start()
        try:
            yield self
        finally:
            self.stop()

    # -- request handling --------------------------------------------------------------
    def _serve(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        query = parse_qs(parts.query, keep_blank_values=True)
        auth = handler.headers.get("Authorization")
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        with self._lock:
            self.requests.append(Seen(method, parts.path, query, auth))
            fault = self._take_fault(parts.path)
        if fault is not None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
            return _reply(handler, fault.status, {"error": "injected"}, headers)
        if method == "POST" and parts.path == "/token":
            return self._token(handler, auth, body)
        if method != "GET" or not parts.path.startswith("/v3/"):
            return _reply(handler, 404, {"error": "not found"})
        with self._lock:
            valid = auth is not None and auth.removeprefix("Bearer ") in self.tokens
        if not valid:
            return _reply(handler, 401, {"error": "invalid_token"})
        kind = parts.path.removeprefix("/v3/")
        if kind == "interviews":
            return self._list(handler, query, self._interviews)
        if kind in LISTS:
            return self._list(handler, query, lambda q: self._by_ids(kind, q))
        return _reply(handler, 404, {"error": "not found"})

    def _take_fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if path.startswith(fault.path):
                if fault.skip > 0:
                    fault.skip -= 1
                    return None
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def _token(self, handler: BaseHTTPRequestHandler, auth: str | None, body: bytes) -> None:
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        form = parse_qs(body.decode())
        with self._lock:
            self.token_forms.append(form)
        if auth != f"Basic {expected}":
            return _reply(handler, 401, {"error": "invalid_client"})
        if form.get("grant_type") != ["client_credentials"]:
            return _reply(handler, 400, {"error": "unsupported_grant_type"})
        with self._lock:
            self.issued += 1
            token = f"token-{self.issued}"
            self.tokens.add(token)
        return _reply(
            handler,
            200,
            {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime},
        )

    def _interviews(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        with self._lock:
            items = [json.loads(json.dumps(i)) for i in self.interviews.values()]
        for key, field_name in (("updated_at", "updated_at"), ("starts_at", "starts_at")):
            for value in query.get(key, []):
                op, _, moment = value.partition("|")
                if op != "gte":
                    raise ValueError(f"unsupported operator {op}")
                bound = _parse(moment)
                items = [i for i in items if i.get(field_name) and _parse(i[field_name]) >= bound]
        return sorted(items, key=lambda i: (i.get("updated_at") or "", i["id"]))

    def _by_ids(self, kind: str, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        wanted = {int(x) for v in query.get("ids", []) for x in v.split(",") if x.strip()}
        with self._lock:
            records = self.records[kind]
            return [records[i] for i in sorted(records) if not wanted or i in wanted]

    def _list(
        self, handler: BaseHTTPRequestHandler, query: dict[str, list[str]], find: Any
    ) -> None:
        if "cursor" in query:
            if len(query) != 1:
                return _reply(handler, 422, {"error": "cursor must be the only parameter"})
            state = json.loads(base64.urlsafe_b64decode(query["cursor"][0]))
            query, offset = state["query"], state["offset"]
        else:
            offset = 0
        try:
            per_page = int(query.get("per_page", ["100"])[0])
            items = find(query)
        except ValueError as exc:
            return _reply(handler, 422, {"error": str(exc)})
        if not 1 <= per_page <= 500:
            return _reply(handler, 422, {"error": "per_page must be 1 to 500"})
        page = items[offset : offset + per_page]
        headers = {}
        if offset + per_page < len(items):
            cursor = base64.urlsafe_b64encode(
                json.dumps({"query": query, "offset": offset + per_page}).encode()
            ).decode()
            path = urlsplit(handler.path).path
            headers["Link"] = f'<{self.url}{path}?cursor={cursor}>; rel="next"'
        return _reply(handler, 200, page, headers)


def _reply(
    handler: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str] | None = None
) -> None:
    data = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(data)
