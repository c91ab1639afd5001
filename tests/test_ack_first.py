"""Slack's 3-second ack never waits on a Slack call: what follows an ack runs after it.

Listeners run in the request's thread (Bolt's ``process_before_response``), so a
Slack call made before the listener returns would hold the HTTP answer. Here the
fake Slack holds ``views.open`` / ``views.publish`` until the test lets go: every
answer must arrive while the call is still held, and the call must then finish.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot import slackreq
from bot.config import AccessConfig, FileConfig
from tests.fakeslack import FakeSlack, running_fake
from tests.harness import ServedBot, wait_for

INTERVIEW = """\
interviews:
  - external_id: ack-1
    candidate: Ada Lovelace
    role: Senior ML Engineer
    starts_at: 2027-03-01T09:00:00+00:00
    ends_at: 2027-03-01T10:00:00+00:00
    hiring_channel: C0HIRING
    recruiter: U0RECRUIT
    hiring_lead: U0LEAD
    panel:
      - interviewer: U0AAA
        focus: [system_design]
"""


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    yield from running_fake()


@pytest.fixture
def served(
    engine: Engine, session_factory: sessionmaker[Session], fake: FakeSlack, tmp_path: Path
) -> Iterator[ServedBot]:
    for user in ("U0AAA", "U0RECRUIT", "U0LEAD"):
        fake.add_user(user)
    bot = ServedBot(
        engine,
        session_factory,
        fake,
        file_config=FileConfig(access=AccessConfig(recruiters=("U0RECRUIT",))),
    )
    path = tmp_path / "interviews.yaml"
    path.write_text(INTERVIEW)
    bot.import_file(path)
    bot.clock.now = bot.clock.now.replace(hour=10, minute=10)
    bot.sweep()  # the form DM
    bot.open_home("U0AAA")  # Bolt's one auth.test, and the time zone, before anything is held
    yield bot
    bot.close()


class Held:
    """A fake Slack method that answers only once the test lets it."""

    def __init__(self, fake: FakeSlack, method: str) -> None:
        self.release = threading.Event()
        self.entered = threading.Event()
        answer: Callable[[dict[str, Any]], dict[str, Any]] = fake.handlers[method]

        def held(args: dict[str, Any]) -> dict[str, Any]:
            self.entered.set()
            self.release.wait(20)
            return answer(args)

        fake.handlers[method] = held


def _form_button_value(fake: FakeSlack) -> str:
    dm = [m for m in fake.messages if m.channel == "U0AAA"][-1]
    return next(
        e["value"]
        for b in dm.blocks
        for e in [b.get("accessory"), *b.get("elements", [])]
        if isinstance(e, dict) and e.get("action_id") == "feedback_open"
    )


def _answered_while_held(served: ServedBot, held: Held, request: tuple[bytes, str]) -> None:
    try:
        reply = served.send(request, timeout=5)
        assert reply.status == 200, reply.body[:200]
        assert not held.release.is_set()
        # The work after the ack did start, and is still waiting on Slack.
        assert held.entered.wait(5), "the Slack call after the ack never started"
    finally:
        held.release.set()


def test_the_form_button_is_acked_before_views_open_answers(
    served: ServedBot, fake: FakeSlack
) -> None:
    held = Held(fake, "views.open")
    before = len(fake.calls_to("views.open"))
    trigger = fake.issue_trigger()
    value = _form_button_value(fake)
    _answered_while_held(
        served, held, slackreq.block_action("U0AAA", "feedback_open", value, trigger_id=trigger)
    )
    wait_for(
        lambda: len(fake.views) > 0 and len(fake.calls_to("views.open")) > before, what="modal"
    )


def test_app_home_is_acked_before_views_publish_answers(served: ServedBot, fake: FakeSlack) -> None:
    held = Held(fake, "views.publish")
    fake.home.pop("U0AAA", None)
    _answered_while_held(served, held, slackreq.app_home_opened("U0AAA"))
    wait_for(lambda: "U0AAA" in fake.home, what="views.publish")


def test_the_schedule_command_is_acked_before_views_open_answers(
    served: ServedBot, fake: FakeSlack
) -> None:
    held = Held(fake, "views.open")
    trigger = fake.issue_trigger()
    _answered_while_held(
        served, held, slackreq.slash_command("U0RECRUIT", "schedule", trigger_id=trigger)
    )
    wait_for(
        lambda: any("schedule" in str(c.args.get("view", "")) for c in fake.calls_to("views.open")),
        what="the schedule modal",
    )
