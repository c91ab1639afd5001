"""End to end over real HTTP: Ashby's webhooks to the served bot, the fake Ashby API and Slack.

The bot runs as ``serve --http`` does, with ASHBY_WEBHOOK_SECRET and ASHBY_API_KEY
set and its Ashby API URL pointed at the fake; time is the harness clock and the
sweep is run by hand. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import FileConfig
from bot.config_sources import AshbyConfig
from sources.ashby import sign
from storage.incomplete import all_incomplete
from tests.fake_ashby import API_KEY, FakeAshby, fixture, running_fake_ashby
from tests.fakeslack import FakeSlack, Message, running_fake
from tests.harness import ServedBot, wait_for
from tests.test_ashby_endpoint import MAPPING, SECRET

USERS = {"U0ANA": "ana@example.com", "U0SAM": "sam@example.com", "U0BO": "bo@example.com"}
END_1 = datetime(2027, 3, 1, 11, 0, tzinfo=UTC)  # the first event's end in the fixture
END_2 = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    yield from running_fake()


@pytest.fixture
def ashby() -> Iterator[FakeAshby]:
    with running_fake_ashby() as fake:
        yield fake


@pytest.fixture
def served(
    engine: Engine, session_factory: sessionmaker[Session], fake: FakeSlack, ashby: FakeAshby
) -> Iterator[ServedBot]:
    for user, email in USERS.items():
        fake.add_user(user, email)
    for user in ("U0RECRUIT", "U0LEAD"):
        fake.add_user(user)
    bot = ServedBot(
        engine,
        session_factory,
        fake,
        file_config=FileConfig(mapping=MAPPING, ashby=AshbyConfig(api_url=ashby.url)),
        extra_secrets={"ashby_webhook_secret": SECRET, "ashby_api_key": API_KEY},
    )
    yield bot
    bot.close()
    assert fake.rejected == [], f"the bot sent payloads Slack would reject: {fake.rejected}"


def post(served: ServedBot, doc: dict[str, Any], *, secret: str = SECRET) -> httpx.Response:
    body = json.dumps(doc).encode()
    headers = {"Content-Type": "application/json", **sign(secret, body)}
    return httpx.post(f"{served.url}/webhooks/ashby", content=body, headers=headers, timeout=10)


def update(action_id: str, change: Any = None) -> dict[str, Any]:
    doc = copy.deepcopy(fixture("interview_schedule_create.json"))
    doc["action"], doc["webhookActionId"] = "interviewScheduleUpdate", action_id
    if change is not None:
        change(doc["data"]["interviewSchedule"])
    return doc


def forms(fake: FakeSlack, user: str) -> list[Message]:
    """The bot's DMs to ``user`` (posted to the user ID, or to the DM channel)."""
    return fake.messages_in(user) + fake.messages_in(fake.dm_channel(user))


def sweep_at(served: ServedBot, moment: datetime) -> None:
    served.clock.now = moment
    served.sweep()


def test_created_moved_and_cancelled_with_one_form_dm_each(
    served: ServedBot, fake: FakeSlack
) -> None:
    reply = post(served, fixture("interview_schedule_create.json"))
    assert reply.status_code == 200 and reply.json()["created"] == 2
    sweep_at(served, END_1 - timedelta(minutes=1))
    assert all(forms(fake, user) == [] for user in USERS)  # nothing before the end

    # Moved before it ended: no form at the old end, one at the new one.
    def move(schedule: dict[str, Any]) -> None:
        event = schedule["interviewEvents"][0]
        event["startTime"], event["endTime"] = "2027-03-01T15:00:00Z", "2027-03-01T16:00:00Z"

    assert post(served, update("b0000000-0000-4000-8000-000000000001", move)).json()["updated"] == 1
    sweep_at(served, END_1 + timedelta(minutes=10))
    assert forms(fake, "U0ANA") == [] and forms(fake, "U0SAM") == []
    sweep_at(served, END_2 + timedelta(minutes=10))
    assert len(forms(fake, "U0BO")) == 1  # the second event was not moved
    sweep_at(served, datetime(2027, 3, 1, 16, 10, tzinfo=UTC))
    assert len(forms(fake, "U0ANA")) == 1 and len(forms(fake, "U0SAM")) == 1
    sweep_at(served, datetime(2027, 3, 1, 16, 30, tzinfo=UTC))
    assert len(forms(fake, "U0ANA")) == 1  # once

    # Cancelled in Ashby: the sent form DMs say so instead of asking for feedback.
    def cancel(schedule: dict[str, Any]) -> None:
        schedule["status"] = "Cancelled"

    reply = post(served, update("b0000000-0000-4000-8000-000000000002", cancel))
    assert reply.status_code == 200 and reply.json()["cancelled"] == 2
    for user in USERS:
        wait_for(
            lambda u=user: "cancelled" in forms(fake, u)[0].text,  # type: ignore[misc]
            what=f"{user}'s form DM updated as cancelled",
        )
        assert len(forms(fake, user)) == 1  # updated in place, no second DM


