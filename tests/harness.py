"""End-to-end harness: the real app served over HTTP on loopback, a fake Slack, a test clock.

The served app is the same code ``interview-bot serve --http`` runs (Bolt's WSGI
adapter behind waitress); tests talk to it only with Slack-signed HTTP requests
and read what the bot sent from the fake Slack.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.app import Bot, build_bot
from bot.config import Config, FileConfig, Secrets
from bot.server import BotWsgiApp, make_http_server, stop_http_server
from bot.slack_client import create_web_client
from rubric import RubricRegistry
from storage.import_file import parse_import_file
from storage.interviews import Timings, import_interviews
from tests import slackreq
from tests.fakeslack import FakeSlack

SIGNING_SECRET = "0123456789abcdef0123456789abcdef"
BOT_TOKEN = "xoxb-test-token"


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime(2027, 3, 1, 8, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


class ServedBot:
    """The bot served on 127.0.0.1:<ephemeral>, talking to ``fake``."""

    def __init__(
        self,
        engine: Engine,
        session_factory: sessionmaker[Session],
        fake: FakeSlack,
        *,
        file_config: FileConfig | None = None,
        extra_secrets: dict[str, str] | None = None,
    ) -> None:
        self.fake = fake
        self.clock = Clock()
        self.session_factory = session_factory
        self.config = Config(
            file=file_config or FileConfig(),
            slack_api_url=fake.url,
            secrets=Secrets(
                bot_token=SecretStr(BOT_TOKEN),
                signing_secret=SecretStr(SIGNING_SECRET),
                # The sources' secrets by Secrets field name, e.g. {"outgoing_secret": ...}.
                **{name: SecretStr(value) for name, value in (extra_secrets or {}).items()},
            ),
        )
        self.bot: Bot = build_bot(
            self.config, session_factory, create_web_client(self.config), clock=self.clock
        )
        self.wsgi = BotWsgiApp(self.bot.app, engine, self.bot.webhooks)
        self.server = make_http_server(self.wsgi, host="127.0.0.1", port=0, threads=4)
        self.port = int(getattr(self.server, "effective_port"))  # noqa: B009
        self._thread = threading.Thread(target=self.server.run, daemon=True)
        self.wsgi.ready.set()
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        stop_http_server(self.server, self._thread)
        self.bot.close()

    # -- scheduling and time ----------------------------------------------------
    def import_file(self, path: Path, registry: RubricRegistry | None = None) -> list[int]:
        registry = registry or self.bot.ctx.registry
        specs = parse_import_file(path, registry=registry)
        with self.session_factory.begin() as session:
            results = import_interviews(
                session,
                specs,
                registry=registry,
                timings=Timings(
                    form_delay=self.config.feedback.form_delay,
                    summary_deadline=self.config.summary.deadline,
                ),
                now=self.clock(),
            )
        return [r.interview_id for r in results]

    def sweep(self) -> Any:
        return self.bot.sweeper.run_once()

    # -- Slack-signed requests ---------------------------------------------------
    def send(
        self, packed: tuple[bytes, str], *, secret: str | None = SIGNING_SECRET, **kwargs: Any
    ) -> slackreq.Reply:
        body, content_type = packed
        return slackreq.post(
            f"{self.url}/slack/events", body, content_type, secret=secret, **kwargs
        )

    def click(self, user: str, action_id: str, value: str) -> slackreq.Reply:
        """Click a button; returns once the bot has acked and answered with views.open."""
        trigger = self.fake.issue_trigger()
        before = len(self.fake.calls_to("views.open"))
        reply = self.send(slackreq.block_action(user, action_id, value, trigger_id=trigger))
        # Bolt acks first and opens the modal right after, on its listener thread.
        wait_for(lambda: len(self.fake.calls_to("views.open")) > before, what="views.open")
        return reply

    def submit(self, user: str, view: dict[str, Any], values: dict[str, Any]) -> slackreq.Reply:
        return self.send(slackreq.view_submission(user, view, values))

    def submit_and_settle(
        self, user: str, view: dict[str, Any], values: dict[str, Any], *, updates: int = 1
    ) -> slackreq.Reply:
        """Submit and wait for the work Bolt does after the ack (the DM update)."""
        before = len(self.fake.calls_to("chat.update"))
        reply = self.submit(user, view, values)
        wait_for(
            lambda: len(self.fake.calls_to("chat.update")) >= before + updates, what="chat.update"
        )
        return reply

    def give_feedback(
        self,
        user: str,
        ratings: dict[str, tuple[str | None, str]],
        *,
        recommendation: str,
        notes: str = "",
    ) -> slackreq.Reply:
        """Click the DM's Give feedback button, fill in the modal, submit; wait for the DM update."""
        dm = [m for m in self.fake.messages if m.channel == user][-1]
        value = next(
            element["value"]
            for block in dm.blocks
            for element in [block.get("accessory"), *block.get("elements", [])]
            if isinstance(element, dict)
            and element.get("action_id") in ("feedback_open", "feedback_edit")
        )
        self.click(user, "feedback_open", value)
        values = feedback_values(ratings, recommendation=recommendation, notes=notes)
        reply = self.submit_and_settle(user, self.last_opened_view(), values)
        assert reply.status == 200
        assert not reply.body or not reply.json(), reply.body[:300]
        return reply

    def open_home(self, user: str) -> dict[str, Any]:
        """Send app_home_opened; returns the Home view the bot published for ``user``."""
        self.fake.home.pop(user, None)
        reply = self.send(slackreq.app_home_opened(user))
        assert reply.status == 200
        wait_for(lambda: user in self.fake.home, what=f"views.publish for {user}")
        return self.fake.home[user]

    def command(self, user: str, text: str, *, opens_view: bool = False) -> slackreq.Reply:
        before = len(self.fake.calls_to("views.open"))
        reply = self.send(slackreq.slash_command(user, text, trigger_id=self.fake.issue_trigger()))
        if opens_view:
            wait_for(lambda: len(self.fake.calls_to("views.open")) > before, what="views.open")
        return reply

    def last_opened_view(self) -> dict[str, Any]:
        opened = self.fake.calls_to("views.open")
        assert opened, "no views.open call"
        view = opened[-1].args["view"]
        return view if isinstance(view, dict) else __import__("json").loads(view)


def wait_for(condition: Callable[[], bool], *, what: str, timeout: float = 5.0) -> None:
    """Wait for work a listener does after its ack (bounded; no fixed sleeps)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def feedback_values(
    ratings: dict[str, tuple[str | None, str]],
    *,
    recommendation: str | None,
    notes: str = "",
) -> dict[str, dict[str, dict[str, Any]]]:
    """Slack's ``view.state.values`` for the feedback modal.

    ``ratings`` maps a skill id to (level id, or "not_assessed", or None for unanswered;
    evidence text).
    """
    values: dict[str, dict[str, dict[str, Any]]] = {}
    for skill_id, (level, evidence) in ratings.items():
        option = (
            None
            if level is None
            else {"text": {"type": "plain_text", "text": level}, "value": level}
        )
        values[f"level:{skill_id}"] = {
            "level": {"type": "static_select", "selected_option": option}
        }
        values[f"evidence:{skill_id}"] = {
            "evidence": {"type": "plain_text_input", "value": evidence or None}
        }
    values["recommendation"] = {
        "value": {
            "type": "radio_buttons",
            "selected_option": None
            if recommendation is None
            else {"text": {"type": "plain_text", "text": recommendation}, "value": recommendation},
        }
    }
    values["notes"] = {"value": {"type": "plain_text_input", "value": notes or None}}
    return values
