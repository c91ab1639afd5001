"""Outgoing webhooks' config and start-up: located errors, and no unsigned deliveries."""

from __future__ import annotations

import re
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.app import SecretsError, check_secrets
from bot.config import Config, ConfigError, FileConfig, Secrets, load_config_file
from handlers.deliveries import DELIVERY_HEADER, EVENT_HEADER, retry_after
from sources.signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign_v1

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


DOC = Path(__file__).resolve().parent.parent / "docs" / "sources" / "outgoing-webhooks.md"


def doc_blocks(language: str) -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    fence = re.compile(rf"^[ \t]*```{language}\n(.*?)^[ \t]*```", re.M | re.S)
    return [textwrap.dedent(m.group(1)) for m in fence.finditer(text)]


def test_the_documented_verification_accepts_the_bot_signature_only() -> None:
    """The Python snippet customers copy agrees with what the bot sends."""
    [snippet] = doc_blocks("python")
    namespace: dict[str, Any] = {}
    exec(compile(snippet, str(DOC), "exec"), namespace)  # our own doc, as a customer runs it
    verify = namespace["verify"]
    body = b'{"event":"summary.posted","delivery_id":"d-1"}'
    headers = sign_v1("s3cret", body, timestamp=1_800_000_000)
    assert verify("s3cret", body, headers, now=1_800_000_010)
    assert not verify("other", body, headers, now=1_800_000_010)
    assert not verify("s3cret", body + b" ", headers, now=1_800_000_010)
    assert not verify("s3cret", body, headers, now=1_800_000_301)  # replayed too late
    assert not verify("s3cret", body, {}, now=1_800_000_010)


def test_the_documented_config_loads(tmp_path: Path) -> None:
    [yaml] = doc_blocks("yaml")
    path = tmp_path / "config.yaml"
    path.write_text(yaml)
    hooks = load_config_file(path).outgoing_webhooks
    assert [h.events for h in hooks] == [
        ("summary.posted", "summary.updated"),
        ("summary.posted",),
    ]
    text = DOC.read_text(encoding="utf-8")
    for name in (DELIVERY_HEADER, EVENT_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER):
        assert f"`{name}`" in text