def test_a_replay_changes_nothing_and_a_bad_signature_is_refused(
    served: ServedBot, fake: FakeSlack, ashby: FakeAshby
) -> None:
    doc = fixture("interview_schedule_create.json")
    assert post(served, doc).json()["created"] == 2
    calls = len(ashby.calls)
    assert post(served, doc).json() == {"duplicate": True}
    assert len(ashby.calls) == calls
    moved = update("b0000000-0000-4000-8000-000000000003")
    moved["data"]["interviewSchedule"]["interviewEvents"][0]["endTime"] = "2027-03-01T13:00:00Z"
    forged = post(served, moved, secret="not the secret")
    assert forged.status_code == 401
    sweep_at(served, END_1 + timedelta(minutes=10))
    assert len(forms(fake, "U0ANA")) == 1  # the forged move changed nothing
    sweep_at(served, END_1 + timedelta(minutes=30))
    assert len(forms(fake, "U0ANA")) == 1


def test_ping_and_the_404_without_a_secret(
    served: ServedBot, engine: Engine, session_factory: sessionmaker[Session], fake: FakeSlack
) -> None:
    assert post(served, fixture("ping.json")).json() == {"ok": True}
    plain = ServedBot(engine, session_factory, fake)
    try:
        body = b"{}"
        reply = httpx.post(f"{plain.url}/webhooks/ashby", content=body, headers=sign(SECRET, body))
        assert reply.status_code == 404
    finally:
        plain.close()


def _stranger(schedule: dict[str, Any]) -> None:
    schedule["interviewEvents"][1]["interviewers"][0]["email"] = "stranger@example.com"


def test_an_interviewer_unknown_to_slack_is_incomplete(served: ServedBot, fake: FakeSlack) -> None:
    reply = post(served, update("b0000000-0000-4000-8000-000000000004", _stranger))
    assert reply.json()["created"] == 1 and reply.json()["incomplete"] == 1
    with served.session_factory() as session:
        [row] = all_incomplete(session)
    assert row.external_id == "ashby:5f0e4b1c-8d2a-4e3b-9c7d-1a2b3c4d5e6f"
    sweep_at(served, END_2 + timedelta(minutes=10))
    assert forms(fake, "U0BO") == []  # nothing is sent for an incomplete interview
    assert len(forms(fake, "U0ANA")) == 1


def test_the_recruiter_is_asked_to_complete_it(served: ServedBot, fake: FakeSlack) -> None:
    post(served, update("b0000000-0000-4000-8000-000000000005", _stranger))
    served.sweep()
    served.sweep()
    [dm] = forms(fake, "U0RECRUIT")  # once: the recruiter the job's mapping names
    assert "stranger@example.com" in json.dumps(dm.blocks)
    assert forms(fake, "U0BO") == []


def test_names_ashby_refuses_reach_the_recruiter(
    engine: Engine,
    session_factory: sessionmaker[Session],
    fake: FakeSlack,
    ashby: FakeAshby,
) -> None:
    """A key without Candidates read access: the event waits, the recruiter is told why."""
    fake.add_user("U0RECRUIT")
    mapping = MAPPING.model_copy(update={"defaults": {"recruiter": "U0RECRUIT"}})
    bot = ServedBot(
        engine,
        session_factory,
        fake,
        file_config=FileConfig(mapping=mapping, ashby=AshbyConfig(api_url=ashby.url)),
        extra_secrets={"ashby_webhook_secret": SECRET, "ashby_api_key": "a key Ashby refuses"},
    )
    try:
        reply = post(bot, fixture("interview_schedule_create.json"))
        assert (reply.status_code, reply.json()["incomplete"]) == (200, 2)
        bot.sweep()
        bot.sweep()
        dms = forms(fake, "U0RECRUIT")
        assert len(dms) == 2  # one per interview event, once
        assert all("candidate" in json.dumps(dm.blocks) for dm in dms)
        assert all(forms(fake, user) == [] for user in USERS)
    finally:
        bot.close()
