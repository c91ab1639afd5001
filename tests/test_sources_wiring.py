"""bot.sources: every source built from one wiring, and their API clients closed with the bot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.orm import Session, sessionmaker

from bot.app import build_bot
from bot.config import Config, ConfigError, FileConfig, Secrets, load_config_file
from bot.slack_client import create_web_client
from bot.sources import calendar_kinds
from handlers.feeds import FeedPollKind
from handlers.greenhouse import GreenhousePollKind
from rubric import RubricRegistry
from sources.ashby import AshbyEndpoint
from sources.ashby_payload import PayloadError, parse_schedule, schedule_source
from sources.lever import LeverEndpoint
from storage.intake import SOURCE_MAX, Intake, SourceRow, cancel_missing
from storage.interviews import Timings
from storage.mapping import SourceMapping
from storage.models import IncompleteInterview, Interview, InterviewState
from tests.harness import BOT_TOKEN, SIGNING_SECRET
from tests.test_storage_intake import fields

VENDOR_SECRETS = {
    "ashby_webhook_secret": "ashby-secret",
    "ashby_api_key": "ashby-key",
    "lever_signature_token": "lever-token",
    "lever_api_key": "lever-key",
    "greenhouse_client_id": "gh-id",
    "greenhouse_client_secret": "gh-secret",
    "greenhouse_webhook_secret": "gh-hook",
    "webhook_secret": "generic-secret",
}


def config(secrets: dict[str, str]) -> Config:
    return Config(
        file=FileConfig(),
        slack_api_url="http://127.0.0.1:9/api/",  # never called: nothing here talks to Slack
        secrets=Secrets(
            bot_token=SecretStr(BOT_TOKEN),
            signing_secret=SecretStr(SIGNING_SECRET),
            **{name: SecretStr(value) for name, value in secrets.items()},
        ),
    )


def test_closing_the_bot_closes_every_vendor_api_client(
    session_factory: sessionmaker[Session],
) -> None:
    cfg = config(VENDOR_SECRETS)
    bot = build_bot(cfg, session_factory, create_web_client(cfg))
    ashby = next(w for w in bot.webhooks if isinstance(w, AshbyEndpoint))
    lever = next(w for w in bot.webhooks if isinstance(w, LeverEndpoint))
    poll = next(k for k in bot.sweeper.kinds if isinstance(k, GreenhousePollKind))
    assert ashby.api is not None
    pools = {
        "ashby": ashby.api._client,
        "lever": lever._api._client,
        "greenhouse": poll.poller.api._http,
    }
    assert {name: pool.is_closed for name, pool in pools.items()} == dict.fromkeys(pools, False)
    assert len(bot.closers) == 3

    bot.close()

    assert {name: pool.is_closed for name, pool in pools.items()} == dict.fromkeys(pools, True)


def test_one_client_failing_to_close_leaves_the_others_closed(
    session_factory: sessionmaker[Session],
) -> None:
    cfg = config(VENDOR_SECRETS)
    bot = build_bot(cfg, session_factory, create_web_client(cfg))
    closed: list[str] = []

    def broken() -> None:
        raise OSError("the pool is gone")

    bot.closers = [broken, *bot.closers, lambda: closed.append("last")]
    bot.close()
    assert closed == ["last"]


def test_without_vendor_secrets_there_is_nothing_to_close(
    session_factory: sessionmaker[Session],
) -> None:
    cfg = config({"webhook_secret": "generic-secret"})
    bot = build_bot(cfg, session_factory, create_web_client(cfg))
    assert bot.closers == []
    assert [w.path for w in bot.webhooks] == ["/webhooks/interviews"]
    bot.close()


# -- every source's name fits interviews.source and incomplete_interviews.source ----------

NOW = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)
PATTERN = '"(?P<candidate>.+)"'


def test_the_source_columns_are_as_wide_as_the_intake_allows() -> None:
    for table in (Interview.__table__, IncompleteInterview.__table__):
        assert table.c.source.type.length == SOURCE_MAX  # type: ignore[attr-defined]


def test_a_calendar_name_too_long_for_its_source_is_refused_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(
        "calendars:\n"
        f"  - url: https://cal.example/a.ics\n    title_pattern: {PATTERN}\n"
        f"  - name: {'x' * 41}\n    url: https://cal.example/b.ics\n"
        f"    title_pattern: {PATTERN}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config_file(path)
    assert f"{path}:4: calendars[1].name: use 1 to 40 letters" in str(caught.value)


def longest_sources(tmp_path: Path, session_factory: sessionmaker[Session]) -> list[str]:
    """The longest source names the config and Ashby's payloads let through."""
    path = tmp_path / "config.yaml"
    path.write_text(
        "calendars:\n"
        f"  - name: {'c' * 40}\n    url: {tmp_path / 'a.ics'}\n    title_pattern: {PATTERN}\n"
        f"  - url: https://{'h' * 60}.example/{'p' * 200}.ics\n    title_pattern: {PATTERN}\n"
    )
    cfg = Config(file=load_config_file(path), secrets=config({}).secrets)
    bot = build_bot(cfg, session_factory, create_web_client(cfg))
    (kind,) = calendar_kinds(cfg, bot.ctx, bot.client, bot.timezones)
    assert isinstance(kind, FeedPollKind)
    schedule = {"id": "a" * 58, "status": "Scheduled", "applicationId": "app-1"}
    with pytest.raises(PayloadError, match=r"interviewSchedule\.id` is missing or not"):
        parse_schedule({"data": {"interviewSchedule": {**schedule, "id": "a" * 59}}})
    ashby = schedule_source(parse_schedule({"data": {"interviewSchedule": schedule}}))
    return [*(feed.source for feed in kind.feeds), ashby]


