"""Shared by the served benchmarks: processes, databases, forms and a signed-request load.

Three kinds of process run beside the benchmark, each on 127.0.0.1:

- a fake Slack Web API (``python -m benchmarks.served``): ``bot.fakeslack.FakeSlack``
  made cheap and lenient (no Block Kit validation, any ``trigger_id``, O(1)
  ``chat.update``), so that neither the fake nor the load generator's GIL stands
  between the bot and its figures;
- ``interview-bot serve --http`` (``Served.serve``), with its own sweep;
- the bare baseline (``Served.bare``, ``benchmarks/bare_app.py``): a Bolt ``App``
  whose listeners only ``ack()``, behind the same waitress settings.

The load is keep-alive-free ``http.client`` requests from a thread pool, signed at
send time, timed client-side from connect to the last byte of the answer.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from bot.examples import SMALL_RUBRIC
from bot.fakeslack import FakeSlack, Message
from bot.slackreq import block_action, sign, slash_command, view_submission
from handlers.blocks.feedback_modal import FEEDBACK_CALLBACK
from handlers.blocks.form_dm import OPEN_ACTION
from rubric import RubricRegistry
from storage.engine import create_engine_for, make_session_factory
from storage.import_file import parse_import_file
from storage.interviews import Timings, import_interviews
from storage.migrate import upgrade
from storage.models import Feedback, FeedbackRequest, RequestState

SIGNING_SECRET = "bench-signing-secret-0123456789ab"
BOT_TOKEN = "xoxb-bench-token"
EXE = str(Path(sys.executable).with_name("interview-bot"))
EVENTS_PATH = "/slack/events"


# -- the fake Slack, in a process of its own ------------------------------------
class LenientFake(FakeSlack):
    """Answers like Slack, cheaply: every user exists, every trigger is fresh."""

    def __init__(self) -> None:
        super().__init__()
        self._by_ts: dict[tuple[str, str], Message] = {}
        self.handlers["conversations.open"] = lambda a: {
            "ok": True,
            "channel": {"id": f"D{str(a.get('users', 'U')).split(',')[0]}"},
        }
        self.handlers["users.info"] = lambda a: {
            "ok": True,
            "user": {"id": a.get("user"), "name": "u", "tz": "UTC", "profile": {}},
        }
        self.handlers["chat.update"] = self._update
        self.handlers["bench.views"] = lambda _a: {"ok": True, "views": list(self.views.values())}

    def _check_message(self, method: str, args: dict[str, Any]) -> dict[str, Any] | None:
        return None

    def _check_view(self, method: str, view: Any) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        return None, json.loads(view) if isinstance(view, str) else dict(view or {})

    def _use_trigger(self, args: dict[str, Any]) -> dict[str, Any] | None:
        return None

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        answer = super()._post_message(args)
        if answer.get("ok"):
            self._by_ts[(answer["channel"], answer["ts"])] = self.messages.pop()
        return answer

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        message = self._by_ts.get((str(args.get("channel")), str(args.get("ts"))))
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        message.text = str(args.get("text", message.text))
        return {"ok": True, "channel": message.channel, "ts": message.ts}

    def _store_view(self, view: dict[str, Any], view_id: str | None = None) -> dict[str, Any]:
        self.views.clear()  # keep the last one only (the benchmark reads one modal)
        return super()._store_view(view, view_id)

    def _respond(
        self, method: str, args: dict[str, Any], token: str | None
    ) -> tuple[int, dict[str, str], dict[str, Any]]:
        # No call log: 40k calls would only grow this process.
        handler = self.handlers.get(method)
        if handler is None:
            return 200, {}, {"ok": False, "error": "unknown_method"}
        with self._lock:
            return 200, {}, handler(args)


def _fake_main() -> None:
    fake = LenientFake().start()
    print(fake.url, flush=True)
    sys.stdin.read()  # until the benchmark closes our stdin
    fake.stop()


# -- processes --------------------------------------------------------------------
class Process:
    """A subprocess that prints its URL on stdout first; its stderr goes to a log file."""

    def __init__(self, argv: list[str], env: dict[str, str], log: Path, pattern: str) -> None:
        self.log: IO[str] = log.open("w")
        self.proc = subprocess.Popen(
            argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True
        )
        self.url = self._wait_for(pattern, log)

    def _wait_for(self, pattern: str, log: Path, timeout: float = 60) -> str:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if match := re.search(pattern, line):
                return match.group(0)
            if not line and self.proc.poll() is not None:
                break
        self.stop()
        raise RuntimeError(f"{self.proc.args!r} did not start (exit {self.proc.poll()}); see {log}")

    @property
    def events(self) -> str:
        return self.url.rstrip("/") + EVENTS_PATH

    def rss_kib(self) -> int:
        """Resident set size (VmRSS) in KiB."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        assert match is not None
        return int(match.group(1))

    def stop(self) -> None:
        if self.proc.poll() is None:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc.wait(timeout=30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.log.close()


def _clean_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "INTERVIEW_BOT", "DATABASE_URL"))
    }


