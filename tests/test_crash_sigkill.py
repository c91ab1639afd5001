"""SIGKILL in the middle of a burst of 200 concurrent feedback submissions.

``interview-bot serve --http`` runs as a process of its own (its database a SQLite
file, or a PostgreSQL schema; Slack a fake on loopback). Its sweep sends the
forms; then 200 interviewers press Submit at once, and the process is killed
with SIGKILL after about 80 answers. An answer that closed the modal is a
promise: its feedback must be in the database. Some feedback may be stored
without its answer having arrived (committed, then killed before the response
went out); that is allowed, and the resubmission of such a form is a no-op.
After a restart on the same database, every form that got no success answer is
submitted again, and all 200 are stored exactly once.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import pytest
from sqlalchemy.engine import Engine

from bot.examples import SMALL_RUBRIC
from rubric import RubricRegistry
from storage.engine import create_engine_for, make_session_factory
from storage.import_file import parse_import_file
from storage.interviews import Timings, import_interviews
from storage.migrate import upgrade
from tests import slackreq
from tests.fakeslack import FakeSlack, running_fake
from tests.harness import BOT_TOKEN, SIGNING_SECRET, wait_for
from tests.outage_support import (
    Outcome,
    answers,
    duplicates,
    form_buttons,
    open_forms,
    outcome_of,
    record,
    stored_feedback,
    write_interviews,
)

EXE = str(Path(sys.executable).with_name("interview-bot"))
# Eleven per panel, ten of whom submit: 200 submissions, and no panel completes, so
# the sweep posts no summaries during the burst (this test is about the submissions).
PANEL = [f"U0K{i:02d}" for i in range(11)]
SUBMITTING = PANEL[:10]
INTERVIEWS = 20
BURST = INTERVIEWS * len(SUBMITTING)
WORKERS = 48
KILL_AFTER = 80  # answers received before the SIGKILL


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    yield from running_fake()


@dataclass
class Answer:
    public_id: str
    outcome: Outcome | None  # None: no HTTP answer (the process was gone)
    status: int | None
    detail: str


class Server:
    """One ``interview-bot serve --http`` process on 127.0.0.1, its log in a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log: IO[str] = log.open("w")
        self.proc = subprocess.Popen(
            [EXE, "serve", "--http", "--host", "127.0.0.1", "--port", "0"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )
        self.url = self._wait_listening()

    def _wait_listening(self, timeout: float = 60) -> str:
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if match := re.search(r"http://127\.0\.0\.1:\d+", line):
                return match.group(0)
            if not line and self.proc.poll() is not None:
                break
        raise AssertionError(f"serve did not start (exit {self.proc.poll()}); see {self.log.name}")

    @property
    def events(self) -> str:
        return f"{self.url}/slack/events"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # SIGTERM: the clean stop
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc.wait(timeout=30)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.log.close()


def submit(server: Server, public_id: str, user: str, view: dict[str, Any]) -> Answer:
    body, ctype = slackreq.view_submission(user, view, answers(public_id))
    try:
        reply = slackreq.post(server.events, body, ctype, secret=SIGNING_SECRET, timeout=20)
    except OSError as exc:  # refused, reset, closed without an answer
        return Answer(public_id, None, None, type(exc).__name__)
    return Answer(public_id, outcome_of(reply, view), reply.status, reply.body[:120].decode())


def test_sigkill_during_a_burst_of_submissions_loses_no_acked_feedback(
    db_url: str, fake: FakeSlack, tmp_path: Path
) -> None:
    if db_url.startswith("postgresql") and not os.environ.get("RELIABILITY_FULL"):
        # ~15 s a backend: CI runs the SQLite variant (the single-process deployment).
        pytest.skip("the PostgreSQL variant runs with RELIABILITY_FULL=1")
    for user in [*PANEL, "U0RECRUIT", "U0LEAD"]:
        fake.add_user(user)
    (tmp_path / "rubrics").mkdir()
    (tmp_path / "rubrics" / "small.yaml").write_text(SMALL_RUBRIC)
    config = tmp_path / "config.yaml"
    config.write_text(
        "feedback:\n  form_delay: 0s\nscheduler:\n  sweep_interval: 1s\nrubrics_dir: rubrics\n"
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "INTERVIEW_BOT", "DATABASE_URL"))
    }
    env |= {
        "DATABASE_URL": db_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.url,
        "INTERVIEW_BOT_CONFIG": str(config),
    }

    engine = create_engine_for(db_url)
    try:
        _burst_kill_restart(engine, env, fake, tmp_path)
    finally:
        engine.dispose()


