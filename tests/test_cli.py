"""The ``interview-bot`` command line, as a recruiter or operator uses it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

from bot.cli import main
from storage.models import FeedbackRequest, Interview
from tests.fakeslack import FakeSlack, Fault, running_fake

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
BROKEN_RUBRIC = """\
id: team
name: Team
version: "1"
levels:
  - {id: junior, name: Junior}
  - {id: senior, name: Senior}
recommendations:
  - {id: no_hire, name: "No", hire: false}
  - {id: hire, name: "Yes", hire: true}
roles: []
disciplines:
  - id: craft
    name: Craft
    skills:
      - id: coding
        name: Coding
        question: Can they code?
        levels:
          junior: {short: Writes code, full: Writes code that works.}
      - id: coding
        name: Coding again
        question: Again?
        colour: blue
        levels:
          junior: {short: Writes code, full: Writes code that works.}
          senior: {short: Writes code, full: Writes code that works.}
"""


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, db_url: str) -> str:
    for name in ("INTERVIEW_BOT_CONFIG", "SLACK_BOT_TOKEN", "SLACK_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", db_url)
    return db_url


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_rubric_show_mle(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rubric", "show", "mle")
    assert code == 0
    for discipline in ("Core technical", "Best practices", "Project management", "Culture fit"):
        assert discipline in out
    for skill_id in ("fundamentals", "system_design", "inner_source", "agile", "learning"):
        assert f"({skill_id})" in out
    assert out.count("Junior:") == 16 and out.count("Senior:") == 16 and out.count("Lead:") == 16


def test_rubric_show_unknown_name(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "rubric", "show", "nope")
    assert code == 1
    assert "unknown rubric 'nope' (known: mle)" in err


def test_rubric_validate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "rubric", "validate", str(REPO / "rubric" / "data" / "mle.yaml"))
    assert code == 0 and "ok (mle" in out and "16 skills" in out

    broken = tmp_path / "team.yaml"
    broken.write_text(BROKEN_RUBRIC)
    code, _, err = run(capsys, "rubric", "validate", str(broken))
    assert code == 1
    lines = err.replace(str(tmp_path) + "/", "").splitlines()
    assert "team.yaml:18: disciplines[0].skills[0].levels.senior: field required" in lines
    assert any(
        line.startswith("team.yaml:20: disciplines[0].skills[1].id: duplicate") for line in lines
    ), lines
    assert "team.yaml:23: disciplines[0].skills[1].colour: unknown field" in lines


def test_schedule_import_twice(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schedule", "import", str(EXAMPLES / "interviews.yaml"))
    assert code == 0, out
    assert out.count("created ") == 2
    assert out.rstrip().endswith("2 created, 0 updated, 0 unchanged")
    code, out, _ = run(capsys, "schedule", "import", str(EXAMPLES / "interviews.yaml"))
    assert code == 0
    assert out.rstrip().endswith("0 created, 0 updated, 2 unchanged")
    engine = create_engine(cli_env)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Interview)) == 2
        assert conn.scalar(select(func.count()).select_from(FeedbackRequest)) == 5
    engine.dispose()


def test_import_with_a_bad_row_leaves_the_database_untouched(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "db", "upgrade")[0] == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text((EXAMPLES / "interviews.yaml").read_text().replace("U0DDD", "U0AAA"))
    code, out, err = run(capsys, "schedule", "import", str(bad))
    assert code == 1
    assert "bad.yaml:32: interviews[1].panel[2].interviewer: U0AAA is on the panel twice" in err
    assert "nothing was changed" in err
    assert out == ""
    engine = create_engine(cli_env)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Interview)) == 0
    engine.dispose()


def test_dry_run_writes_nothing(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "schedule", "import", "--dry-run", str(EXAMPLES / "interviews.csv"))
    assert code == 0
    assert "interview new:" in out and "dry run: nothing was written" in out
    engine = create_engine(cli_env)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Interview)) == 0
    engine.dispose()


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    yield from running_fake()


def test_import_resolves_emails_through_slack(
    cli_env: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fake_slack: FakeSlack,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_slack.add_user("U0RITA", email="rita@example.com")
    monkeypatch.setenv("SLACK_API_URL", fake_slack.url)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    batch = tmp_path / "batch.yaml"
    batch.write_text(
        (EXAMPLES / "interviews.yaml").read_text().replace("U0RECRUIT", "rita@example.com")
    )
    code, out, err = run(capsys, "schedule", "import", str(batch))
    assert code == 0, err
    # one lookup per distinct email, however often it is used
    assert [c.args["email"] for c in fake_slack.calls_to("users.lookupByEmail")] == [
        "rita@example.com"
    ]
    assert "xoxb-test-token" not in out + err
    engine = create_engine(cli_env)
    with engine.connect() as conn:
        assert set(conn.scalars(select(Interview.recruiter))) == {"U0RITA"}
    engine.dispose()

    batch.write_text(
        (EXAMPLES / "interviews.yaml").read_text().replace("U0LEAD", "ghost@example.com")
    )
    code, _, err = run(capsys, "schedule", "import", str(batch))
    assert code == 1
    assert (
        "batch.yaml:13: interviews[0].hiring_lead: no Slack user has the email ghost@example.com"
        in err
    )

    # Slack failing the lookup is said as such, located, and nothing is imported.
    fake_slack.fail("users.lookupByEmail", Fault(times=10))
    batch.write_text(
        (EXAMPLES / "interviews.yaml").read_text().replace("U0LEAD", "new@example.com")
    )
    code, _, err = run(capsys, "schedule", "import", str(batch))
    assert code == 1
    assert "batch.yaml:13: interviews[0].hiring_lead: Slack could not look up an email" in err
    assert "nothing was imported" in err


def test_db_upgrade(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "db", "upgrade")
    assert code == 0 and "upgraded from empty to" in out
    code, out, _ = run(capsys, "db", "upgrade")
    assert code == 0 and "up to date" in out
    engine = create_engine(cli_env)
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM alembic_version")) == 1
    engine.dispose()


def test_auto_migrate_off_asks_for_db_upgrade(
    cli_env: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("database:\n  auto_migrate: false\n")
    monkeypatch.setenv("INTERVIEW_BOT_CONFIG", str(config))
    code, _, err = run(capsys, "schedule", "import", str(EXAMPLES / "interviews.yaml"))
    assert code == 2
    assert "run `interview-bot db upgrade`" in err


def test_bad_config_is_reported_with_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("reminders:\n  max: lots\n")
    monkeypatch.setenv("INTERVIEW_BOT_CONFIG", str(config))
    code, _, err = run(capsys, "rubric", "show", "mle")
    assert code == 2
    assert f"config error: {config}:2: reminders.max:" in err


def test_config_show_hides_secrets(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("INTERVIEW_BOT_CONFIG", raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-do-not-print")
    code, out, _ = run(capsys, "config", "show")
    assert code == 0
    assert '"bot_token": "set"' in out and "do-not-print" not in out


def test_console_script_is_installed_and_has_no_import_side_effects(tmp_path: Path) -> None:
    """`pip install -e .` gives `interview-bot`; importing the packages writes nothing."""
    exe = Path(sys.executable).with_name("interview-bot")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "INTERVIEW_BOT"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'cli.db'}"
    result = subprocess.run(
        [str(exe), "rubric", "list"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("mle\t")
    imported = subprocess.run(
        [
            sys.executable,
            "-c",
            "import bot.cli, bot.config, handlers, rubric, storage, storage.models",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr
    assert list(tmp_path.iterdir()) == []  # no database or log file appeared


def test_the_wheel_ships_the_rubric_and_migrations(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("interview_bot-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "rubric/data/mle.yaml" in names
    assert "storage/migrations/env.py" in names
    assert "storage/migrations/versions/0001_initial.py" in names
    assert not any(n.startswith("tests/") for n in names)
