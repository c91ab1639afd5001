"""End to end: the panel's result goes out as a signed webhook, at least once, de-duplicable.

The served bot (tests.harness) with the fake Slack and a customer's receiver on
loopback (tests.fake_receiver), on SQLite and PostgreSQL: a panel submits, the
summary posts, the receiver gets one signed ``summary.posted`` delivery carrying
the export's record; late feedback sends ``summary.updated``; an outage is
retried with backoff on the bot's clock until it is delivered once; 410 stops.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import FileConfig
from handlers.metrics import REGISTRY
from storage.export import interview_record
from storage.export_json import export_document
from storage.models import Interview, OutgoingDelivery
from tests.fake_receiver import SECRET, FakeReceiver, running_receiver
from tests.fakeslack import FakeSlack, running_fake
from tests.harness import ServedBot

PANEL = {"U0AAA": ["system_design"], "U0BBB": ["system_design", "communication"]}
NAMES = {"U0AAA": "Ann Aa", "U0BBB": "Bo Bb"}
INTERVIEW = """\
interviews:
  - external_id: gh-42
    candidate: Ada Lovelace
    role: Senior ML Engineer
    starts_at: 2027-03-01T09:00:00+00:00
    ends_at: 2027-03-01T10:00:00+00:00
    hiring_channel: C0HIRING
    recruiter: U0RECRUIT
    hiring_lead: U0LEAD
    panel:
