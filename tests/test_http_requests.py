"""Requests over real HTTP: forged, stale or garbled ones touch nothing; replays count once.

Slack signs every request (``X-Slack-Signature`` over ``v0:<timestamp>:<body>``
with the signing secret) and retries events it thinks were lost
(``X-Slack-Retry-Num``). The bot must refuse whatever is not signed by Slack in
the last five minutes, and must process an event, or a submission, once however
many times it arrives, also across a restart of the bot.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import AccessConfig, FileConfig
from storage.models import AuditEvent, Feedback, SkillRating
from tests import reliability, slackreq
from tests.fakeslack import FakeSlack, running_fake
from tests.harness import SIGNING_SECRET, ServedBot, feedback_values, wait_for
from tests.test_authz_matrix import IMPORT, PERSONAS, snapshot


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    yield from running_fake()


def serve(engine: Engine, factory: sessionmaker[Session], fake: FakeSlack) -> ServedBot:
    return ServedBot(
        engine,
        factory,
        fake,
        file_config=FileConfig(access=AccessConfig(recruiters=("U0REC", "U0TEAM"))),
    )


@pytest.fixture
def served(
    engine: Engine, session_factory: sessionmaker[Session], fake: FakeSlack, tmp_path: Path
) -> Iterator[ServedBot]:
    for user in [*PERSONAS.values(), "U0REC2", "U0LEAD2"]:
        fake.add_user(user, tz="UTC")
    bot = serve(engine, session_factory, fake)
    path = tmp_path / "interviews.yaml"
    path.write_text(IMPORT)
    bot.import_file(path)
    bot.sweep()
    yield bot
    bot.close()


def audit_count(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) or 0


# -- forged, stale and garbled requests -------------------------------------------------
def _cancel_body() -> tuple[bytes, str]:
    # A recruiter's cancel: it would change data, were it accepted.
    return slackreq.slash_command("U0REC", "cancel 1", trigger_id="t")


def _forgeries() -> list[tuple[str, dict[str, object]]]:
    now = int(time.time())
    return [
        ("wrong signing secret", {"secret": "f" * 32}),
        ("no signature headers", {"secret": None}),
        (
            "signature but no timestamp",
            {"secret": None, "headers": {"X-Slack-Signature": "v0=" + "0" * 64}},
        ),
        ("timestamp 301 s old", {"timestamp": now - 301}),
        ("timestamp 10 min ahead", {"timestamp": now + 600}),
        (
            "signature of another body",
            {"secret": None, "headers": slackreq.sign(SIGNING_SECRET, b"text=other")},
        ),
        (
            "malformed signature",
            {
                "secret": None,
                "headers": {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": "garbage"},
            },
        ),
    ]


@pytest.mark.parametrize("case", [name for name, _ in _forgeries()])
def test_unsigned_stale_or_forged_requests_get_401_and_touch_nothing(
    served: ServedBot, session_factory: sessionmaker[Session], case: str
) -> None:
    options = dict(_forgeries())[case]
    before, calls, audits = (
        snapshot(session_factory),
        len(served.fake.calls),
        audit_count(session_factory),
    )
    body, content_type = _cancel_body()
    reply = slackreq.post(
        f"{served.url}/slack/events",
        body,
        content_type,
        secret=options.get("secret", SIGNING_SECRET),  # type: ignore[arg-type]
        headers=options.get("headers"),  # type: ignore[arg-type]
        timestamp=options.get("timestamp"),  # type: ignore[arg-type]
    )
    assert reply.status == 401, (case, reply)
    assert snapshot(session_factory) == before
    assert audit_count(session_factory) == audits
    assert len(served.fake.calls) == calls
    reliability.record("requests", "forged or stale, refused with 401", 1)


@pytest.mark.parametrize(
    ("case", "body", "content_type"),
    [
        ("not JSON", b"{not json", "application/json"),
        ("JSON but not an object", b"[1, 2, 3]", "application/json"),
        ("payload not JSON", b"payload=%7Bnope", "application/x-www-form-urlencoded"),
        ("payload a JSON string", b"payload=%22x%22", "application/x-www-form-urlencoded"),
        ("binary", bytes(range(256)), "application/octet-stream"),
        ("empty", b"", "application/json"),
    ],
)
def test_signed_but_unparseable_bodies_get_400_and_touch_nothing(
    served: ServedBot,
    session_factory: sessionmaker[Session],
    case: str,
    body: bytes,
    content_type: str,
) -> None:
    before, calls, audits = (
        snapshot(session_factory),
        len(served.fake.calls),
        audit_count(session_factory),
    )
    reply = slackreq.post(f"{served.url}/slack/events", body, content_type, secret=SIGNING_SECRET)
    assert reply.status == 400, (case, reply)
    assert snapshot(session_factory) == before
    assert audit_count(session_factory) == audits
    assert len(served.fake.calls) == calls
    reliability.record("requests", "unparseable, refused with 400", 1)


# -- redeliveries and replays -----------------------------------------------------------------
def test_a_redelivered_event_is_processed_once_even_across_a_restart(
    served: ServedBot,
    engine: Engine,
    session_factory: sessionmaker[Session],
    fake: FakeSlack,
) -> None:
    event = slackreq.event(
        {"type": "app_home_opened", "user": "U0AAA", "channel": "DU0AAA", "tab": "home"},
        event_id="Ev0REDELIVER",
    )
    assert served.send(event).status == 200
    wait_for(lambda: len(fake.calls_to("views.publish")) == 1, what="the first publish")
    for attempt in (1, 2, 3):
        retry = {"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": "http_timeout"}
        assert served.send(event, headers=retry).status == 200
        reliability.record("requests", "event redeliveries dropped", 1)
    served.close()
    restarted = serve(engine, session_factory, fake)
    try:
        retry = {"X-Slack-Retry-Num": "3", "X-Slack-Retry-Reason": "http_timeout"}
        assert restarted.send(event, headers=retry).status == 200
        reliability.record("requests", "event redeliveries dropped", 1)
        # A new event still goes through, so the drop above is de-duplication, not deafness.
        assert restarted.send(slackreq.app_home_opened("U0AAA")).status == 200
        wait_for(lambda: len(fake.calls_to("views.publish")) == 2, what="the second publish")
        time.sleep(0.3)  # a duplicate would publish in the meantime
        assert len(fake.calls_to("views.publish")) == 2
    finally:
        restarted.close()
    served.close = lambda: None  # type: ignore[method-assign]  # already closed


def _final_submission(served: ServedBot, user: str) -> tuple[bytes, str]:
    dm = [m for m in served.fake.messages if m.channel == user][-1]
    value = next(
        e["value"]
        for b in dm.blocks
        for e in [b.get("accessory"), *b.get("elements", [])]
        if isinstance(e, dict) and e.get("action_id") == "feedback_open"
    )
    served.click(user, "feedback_open", value)
    view = served.last_opened_view()
    values = feedback_values(
        {
            "system_design": ("senior", "Designed the feature store."),
            "learning": ("not_assessed", ""),
        },
        recommendation="yes",
        notes="Replayed ten times.",
    )
    return slackreq.view_submission(user, view, values)


def test_a_view_submission_replayed_ten_times_yields_one_feedback(
    served: ServedBot, session_factory: sessionmaker[Session]
) -> None:
    packed = _final_submission(served, "U0AAA")
    first = served.send(packed)
    assert first.status == 200 and not first.body, first
    # Nine replays, concurrently, as a flaky network might deliver them.
    with ThreadPoolExecutor(max_workers=9) as pool:
        replies = list(pool.map(lambda _i: served.send(packed), range(9)))
    assert [r.status for r in replies] == [200] * 9
    assert all(not r.body or "errors" not in json.loads(r.body) for r in replies)
    # Each accepted submission refreshes the DM after its ack; let those finish.
    wait_for(lambda: len(served.fake.calls_to("chat.update")) >= 10, what="the DM refreshes")
    with session_factory() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 1
        ratings = list(session.scalars(sa.select(SkillRating.skill_id)))
        assert "system_design" in ratings
        assert len(ratings) == len(set(ratings)), ratings  # one set of ratings, no copies
        created = session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.action.like("feedback.%"))
        ).all()
    assert created.count("feedback.submitted") == 1, created
    assert "feedback.edited" not in created  # identical replays change nothing
    reliability.record("requests", "view submissions replayed", 9)
    with session_factory() as session:
        rows = session.scalar(sa.select(sa.func.count()).select_from(Feedback)) or 0
    reliability.record("requests", "duplicate feedback rows from replays", rows - 1)
