"""bot.config: the YAML config file plus the environment."""

from __future__ import annotations

import textwrap
from datetime import time, timedelta
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from rubric.durations import format_duration, parse_duration
from rubric.quiet_hours import QuietHours


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def test_defaults_match_the_design_card() -> None:
    config = load_config({})
    assert config.feedback.form_delay == timedelta(minutes=5)
    assert config.feedback.due_after == timedelta(hours=24)
    assert config.feedback.editable_until == "summary"
    assert config.reminders.interval == timedelta(hours=4)
    assert config.reminders.max == 3
    assert str(config.reminders.quiet_hours) == "20:00-08:00"
    assert config.summary.deadline == timedelta(hours=48)
    assert config.scheduler.sweep_interval == timedelta(seconds=30)
    assert config.rubrics_dir is None
    assert config.database.auto_migrate is True
    assert config.database_url == "sqlite:///interview-bot.db"
    assert config.slack_api_url == "https://slack.com/api/"
    assert config.default_timezone is None


def test_file_values_and_environment(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        feedback: {form_delay: 0s, due_after: 2d}
        reminders:
          interval: 90m
          max: 5
          quiet_hours: null
        summary: {deadline: 72h}
        scheduler: {sweep_interval: 10s}
        rubrics_dir: rubrics
        timezone: Europe/Berlin
        database: {auto_migrate: false}
        """,
    )
    config = load_config(
        {
            "INTERVIEW_BOT_CONFIG": str(path),
            "DATABASE_URL": "postgresql+psycopg://bot:pw@db/interviews",
            "SLACK_API_URL": "http://127.0.0.1:9/api",
            "SLACK_BOT_TOKEN": "xoxb-secret",
        }
    )
    assert config.feedback.form_delay == timedelta(0)
    assert config.feedback.due_after == timedelta(days=2)
    assert config.reminders.interval == timedelta(minutes=90)
    assert config.reminders.max == 5
    assert config.reminders.quiet_hours is None
    assert config.summary.deadline == timedelta(hours=72)
    assert config.scheduler.sweep_interval == timedelta(seconds=10)
    # A relative rubrics_dir is read from the config file's folder, not the cwd.
    assert config.rubrics_dir == tmp_path / "rubrics"
    assert str(config.default_timezone) == "Europe/Berlin"
    assert config.database.auto_migrate is False
    assert config.slack_api_url == "http://127.0.0.1:9/api/"  # trailing slash added
    assert config.database_url.startswith("postgresql+psycopg://")


def test_secrets_never_show_in_repr_or_describe(tmp_path: Path) -> None:
    config = load_config(
        {
            "SLACK_BOT_TOKEN": "xoxb-very-secret",
            "SLACK_SIGNING_SECRET": "sig-very-secret",
            "DATABASE_URL": "postgresql+psycopg://bot:hunter2@db/x",
            "INTERVIEW_BOT_WEBHOOK_SECRET": "hook-very-secret",
            "ASHBY_API_KEY": "ashby-very-secret",
        }
    )
    shown = repr(config) + str(config.describe())
    assert "very-secret" not in shown
    assert "hunter2" not in shown
    secrets = config.describe()["secrets"]
    assert {k: secrets.pop(k) for k in ("bot_token", "signing_secret", "app_token")} == {
        "bot_token": "set",
        "signing_secret": "set",
        "app_token": "not set",
    }
    assert secrets.pop("webhook_secret") == secrets.pop("ashby_api_key") == "set"
    assert set(secrets.values()) == {"not set"}
    assert config.secrets.bot_token is not None
    assert config.secrets.bot_token.get_secret_value() == "xoxb-very-secret"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("feedback:\n  form_delay: 5\n", "config.yaml:2: feedback.form_delay: expected a duration"),
        (
            "feedback:\n  form_delay: 5 minutes\n",
            "config.yaml:2: feedback.form_delay: expected a duration",
        ),
        (
            "reminders:\n  max: -1\n",
            "config.yaml:2: reminders.max: Input should be greater than or equal to 0",
        ),
        (
            "reminders:\n  quiet_hours: 22-7\n",
            "config.yaml:2: reminders.quiet_hours: expected HH:MM-HH:MM",
        ),
        (
            "reminders:\n  quiet_hours: 08:00-08:00\n",
            "config.yaml:2: reminders.quiet_hours: start and end are the same",
        ),
        (
            "reminders:\n  interval: 0s\n",
            "config.yaml:2: reminders.interval: must be longer than 0s",
        ),
        ("remindres:\n  max: 2\n", "config.yaml:1: remindres: unknown field"),
        ("reminders:\n  maximum: 2\n", "config.yaml:2: reminders.maximum: unknown field"),
        (
            "timezone: Mars/Olympus\n",
            "config.yaml:1: timezone: unknown IANA time zone 'Mars/Olympus'",
        ),
        ("feedback:\n  editable_until: forever\n", "config.yaml:2: feedback.editable_until:"),
        (
            "scheduler: {sweep_interval: 0s}\n",
            "config.yaml:1: scheduler.sweep_interval: must be at least 1s",
        ),
        ("- a\n- b\n", "config.yaml:1: expected a mapping of settings"),
        ("feedback: {form_delay: 5m\n", "config.yaml:2: invalid YAML"),
        (
            "summary:\n  deadline: 1h\nsummary:\n  deadline: 2h\n",
            "config.yaml:3: summary: duplicate key (first defined on line 1)",
        ),
    ],
)
def test_bad_values_name_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config({"INTERVIEW_BOT_CONFIG": str(path)})
    rendered = [str(e).replace(str(tmp_path) + "/", "") for e in caught.value.errors]
    assert any(line.startswith(expected) for line in rendered), rendered


def test_every_bad_key_is_reported_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "reminders:\n  max: many\n  interval: soon\nsummary:\n  deadline: x\n")
    with pytest.raises(ConfigError) as caught:
        load_config({"INTERVIEW_BOT_CONFIG": str(path)})
    assert [(e.line, e.path) for e in caught.value.errors] == [
        (2, "reminders.max"),
        (3, "reminders.interval"),
        (5, "summary.deadline"),
    ]


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config({"INTERVIEW_BOT_CONFIG": str(tmp_path / "nope.yaml")})


def test_empty_config_file_means_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, "# nothing configured yet\n")
    assert load_config({"INTERVIEW_BOT_CONFIG": str(path)}).reminders.max == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0s", timedelta(0)),
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("24h", timedelta(hours=24)),
        ("2d", timedelta(days=2)),
        ("1.5h", timedelta(minutes=90)),
    ],
)
def test_durations_round_trip(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert parse_duration(format_duration(expected)) == expected


@pytest.mark.parametrize("bad", ["", "5", "5w", "-5m", "m", True, 5, None, "5 m 3"])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(bad)


def test_quiet_hours_wrap_past_midnight() -> None:
    quiet = QuietHours.parse("20:00-08:00")
    assert quiet is not None
    assert quiet.contains(time(23, 30))
    assert quiet.contains(time(7, 59))
    assert not quiet.contains(time(8, 0))
    assert not quiet.contains(time(12, 0))
    assert quiet.contains(time(20, 0))
    daytime = QuietHours.parse("12:00-13:00")
    assert daytime is not None
    assert daytime.contains(time(12, 30))
    assert not daytime.contains(time(13, 0))


def test_access_recruiters(tmp_path: Path) -> None:
    path = write(tmp_path, "access:\n  recruiters: [U0RECRUIT, W0OTHER]\n")
    assert load_config({"INTERVIEW_BOT_CONFIG": str(path)}).access.recruiters == (
        "U0RECRUIT",
        "W0OTHER",
    )
    path = write(tmp_path, "access:\n  recruiters: [U0RECRUIT, bob]\n")
    with pytest.raises(ConfigError) as caught:
        load_config({"INTERVIEW_BOT_CONFIG": str(path)})
    assert [(e.line, e.path) for e in caught.value.errors] == [(2, "access.recruiters[1]")]


def test_retention_days(tmp_path: Path) -> None:
    assert load_config({}).retention.days is None  # default: keep everything
    path = write(tmp_path, "retention:\n  days: 180\n")
    config = load_config({"INTERVIEW_BOT_CONFIG": str(path)})
    assert config.retention.days == 180
    assert config.retention.period == timedelta(days=180)
    assert config.describe()["retention"] == {"days": 180}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "retention:\n  days: 0\n",
            "config.yaml:2: retention.days: Input should be greater than or equal to 1",
        ),
        (
            "retention:\n  days: 180d\n",
            "config.yaml:2: retention.days: expected a whole number of days like 180, got '180d'",
        ),
        (
            "retention: {days: true}\n",
            "config.yaml:1: retention.days: expected a whole number of days like 180, got True",
        ),
        (
            "retention: {days: 1.5}\n",
            "config.yaml:1: retention.days: expected a whole number of days like 180, got 1.5",
        ),
        ("retention: {weeks: 2}\n", "config.yaml:1: retention.weeks: unknown field"),
        # retention must outlast the summary deadline, or live interviews would go
        (
            "retention:\n  days: 2\n",
            "config.yaml:2: retention.days: must be longer than summary.deadline (2d)",
        ),
        (
            "summary: {deadline: 10d}\nretention:\n  days: 7\n",
            "config.yaml:3: retention.days: must be longer than summary.deadline (10d)",
        ),
    ],
)
def test_bad_retention_names_file_line_and_key(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config({"INTERVIEW_BOT_CONFIG": str(path)})
    rendered = [str(e).replace(str(tmp_path) + "/", "") for e in caught.value.errors]
    assert rendered == [expected]
