"""The calendar feeds from the operator's side: config errors with their line,
``interview-bot sources status`` in text and JSON, ``demo --source calendar``, metrics."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import generate_latest

from bot.cli import main
from bot.demo_calendar import run_calendar_demo
from handlers.metrics import REGISTRY, observe_source_poll
from storage.engine import create_engine_for, make_session_factory
from storage.migrate import upgrade
from storage.source_state import PollStats, claim_polls, record_failure, record_success

CALENDAR = """\
calendars:
  - name: team
    url: {url}
    title_pattern: '{pattern}'
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    for name in ("SLACK_BOT_TOKEN", "SLACK_API_URL"):
        monkeypatch.delenv(name, raising=False)
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    config = tmp_path / "config.yaml"
    monkeypatch.setenv("INTERVIEW_BOT_CONFIG", str(config))
    return config, url


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("Interview: (?P<name>.+)", "needs a named group (?P<candidate>...)"),
        ("Interview: (?P<candidate>.+", "not a regular expression"),
        ("(?P<candidate>.+) (?P<level>.+)", "unknown named group(s) level"),
    ],
)
def test_a_bad_title_pattern_is_reported_with_its_line(
    configured: tuple[Path, str],
    capsys: pytest.CaptureFixture[str],
    pattern: str,
    message: str,
) -> None:
    config, _url = configured
    config.write_text(CALENDAR.format(url="/tmp/team.ics", pattern=pattern))
    code, _, err = run(capsys, "sources", "status")
    assert code == 2
    assert f"config error: {config}:4: calendars[0].title_pattern:" in err
    assert message in err


def test_a_feed_url_that_is_not_http_or_a_file_is_refused(
    configured: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    config, _url = configured
    config.write_text(CALENDAR.format(url="ftp://example.com/x.ics", pattern="(?P<candidate>.+)"))
    code, _, err = run(capsys, "sources", "status")
    assert code == 2 and "calendars[0].url:" in err and "ftp: URL" in err


def test_sources_status_shows_every_source_and_never_the_url(
    configured: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    config, url = configured
    secret_url = "https://calendar.google.com/calendar/ical/x/private-s3cret/basic.ics"
    config.write_text(CALENDAR.format(url=secret_url, pattern="(?P<candidate>.+)"))
    engine = create_engine_for(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    now = datetime.now(UTC)
    with factory.begin() as session:
        claim_polls(session, ["calendar:team", "greenhouse"], now=now)
        record_success(
            session,
            "calendar:team",
            now=now - timedelta(minutes=3),
            interval=timedelta(minutes=5),
            stats=PollStats(events_seen=12, created=3, updated=1, incomplete=1),
        )
        record_failure(
            session,
            "greenhouse",
            now=now,
            error="HTTP 401 from Harvest",
            interval=timedelta(minutes=5),
        )
    engine.dispose()
    code, out, _ = run(capsys, "sources", "status")
    assert code == 0
    assert "calendar:team (every 5m)" in out
    assert "events seen:  12 (last poll)" in out
    assert "3 created, 1 updated, 0 cancelled, 1 incomplete" in out
    assert "greenhouse\n  last success: never\n  last error:   HTTP 401 from Harvest" in out
    assert "Incomplete interviews: 0" in out
    assert "s3cret" not in out
    code, out, _ = run(capsys, "sources", "status", "--format", "json")
    data = json.loads(out)
    assert [s["name"] for s in data["sources"]] == ["calendar:team", "greenhouse"]
    assert data["sources"][0]["totals"] == {
        "created": 3,
        "updated": 1,
        "cancelled": 0,
        "incomplete": 1,
    }
    assert data["sources"][1]["last_error"] == "HTTP 401 from Harvest"
    assert data["incomplete"] == []


def test_demo_from_a_calendar_file() -> None:
    out = io.StringIO()
    assert run_calendar_demo(out) == 0
    shown = out.getvalue()
    assert "panel from the attendees' emails (users.lookupByEmail): Priya Raman, Marco Bianchi" in (
        shown
    )
    assert "reschedules interview 1 to 11:00 UTC" in shown
    assert "the sweep sends 2 feedback form DMs" in shown
    assert shown.count("      DM to ") == 2
    assert "calendar:recruiting (every 5m)" in shown
    assert "1 created, 1 updated, 0 cancelled, 0 incomplete" in shown


def test_source_metrics_are_exported() -> None:
    at = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
    observe_source_poll(
        "calendar:metrics",
        at=at,
        outcome="changed",
        counts={"created": 2, "updated": 0, "cancelled": 1, "incomplete": 0},
        events_seen=7,
    )
    observe_source_poll("calendar:metrics", at=at, outcome="failed")
    text = generate_latest(REGISTRY).decode()
    assert 'interview_bot_source_events_seen{source="calendar:metrics"} 7.0' in text
    last = REGISTRY.get_sample_value(
        "interview_bot_source_last_success_timestamp_seconds", {"source": "calendar:metrics"}
    )
    assert last == at.timestamp()
    assert (
        'interview_bot_source_interviews_total{outcome="created",source="calendar:metrics"} 2.0'
        in text
    )
    assert 'interview_bot_source_errors_total{source="calendar:metrics"} 1.0' in text
    assert (
        'interview_bot_source_polls_total{outcome="failed",source="calendar:metrics"} 1.0' in text
    )


def test_config_show_hides_a_feeds_secret_address(
    configured: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    config, _url = configured
    secret_url = "https://calendar.google.com/calendar/ical/x/private-s3cret/basic.ics"
    config.write_text(CALENDAR.format(url=secret_url, pattern="(?P<candidate>.+)"))
    code, out, _ = run(capsys, "config", "show")
    assert code == 0
    assert "https://calendar.google.com/... (hidden)" in out and "s3cret" not in out


def test_a_feed_default_that_cannot_be_a_channel_is_reported(
    configured: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    config, _url = configured
    config.write_text(
        CALENDAR.format(url="/tmp/team.ics", pattern="(?P<candidate>.+)")
        + "    defaults:\n      hiring_channel: '#hiring'\n"
    )
    code, _, err = run(capsys, "sources", "status")
    assert code == 2
    assert f"{config}:5: calendars[0].defaults:" in err and "'#hiring'" in err
