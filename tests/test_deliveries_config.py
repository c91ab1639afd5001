"""Outgoing webhooks' config and start-up: located errors, and no unsigned deliveries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.app import SecretsError, check_secrets
from bot.config import Config, ConfigError, FileConfig, Secrets, load_config_file
from handlers.deliveries import retry_after

SLACK = {"bot_token": SecretStr("xoxb-1"), "signing_secret": SecretStr("0123456789abcdef01")}
HOOK = {"outgoing_webhooks": [{"url": "https://ats.example/hooks/1"}]}


def errors_of(tmp_path: Path, text: str) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_config_file(path)
    return str(caught.value)


def test_defaults_send_both_events_without_notes(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("outgoing_webhooks:\n  - url: https://ats.example/hooks/1\n")
    [hook] = load_config_file(path).outgoing_webhooks
    assert hook.events == ("summary.posted", "summary.updated")
    assert hook.include_notes is False


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("url: ftp://ats.example/x", "must be an http:// or https:// URL"),
        ("url: ats.example/x", "must be an http:// or https:// URL"),
        ("url: https://user:pw@ats.example/x", "must not hold a user name or password"),
        (
            "url: https://a.example\n    events: [summary.deleted]",
            "unknown event 'summary.deleted'",
        ),
        ("url: https://a.example\n    events: []", "must name at least one event"),
        ("url: https://a.example\n    include_note: true", "include_note"),
    ],
)
def test_bad_entries_are_refused_with_their_location(
    tmp_path: Path, entry: str, message: str
) -> None:
    text = errors_of(tmp_path, f"outgoing_webhooks:\n  - {entry}\n")
    assert message in text
    line = 2 + entry.count("\n")  # the line of the offending key
    assert f"config.yaml:{line}: outgoing_webhooks[0]" in text


def test_start_up_refuses_outgoing_webhooks_without_their_secret() -> None:
    config = Config(file=FileConfig.model_validate(HOOK), secrets=Secrets(**SLACK))
    with pytest.raises(SecretsError, match="INTERVIEW_BOT_OUTGOING_SECRET is not set"):
        check_secrets(config)
    signed = Secrets(**SLACK, outgoing_secret=SecretStr("s3cret"))
    check_secrets(Config(file=FileConfig.model_validate(HOOK), secrets=signed))
    check_secrets(Config(secrets=Secrets(**SLACK)))  # no receivers: no secret needed


def test_retry_after_in_seconds_or_as_a_date() -> None:
    now = datetime(2027, 3, 1, 12, 0, tzinfo=UTC).timestamp()
    assert retry_after("120", now=now) == timedelta(seconds=120)
    assert retry_after("Mon, 01 Mar 2027 12:05:00 GMT", now=now) == timedelta(minutes=5)
    assert retry_after("Mon, 01 Mar 2027 11:00:00 GMT", now=now) == timedelta(0)
    assert retry_after("soon", now=now) is None
    assert retry_after(None, now=now) is None
