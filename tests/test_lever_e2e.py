"""End to end over real HTTP: Lever's webhooks into the served bot, Lever's API on loopback.

Lever (tests/fake_lever.py) holds the interview; each step changes it there and
POSTs the signed webhook Lever would send to ``/webhooks/lever`` of the served
bot; the sweep runs with the test clock; what the panel sees is read from the fake
Slack. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import AccessConfig, FileConfig
from bot.config_sources import LeverConfig
from storage.mapping import JobMapping, SourceMapping
from storage.models import IncompleteInterview, Interview, InterviewState
from tests.fake_lever import API_KEY, SIGNATURE_TOKEN, FakeLever, webhook_body
from tests.fakeslack import FakeSlack, Message, running_fake
from tests.harness import ServedBot, wait_for

PANEL = {"ashley@example.com": "U0ASHLEY", "chaim@example.com": "U0CHAIM"}
MAPPING = SourceMapping(
    jobs=(
        JobMapping(
            job="Machine Learning Engineer",
            rubric="mle",
            role="Senior ML Engineer",
            hiring_channel="C0HIRING",
            hiring_lead="U0LEAD",
        ),
    ),
    kits={"System design": ("system_design",)},
)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    yield from running_fake()


@pytest.fixture
def lever() -> Iterator[FakeLever]:
    served = FakeLever()
    yield served
    served.close()


@pytest.fixture
def bot(
    engine: Engine, session_factory: sessionmaker[Session], fake: FakeSlack, lever: FakeLever
) -> Iterator[ServedBot]:
    for email, user in PANEL.items():
        fake.add_user(user, email=email)
    fake.add_user("U0RACHEL", email="rachel@example.com")
    fake.add_user("U0LEAD")
    served = ServedBot(
        engine,
        session_factory,
        fake,
        file_config=FileConfig(
            lever=LeverConfig(api_url=lever.url),
            mapping=MAPPING,
            access=AccessConfig(recruiters=("U0RACHEL",)),
        ),
        extra_secrets={
            "lever_api_key": API_KEY,
            # Two Lever webhooks, two tokens: the interview events are signed with the second.
            "lever_signature_token": f"token-of-another-webhook,{SIGNATURE_TOKEN}",
        },
    )
    yield served
    served.close()


def post(bot: ServedBot, event: str, token: str, **kwargs: Any) -> httpx.Response:
    return httpx.post(
        f"{bot.url}/webhooks/lever",
        content=webhook_body(event, token=token, **kwargs),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )


def schedule(lever: FakeLever, start: datetime, minutes: int = 45) -> None:
    lever.interview["date"] = int(start.timestamp() * 1000)
    lever.interview["duration"] = minutes


def form_dms(fake: FakeSlack, user: str) -> list[Message]:
    return [m for m in fake.messages_in(user) if "feedback_open" in json.dumps(m.blocks)]


def interviews(bot: ServedBot) -> list[Interview]:
    with bot.session_factory() as session:
        return list(session.scalars(select(Interview)).all())


def test_created_moved_cancelled_with_one_form_dm_each(
    bot: ServedBot, fake: FakeSlack, lever: FakeLever
) -> None:
    start = bot.clock() + timedelta(hours=1)
    schedule(lever, start)
    reply = post(bot, "interviewCreated", "tok-1")
    assert (reply.status_code, reply.json()) == (200, {"outcome": "created"})
    [interview] = interviews(bot)
    assert interview.source == "lever" and interview.candidate == "Kristoffer Hoeger"

    # Moved to tomorrow before it took place: nothing at the old end.
    schedule(lever, start + timedelta(days=1))
    assert post(bot, "interviewUpdated", "tok-2").json() == {"outcome": "updated"}
    bot.clock.now = start + timedelta(minutes=45 + 10)
    bot.sweep()
    assert form_dms(fake, "U0ASHLEY") == [] and form_dms(fake, "U0CHAIM") == []

    # After the new end (plus the form delay): one form DM per interviewer.
    bot.clock.now = start + timedelta(days=1, minutes=45 + 10)
    bot.sweep()
    bot.sweep()
    assert [len(form_dms(fake, user)) for user in PANEL.values()] == [1, 1]
    shown = json.dumps(form_dms(fake, "U0ASHLEY")[0].blocks)
    assert "Tue 2 Mar 2027, 09:00 UTC (45 min)" in shown  # the new time
    assert "*Your focus skills*\\nSystem design and implementation" in shown  # the kit's

    # A replay of the creation changes nothing and sends nothing.
    before = len(fake.messages)
    assert post(bot, "interviewCreated", "tok-1").json() == {"duplicate": True}
    bot.sweep()
    assert len(fake.messages) == before

    # Deleted in Lever: cancelled, and the sent DMs say so (no buttons left).
    lever.delete_interview()
    assert post(bot, "interviewDeleted", "tok-3").json() == {"outcome": "cancelled"}
    assert interviews(bot)[0].state == InterviewState.CANCELLED
    for user in PANEL.values():
        [dm] = form_dms(fake, user) or [m for m in fake.messages_in(user) if m.history]
        wait_for(lambda dm=dm: bool(dm.history), what=f"{user}'s form DM updated")
        assert "feedback_open" not in json.dumps(dm.blocks)
        assert "was cancelled \u2014 no feedback needed" in dm.blocks[0]["text"]["text"]
    assert fake.rejected == []


def test_bad_signature_is_refused_and_changes_nothing(
    bot: ServedBot, fake: FakeSlack, lever: FakeLever
) -> None:
    schedule(lever, bot.clock() + timedelta(hours=1))
    forged = post(bot, "interviewCreated", "tok-1", secret="guessed")
    assert forged.status_code == 401
    unsigned = httpx.post(f"{bot.url}/webhooks/lever", content=b'{"event": "x"}', timeout=10)
    assert unsigned.status_code == 401
    assert lever.requests == [] and interviews(bot) == []
    # The real delivery with the same token still goes through afterwards.
    assert post(bot, "interviewCreated", "tok-1").json() == {"outcome": "created"}


def test_unknown_interviewer_email_is_incomplete_and_reaches_the_recruiter(
    bot: ServedBot, fake: FakeSlack, lever: FakeLever
) -> None:
    start = bot.clock() + timedelta(hours=1)
    schedule(lever, start)
    lever.interview["interviewers"][1]["email"] = "contractor@elsewhere.example"
    assert post(bot, "interviewCreated", "tok-1").json() == {"outcome": "incomplete"}
    assert interviews(bot) == []
    with bot.session_factory() as session:
        [incomplete] = session.scalars(select(IncompleteInterview)).all()
    assert incomplete.recruiter == "U0RACHEL"
    assert "contractor@elsewhere.example" in json.dumps(incomplete.missing)
    bot.sweep()  # the recruiter (the opportunity's owner in Lever) is asked, once
    bot.sweep()
    [notice] = fake.messages_in("U0RACHEL")
    missing = json.dumps(notice.blocks)
    assert "no Slack user has the email contractor@elsewhere.example" in missing
    assert "incomplete_complete" in missing  # the button that opens the schedule modal
    bot.clock.now = start + timedelta(hours=2)
    bot.sweep()
    assert form_dms(fake, "U0ASHLEY") == []
    # Fixed in Lever: the next update creates the interview and its forms follow.
    lever.interview["interviewers"][1]["email"] = "chaim@example.com"
    assert post(bot, "interviewUpdated", "tok-2").json() == {"outcome": "created"}


def test_lever_api_down_is_503_then_the_retry_creates(
    bot: ServedBot, fake: FakeSlack, lever: FakeLever
) -> None:
    schedule(lever, bot.clock() + timedelta(hours=1))
    lever.fail_with(502, path="/interviews/")
    assert post(bot, "interviewCreated", "tok-1").status_code == 503
    assert interviews(bot) == []
    assert post(bot, "interviewCreated", "tok-1").json() == {"outcome": "created"}