def test_the_longest_source_names_are_stored_and_cancelled_on_every_backend(
    tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    sources = longest_sources(tmp_path, session_factory)
    assert max(len(source) for source in sources) == SOURCE_MAX  # "ashby:" + 58
    intake = Intake(
        RubricRegistry.load(None),
        Timings(form_delay=timedelta(minutes=5), summary_deadline=timedelta(hours=48)),
        SourceMapping(),
    )
    rows = [
        row
        for n, source in enumerate(sources)
        for row in (
            SourceRow(source, f"{source[:50]}:{n}:ok", fields()),
            SourceRow(source, f"{source[:50]}:{n}:no-channel", fields(hiring_channel=None)),
        )
    ]
    with session_factory.begin() as session:
        result = intake.take(session, rows, now=NOW)
    assert (result.created, result.incomplete, result.errors) == (len(sources), len(sources), ())
    with session_factory() as session:
        waiting = set(session.scalars(sa.select(IncompleteInterview.source)))
    assert waiting == set(sources)
    with session_factory.begin() as session:
        gone = [
            cancel_missing(session, source=source, seen_external_ids=set(), now=NOW)
            for source in sources
        ]
    assert [len(ids) for ids in gone] == [1] * len(sources)
    with session_factory() as session:
        stored = session.execute(sa.select(Interview.source, Interview.state)).all()
    assert sorted(stored) == sorted((s, InterviewState.CANCELLED) for s in sources)


def test_a_source_name_longer_than_its_column_is_a_row_error_not_a_crash(
    session_factory: sessionmaker[Session],
) -> None:
    intake = Intake(
        RubricRegistry.load(None),
        Timings(form_delay=timedelta(minutes=5), summary_deadline=timedelta(hours=48)),
        SourceMapping(),
    )
    long = "calendar:" + "x" * (SOURCE_MAX - 8)
    with session_factory.begin() as session:
        result = intake.take(session, [SourceRow(long, "webhook:long", fields())], now=NOW)
    assert result.outcomes == ("invalid",)
    assert [(e.field, e.message) for e in result.errors] == [
        ("source", f"must be 1 to {SOURCE_MAX} characters")
    ]