"""


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    yield from running_fake()


@pytest.fixture
def receiver() -> Iterator[FakeReceiver]:
    with running_receiver() as started:
        yield started


@pytest.fixture
def private() -> Iterator[FakeReceiver]:
    """A second receiver that must not get the notes (include_notes: false)."""
    with running_receiver() as started:
        yield started


@pytest.fixture
def served(
    engine: Engine,
    session_factory: sessionmaker[Session],
    fake: FakeSlack,
    receiver: FakeReceiver,
    private: FakeReceiver,
    tmp_path: Path,
) -> Iterator[ServedBot]:
    for user in [*PANEL, "U0RECRUIT", "U0LEAD"]:
        fake.add_user(user, real_name=NAMES.get(user))
    config = FileConfig.model_validate(
        {
            "outgoing_webhooks": [
                {"url": receiver.url, "include_notes": True},
                {"url": private.url, "events": ["summary.posted"]},
            ]
        }
    )
    bot = ServedBot(
        engine,
        session_factory,
        fake,
        file_config=config,
        extra_secrets={"outgoing_secret": SECRET},
    )
    path = tmp_path / "interviews.yaml"
    path.write_text(
        INTERVIEW
        + "".join(
            f"      - interviewer: {u}\n        focus: [{', '.join(f)}]\n" for u, f in PANEL.items()
        )
    )
    bot.import_file(path)
    bot.clock.now = bot.clock.now.replace(hour=10, minute=10)
    bot.sweep()  # the form DMs
    yield bot
    bot.close()
    assert fake.rejected == [], f"the bot sent payloads Slack would reject: {fake.rejected}"


def submit(served: ServedBot, user: str) -> None:
    served.give_feedback(
        user,
        {skill: ("senior", f"{user} saw a clean design") for skill in PANEL[user]},
        recommendation="yes",
        notes=f"private notes by {user}",
    )


def summaries(fake: FakeSlack) -> list[str]:
    return [m.ts for m in fake.messages if m.channel == "C0HIRING" and m.thread_ts is None]


def rows(served: ServedBot) -> list[OutgoingDelivery]:
    with served.session_factory() as session:
        return list(session.scalars(sa.select(OutgoingDelivery).order_by(OutgoingDelivery.url)))


def interview_id(served: ServedBot) -> int:
    with served.session_factory() as session:
        return session.scalars(
            sa.select(Interview.id).where(Interview.external_id == "gh-42")
        ).one()


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_the_posted_summary_is_delivered_once_signed_with_the_export_record(
    served: ServedBot, receiver: FakeReceiver, private: FakeReceiver
) -> None:
    submit(served, "U0AAA")
    served.sweep()
    assert receiver.received == []  # nothing before the summary
    submit(served, "U0BBB")
    served.sweep()
    [ts] = summaries(served.fake)

    [got] = receiver.received
    assert got.verified and got.status == 200 and got.event == "summary.posted"
    body = got.json()
    assert body["event"] == "summary.posted" and body["delivery_id"] == got.delivery_id
    assert body["interview_id"] == interview_id(served)
    record = body["record"]
    assert record["interview"]["candidate"] == "Ada Lovelace"
    assert record["interview"]["summary"]["ts"] == ts
    with served.session_factory() as session:
        now = interview_record(session, interview_id(served))
    assert now is not None
    exported = export_document(now, exported_at=served.clock())
    assert record["panel"] == exported["panel"]  # what `interview-bot export` shows
    assert "private notes by U0AAA" in got.body.decode()
    assert "U0BBB saw a clean design" in got.body.decode()

    [kept] = private.received
    assert kept.verified and kept.event == "summary.posted"
    assert b"private notes" not in kept.body and b"saw a clean design" not in kept.body
    levels = [m["feedback"]["ratings"][0]["level"] for m in kept.json()["record"]["panel"]]
    assert levels == ["senior", "senior"]

    for _ in range(3):
        served.clock.advance(timedelta(hours=1))
        served.sweep()
    assert len(receiver.received) == 1 and len(private.received) == 1


def test_late_feedback_sends_summary_updated(
    served: ServedBot, receiver: FakeReceiver, private: FakeReceiver
) -> None:
    submit(served, "U0AAA")
    served.clock.now = served.clock.now.replace(hour=10) + timedelta(hours=48, minutes=1)
    served.sweep()  # the partial summary
    [posted] = receiver.received
    assert posted.event == "summary.posted"
    panel = posted.json()["record"]["panel"]
    assert [m["feedback"] is not None for m in panel] == [True, False]

    submit(served, "U0BBB")
    served.sweep()
    served.sweep()
    [_, updated] = receiver.received
    assert updated.verified and updated.event == "summary.updated"
    assert updated.delivery_id != posted.delivery_id
    body = updated.json()
    assert body["event"] == "summary.updated"
    assert [m["feedback"] is not None for m in body["record"]["panel"]] == [True, True]
    assert body["record"]["interview"]["summary"]["updated_at"] is not None
    assert len(private.received) == 1  # it asked for summary.posted only


def test_an_outage_is_retried_with_backoff_and_delivered_once(
    served: ServedBot, receiver: FakeReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    delivered_before = sample("interview_bot_outgoing_deliveries_total", outcome="delivered")
    retried_before = sample("interview_bot_outgoing_deliveries_total", outcome="retry")
    receiver.answer(500, 500)
    submit(served, "U0AAA")
    submit(served, "U0BBB")
    served.sweep()  # summary posted; first attempt: 500
    assert [r.status for r in receiver.received] == [500]
    served.sweep()
    assert len(receiver.received) == 1  # not before its backoff (30 s)
    served.clock.advance(timedelta(seconds=30))
    served.sweep()
    assert [r.status for r in receiver.received] == [500, 500]

    receiver.stop()  # connection refused from now on
    served.clock.advance(timedelta(minutes=1))
    served.sweep()
    served.clock.advance(timedelta(minutes=2))
    served.sweep()
    [row] = [r for r in rows(served) if r.url == receiver.url]
    assert row.attempts == 4 and row.delivered_at is None
    assert row.last_error is not None and row.last_error.startswith("connection failed")
    assert row.next_attempt_at == served.clock() + timedelta(minutes=4)

    receiver.start()  # back, on the same port
    served.clock.advance(timedelta(minutes=3))
    served.sweep()
    assert len(receiver.received) == 2  # still backing off
    served.clock.advance(timedelta(minutes=1))
    served.sweep()
    assert [r.status for r in receiver.received] == [500, 500, 200]
    assert len({r.delivery_id for r in receiver.received}) == 1
    assert len({r.body for r in receiver.received}) == 1  # the same bytes every time
    assert all(r.verified for r in receiver.received)
    assert list(receiver.kept) == [receiver.received[0].delivery_id]
    [row] = [r for r in rows(served) if r.url == receiver.url]
    assert row.delivered_at == served.clock() and row.attempts == 5 and row.last_error is None

    for _ in range(3):
        served.clock.advance(timedelta(hours=2))
        served.sweep()
    assert len(receiver.received) == 3  # delivered once, never again
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "private notes" not in logged and "clean design" not in logged  # no body, anywhere
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name == "handlers.deliveries")
    assert "will retry summary.posted" in ours and "delivered summary.posted" in ours
    assert receiver.path not in ours  # the host only: a Zapier hook's path is its credential
    assert sample("interview_bot_outgoing_deliveries_total", outcome="delivered") >= (
        delivered_before + 2  # this receiver and the private one
    )
    assert sample("interview_bot_outgoing_deliveries_total", outcome="retry") >= retried_before + 4


def test_a_410_stops_the_retries(served: ServedBot, receiver: FakeReceiver) -> None:
    receiver.answer(410)
    submit(served, "U0AAA")
    submit(served, "U0BBB")
    served.sweep()
    for _ in range(4):
        served.clock.advance(timedelta(hours=1))
        served.sweep()
    assert [r.status for r in receiver.received] == [410]
    [row] = [r for r in rows(served) if r.url == receiver.url]
    assert row.next_attempt_at is None and row.delivered_at is None
    assert row.last_error == "gave up: http 410"


def test_retry_after_on_503_is_honoured(served: ServedBot, receiver: FakeReceiver) -> None:
    receiver.answer(503, headers={"Retry-After": "300"})
    submit(served, "U0AAA")
    submit(served, "U0BBB")
    served.sweep()
    served.clock.advance(timedelta(minutes=4, seconds=59))  # the backoff alone would be 30 s
    served.sweep()
    assert [r.status for r in receiver.received] == [503]
    served.clock.advance(timedelta(seconds=1))
    served.sweep()
    assert [r.status for r in receiver.received] == [503, 200]


def test_a_receiver_with_another_secret_refuses_the_delivery(
    served: ServedBot, receiver: FakeReceiver
) -> None:
    """The fake checks signatures as a customer would: a wrong secret is a 401 (and retried)."""
    receiver.secret = "not-the-bot-secret"
    submit(served, "U0AAA")
    submit(served, "U0BBB")
    served.sweep()
    [got] = receiver.received
    assert not got.verified and got.status == 401 and receiver.kept == {}


def test_two_replicas_deliver_once(
    served: ServedBot, db_url: str, receiver: FakeReceiver, private: FakeReceiver
) -> None:
    """Two sweepers on separate engines (as two replicas) race for the fan-out and delivery."""
    from bot.app import build_bot
    from bot.slack_client import create_web_client
    from storage.engine import create_engine_for, make_session_factory

    if not db_url.startswith("postgresql"):
        pytest.skip("replicas share PostgreSQL; SQLite serves one process")
    submit(served, "U0AAA")
    submit(served, "U0BBB")
    engines = [create_engine_for(db_url) for _ in range(2)]
    bots = [
        build_bot(
            served.config,
            make_session_factory(e),
            create_web_client(served.config),
            clock=served.clock,
        )
        for e in engines
    ]
    barrier = threading.Barrier(2)

    def sweep(index: int) -> None:
        barrier.wait()
        bots[index].sweeper.run_once()

    threads = [threading.Thread(target=sweep, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    for b in bots:
        b.close()
    for e in engines:
        e.dispose()
    served.sweep()
    assert len(summaries(served.fake)) == 1
    assert [r.event for r in receiver.received] == ["summary.posted"]
    assert [r.event for r in private.received] == ["summary.posted"]
    assert json.loads(receiver.received[0].body)["delivery_id"] == receiver.received[0].delivery_id
