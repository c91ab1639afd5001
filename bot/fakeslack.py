"""A fake Slack Web API on loopback, the way bolt-python tests itself.

One fake serves the tests and ``interview-bot demo`` (no Slack account, no network).

A real ``ThreadingHTTPServer`` bound to 127.0.0.1 on an ephemeral port records
every call (method, arguments) and answers as Slack does. Tests (and the
demo) point ``SLACK_API_URL`` at ``fake.url`` and assert on ``fake.calls``.

Every message and view the bot sends is validated with slack_sdk's models plus
the limits slack_sdk misses (``handlers.blocks.limits``); an invalid payload is
answered ``invalid_blocks`` like Slack would, and recorded in ``fake.rejected``
so a test can fail on it. Trigger ids are single use and expire after 3 s.

Faults: ``fail(method, Fault)`` fails the next calls of one method;
``outage(Outage(...))`` takes the whole workspace down (every method and file
upload answers HTTP 5xx, or drops the connection unanswered) until ``recover()``.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

Handler = Callable[[dict[str, Any]], dict[str, Any]]
TRIGGER_TTL_SECONDS = 3.0


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str | None


@dataclass
class Fault:
    """A canned failure for the next ``times`` calls of one method."""

    status: int = 200
    body: dict[str, Any] = field(default_factory=lambda: {"ok": False, "error": "internal_error"})
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    delay: float = 0.0
    skip: int = 0  # let this many calls of the method through first


@dataclass
class Outage:
    """Slack down: every call fails, and does nothing, until ``FakeSlack.recover()``.

    A failed call answers HTTP ``status`` with ``body`` or, with ``disconnect``,
    has its connection closed without an answer (what a client sees when Slack
    or a proxy in between drops it). The first ``after`` calls are still answered
    normally, so an outage can begin in the middle of a sweep.
    """

    status: int = 500
    body: dict[str, Any] = field(default_factory=lambda: {"ok": False, "error": "internal_error"})
    disconnect: bool = False
    after: int = 0


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)  # earlier versions


class FakeSlack:
    """A Slack workspace in a thread: users, channels, messages, views and a call log."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.users: dict[str, dict[str, Any]] = {}
        self.messages: list[Message] = []
        self.ephemerals: list[dict[str, Any]] = []
        self.views: dict[str, dict[str, Any]] = {}  # view id -> view
        self.home: dict[str, dict[str, Any]] = {}  # user id -> published home view
        self.rejected: list[tuple[str, list[str]]] = []  # (method, problems)
        self.faults: dict[str, list[Fault]] = {}
        self.down: Outage | None = None
        self.outage_calls: list[Call] = []  # calls the outage failed (also in ``calls``)
        self._triggers: dict[str, float] = {}
        self._used_triggers: set[str] = set()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.handlers: dict[str, Handler] = {
            "auth.test": lambda _a: {
                "ok": True,
                "team_id": "T0TEAM",
                "user_id": "U0BOT",
                "bot_id": "B0BOT",
                "team": "Test",
                "user": "interview-bot",
                "url": "https://test.slack.com/",
            },
            "users.lookupByEmail": self._lookup_by_email,
            "users.info": self._users_info,
            "conversations.open": self._conversations_open,
            "chat.postMessage": self._post_message,
            "chat.update": self._update_message,
            "chat.postEphemeral": self._post_ephemeral,
            "views.open": self._views_open,
            "views.push": self._views_push,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "usergroups.users.list": self._usergroup_members,
            "files.getUploadURLExternal": self._upload_url,
            "files.completeUploadExternal": self._complete_upload,
        }
        self.pending_uploads: dict[str, dict[str, Any]] = {}
        self.uploads: list[
            dict[str, Any]
        ] = []  # completed: file_id, filename, content, channel, thread_ts
        self.usergroups: dict[str, list[str]] = {}

    # -- workspace ---------------------------------------------------------
    def add_user(
        self,
        user_id: str,
        email: str | None = None,
        tz: str = "UTC",
        *,
        real_name: str | None = None,
    ) -> None:
        self.users[user_id] = {
            "id": user_id,
            "name": user_id.lower(),
            "tz": tz,
            "profile": {"email": email, "real_name": real_name or user_id},
        }

    def issue_trigger(self) -> str:
        """A trigger id as Slack puts in an interaction payload: valid 3 s, single use."""
        trigger = f"{next(self._ids)}.trigger.{time.monotonic_ns()}"
        with self._lock:
            self._triggers[trigger] = time.monotonic()
        return trigger

    def dm_channel(self, user_id: str) -> str:
        return f"D{user_id}"

    def messages_in(self, channel: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m.channel == channel]

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def fail(self, method: str, fault: Fault) -> None:
        with self._lock:
            self.faults.setdefault(method, []).append(fault)

    def outage(self, outage: Outage | None = None) -> Outage:
        """Take Slack down (HTTP 500 unless ``outage`` says otherwise) until ``recover()``."""
        with self._lock:
            self.down = outage or Outage()
            return self.down

    def recover(self) -> None:
        with self._lock:
            self.down = None

    def _in_outage(self, method: str, args: dict[str, Any], token: str | None) -> Outage | None:
        """The outage that fails this call (recorded), or None to answer it normally."""
        with self._lock:
            down = self.down
            if down is None:
                return None
            if down.after > 0:
                down.after -= 1
                return None
            call = Call(method, args, token)
            self.calls.append(call)
            self.outage_calls.append(call)
            return down

    # -- methods -------------------------------------------------------------
    def _lookup_by_email(self, args: dict[str, Any]) -> dict[str, Any]:
        email = str(args.get("email", "")).lower()
        for user in self.users.values():
            if (user["profile"].get("email") or "").lower() == email:
                return {"ok": True, "user": user}
        return {"ok": False, "error": "users_not_found"}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args.get("user")))
        return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}

    def _usergroup_members(self, args: dict[str, Any]) -> dict[str, Any]:
        group = str(args.get("usergroup", ""))
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": self.usergroups[group]}

    def _upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F{next(self._ids):08d}"
        self.pending_uploads[file_id] = {
            "file_id": file_id,
            "filename": args.get("filename"),
            "length": int(args.get("length") or 0),
            "content": None,
        }
        return {
            "ok": True,
            "file_id": file_id,
            "upload_url": f"{self.url[: -len('api/')]}upload/{file_id}",
        }

    def receive_upload(self, file_id: str, content: bytes) -> int:
        with self._lock:
            pending = self.pending_uploads.get(file_id)
            if pending is None:
                return 404
            pending["content"] = content
            return 200

    def _complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        files = json.loads(files) if isinstance(files, str) else list(files or [])
        done = []
        for entry in files:
            pending = self.pending_uploads.pop(str(entry.get("id")), None)
            if pending is None or pending["content"] is None:
                return {"ok": False, "error": "file_not_found"}
            self.uploads.append(
                {
                    **pending,
                    "title": entry.get("title"),
                    "channel": args.get("channel_id"),
                    "thread_ts": args.get("thread_ts"),
                }
            )
            done.append({"id": pending["file_id"], "title": entry.get("title")})
        return {"ok": True, "files": done}

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = str(args.get("users", ""))
        if not users or any(u not in self.users for u in users.split(",")):
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "channel": {"id": self.dm_channel(users.split(",")[0])}}

    def _blocks_of(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        blocks = args.get("blocks") or []
        return json.loads(blocks) if isinstance(blocks, str) else list(blocks)

    def _check_message(self, method: str, args: dict[str, Any]) -> dict[str, Any] | None:
        from handlers.blocks.limits import BlockKitError, check_message

        try:
            check_message(args.get("text"), self._blocks_of(args))
        except BlockKitError as exc:
            self.rejected.append((method, exc.problems))
            return {"ok": False, "error": "invalid_blocks", "errors": exc.problems}
        return None

    def _check_view(self, method: str, view: Any) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        from handlers.blocks.limits import BlockKitError, check_view

        parsed = json.loads(view) if isinstance(view, str) else dict(view or {})
        try:
            check_view(parsed)
        except BlockKitError as exc:
            self.rejected.append((method, exc.problems))
            return {"ok": False, "error": "invalid_arguments", "errors": exc.problems}, parsed
        return None, parsed

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        if (error := self._check_message("chat.postMessage", args)) is not None:
            return error
        channel = str(args.get("channel", ""))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        ts = f"{1_700_000_000 + next(self._ids)}.000100"
        self.messages.append(
            Message(
                channel, ts, str(args.get("text", "")), self._blocks_of(args), args.get("thread_ts")
            )
        )
        return {"ok": True, "channel": channel, "ts": ts}

    def _update_message(self, args: dict[str, Any]) -> dict[str, Any]:
        if (error := self._check_message("chat.update", args)) is not None:
            return error
        for message in self.messages:
            if message.channel == args.get("channel") and message.ts == args.get("ts"):
                message.history.append({"text": message.text, "blocks": message.blocks})
                message.text = str(args.get("text", message.text))
                message.blocks = self._blocks_of(args)
                return {"ok": True, "channel": message.channel, "ts": message.ts}
        return {"ok": False, "error": "message_not_found"}

    def _post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        if (error := self._check_message("chat.postEphemeral", args)) is not None:
            return error
        self.ephemerals.append({**args, "blocks": self._blocks_of(args)})
        return {"ok": True, "message_ts": f"{1_700_000_000 + next(self._ids)}.000200"}

    def _use_trigger(self, args: dict[str, Any]) -> dict[str, Any] | None:
        trigger = str(args.get("trigger_id", ""))
        if trigger in self._used_triggers:
            return {"ok": False, "error": "exchanged_trigger_id"}
        issued = self._triggers.get(trigger)
        if issued is None:
            return {"ok": False, "error": "invalid_trigger_id"}
        if time.monotonic() - issued > TRIGGER_TTL_SECONDS:
            return {"ok": False, "error": "expired_trigger_id"}
        self._used_triggers.add(trigger)
        return None

    def _store_view(self, view: dict[str, Any], view_id: str | None = None) -> dict[str, Any]:
        view_id = view_id or f"V{next(self._ids):08d}"
        stored = {**view, "id": view_id, "hash": f"h{next(self._ids)}", "state": {"values": {}}}
        self.views[view_id] = stored
        return stored

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        error, view = self._check_view("views.open", args.get("view"))
        if error is not None:
            return error
        if (trigger_error := self._use_trigger(args)) is not None:
            return trigger_error
        return {"ok": True, "view": self._store_view(view)}

    def _views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        error, view = self._check_view("views.push", args.get("view"))
        if error is not None:
            return error
        if (trigger_error := self._use_trigger(args)) is not None:
            return trigger_error
        return {"ok": True, "view": self._store_view(view)}

    def _views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        error, view = self._check_view("views.update", args.get("view"))
        if error is not None:
            return error
        view_id = str(args.get("view_id", ""))
        if view_id not in self.views:
            return {"ok": False, "error": "not_found"}
        return {"ok": True, "view": self._store_view(view, view_id)}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        error, view = self._check_view("views.publish", args.get("view"))
        if error is not None:
            return error
        user = str(args.get("user_id", ""))
        if user not in self.users:
            return {"ok": False, "error": "user_not_found"}
        self.home[user] = view
        return {"ok": True, "view": self._store_view(view)}

    def _respond(
        self, method: str, args: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        fault: Fault | None = None
        with self._lock:
            self.calls.append(Call(method, args, token))
            queue = self.faults.get(method)
            if queue and queue[0].skip > 0:
                queue[0].skip -= 1
            elif queue:
                fault = queue[0]
                fault.times -= 1
                if fault.times <= 0:
                    queue.pop(0)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            return fault.status, fault.headers, fault.body
        handler = self.handlers.get(method)
        if handler is None:
            return 200, {}, {"ok": False, "error": "unknown_method"}
        with self._lock:
            return 200, {}, handler(args)

    # -- server --------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/api/"

    def start(self) -> FakeSlack:
        fake = self

        class _Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                pass

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                method = parts.path.rsplit("/", 1)[-1]
                if parts.path.startswith("/upload/"):
                    length = int(self.headers.get("Content-Length") or 0)
                    content = self.rfile.read(length)
                    if (down := fake._in_outage("upload", {"file_id": method}, None)) is not None:
                        self._fail(down)
                        return
                    status = fake.receive_upload(method, content)
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"OK")
                    return
                args: dict[str, Any] = dict(parse_qsl(parts.query))
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                ctype = self.headers.get("Content-Type", "")
                if raw and "json" in ctype:
                    args.update(json.loads(raw))
                elif raw:
                    args.update(parse_qsl(raw.decode()))
                auth = self.headers.get("Authorization", "")
                token = auth.removeprefix("Bearer ") or args.pop("token", None)
                if (down := fake._in_outage(method, args, token)) is not None:
                    self._fail(down)
                    return
                status, headers, body = fake._respond(method, args, token)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _fail(self, down: Outage) -> None:
                if down.disconnect:
                    # The request was read; closing without a status line makes the
                    # client see "Remote end closed connection without response".
                    self.close_connection = True
                    return
                data = json.dumps(down.body).encode()
                self.send_response(down.status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = _handle
            do_POST = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        # A short poll: stop() (every test's teardown) waits up to one interval.
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


def running_fake() -> Iterator[FakeSlack]:
    """Generator for a pytest fixture: a started fake, stopped afterwards."""
    fake = FakeSlack().start()
    try:
        yield fake
    finally:
        fake.stop()
