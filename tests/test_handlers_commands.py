"""`/interview` callbacks called directly (no HTTP), behind the guard, as Bolt would chain them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, timedelta
from typing import Any
from unittest.mock import Mock

import pytest
from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from handlers.access import Recruiters
from handlers.commands import CommandListeners
from handlers.context import BotContext
from handlers.guard import Guard
from handlers.timezones import TimeZones
from rubric import RubricRegistry
from storage.policy import FeedbackPolicy
from tests.fakeslack import FakeSlack, Fault, running_fake
from tests.harness import Clock


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    yield from running_fake()


@pytest.fixture
def listeners(
    session_factory: sessionmaker[Session], fake: FakeSlack
) -> tuple[Listeners, WebClient]:
    for user in ("U0REC", "U0GROUPIE", "U0OTHER"):
        fake.add_user(user)
    fake.usergroups["S0RECRUITING"] = ["U0GROUPIE"]
    ctx = BotContext(
        session_factory=session_factory,
        policy=FeedbackPolicy(
            form_delay=timedelta(minutes=5),
            due_after=timedelta(hours=24),
            summary_deadline=timedelta(hours=48),
        ),
        registry=RubricRegistry.load(None),
        default_tz=UTC,
        recruiters=frozenset({"U0REC", "S0RECRUITING"}),
        clock=Clock(),
    )
    client = WebClient(token="xoxb-test", base_url=fake.url)
    return Listeners(
        CommandListeners(ctx, TimeZones(UTC)), Guard(ctx, Recruiters(ctx.recruiters))
    ), client


class Listeners:
    def __init__(self, commands: CommandListeners, guard: Guard) -> None:
        self.commands = commands
        self.guard = guard


def run(listeners: Listeners, client: WebClient, user: str, text: str) -> dict[str, Any]:
    """The guard's refusal, or the listener's ack, as Slack would receive it."""
    body = {"user_id": user, "text": text, "trigger_id": "t"}
    context = BoltContext()
    passed: list[bool] = []
    refusal = listeners.guard.command()(
        body=body, client=client, context=context, next=lambda: passed.append(True)
    )
    if not passed:
        assert refusal is not None
        return dict(json.loads(str(refusal.body)))
    ack = Mock(Ack)
    listeners.commands.interview(ack, body, client, context)
    ack.assert_called_once()
    return dict(ack.call_args.kwargs)


def test_help_is_ephemeral_and_lists_the_subcommands(
    listeners: tuple[Listeners, WebClient],
) -> None:
    commands, client = listeners
    reply = run(commands, client, "U0OTHER", "")
    assert reply["response_type"] == "ephemeral"
    text = json.dumps(reply["blocks"])
    for sub in ("help", "list", "summary", "schedule", "cancel"):
        assert f"/interview {sub}" in text


def test_recruiters_by_id_and_by_user_group(
    listeners: tuple[Listeners, WebClient], fake: FakeSlack
) -> None:
    commands, client = listeners
    assert "does not exist" in json.dumps(run(commands, client, "U0REC", "cancel 42"))
    assert "does not exist" in json.dumps(run(commands, client, "U0GROUPIE", "cancel 42"))
    assert "Only recruiters" in json.dumps(run(commands, client, "U0OTHER", "cancel 42"))
    assert len(fake.calls_to("usergroups.users.list")) == 1  # membership is cached


def test_a_failed_group_lookup_denies(
    listeners: tuple[Listeners, WebClient], fake: FakeSlack
) -> None:
    commands, client = listeners
    fake.fail("usergroups.users.list", Fault(body={"ok": False, "error": "missing_scope"}))
    assert "Only recruiters" in json.dumps(run(commands, client, "U0GROUPIE", "cancel 42"))


def test_cancel_usage_and_garbage(listeners: tuple[Listeners, WebClient]) -> None:
    commands, client = listeners
    for text in ("cancel", "cancel abc", "cancel 1 2", "cancel 99999999999999999999"):
        assert "Usage" in json.dumps(run(commands, client, "U0REC", text))
