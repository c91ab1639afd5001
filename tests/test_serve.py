"""`interview-bot serve` and `worker` as processes: start-up checks, health, signals."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from slack_bolt import App

from bot.server import BotWsgiApp
from tests import slackreq
from tests.fakeslack import FakeSlack, running_fake
from tests.harness import BOT_TOKEN, SIGNING_SECRET

EXE = str(Path(sys.executable).with_name("interview-bot"))
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    yield from running_fake()


def bot_env(tmp_path: Path, fake: FakeSlack | None = None, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "INTERVIEW_BOT", "DATABASE_URL"))
    }
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.url if fake else "http://127.0.0.1:9/api/",
        }
    )
    env.update(extra)
    return env


@pytest.mark.parametrize(
    ("drop", "override", "message"),
    [
        ("SLACK_BOT_TOKEN", {}, "SLACK_BOT_TOKEN is not set"),
        ("", {"SLACK_BOT_TOKEN": "xoxp-user-token"}, "SLACK_BOT_TOKEN is malformed"),
        ("SLACK_SIGNING_SECRET", {}, "SLACK_SIGNING_SECRET is not set"),
        ("", {"SLACK_SIGNING_SECRET": "short"}, "SLACK_SIGNING_SECRET is malformed"),
    ],
)
def test_serve_refuses_to_start_without_credentials(
    tmp_path: Path, drop: str, override: dict[str, str], message: str
) -> None:
    env = bot_env(tmp_path, **override)
    env.pop(drop, None)
    result = subprocess.run(
        [EXE, "serve", "--http", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip().splitlines()[-1] == f"interview-bot: {message}"
        or message in result.stderr
    )
    assert "xoxp-user-token" not in result.stderr


def test_socket_mode_needs_an_app_token(tmp_path: Path) -> None:
    result = subprocess.run(
        [EXE, "serve", "--socket"],
        env=bot_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "SLACK_APP_TOKEN is not set" in result.stderr


def wait_for_line(proc: subprocess.Popen[str], pattern: str, timeout: float = 30) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if re.search(pattern, line):
            return line
        if not line and proc.poll() is not None:
            break
    raise AssertionError(f"no line matching {pattern!r}; exit {proc.poll()}")


def test_serve_http_end_to_end_and_sigterm(tmp_path: Path, fake: FakeSlack) -> None:
    fake.add_user("U0AAA")
    proc = subprocess.Popen(
        [EXE, "serve", "--http", "--host", "127.0.0.1", "--port", "0", "--no-scheduler"],
        env=bot_env(tmp_path, fake),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = wait_for_line(proc, r"listening on http://127\.0\.0\.1:\d+")
        base = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)  # type: ignore[union-attr]
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:
            assert response.status == 200
        body, ctype = slackreq.slash_command("U0AAA", "help", trigger_id="t")
        reply = slackreq.post(f"{base}/slack/events", body, ctype, secret=SIGNING_SECRET)
        assert reply.status == 200
        assert "/interview list" in reply.body.decode()
        forged = slackreq.post(f"{base}/slack/events", body, ctype, secret="not-the-secret-0000")
        assert forged.status == 401
        # the database was migrated on start
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'bot.db'}")
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT count(*) FROM alembic_version")) == 1
        engine.dispose()

        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert time.monotonic() - started < 10
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_worker_sweeps_and_stops_on_sigterm(tmp_path: Path, fake: FakeSlack) -> None:
    for user in ("U0AAA", "U0BBB", "U0CCC", "U0DDD"):
        fake.add_user(user)
    env = bot_env(tmp_path, fake)
    # interviews that ended long ago but within the summary deadline get their forms now
    config = tmp_path / "config.yaml"
    config.write_text("summary:\n  deadline: 3650d\nscheduler:\n  sweep_interval: 1s\n")
    env["INTERVIEW_BOT_CONFIG"] = str(config)
    batch = tmp_path / "batch.yaml"
    batch.write_text((EXAMPLES / "interviews.yaml").read_text().replace("2027-03-0", "2020-03-0"))
    subprocess.run(
        [EXE, "schedule", "import", str(batch)],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )

    proc = subprocess.Popen(
        [EXE, "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        wait_for_line(proc, "worker running")
        deadline = time.monotonic() + 20
        while len(fake.calls_to("chat.postMessage")) < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sorted(c.args["channel"] for c in fake.calls_to("chat.postMessage")) == [
            "U0AAA",
            "U0AAA",
            "U0BBB",
            "U0CCC",
            "U0DDD",
        ]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def test_healthz_is_503_until_ready_and_without_the_database(tmp_path: Path) -> None:
    app = App(signing_secret=SIGNING_SECRET, token=BOT_TOKEN, token_verification_enabled=False)
    sqlite = sa.create_engine(f"sqlite:///{tmp_path / 'h.db'}")
    wsgi = BotWsgiApp(app, sqlite)
    assert wsgi.healthy() == (False, "starting")
    wsgi.ready.set()
    assert wsgi.healthy() == (True, "ok")
    # a database nobody listens on (loopback port 9, discard): not healthy
    down = sa.create_engine(
        "postgresql+psycopg://postgres@127.0.0.1:9/none", connect_args={"connect_timeout": 2}
    )
    unhealthy = BotWsgiApp(app, down)
    unhealthy.ready.set()
    assert unhealthy.healthy() == (False, "database unreachable")
    statuses: list[str] = []
    body = unhealthy(
        {"PATH_INFO": "/healthz", "REQUEST_METHOD": "GET"},
        lambda status, _h: statuses.append(status),
    )
    assert statuses == ["503 Service Unavailable"] and b"".join(body) == b"database unreachable"
    sqlite.dispose()
    down.dispose()