def _burst_kill_restart(
    engine: Engine, env: dict[str, str], fake: FakeSlack, tmp_path: Path
) -> None:
    # Interviews that ended an hour ago (real time: the process has the real clock).
    upgrade(engine)
    ended = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    path = write_interviews(
        tmp_path / "i.yaml", INTERVIEWS, PANEL, ends_at=ended, rubric="small", role="Engineer"
    )
    registry = RubricRegistry.load(tmp_path / "rubrics")
    with make_session_factory(engine).begin() as session:  # what `schedule import` does
        import_interviews(
            session,
            parse_import_file(path, registry=registry),
            registry=registry,
            timings=Timings(form_delay=timedelta(0), summary_deadline=timedelta(hours=48)),
            now=datetime.now(UTC),
        )

    server = Server(env, tmp_path / "serve-1.log")
    try:
        # The served bot's own sweep sends every form.
        wait_for(lambda: len(fake.messages) >= INTERVIEWS * len(PANEL), what="form DMs", timeout=60)
        buttons = [(u, v) for u, v in form_buttons(fake) if u in SUBMITTING]
        assert len(buttons) == BURST
        views = open_forms(server.events, fake, buttons)

        answered = 0
        lock = threading.Lock()
        killed_at: list[float] = []

        def one(item: tuple[str, tuple[str, dict[str, Any]]]) -> Answer:
            nonlocal answered
            public_id, (user, view) = item
            answer = submit(server, public_id, user, view)
            with lock:
                if answer.status is not None:
                    answered += 1
                    if answered == KILL_AFTER:
                        server.proc.kill()  # SIGKILL: no handler, no cleanup, no flush
                        killed_at.append(time.monotonic())
            return answer

        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            burst = list(pool.map(one, views.items()))
        burst_s = time.monotonic() - started
        assert killed_at, "the burst ended before the kill"
        assert server.proc.wait(timeout=30) == -9
    finally:
        server.stop()

    outcomes = Counter(a.outcome for a in burst)
    acked = {a.public_id for a in burst if a.outcome == "stored"}
    stored_after_kill = stored_feedback(engine)
    assert acked <= set(stored_after_kill), "an acked submission was lost with the process"
    assert all(notes == f"notes for {p}" for p, notes in stored_after_kill.items())
    assert duplicates(engine) == 0

    # Restarted on the same database, the rest goes through; replays change nothing.
    retry = [p for p in views if p not in acked]
    server = Server(env, tmp_path / "serve-2.log")
    again: list[Answer] = []
    try:
        todo = retry
        for _round in range(3):  # an interviewer who sees an error submits again
            with ThreadPoolExecutor(max_workers=16) as pool:
                answers_ = list(pool.map(lambda p: submit(server, p, *views[p]), todo))
            again += answers_
            todo = [a.public_id for a in answers_ if a.outcome != "stored"]
            if not todo:
                break
    finally:
        server.stop()
    assert not todo, Counter(a.detail for a in again if a.outcome != "stored")
    stored = stored_feedback(engine)
    assert set(stored) == set(views)
    assert all(notes == f"notes for {p}" for p, notes in stored.items())
    assert duplicates(engine) == 0
    backend = engine.dialect.name

    record(
        f"crash-sigkill-{backend}",
        {
            "submissions_sent": len(burst),
            "kill_after_answers": KILL_AFTER,
            "answered": sum(1 for a in burst if a.status is not None),
            "acked_stored": outcomes["stored"],
            "acked_save_failed": outcomes["save_failed"],
            "answered_other": outcomes["other"],
            # What those other answers were (status and the start of the body).
            "other_answers": sorted(
                f"{a.status} {a.detail[:60]}" for a in burst if a.outcome == "other"
            ),
            "no_answer": outcomes[None],
            "stored_after_kill": len(stored_after_kill),
            "stored_without_ack": len(set(stored_after_kill) - acked),
            "resubmitted_after_restart": len(retry),
            "resubmissions_needing_a_retry": len(again) - len(retry),
            "stored_final": len(stored),
            "duplicates": 0,
            "burst_until_kill_s": round(killed_at[0] - started, 2),
            "burst_s": round(burst_s, 2),
        },
    )
