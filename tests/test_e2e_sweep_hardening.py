"""The sweep survives crashes and runs on several replicas without sending anything twice."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.app import build_bot
from bot.slack_client import create_web_client
from storage.engine import create_engine_for, make_session_factory
from tests.fakeslack import FakeSlack, running_fake
from tests.harness import ServedBot

END = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    yield from running_fake()


def write_interviews(path: Path, count: int, panel: list[str]) -> Path:
    lines = ["interviews:"]
    for i in range(count):
        lines += [
            f"  - external_id: bulk-{i}",
            f"    candidate: Candidate {i}",
            "    role: Senior ML Engineer",
            "    starts_at: 2027-03-01T09:00:00+00:00",
            "    ends_at: 2027-03-01T10:00:00+00:00",
            "    hiring_channel: C0HIRING",
            "    recruiter: U0RECRUIT",
            "    hiring_lead: U0LEAD",
            "    panel:",
            *[f"      - interviewer: {user}" for user in panel],
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


class Crash(BaseException):
    """Stands for the process dying: not an Exception, so no handler in the bot catches it."""


def test_a_crash_between_claim_and_send_loses_nothing(
    engine: Engine, session_factory: sessionmaker[Session], fake: FakeSlack, tmp_path: Path
) -> None:
    for user in ("U0AAA", "U0BBB", "U0RECRUIT", "U0LEAD"):
        fake.add_user(user)
    served = ServedBot(engine, session_factory, fake)
    try:
        served.import_file(write_interviews(tmp_path / "i.yaml", 2, ["U0AAA", "U0BBB"]))
        served.clock.now = END + timedelta(minutes=10)

        # the "first process" claims forms and dies on its first Slack call
        real = served.bot.client.chat_postMessage

        def die(**_kwargs: Any) -> Any:
            raise Crash

        served.bot.client.chat_postMessage = die  # type: ignore[method-assign]
        with pytest.raises(Crash):
            served.sweep()
        served.bot.client.chat_postMessage = real  # type: ignore[method-assign]
        assert fake.messages == []

        # a "restarted process" (a new bot on the same database) before the lease: nothing yet
        restarted = build_bot(
            served.config, session_factory, create_web_client(served.config), clock=served.clock
        )
        restarted.sweeper.run_once()
        sent_before_lease = len(fake.messages)
        # after the lease, every form goes out, each exactly once
        served.clock.advance(timedelta(minutes=3))
        restarted.sweeper.run_once()
        restarted.sweeper.run_once()
        counts = Counter(m.channel for m in fake.messages)
        assert counts == {"U0AAA": 2, "U0BBB": 2}
        assert sent_before_lease == 0  # the crashed claims are held until their lease runs out
    finally:
        served.close()


@pytest.mark.postgres
def test_two_replicas_over_200_interviews_send_no_duplicates(
    engine: Engine,
    session_factory: sessionmaker[Session],
    fake: FakeSlack,
    db_url: str,
    tmp_path: Path,
) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("replicas share PostgreSQL; SQLite serves one process")
    users = [f"U0P{i:03d}" for i in range(4)]
    for user in [*users, "U0RECRUIT", "U0LEAD"]:
        fake.add_user(user)
    served = ServedBot(engine, session_factory, fake)
    try:
        served.import_file(write_interviews(tmp_path / "bulk.yaml", 200, users[:2]))
        engines = [create_engine_for(db_url) for _ in range(2)]
        replicas = [
            build_bot(
                served.config,
                make_session_factory(e),
                create_web_client(served.config),
                clock=served.clock,
            )
            for e in engines
        ]
        barrier = threading.Barrier(2)

        def sweep(index: int) -> None:
            barrier.wait()
            replicas[index].sweeper.run_once()

        for when in (END + timedelta(minutes=10), END + timedelta(hours=25)):  # forms, then nudges
            served.clock.now = when
            threads = [threading.Thread(target=sweep, args=(i,)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
        for e in engines:
            e.dispose()
        keys = Counter((m.channel, m.text) for m in fake.messages)
        duplicates = {k: n for k, n in keys.items() if n > 1}
        assert duplicates == {}
        per_user = Counter(m.channel for m in fake.messages)
        assert (
            per_user[users[0]] == 400 and per_user[users[1]] == 400
        )  # 200 forms + 200 nudges each
    finally:
        served.close()