@dataclass
class Served:
    """The fake Slack, plus ways to start the bot and the bare app against it."""

    workdir: Path
    fake: Process

    @classmethod
    @contextmanager
    def fake_slack(cls, workdir: Path) -> Iterator[Served]:
        workdir.mkdir(parents=True, exist_ok=True)
        fake = Process(
            [sys.executable, "-m", "benchmarks.served"],
            _clean_env(),
            workdir / "fake-slack.log",
            r"http://127\.0\.0\.1:\d+/api/",
        )
        try:
            yield cls(workdir, fake)
        finally:
            fake.stop()

    def env(self, database_url: str) -> dict[str, str]:
        rubrics = self.workdir / "rubrics"
        rubrics.mkdir(exist_ok=True)
        (rubrics / "small.yaml").write_text(SMALL_RUBRIC)
        config = self.workdir / "config.yaml"
        config.write_text(
            "feedback:\n  form_delay: 0s\n"
            "scheduler:\n  sweep_interval: 1s\n"
            f"rubrics_dir: {rubrics}\n"
        )
        return _clean_env() | {
            "DATABASE_URL": database_url,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.fake.url,
            "INTERVIEW_BOT_CONFIG": str(self.workdir / "config.yaml"),
        }

    def serve(self, database_url: str, name: str) -> Process:
        return Process(
            [EXE, "serve", "--http", "--host", "127.0.0.1", "--port", "0"],
            self.env(database_url),
            self.workdir / f"{name}.log",
            r"http://127\.0\.0\.1:\d+",
        )

    def bare(self, name: str, *, in_thread: bool = False) -> Process:
        return Process(
            [
                sys.executable,
                "-m",
                "benchmarks.bare_app",
                "--port",
                "0",
                *(["--in-thread"] if in_thread else []),
            ],
            self.env("sqlite://"),
            self.workdir / f"{name}.log",
            r"http://127\.0\.0\.1:\d+",
        )

    def feedback_view(self, events_url: str, user: str, public_id: str) -> dict[str, Any]:
        """The real feedback modal of one form: its button pressed, the view read back."""
        body, ctype = block_action(user, OPEN_ACTION, public_id, trigger_id="t")
        status, _ = send(events_url, body, ctype)
        assert status == 200, status
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            views = fake_call(self.fake.url, "bench.views")["views"]
            if views:
                return dict(views[-1])
            time.sleep(0.05)
        raise RuntimeError("the bot opened no modal")


