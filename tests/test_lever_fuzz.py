"""Fuzzing ``POST /webhooks/lever`` over HTTP against the served bot (house style: test_fuzz_payloads).

One served bot and one loopback Lever per test; hypothesis sends many bodies and
each property is checked against the state just before the request:

* never a 500 and never an ERROR log record; only 200, 400, 401 or 503;
* a body whose signature does not verify is 401, costs no call to Lever's API and
  changes no row; a signed but malformed interview event is 400, likewise;
* a signed event changes at most the one interview its ids name, and only to what
  Lever's API holds (the unsigned ``data`` never becomes stored text);
* whatever Lever's API answers for the interview (wrong types, huge or hostile
  values), the bot answers 200 or 503 and never stores a half-made interview.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import FileConfig
from bot.config_sources import LeverConfig
from sources.lever_events import signature_for
from storage.models import IncompleteInterview, Interview, WebhookEvent
from tests.fake_lever import API_KEY, SIGNATURE_TOKEN, FakeLever, fixture
from tests.fakeslack import FakeSlack, running_fake
from tests.fuzz_strategies import MISSING, fuzz, json_values, maybe, nasty_text, numbers, put
from tests.harness import ServedBot
from tests.test_lever_e2e import MAPPING, PANEL

KNOWN = fixture("webhook_interview_created.json")["data"]
EVENTS = ("interviewCreated", "interviewUpdated", "interviewDeleted", "candidateStageChange")


@pytest.fixture
def world(
    engine: Engine,
    session_factory: sessionmaker[Session],
    caplog: pytest.LogCaptureFixture,
) -> Iterator[tuple[ServedBot, FakeLever]]:
    lever = FakeLever()
    fakes: Iterator[FakeSlack] = running_fake()
    fake = next(fakes)
    for email, user in PANEL.items():
        fake.add_user(user, email=email)
    fake.add_user("U0RACHEL", email="rachel@example.com")
    bot = ServedBot(
        engine,
        session_factory,
        fake,
        file_config=FileConfig(lever=LeverConfig(api_url=lever.url), mapping=MAPPING),
        extra_secrets={"lever_api_key": API_KEY, "lever_signature_token": SIGNATURE_TOKEN},
    )
    lever.interview["date"] = int((bot.clock() + timedelta(hours=1)).timestamp() * 1000)
    caplog.set_level(logging.WARNING)
    yield bot, lever
    bot.close()
    lever.close()
    next(fakes, None)


def state(bot: ServedBot) -> tuple[int, int, int, list[tuple[Any, ...]]]:
    with bot.session_factory() as session:
        counts = [
            int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (WebhookEvent, Interview, IncompleteInterview)
        ]
        rows = session.execute(
            select(Interview.external_id, Interview.candidate, Interview.starts_at)
        ).all()
    return counts[0], counts[1], counts[2], [tuple(r) for r in rows]


def post(bot: ServedBot, body: bytes) -> httpx.Response:
    return httpx.post(f"{bot.url}/webhooks/lever", content=body, timeout=15)


def no_errors(caplog: pytest.LogCaptureFixture, fake: FakeSlack) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    assert fake.rejected == []


# -- strategies ------------------------------------------------------------------------

ids = st.one_of(
    st.sampled_from([KNOWN["opportunityId"], KNOWN["interviewId"], "unknown-1"]),
    st.uuids().map(str),
    nasty_text(max_size=80),
    json_values(),
)


def data_objects() -> st.SearchStrategy[Any]:
    def build(opportunity: Any, interview: Any, extra: Any) -> Any:
        data: dict[str, Any] = {"candidateId": "c", "secret note": extra}
        put(data, "opportunityId", opportunity)
        return put(data, "interviewId", interview)

    return st.one_of(
        st.builds(build, maybe(ids), maybe(ids), nasty_text()),
        json_values(),
    )


def envelopes() -> st.SearchStrategy[dict[str, Any]]:
    def build(event: Any, token: Any, stamp: Any, data: Any) -> dict[str, Any]:
        payload: dict[str, Any] = {}
        put(payload, "event", event)
        put(payload, "token", token)
        put(payload, "triggeredAt", stamp)
        return put(payload, "data", data)

    return st.builds(
        build,
        maybe(st.sampled_from(EVENTS) | nasty_text()),
        maybe(st.text(st.characters(codec="ascii"), min_size=1, max_size=40) | nasty_text()),
        maybe(st.integers(0, 2**53) | numbers() | nasty_text()),
        maybe(data_objects()),
    )


def unsigned_bodies() -> st.SearchStrategy[bytes]:
    def wrongly_signed(payload: dict[str, Any], signature: Any) -> bytes:
        return json.dumps(put(payload, "signature", signature)).encode()

    return st.one_of(
        st.binary(max_size=300),
        st.builds(wrongly_signed, envelopes(), maybe(nasty_text() | st.text("0123456789abcdef"))),
        json_values().map(lambda v: json.dumps(v).encode()),
    )


def signed_envelopes() -> st.SearchStrategy[dict[str, Any]]:
    """Envelopes whose token and timestamp can be signed; event and data fuzzed."""

    def build(event: Any, token: str, stamp: int | str, data: Any) -> dict[str, Any]:
        return put(put({"token": token, "triggeredAt": stamp}, "event", event), "data", data)

    return st.builds(
        build,
        maybe(st.sampled_from(EVENTS) | nasty_text()),
        st.text(st.characters(codec="ascii"), min_size=1, max_size=128),
        st.integers(0, 10**16 - 1) | st.integers(0, 10**9).map(str),
        maybe(data_objects()),
    )


def signed(payload: dict[str, Any], secret: str = SIGNATURE_TOKEN) -> bytes | None:
    token, stamp = payload.get("token"), payload.get("triggeredAt")
    if not isinstance(token, str) or not token.isascii() or isinstance(stamp, bool):
        return None
    if not isinstance(stamp, int | str):
        return None
    return json.dumps(dict(payload, signature=signature_for(secret, token, stamp))).encode()


# -- properties ------------------------------------------------------------------------


def test_fuzz_unsigned_bodies_are_refused_unread(
    world: tuple[ServedBot, FakeLever], caplog: pytest.LogCaptureFixture
) -> None:
    bot, lever = world

    def check(body: bytes) -> None:
        before, calls = state(bot), len(lever.requests)
        reply = post(bot, body)
        assert reply.status_code == 401, reply.text
        assert len(lever.requests) == calls and state(bot) == before
        no_errors(caplog, bot.fake)

    fuzz(unsigned_bodies(), check, examples=150)


def test_fuzz_signed_events(
    world: tuple[ServedBot, FakeLever], caplog: pytest.LogCaptureFixture
) -> None:
    bot, lever = world

    def check(payload: dict[str, Any]) -> None:
        body = signed(payload)
        if body is None:
            return
        before, calls = state(bot), len(lever.requests)
        reply = post(bot, body)
        assert reply.status_code in (200, 400, 401), reply.text
        after = state(bot)
        if reply.status_code != 200 or set(reply.json()) == {"ignored"}:
            assert after == before and len(lever.requests) == calls
        elif "outcome" in reply.json():  # taken in once: the token is recorded
            assert after[0] == before[0] + 1
        for external_id, candidate, _ in after[3]:
            assert external_id == f"lever:{KNOWN['interviewId']}"  # only what Lever holds
            assert candidate == "Kristoffer Hoeger"
        no_errors(caplog, bot.fake)

    fuzz(signed_envelopes(), check, examples=200)


def interview_records() -> st.SearchStrategy[dict[str, Any]]:
    base = fixture("interview.json")["data"]
    people = st.lists(
        st.fixed_dictionaries({"email": maybe(nasty_text() | st.emails()), "name": nasty_text()}),
        max_size=4,
    )

    def build(date: Any, duration: Any, interviewers: Any, canceled: Any, subject: Any) -> Any:
        record = dict(base)
        for key, value in [
            ("date", date),
            ("duration", duration),
            ("interviewers", interviewers),
            ("canceledAt", canceled),
            ("subject", subject),
        ]:
            if value is MISSING:
                record.pop(key, None)
            else:
                record[key] = value
        return record

    return st.builds(
        build,
        maybe(st.integers(0, 2**45) | numbers()),
        maybe(st.integers(-5, 24 * 60 + 5) | numbers()),
        maybe(people),
        maybe(st.none() | st.integers(0, 2**45)),
        maybe(nasty_text()),
    )


def test_fuzz_what_lever_answers(
    world: tuple[ServedBot, FakeLever], caplog: pytest.LogCaptureFixture
) -> None:
    bot, lever = world
    key = (KNOWN["opportunityId"], KNOWN["interviewId"])
    tokens = iter(range(10**9))

    def check(record: dict[str, Any]) -> None:
        lever.interviews[key] = record
        payload = {"event": "interviewUpdated", "data": KNOWN, "triggeredAt": 1}
        body = signed(dict(payload, token=f"t{next(tokens)}"))
        assert body is not None
        reply = post(bot, body)
        assert reply.status_code in (200, 503), reply.text
        outcome = reply.json().get("outcome")
        assert outcome in (
            None,
            "created",
            "updated",
            "unchanged",
            "cancelled",
            "incomplete",
            "invalid",
        )
        no_errors(caplog, bot.fake)

    fuzz(interview_records(), check, examples=150)
