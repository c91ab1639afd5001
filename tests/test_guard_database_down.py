"""The guard when the database does not answer: a clear message on every surface, no 500."""

from __future__ import annotations

import json
from concurrent.futures import Executor, Future
from datetime import UTC, timedelta
from typing import Any
from unittest.mock import MagicMock

import sqlalchemy as sa
from slack_bolt import BoltContext, BoltResponse

from handlers.access import Recruiters
from handlers.blocks.feedback_modal import SAVE_FAILED_ERROR
from handlers.context import BotContext
from handlers.guard import UNAVAILABLE, Guard
from rubric import RubricRegistry
from storage.access import Action
from storage.policy import FeedbackPolicy


class Inline(Executor):
    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


def _refused() -> sa.exc.OperationalError:
    return sa.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))


class DownSession:
    """A session whose database does not answer (the feedback flows' held transaction)."""

    def begin(self) -> Any:
        raise _refused()

    def close(self) -> None:
        pass


class DownFactory:
    def begin(self) -> Any:
        raise _refused()

    def __call__(self) -> DownSession:
        return DownSession()


def guard() -> Guard:
    ctx = BotContext(
        session_factory=DownFactory(),  # type: ignore[arg-type]
        policy=FeedbackPolicy(
            form_delay=timedelta(0),
            due_after=timedelta(hours=24),
            summary_deadline=timedelta(hours=48),
        ),
        registry=RubricRegistry.load(None),
        default_tz=UTC,
        after_ack=Inline(),
    )
    return Guard(ctx, Recruiters(()))


def call(middleware: Any, body: dict[str, Any], client: Any) -> tuple[BoltResponse, bool]:
    passed: list[bool] = []
    response = middleware(
        body=body, client=client, context=BoltContext(), next=lambda: passed.append(True)
    )
    return response, bool(passed)


def test_a_button_gets_a_notice_that_the_bot_is_briefly_unavailable() -> None:
    client = MagicMock()
    body = {"user": {"id": "U0AAA"}, "trigger_id": "t1", "actions": [{"value": "abc"}]}
    response, passed = call(guard().button(Action.OPEN_FORM), body, client)
    assert (response.status, passed) == (200, False)
    [opened] = client.views_open.call_args_list
    assert UNAVAILABLE[:40] in json.dumps(opened.kwargs["view"])


def test_a_command_gets_an_ephemeral_unavailable_reply() -> None:
    response, passed = call(guard().command(), {"user_id": "U0AAA", "text": "list"}, MagicMock())
    assert (response.status, passed) == (200, False)
    reply = json.loads(str(response.body))
    assert reply["response_type"] == "ephemeral" and UNAVAILABLE[:40] in reply["text"]


def test_a_submission_keeps_the_modal_open_with_the_could_not_save_error() -> None:
    view = {
        "type": "modal",
        "private_metadata": json.dumps({"r": "abc", "p": 0}),
        "blocks": [{"type": "input", "block_id": "notes"}, {"type": "section"}],
    }
    response, passed = call(
        guard().feedback_view(Action.SUBMIT), {"user": {"id": "U0AAA"}, "view": view}, MagicMock()
    )
    assert (response.status, passed) == (200, False)
    assert json.loads(str(response.body)) == {
        "response_action": "errors",
        "errors": {"notes": SAVE_FAILED_ERROR},
    }