def fake_call(api_url: str, method: str) -> dict[str, Any]:
    parts = urlsplit(api_url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request("POST", f"{parts.path}{method}", body=b"", headers={"Content-Length": "0"})
        return dict(json.loads(conn.getresponse().read()))
    finally:
        conn.close()


# -- databases --------------------------------------------------------------------
@contextmanager
def database(kind: str, pg_url: str | None, workdir: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a PostgreSQL database dropped afterwards."""
    if kind == "sqlite":
        path = workdir / f"bench-{secrets.token_hex(4)}.db"
        yield f"sqlite:///{path}"
        return
    assert pg_url is not None
    name = f"bench_{secrets.token_hex(6)}"
    admin = create_engine_for(pg_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(pg_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def panel(size: int) -> list[str]:
    return [f"U0P{i:03d}" for i in range(size)]


def import_interviews_file(
    engine: Engine, workdir: Path, count: int, members: Sequence[str], *, offset: int = 0
) -> None:
    """``count`` interviews, ended an hour ago, each with the panel, on the small rubric."""
    upgrade(engine)
    ends = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    starts = ends - timedelta(hours=1)
    lines = ["interviews:"]
    for i in range(offset, offset + count):
        lines += [
            f"  - external_id: bench-{i}",
            f"    candidate: Candidate {i}",
            "    rubric: small",
            "    role: Engineer",
            f"    starts_at: {starts.isoformat()}",
            f"    ends_at: {ends.isoformat()}",
            "    hiring_channel: C0HIRING",
            "    recruiter: U0RECRUIT",
            "    hiring_lead: U0LEAD",
            "    panel:",
            *[f"      - interviewer: {user}" for user in members],
        ]
    path = workdir / f"interviews-{offset}.yaml"
    path.write_text("\n".join(lines) + "\n")
    rubrics = workdir / "rubrics"
    rubrics.mkdir(exist_ok=True)
    (rubrics / "small.yaml").write_text(SMALL_RUBRIC)
    registry = RubricRegistry.load(rubrics)
    with make_session_factory(engine).begin() as session:  # what `schedule import` does
        import_interviews(
            session,
            parse_import_file(path, registry=registry),
            registry=registry,
            timings=Timings(form_delay=timedelta(0), summary_deadline=timedelta(hours=48)),
            now=datetime.now(UTC),
        )


def sent_forms(engine: Engine) -> list[tuple[str, str]]:
    """(interviewer, public id) of every form the sweep has sent.

    Panel position first, then interview: neighbours in the list (sent at once by
    concurrent clients) are forms of different interviews, as when a day's panels
    answer, rather than one panel queueing on its interview's row lock.
    """
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(FeedbackRequest.interviewer, FeedbackRequest.public_id)
            .where(FeedbackRequest.state == RequestState.FORM_SENT)
            .order_by(FeedbackRequest.position, FeedbackRequest.id)
        ).all()
    return [(str(u), str(p)) for u, p in rows]


def wait_forms_sent(engine: Engine, count: int, timeout: float = 300) -> list[tuple[str, str]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        forms = sent_forms(engine)
        if len(forms) >= count:
            return forms
        time.sleep(0.2)
    raise RuntimeError(f"the sweep sent {len(sent_forms(engine))} of {count} forms")


def stored_count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(sa.select(sa.func.count()).select_from(Feedback)) or 0)


# -- requests ---------------------------------------------------------------------
Body = tuple[bytes, str]


def answers(public_id: str) -> dict[str, dict[str, dict[str, Any]]]:
    """A complete feedback for the small rubric (Slack's ``view.state.values``)."""

    def option(value: str) -> dict[str, Any]:
        return {"text": {"type": "plain_text", "text": value}, "value": value}

    return {
        "level:fundamentals": {
            "level": {"type": "static_select", "selected_option": option("senior")}
        },
        "evidence:fundamentals": {
            "evidence": {"type": "plain_text_input", "value": "Explained bias and variance."}
        },
        "recommendation": {"value": {"type": "radio_buttons", "selected_option": option("yes")}},
        "notes": {"value": {"type": "plain_text_input", "value": f"notes for {public_id}"}},
    }


def submission(view: dict[str, Any], user: str, public_id: str) -> Body:
    retargeted = {
        **view,
        "callback_id": FEEDBACK_CALLBACK,
        "private_metadata": json.dumps({"r": public_id, "p": 0}, separators=(",", ":")),
    }
    return view_submission(user, retargeted, answers(public_id))


def button(user: str, public_id: str) -> Body:
    return block_action(user, OPEN_ACTION, public_id, trigger_id=f"bench.{secrets.token_hex(6)}")


def command(user: str, text: str = "list") -> Body:
    return slash_command(user, text, trigger_id=f"bench.{secrets.token_hex(6)}")


def send(url: str, body: bytes, content_type: str, timeout: float = 30) -> tuple[int, bytes]:
    """One signed POST on a fresh connection: (status, body)."""
    parts = urlsplit(url)
    headers = {
        "Content-Type": content_type,
        "Connection": "close",
        **sign(SIGNING_SECRET, body),
    }
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        conn.request("POST", parts.path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@dataclass
class Result:
    seconds: float  # client-side wall time of the request
    status: int
    body: bytes


def load(
    url: str,
    bodies: Sequence[Body],
    concurrency: int,
    check: Callable[[Result], bool] | None = None,
) -> tuple[list[Result], float]:
    """Send every body with ``concurrency`` clients; (results in order, wall seconds)."""

    def one(item: Body) -> Result:
        started = time.perf_counter()
        try:
            status, body = send(url, *item)
        except OSError as exc:
            return Result(time.perf_counter() - started, 0, repr(exc).encode())
        return Result(time.perf_counter() - started, status, body)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(one, bodies))
    wall = time.perf_counter() - started
    if check is not None:
        bad = [r for r in results if not check(r)]
        if bad:
            sample = ", ".join(f"{r.status} {r.body[:80]!r}" for r in bad[:3])
            raise RuntimeError(f"{len(bad)} of {len(results)} answers were wrong: {sample}")
    return results, wall


def closed_modal(result: Result) -> bool:
    """A view_submission acked as stored: an empty 200 (or ``response_action: clear``)."""
    if result.status != 200:
        return False
    if not result.body.strip():
        return True
    try:
        return json.loads(result.body) in ({}, {"response_action": "clear"})
    except ValueError:
        return False


def ok(result: Result) -> bool:
    return result.status == 200


if __name__ == "__main__":
    _fake_main()
