"""PostgreSQL restarts while interviewers submit feedback; the bot rides through it.

The served bot (the real app over HTTP, as ``serve --http`` runs it) takes a
steady stream of final view_submissions while its PostgreSQL server is stopped
(fast shutdown: open sessions are cut off) and started again. Every answer must
be one Slack can show: stored (the modal closes) or "could not be saved, submit
again" on a field of the modal (it stays open, answers kept); never a 500, a
missing ack, or a success that was not stored. The bot reconnects by itself and
``/healthz`` follows the database.

The server restarted is a throwaway cluster of the test's own (``tests.pgcluster``),
never the shared one of ``TEST_DATABASE_URL``. A second test (SQLite: it needs no server)
fails the database exactly at the feedback's own transaction (the authorization
check before it passed) and checks the answer and the log line.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storage.engine import create_engine_for, make_session_factory
from storage.migrate import upgrade
from tests.fakeslack import FakeSlack, running_fake
from tests.harness import ServedBot, wait_for
from tests.outage_support import (
    Outcome,
    answers,
    duplicates,
    form_buttons,
    input_block_ids,
    open_forms,
    outcome_of,
    record,
    stored_feedback,
    write_interviews,
)
from tests.pgcluster import PgCluster, PgUnavailable, throwaway_cluster

END = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
PANEL = [f"U0PG{i}" for i in range(4)]
INTERVIEWS = 16  # x 4 interviewers: 64 forms, enough to still be submitting after the restart
SUBMITTERS = 4
RESUBMIT_AFTER_S = 0.02  # an interviewer reading the error, then pressing Submit again
MIN_OUTAGE_S = 1.0  # PostgreSQL stays down at least this long


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the PostgreSQL restart test: {reason}")
    pytest.skip(reason)


@pytest.fixture
def cluster() -> Iterator[PgCluster]:
    if not os.environ.get("TEST_DATABASE_URL"):
        _unavailable("PostgreSQL tests need TEST_DATABASE_URL (and the server's binaries)")
    with contextlib.ExitStack() as stack:
        try:
            started = stack.enter_context(throwaway_cluster())
        except PgUnavailable as exc:
            _unavailable(f"cannot run a PostgreSQL server of our own: {exc}")
        yield started


@pytest.fixture
def cluster_engine(cluster: PgCluster) -> Iterator[Engine]:
    engine = create_engine_for(cluster.url)  # exactly what `serve` creates
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    yield from running_fake()


@dataclass
class Attempt:
    public_id: str
    at: float  # time.monotonic() when the answer came
    outcome: Outcome
    status: int | None  # None: no HTTP answer at all
    detail: str


class Submitters:
    """Interviewers pressing Submit; each error is read and submitted again, until stored."""

    def __init__(self, served: ServedBot, views: dict[str, tuple[str, dict[str, Any]]]) -> None:
        self.served = served
        self.views = views
        self.pending: deque[str] = deque(views)
        self.attempts: list[Attempt] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, daemon=True) for _ in range(SUBMITTERS)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        """Stop submitting (a failed test must not leave threads pounding a closed server)."""
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def count(self, outcome: Outcome, since: float = 0.0) -> int:
        with self.lock:
            return sum(1 for a in self.attempts if a.outcome == outcome and a.at >= since)

    def done(self) -> bool:
        with self.lock:
            return not self.pending and self.in_flight == 0

    def _run(self) -> None:
        while not self.stopping.is_set():
            with self.lock:
                if not self.pending:
                    if self.in_flight == 0:
                        return
                    public_id = None
                else:
                    public_id = self.pending.popleft()
                    self.in_flight += 1
            if public_id is None:
                time.sleep(0.005)
                continue
            attempt = self._submit(public_id)
            with self.lock:
                self.attempts.append(attempt)
                self.in_flight -= 1
            if attempt.outcome != "stored":
                time.sleep(RESUBMIT_AFTER_S)
                with self.lock:
                    self.pending.append(public_id)

    def _submit(self, public_id: str) -> Attempt:
        user, view = self.views[public_id]
        try:
            reply = self.served.submit(user, view, answers(public_id))
        except OSError as exc:  # no answer at all: Slack would show its own error
            return Attempt(public_id, time.monotonic(), "other", None, type(exc).__name__)
        return Attempt(
            public_id,
            time.monotonic(),
            outcome_of(reply, view),
            reply.status,
            reply.body[:200].decode(errors="replace"),
        )


def healthz(served: ServedBot) -> int:
    try:
        with urllib.request.urlopen(f"{served.url}/healthz", timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.postgres
@pytest.mark.pg_restart
def test_submissions_survive_a_postgres_restart(
    cluster: PgCluster, cluster_engine: Engine, fake: FakeSlack, tmp_path: Path
) -> None:
    engine = cluster_engine
    for user in [*PANEL, "U0RECRUIT", "U0LEAD"]:
        fake.add_user(user)
    served = ServedBot(engine, make_session_factory(engine), fake)
    submitters: Submitters | None = None
    try:
        served.import_file(write_interviews(tmp_path / "i.yaml", INTERVIEWS, PANEL, ends_at=END))
        served.clock.now = END + timedelta(minutes=10)
        assert served.sweep().forms_sent == INTERVIEWS * len(PANEL)
        views = open_forms(f"{served.url}/slack/events", fake, form_buttons(fake))
        assert healthz(served) == 200

        submitters = Submitters(served, views)
        submitters.start()
        wait_for(
            lambda: submitters.count("stored") >= 10,
            what="submissions before the restart",
            timeout=15,
        )

        stop_at = time.monotonic()
        cluster.stop()  # fast shutdown: in-flight transactions are cut off
        stopped_at = time.monotonic()
        assert healthz(served) == 503
        with pytest.raises(sa.exc.OperationalError):
            served.sweep()  # the sweep fails fast too (the scheduler retries it next interval)
        wait_for(
            lambda: (
                submitters.count("save_failed", since=stopped_at) >= 10
                and time.monotonic() - stopped_at >= MIN_OUTAGE_S
            ),
            what="submissions answered 'could not be saved' while PostgreSQL is down",
            timeout=15,
        )
        cluster.start()
        cluster.wait_ready()
        up_at = time.monotonic()
        # The same bot, never restarted: its pool replaces the dead connections.
        wait_for(
            lambda: submitters.count("stored", since=up_at) >= 10,
            what="stored submissions after the restart",
            timeout=15,
        )
        first_stored_after = min(
            a.at for a in submitters.attempts if a.outcome == "stored" and a.at >= up_at
        )
        wait_for(lambda: healthz(served) == 200, what="/healthz 200 after the restart")
        wait_for(submitters.done, what="every form submitted", timeout=30)
    finally:
        if submitters is not None:
            submitters.stop()
        served.close()

    attempts = submitters.attempts
    others = [a for a in attempts if a.outcome == "other"]
    assert others == [], f"answers Slack could not show as stored or retry: {others[:5]}"
    outcomes = Counter(a.outcome for a in attempts)
    acked = {a.public_id for a in attempts if a.outcome == "stored"}
    errored = {a.public_id for a in attempts if a.outcome == "save_failed"}
    assert outcomes["save_failed"] > 0, "no submission met the outage: the test proved nothing"

    stored = stored_feedback(engine)
    assert acked <= set(stored), "a submission was acked as stored but is not in the database"
    assert set(stored) == set(views)  # every interviewer got through in the end
    assert all(notes == f"notes for {pid}" for pid, notes in stored.items())
    assert duplicates(engine) == 0

    record(
        "postgres-restart",
        {
            "forms": len(views),
            "submissions_sent": len(attempts),
            "acked_stored": outcomes["stored"],
            "acked_save_failed": outcomes["save_failed"],
            "other_answers": len(others),
            "requests_that_saw_an_error": len(errored),
            "stored": len(stored),
            "duplicates": 0,
            "outage_s": round(up_at - stop_at, 2),
            "stop_s": round(stopped_at - stop_at, 2),
            "first_stored_after_restart_s": round(first_stored_after - up_at, 3),
        },
    )


def test_a_database_error_at_submit_keeps_the_modal_open_and_logs_no_feedback(
    fake: FakeSlack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The handler's own error path, on SQLite (the backend plays no part: the failure
    is injected exactly where the feedback is written, after the authorization check)."""
    secret = "Candidate mentioned a confidential offer"
    for user in ("U0PG0", "U0RECRUIT", "U0LEAD"):
        fake.add_user(user)
    engine = create_engine_for(f"sqlite:///{tmp_path / 'bot.db'}")
    upgrade(engine)
    served = ServedBot(engine, make_session_factory(engine), fake)
    try:
        served.import_file(write_interviews(tmp_path / "i.yaml", 1, ["U0PG0"], ends_at=END))
        served.clock.now = END + timedelta(minutes=10)
        served.sweep()
        ((public_id, (user, view)),) = open_forms(
            f"{served.url}/slack/events", fake, form_buttons(fake)
        ).items()
        values = answers(public_id)
        values["notes"]["value"]["value"] = secret

        def connection_lost(*_args: Any, **_kwargs: Any) -> NoReturn:
            # What psycopg raises when the server goes away mid-transaction; SQLAlchemy's
            # message carries the statement's parameters, i.e. the feedback itself.
            raise sa.exc.OperationalError(
                "UPDATE feedback SET notes=%(notes)s",
                {"notes": secret},
                Exception("server closed the connection unexpectedly"),
            )

        monkeypatch.setattr("storage.feedback_flows.submit_request_feedback", connection_lost)
        with caplog.at_level(logging.DEBUG):
            reply = served.submit(user, view, values)
        assert outcome_of(reply, view) == "save_failed", reply.body
        (field,) = reply.json()["errors"]
        assert field == sorted(input_block_ids(view), key=_position(view))[-1]  # the last field
        assert stored_feedback(engine) == {}
        assert secret not in caplog.text
        assert "database error OperationalError" in caplog.text

        monkeypatch.undo()  # the database is back: the same submission goes through
        reply = served.submit(user, view, values)
        assert outcome_of(reply, view) == "stored", reply.body
        assert stored_feedback(engine) == {public_id: secret}
    finally:
        served.close()
        engine.dispose()


def _position(view: dict[str, Any]) -> Callable[[str], int]:
    order = [str(b.get("block_id")) for b in view["blocks"]]
    return order.index
