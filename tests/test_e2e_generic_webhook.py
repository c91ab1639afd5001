"""POST /webhooks/interviews over real HTTP against the served bot and the fake Slack.

Created, moved and cancelled interviews get the right form DMs (one each, at the
right time, with the test clock); a replay changes nothing; bad, stale and missing
signatures are refused; without the secret the endpoint does not exist; an
incomplete row reaches the recruiter, whose button opens the schedule modal
prefilled, and completing it there makes a normal interview. SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import AccessConfig, FileConfig
from storage.models import IncompleteInterview, Interview
from tests.fakeslack import FakeSlack, Fault, running_fake
from tests.harness import ServedBot, wait_for
from tests.webhook_support import WEBHOOK_SECRET, post_webhook, values_from_view

PANEL = ("U0AAA", "U0BBB")


def row(external_id: str = "zap-1", **over: Any) -> dict[str, Any]:
    # The harness clock says 2027-03-01 08:00 UTC.
    data: dict[str, Any] = {
        "external_id": external_id,
        "candidate": "Ada Lovelace",
        "role": "Senior ML Engineer",
        "starts_at": "2027-03-01T09:00:00Z",
        "duration": "1h",
        "hiring_channel": "C0HIRING",
        "recruiter": "U0REC",
        "hiring_lead": "U0LEAD",
        "panel": [
            {"interviewer": "U0AAA", "focus": ["system_design"]},
            {"interviewer": "bob@example.com", "focus": ["communication"]},
        ],
    }
    data.update(over)
    return data


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    yield from running_fake()


def serve(
    engine: Engine, factory: sessionmaker[Session], fake: FakeSlack, *, secret: bool = True
) -> ServedBot:
    for user in ("U0REC", "U0LEAD", "U0AAA"):
        fake.add_user(user, tz="UTC")
    fake.add_user("U0BBB", email="bob@example.com", tz="UTC")
    return ServedBot(
        engine,
        factory,
        fake,
        file_config=FileConfig(access=AccessConfig(recruiters=("U0REC",))),
        extra_secrets={"webhook_secret": WEBHOOK_SECRET} if secret else None,
    )


@pytest.fixture
def served(
    engine: Engine, session_factory: sessionmaker[Session], fake: FakeSlack
) -> Iterator[ServedBot]:
    bot = serve(engine, session_factory, fake)
    yield bot
    bot.close()
    assert fake.rejected == [], f"the bot sent payloads Slack would reject: {fake.rejected}"


def form_dms(fake: FakeSlack, user: str) -> list[str]:
    """Texts of the form DMs ``user`` got (the feedback button marks them)."""
    return [m.text for m in fake.messages_in(user) if "feedback_open" in json.dumps(m.blocks)]


def sweep_at(bot: ServedBot, hour: int, minute: int = 0) -> None:
    target = bot.clock.now.replace(hour=hour, minute=minute)
    bot.clock.advance(target - bot.clock.now)
    bot.sweep()


def interviews(factory: sessionmaker[Session]) -> list[Interview]:
    with factory() as session:
        return list(session.scalars(sa.select(Interview).order_by(Interview.id)))


def test_created_moved_cancelled_with_one_form_each_at_the_right_time(
    served: ServedBot, session_factory: sessionmaker[Session]
) -> None:
    fake = served.fake
    assert post_webhook(served, {"interviews": [row()]}) == (
        200,
        {"created": 1, "updated": 0, "unchanged": 0, "cancelled": 0, "incomplete": 0},
    )
    [ada] = interviews(session_factory)
    assert (ada.source, ada.external_id) == ("webhook", "zap-1")
    # Replays change nothing.
    status, counts = post_webhook(served, {"interviews": [row()]})
    assert (status, counts["unchanged"], counts["created"]) == (200, 1, 0)

    # Moved to 11:00-12:00 before it took place: no form at the old end (10:05).
    moved = row(starts_at="2027-03-01T11:00:00Z")
    assert post_webhook(served, {"interviews": [moved]})[1]["updated"] == 1
    sweep_at(served, 10, 10)
    assert form_dms(fake, "U0AAA") == [] and form_dms(fake, "U0BBB") == []
    sweep_at(served, 12, 4)
    assert form_dms(fake, "U0AAA") == []
    sweep_at(served, 12, 5)  # the form delay (5 min) after the new end
    assert len(form_dms(fake, "U0AAA")) == 1 and len(form_dms(fake, "U0BBB")) == 1
    served.sweep()
    assert len(form_dms(fake, "U0AAA")) == 1, "a second sweep sent the form again"

    # Cancelled: the sent DMs are updated to say so, and nothing more is sent.
    updates = len(fake.calls_to("chat.update"))
    gone = {"external_id": "zap-1", "status": "cancelled"}
    assert post_webhook(served, {"interviews": [gone]})[1]["cancelled"] == 1
    wait_for(lambda: len(fake.calls_to("chat.update")) >= updates + 2, what="the DM updates")
    changed = fake.calls_to("chat.update")[updates:]
    assert all("cancelled" in json.dumps(c.args) for c in changed)
    assert post_webhook(served, {"interviews": [gone]})[1]["unchanged"] == 1
    posted = len(fake.calls_to("chat.postMessage"))
    served.clock.advance(timedelta(days=3))
    served.sweep()
    assert len(fake.calls_to("chat.postMessage")) == posted, "a cancelled interview sent more"
    assert len(fake.calls_to("chat.update")) == updates + 2


def test_signatures_are_checked_before_anything(
    served: ServedBot, session_factory: sessionmaker[Session]
) -> None:
    body = {"interviews": [row()]}
    assert post_webhook(served, body, secret="wrong")[0] == 401
    assert post_webhook(served, body, age=301)[0] == 401
    assert post_webhook(served, body, secret=None)[0] == 401
    # An unsigned garbage body is refused for its signature, never parsed.
    assert post_webhook(served, None, secret=None, raw=b"\xff{")[0] == 401
    assert post_webhook(served, body, age=299)[0] == 200
    assert len(interviews(session_factory)) == 1


def test_invalid_rows_answer_400_naming_row_and_field_and_change_nothing(
    served: ServedBot, session_factory: sessionmaker[Session]
) -> None:
    rows = [row("ok"), row("bad", starts_at="next tuesday"), {"candidate": "No Id"}]
    status, answer = post_webhook(served, {"interviews": rows})
    assert status == 400
    assert [(e["index"], e["field"]) for e in answer["errors"]] == [(2, "external_id")]
    assert "replay" in answer["errors"][0]["message"]
    status, answer = post_webhook(served, {"interviews": rows[:2]})
    assert status == 400
    assert [(e["index"], e["field"]) for e in answer["errors"]] == [(1, "starts_at")]
    assert "ISO 8601" in answer["errors"][0]["message"]
    assert post_webhook(served, None, raw=b"{not json")[0] == 400
    assert post_webhook(served, {"rows": []})[0] == 400
    assert interviews(session_factory) == []


def test_over_one_mib_is_413(served: ServedBot) -> None:
    big = json.dumps({"interviews": [row(candidate="x" * (1024 * 1024))]}).encode()
    assert post_webhook(served, None, raw=big)[0] == 413


def test_without_the_secret_the_endpoint_is_404(
    engine: Engine, session_factory: sessionmaker[Session], fake: FakeSlack
) -> None:
    bot = serve(engine, session_factory, fake, secret=False)
    try:
        assert post_webhook(bot, {"interviews": [row()]})[0] == 404
    finally:
        bot.close()


def complete_button(fake: FakeSlack, user: str) -> str:
    for message in fake.messages_in(user):
        for block in message.blocks:
            for element in block.get("elements", []):
                if element.get("action_id") == "incomplete_complete":
                    return str(element["value"])
    raise AssertionError(f"no Complete and schedule button in {user}'s DMs")


def test_incomplete_row_reaches_the_recruiter_and_completes_in_the_modal(
    served: ServedBot, session_factory: sessionmaker[Session]
) -> None:
    fake = served.fake
    unknown = row(panel=[{"interviewer": "eve@example.com", "focus": ["system_design"]}])
    status, counts = post_webhook(served, {"interviews": [unknown]})
    assert (status, counts["incomplete"], counts["created"]) == (200, 1, 0)
    assert post_webhook(served, {"interviews": [unknown]})[1]["incomplete"] == 1  # replay
    served.sweep()
    [dm] = fake.messages_in("U0REC")
    assert "eve@example.com" in json.dumps(dm.blocks) and "Interviewer 1" in json.dumps(dm.blocks)
    served.sweep()
    assert len(fake.messages_in("U0REC")) == 1, "the recruiter was told twice"
    assert interviews(session_factory) == [] and fake.messages_in("U0AAA") == []

    home = json.dumps(served.open_home("U0REC"))
    assert "Interviews to complete (1)" in home and "incomplete_complete" in home
    assert "Interviews to complete" not in json.dumps(served.open_home("U0AAA"))

    served.click("U0REC", "incomplete_complete", complete_button(fake, "U0REC"))
    view = served.last_opened_view()
    assert view["callback_id"] == "schedule_submit"
    known = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert known["candidate"]["initial_value"] == "Ada Lovelace"
    assert known["hiring_channel"]["initial_conversation"] == "C0HIRING"
    assert known["hiring_lead"]["initial_user"] == "U0LEAD"
    assert "initial_user" not in known["panel_0"]  # the unknown email is not guessed
    assert [o["value"] for o in known["focus_0"]["initial_options"]] == ["system_design"]

    values = values_from_view(view, panel_0={"selected_user": "U0AAA"})
    reply = served.submit("U0REC", view, values)
    assert reply.status == 200 and not reply.json(), reply.body[:300]
    [ada] = interviews(session_factory)
    assert (ada.external_id, ada.source, ada.candidate) == ("zap-1", "webhook", "Ada Lovelace")
    with session_factory() as session:
        stored = session.scalars(sa.select(IncompleteInterview)).one()
        assert stored.resolved_interview_id == ada.id
    assert "Interviews to complete" not in json.dumps(served.open_home("U0REC"))
    sweep_at(served, 10, 5)
    assert len(form_dms(fake, "U0AAA")) == 1
    # The recruiter's DM no longer offers the button: it says the interview is complete.
    [dm] = [m for m in fake.messages_in("U0REC") if m.history]
    assert "now complete" in json.dumps(dm.blocks) and "incomplete_complete" not in json.dumps(
        dm.blocks
    )
    # The source repeating the incomplete row does not undo the recruiter's work.
    assert post_webhook(served, {"interviews": [unknown]})[1]["unchanged"] == 1
    served.sweep()
    asked = [
        c for c in fake.calls_to("chat.postMessage") if "incomplete_complete" in json.dumps(c.args)
    ]
    assert len(asked) == 1, "the recruiter was asked again"
    # The source's later, complete version is the same interview.
    fixed = row(panel=[{"interviewer": "U0AAA", "focus": ["system_design"]}])
    assert post_webhook(served, {"interviews": [fixed]})[1]["unchanged"] == 1


def test_slack_unable_to_look_up_emails_is_503_and_changes_nothing(
    served: ServedBot, session_factory: sessionmaker[Session]
) -> None:
    """A Slack outage is not an unknown email: the sender retries, nobody is marked missing."""
    fault = Fault(status=200, body={"ok": False, "error": "internal_error"}, times=5)
    served.fake.fail("users.lookupByEmail", fault)
    status, body = post_webhook(served, {"interviews": [row()]})
    assert status == 503 and "retry" in body["error"]
    assert interviews(session_factory) == []
    with session_factory() as session:
        assert session.scalars(sa.select(IncompleteInterview)).all() == []
    served.fake.faults.clear()
    status, counts = post_webhook(served, {"interviews": [row()]})  # the sender's retry
    assert (status, counts["created"], counts["incomplete"]) == (200, 1, 0)
