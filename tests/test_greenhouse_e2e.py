"""End to end over real HTTP: Greenhouse's Harvest v3 on loopback, polled by the served bot.

The fake Greenhouse (tests/fake_harvest.py) holds the scheduled interview; each
step changes it there, the sweep (with the test clock) runs the ``greenhouse_poll``
kind, deletions arrive as signed webhooks at ``/webhooks/greenhouse``; what the
panel sees is read from the fake Slack. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import FileConfig
from bot.config_sources import GreenhouseConfig
from sources.greenhouse_webhook import signature_header
from storage.mapping import JobMapping, SourceMapping
from storage.models import IncompleteInterview, Interview, InterviewState
from tests.fake_harvest import CLIENT_ID, CLIENT_SECRET, FakeHarvest
from tests.fakeslack import FakeSlack, Message, running_fake
from tests.harness import ServedBot, wait_for

FIXTURES = Path(__file__).parent / "fixtures" / "greenhouse"
WEBHOOK_SECRET = "greenhouse-webhook-secret-key"
PANEL = {"ada@example.com": "U0ADA", "grace@example.com": "U0GRACE"}
MAPPING = SourceMapping(
    jobs=(
        JobMapping(
            job="Senior ML Engineer",
            rubric="mle",
            target_level="senior",
            hiring_channel="C0HIRING",
            recruiter="U0RACHEL",
            hiring_lead="U0LEAD",
        ),
    ),
    kits={"Technical Interview": ("system_design",)},
)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    yield from running_fake()


@pytest.fixture
def harvest() -> Iterator[FakeHarvest]:
    served = FakeHarvest()
    for kind in ("applications", "candidates", "jobs", "job_interviews"):
        for record in fixture(f"{kind}.json"):
            served.put(kind, record)
    with served.running():
        yield served


@pytest.fixture
def bot(
    engine: Engine, session_factory: sessionmaker[Session], fake: FakeSlack, harvest: FakeHarvest
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
            greenhouse=GreenhouseConfig(api_url=harvest.url, token_url=harvest.token_url),
            mapping=MAPPING,
        ),
        extra_secrets={
            "greenhouse_client_id": CLIENT_ID,
            "greenhouse_client_secret": CLIENT_SECRET,
            "greenhouse_webhook_secret": WEBHOOK_SECRET,
        },
    )
    yield served
    served.close()


def schedule(
    harvest: FakeHarvest, start: datetime, *, updated: datetime, **over: Any
) -> dict[str, Any]:
    item: dict[str, Any] = fixture("interviews.json")[0]
    item.update(
        starts_at=stamp(start),
        ends_at=stamp(start + timedelta(hours=1)),
        updated_at=stamp(updated),
        **over,
    )
    harvest.put_interview(item)
    return item


def deleted(
    bot: ServedBot, interview_id: int, event_id: str, secret: str = WEBHOOK_SECRET
) -> httpx.Response:
    body = json.dumps(
        {"action": "interview_deleted", "payload": {"interview": {"id": interview_id}}}
    ).encode()
    return httpx.post(
        f"{bot.url}/webhooks/greenhouse",
        content=body,
        headers={
            "Content-Type": "application/json",
            "Greenhouse-Event-ID": event_id,
            **signature_header(secret, body),
        },
        timeout=10,
    )


def form_dms(fake: FakeSlack, user: str) -> list[Message]:
    return [m for m in fake.messages_in(user) if "feedback_open" in json.dumps(m.blocks)]


def updated(dm: Message) -> Callable[[], bool]:
    return lambda: bool(dm.history)


def interviews(bot: ServedBot) -> list[tuple[Any, ...]]:
    with bot.session_factory() as session:
        rows = session.execute(
            sa.select(
                Interview.id,
                Interview.external_id,
                Interview.source,
                Interview.candidate,
                Interview.starts_at,
                Interview.state,
            )
        ).all()
    return [tuple(r) for r in rows]


def poll(bot: ServedBot, after: timedelta = timedelta(minutes=5)) -> Any:
    bot.clock.advance(after)
    return bot.sweep()


def test_scheduled_moved_deleted_with_one_form_dm_each(
    bot: ServedBot, fake: FakeSlack, harvest: FakeHarvest
) -> None:
    start = bot.clock() + timedelta(hours=1)
    schedule(harvest, start, updated=bot.clock() - timedelta(minutes=1))
    report = bot.sweep()
    assert report.jobs.of("greenhouse_poll", "done") == 1
    [(interview_id, external_id, source, candidate, starts, state)] = interviews(bot)
    assert (external_id, source, candidate) == ("greenhouse:9800001", "greenhouse", "Jane Doe")
    assert (starts, state) == (start, InterviewState.SCHEDULED)

    # Moved to tomorrow in Greenhouse before it took place: nothing at the old end.
    schedule(harvest, start + timedelta(days=1), updated=bot.clock())
    poll(bot)
    assert interviews(bot)[0][4] == start + timedelta(days=1)
    bot.clock.now = start + timedelta(hours=1, minutes=10)
    bot.sweep()
    assert form_dms(fake, "U0ADA") == [] and form_dms(fake, "U0GRACE") == []

    # After the new end (plus the form delay): one form DM per interviewer.
    bot.clock.now = start + timedelta(days=1, hours=1, minutes=10)
    bot.sweep()
    bot.sweep()
    assert [len(form_dms(fake, user)) for user in PANEL.values()] == [1, 1]
    assert "system" in json.dumps(form_dms(fake, "U0ADA")[0].blocks).lower()

    # Another poll with nothing new in Greenhouse changes nothing and sends nothing.
    before = (interviews(bot), len(fake.messages))
    assert poll(bot).jobs.of("greenhouse_poll", "done") == 1
    assert (interviews(bot), len(fake.messages)) == before

    # Deleted in Greenhouse: the webhook cancels, the sent DMs say so (no buttons).
    reply = deleted(bot, 9800001, "evt-1")
    assert (reply.status_code, reply.json()) == (200, {"cancelled": 1})
    assert interviews(bot)[0][5] == InterviewState.CANCELLED
    for user in PANEL.values():
        [dm] = form_dms(fake, user) or [m for m in fake.messages_in(user) if m.history]
        wait_for(updated(dm), what=f"{user}'s form DM updated")
        assert "feedback_open" not in json.dumps(dm.blocks)
        assert "cancel" in (dm.text + json.dumps(dm.blocks)).lower()

    # Greenhouse redelivers: nothing changes.
    before = (interviews(bot), len(fake.messages))
    assert deleted(bot, 9800001, "evt-1").json() == {"duplicate": True}
    assert (interviews(bot), len(fake.messages)) == before
    assert fake.rejected == []
    assert interview_id == interviews(bot)[0][0]


def test_a_cancelled_status_in_harvest_cancels_before_any_form(
    bot: ServedBot, fake: FakeSlack, harvest: FakeHarvest
) -> None:
    start = bot.clock() + timedelta(hours=1)
    schedule(harvest, start, updated=bot.clock() - timedelta(minutes=1))
    bot.sweep()
    schedule(harvest, start, updated=bot.clock(), status="cancelled")
    poll(bot)
    assert interviews(bot)[0][5] == InterviewState.CANCELLED
    bot.clock.now = start + timedelta(hours=2)
    bot.sweep()
    assert form_dms(fake, "U0ADA") == [] and form_dms(fake, "U0GRACE") == []


def test_a_bad_signature_is_refused_and_changes_nothing(
    bot: ServedBot, harvest: FakeHarvest
) -> None:
    schedule(harvest, bot.clock() + timedelta(hours=1), updated=bot.clock())
    bot.sweep()
    before = interviews(bot)
    assert deleted(bot, 9800001, "evt-1", secret="guessed").status_code == 401
    unsigned = httpx.post(f"{bot.url}/webhooks/greenhouse", content=b"{}", timeout=10)
    assert unsigned.status_code == 401
    assert interviews(bot) == before
    # The real delivery with the same event id still goes through afterwards.
    assert deleted(bot, 9800001, "evt-1").json() == {"cancelled": 1}


def test_an_unknown_interviewer_email_is_incomplete_and_reaches_the_recruiter(
    bot: ServedBot, fake: FakeSlack, harvest: FakeHarvest
) -> None:
    start = bot.clock() + timedelta(hours=1)
    item = schedule(harvest, start, updated=bot.clock())
    item["interviewers"][1]["email"] = "contractor@elsewhere.example"
    harvest.put_interview(item)
    bot.sweep()
    assert interviews(bot) == []
    with bot.session_factory() as session:
        [incomplete] = session.scalars(sa.select(IncompleteInterview)).all()
    assert incomplete.external_id == "greenhouse:9800001" and incomplete.recruiter == "U0RACHEL"
    assert "contractor@elsewhere.example" in json.dumps(incomplete.missing)
    bot.sweep()  # the recruiter (from the job's mapping) is asked, once
    bot.sweep()
    [notice] = fake.messages_in("U0RACHEL")
    missing = json.dumps(notice.blocks)
    assert "no Slack user has the email contractor@elsewhere.example" in missing
    assert "incomplete_complete" in missing  # the button that opens the schedule modal
    bot.clock.now = start + timedelta(hours=2)
    bot.sweep()
    assert form_dms(fake, "U0ADA") == []
    # Fixed in Greenhouse: the next poll creates the interview.
    item["interviewers"][1]["email"] = "grace@example.com"
    item["updated_at"] = stamp(bot.clock())
    harvest.put_interview(item)
    poll(bot)
    assert [row[1] for row in interviews(bot)] == ["greenhouse:9800001"]


def test_harvest_rate_limit_defers_the_poll_and_the_retry_takes_it_in(
    bot: ServedBot, harvest: FakeHarvest
) -> None:
    schedule(harvest, bot.clock() + timedelta(hours=1), updated=bot.clock())
    harvest.fail_next(429, path="/v3/interviews", retry_after=60)
    assert bot.sweep().jobs.of("greenhouse_poll", "failed") == 1
    assert interviews(bot) == []
    assert poll(bot, timedelta(seconds=30)).jobs.of("greenhouse_poll", "done") == 0  # not yet
    assert poll(bot, timedelta(seconds=30)).jobs.of("greenhouse_poll", "done") == 1
    assert len(interviews(bot)) == 1


def test_without_the_secrets_nothing_polls_and_the_endpoint_is_404(
    engine: Engine, session_factory: sessionmaker[Session], fake: FakeSlack, harvest: FakeHarvest
) -> None:
    schedule(
        harvest, datetime(2027, 3, 1, 9, 0, tzinfo=UTC), updated=datetime(2027, 3, 1, tzinfo=UTC)
    )
    served = ServedBot(
        engine,
        session_factory,
        fake,
        file_config=FileConfig(
            greenhouse=GreenhouseConfig(api_url=harvest.url, token_url=harvest.token_url),
            mapping=MAPPING,
        ),
        # An empty webhook key would let anyone sign: treated as not set.
        extra_secrets={"greenhouse_client_id": CLIENT_ID, "greenhouse_webhook_secret": ""},
    )
    try:
        assert "greenhouse_poll" not in [kind.name for kind in served.bot.sweeper.kinds]
        served.sweep()
        assert harvest.requests == [] and interviews(served) == []
        assert deleted(served, 9800001, "evt-1", secret="").status_code == 404
    finally:
        served.close()
