"""``interview-bot demo``: the whole flow offline, as someone without a Slack account runs it."""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from handlers.blocks.limits import check_message, check_view

EXE = Path(sys.executable).with_name("interview-bot")


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path, float]:
    out = tmp_path_factory.mktemp("demo") / "out"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INTERVIEW_BOT_"))}
    # Both would fail loudly if the demo read them: nothing listens on port 9.
    env["DATABASE_URL"] = "postgresql+psycopg://nobody@127.0.0.1:9/nowhere"
    env["INTERVIEW_BOT_CONFIG"] = str(out.parent / "no-such-config.yaml")
    started = time.monotonic()
    result = subprocess.run(
        [str(EXE), "demo", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        cwd=out.parent,
        timeout=60,
    )
    return result, out, time.monotonic() - started


def test_demo_runs_the_whole_flow_offline(
    demo: tuple[subprocess.CompletedProcess[str], Path, float],
) -> None:
    result, out, seconds = demo
    assert result.returncode == 0, result.stdout + result.stderr
    assert seconds < 60
    stdout = result.stdout
    for step in range(1, 11):
        assert f"[{step}/10]" in stdout
    summary = stdout[stdout.index("Interview summary: Ada Lovelace") :]
    assert "Needs discussion" in summary
    assert "System design" in summary[summary.index("Needs discussion") :]
    assert "4 of 4 submitted" in summary
    # J, J, L, L against a Senior target: a split, never "meets target"
    [design] = [line for line in summary.splitlines() if "J J L L" in line]
    assert "split Junior / Lead" in design and "meets" not in design
    # the hiring lead's debrief guide: the split skill first, minority views first
    guide = stdout[stdout.index("Debrief guide: Ada Lovelace") :]
    assert guide.index("1. System design") < guide.index("Other skills")
    assert "The panel decides, not the bot." in guide
    assert "block-kit-builder" in stdout
    assert str(out.resolve()) in stdout
    assert "Traceback" not in result.stderr
    assert not (out.parent / "interview-bot-demo").exists()  # --out was honoured


def test_demo_writes_valid_block_kit_and_the_heatmap(
    demo: tuple[subprocess.CompletedProcess[str], Path, float],
) -> None:
    result, out, _seconds = demo
    assert result.returncode == 0, result.stdout + result.stderr
    files = sorted(p.name for p in out.iterdir())
    assert [f for f in files if "-summary" in f] == ["13-summary.json"]
    for user in ("U0PRIYA", "U0MARCO", "U0SUN", "U0ALEX"):
        assert any(re.fullmatch(rf"\d\d-dm-{user}\.json", f) for f in files), files
        assert any(re.fullmatch(rf"\d\d-modal-{user}\.json", f) for f in files), files
    assert any(re.fullmatch(r"\d\d-modal-U0LEAD\.json", f) for f in files), files  # the guide
    # the thread: every interviewer's notes and evidence (packed into one message here)
    threads = [f for f in files if re.fullmatch(r"\d\d-thread(-U0\w+)?\.json", f)]
    assert threads, files
    thread_text = "".join((out / f).read_text(encoding="utf-8") for f in threads)
    for user in ("U0PRIYA", "U0MARCO", "U0SUN", "U0ALEX"):
        assert f"Feedback from <@{user}>" in thread_text, user
    [png] = [p for p in out.iterdir() if p.suffix == ".png"]
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    checked = 0
    for path in out.glob("*.json"):
        payload = json.loads(path.read_text(encoding="utf-8"))
        if payload.get("type") in ("modal", "home"):
            check_view(payload)
        else:
            check_message(payload["text"], payload["blocks"])
            assert payload["blocks"], path.name
        checked += 1
    assert checked == len(files) - 1
    summary = json.loads((out / "13-summary.json").read_text(encoding="utf-8"))
    assert summary["channel"] == "C0HIRING"
    assert "Needs discussion" in json.dumps(summary["blocks"])


def test_demo_leaves_nothing_running(
    demo: tuple[subprocess.CompletedProcess[str], Path, float],
) -> None:
    result, _out, _seconds = demo
    assert result.returncode == 0, result.stdout + result.stderr
    ports = {int(p) for p in re.findall(r"http://127\.0\.0\.1:(\d+)", result.stdout)}
    assert len(ports) == 2  # the fake Slack and the bot
    for port in ports:
        with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            pass
    assert "nothing is left running" in result.stdout
    [workdir] = re.findall(r"SQLite in (\S+?);", result.stdout)
    assert not Path(workdir).exists()  # the throwaway database is gone


def test_demo_fails_and_says_why_when_slack_rejects_a_payload(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.demo import run_demo
    from handlers.blocks import limits

    real = limits.check_message

    def strict(text: str | None, blocks: Any) -> None:
        if (text or "").startswith("Interview summary"):
            raise limits.BlockKitError(["blocks[0]: pretend Slack dislikes this"])
        real(text, blocks)

    monkeypatch.setattr(limits, "check_message", strict)  # the fake looks it up per call
    out = io.StringIO()
    threads = set(threading.enumerate())
    assert run_demo(tmp_path / "out", stdout=out) == 1
    # the fake, the HTTP server and the bot's workers are all stopped, failure or not
    assert [t.name for t in threading.enumerate() if t not in threads and t.is_alive()] == []
    printed = out.getvalue()
    assert "rejected" in printed
    assert "chat.postMessage: blocks[0]: pretend Slack dislikes this" in printed
    assert "nothing is left running" not in printed
