"""Fuzzing ``POST /webhooks/ashby`` over HTTP against the served bot (house style: test_fuzz_payloads).

One served bot and one loopback Ashby API per test; hypothesis sends many bodies
and each property is checked against the state just before the request:

* never a 500 and never an ERROR log record; only 200, 400, 401 or 503;
* a body whose signature does not verify is 401, costs no call to Ashby's API and
  changes no row (the signature is checked before the body is parsed);
* a signed but malformed schedule is 400 and changes nothing;
* a signed schedule changes only the interviews of its own events (or of its own
  schedule, for removed events), and the candidate's name only ever comes from
  Ashby's API, never from the payload;
* whatever Ashby's API answers (wrong types, hostile values, errors), the bot
  answers 200, 400 or 503 and never stores a half-made interview.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import FileConfig
from bot.config_sources import AshbyConfig
from sources.ashby import sign
from storage.models import IncompleteInterview, Interview, WebhookEvent
from tests.fake_ashby import API_KEY, FakeAshby, Fault, fixture
from tests.fakeslack import FakeSlack, running_fake
from tests.fuzz_strategies import fuzz, json_values, maybe, nasty_text, numbers, put
from tests.harness import ServedBot
from tests.test_ashby_e2e import USERS
from tests.test_ashby_endpoint import MAPPING, SECRET

KNOWN = fixture("interview_schedule_create.json")
SCHEDULE = KNOWN["data"]["interviewSchedule"]
ACTIONS = ("interviewScheduleCreate", "interviewScheduleUpdate", "ping", "candidateHire")
STATUSES = ("Scheduled", "Cancelled", "Complete", "WaitingOnFeedback", "NeedsScheduling")


@pytest.fixture
def world(
    engine: Engine, session_factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> Iterator[tuple[ServedBot, FakeAshby]]:
    ashby = FakeAshby().start()
    fakes: Iterator[FakeSlack] = running_fake()
    fake = next(fakes)
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
    caplog.set_level(logging.WARNING)
    yield bot, ashby
    bot.close()
    ashby.stop()
    next(fakes, None)


def state(bot: ServedBot) -> tuple[int, int, dict[str, tuple[Any, ...]]]:
    with bot.session_factory() as session:
        events = int(session.scalar(select(func.count()).select_from(WebhookEvent)) or 0)
        incomplete = int(session.scalar(select(func.count()).select_from(IncompleteInterview)) or 0)
        rows = session.execute(
            select(
                Interview.external_id,
                Interview.source,
                Interview.candidate,
                Interview.starts_at,
                Interview.ends_at,
                Interview.state,
            )
        ).all()
    return events, incomplete, {str(r[0]): tuple(r[1:]) for r in rows}


def post(bot: ServedBot, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{bot.url}/webhooks/ashby", content=body, headers=headers, timeout=15)


def no_errors(caplog: pytest.LogCaptureFixture, fake: FakeSlack) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    assert fake.rejected == []


# -- strategies ------------------------------------------------------------------------

ids = st.one_of(
    st.sampled_from([SCHEDULE["id"], *(e["id"] for e in SCHEDULE["interviewEvents"])]),
    st.uuids().map(str),
    nasty_text(max_size=80),
    json_values(),
)
times = st.one_of(
    st.sampled_from(
        ["2027-03-01T10:00:00.000Z", "2027-03-01T11:00:00Z", "2027-03-01T12:30:00+02:00"]
    ),
    st.datetimes().map(lambda d: d.isoformat()),
    nasty_text(max_size=40),
    numbers(),
)


def interviewers() -> st.SearchStrategy[Any]:
    def build(user_id: Any, email: Any, role: Any) -> dict[str, Any]:
        person: dict[str, Any] = {"firstName": "X", "isFeedbackRequired": True}
        put(person, "id", user_id)
        put(person, "email", email)
        return put(person, "trainingRole", role)

    emails = st.sampled_from([*USERS.values(), "stranger@example.com"]) | nasty_text()
    return st.one_of(
        st.lists(
            st.builds(
                build,
                maybe(st.uuids().map(str)),
                maybe(emails),
                maybe(st.sampled_from(["Shadow", "Reverse-Shadow"])),
            ),
            max_size=3,
        ),
        json_values(),
    )


def events() -> st.SearchStrategy[Any]:
    def build(event_id: Any, interview: Any, start: Any, end: Any, people: Any) -> dict[str, Any]:
        event: dict[str, Any] = {"feedbackLink": "https://app.ashbyhq.com/x"}
        for key, value in (
            ("id", event_id),
            ("interviewId", interview),
            ("startTime", start),
            ("endTime", end),
            ("interviewers", people),
        ):
            put(event, key, value)
        return event

    kits = st.sampled_from([e["interviewId"] for e in SCHEDULE["interviewEvents"]])
    return st.one_of(
        st.lists(
            st.builds(
                build,
                maybe(ids),
                maybe(kits | ids),
                maybe(times),
                maybe(times),
                maybe(interviewers()),
            ),
            max_size=3,
        ),
        json_values(),
    )


def payloads() -> st.SearchStrategy[dict[str, Any]]:
    def build(
        action: Any, action_id: Any, schedule_id: Any, status: Any, app: Any, evs: Any
    ) -> dict[str, Any]:
        schedule: dict[str, Any] = {"interviewStageId": SCHEDULE["interviewStageId"]}
        for key, value in (
            ("id", schedule_id),
            ("status", status),
            ("applicationId", app),
            ("interviewEvents", evs),
        ):
            put(schedule, key, value)
        doc: dict[str, Any] = {"data": {"interviewSchedule": schedule}}
        put(doc, "action", action)
        return put(doc, "webhookActionId", action_id)

    return st.builds(
        build,
        maybe(st.sampled_from(ACTIONS) | nasty_text()),
        maybe(st.uuids().map(str)),
        maybe(ids),
        maybe(st.sampled_from(STATUSES) | nasty_text()),
        maybe(st.sampled_from([SCHEDULE["applicationId"]]) | ids),
        maybe(events()),
    )


def near_valid() -> st.SearchStrategy[dict[str, Any]]:
    """Well-formed schedules (known and new events, moved, re-staffed, cancelled)."""

    def event(event_id: str, hour: int, minutes: int, people: list[str], shadow: bool) -> Any:
        start = f"2027-03-0{1 + hour // 24}T{hour % 24:02d}:00:00.000Z"
        end = f"2027-03-0{1 + hour // 24}T{hour % 24:02d}:{minutes:02d}:00.000Z"
        return {
            "id": event_id,
            "interviewId": SCHEDULE["interviewEvents"][0]["interviewId"],
            "startTime": start,
            "endTime": end,
            "interviewers": [
                {"id": f"00000000-0000-4000-8000-00000000000{i}", "email": email}
                | ({"trainingRole": "Shadow"} if shadow and i else {})
                for i, email in enumerate(people)
            ],
        }

    def build(action_id: str, status: str, evs: list[Any]) -> dict[str, Any]:
        doc = json.loads(json.dumps(KNOWN))
        doc["action"], doc["webhookActionId"] = "interviewScheduleUpdate", action_id
        doc["data"]["interviewSchedule"].update(status=status, interviewEvents=evs)
        return doc

    events = st.lists(
        st.builds(
            event,
            st.sampled_from([e["id"] for e in SCHEDULE["interviewEvents"]]) | st.uuids().map(str),
            st.integers(0, 47),
            st.sampled_from([15, 30, 45]),
            st.lists(
                st.sampled_from([*USERS.values(), "stranger@example.com"]),
                min_size=1,
                max_size=3,
                unique=True,
            ),
            st.booleans(),
        ),
        max_size=3,
        unique_by=lambda e: e["id"],
    )
    return st.builds(build, st.uuids().map(str), st.sampled_from(STATUSES), events)


def unsigned() -> st.SearchStrategy[tuple[bytes, dict[str, str]]]:
    headers = st.one_of(
        st.just({}),
        st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=80).map(
            lambda v: {"Ashby-Signature": v.strip()} if v.strip() else {}
        ),
        st.text("0123456789abcdef", min_size=64, max_size=64).map(
            lambda v: {"Ashby-Signature": f"sha256={v}"}
        ),
    )
    bodies = st.one_of(
        st.binary(max_size=300),
        payloads().map(lambda d: json.dumps(d).encode()),
        json_values().map(lambda v: json.dumps(v).encode()),
    )
    return st.tuples(bodies, headers)


# -- properties ------------------------------------------------------------------------


def test_fuzz_unsigned_bodies_are_refused_unread(
    world: tuple[ServedBot, FakeAshby], caplog: pytest.LogCaptureFixture
) -> None:
    bot, ashby = world

    def check(value: tuple[bytes, dict[str, str]]) -> None:
        body, headers = value
        before, calls = state(bot), len(ashby.calls)
        reply = post(bot, body, headers)
        assert reply.status_code == 401, reply.text
        assert len(ashby.calls) == calls and state(bot) == before
        no_errors(caplog, bot.fake)

    fuzz(unsigned(), check, examples=150)


def test_fuzz_signed_schedules(
    world: tuple[ServedBot, FakeAshby], caplog: pytest.LogCaptureFixture
) -> None:
    bot, _ = world
    taken: list[int] = []

    def check(doc: dict[str, Any]) -> None:
        body = json.dumps(doc).encode()
        before = state(bot)
        reply = post(bot, body, sign(SECRET, body))
        assert reply.status_code in (200, 400), reply.text
        after = state(bot)
        if reply.status_code == 400 or set(reply.json()) & {"ignored", "ok", "duplicate"}:
            assert after == before
        else:
            schedule = doc["data"]["interviewSchedule"]
            own = {f"ashby:{e['id']}" for e in schedule["interviewEvents"] or []}
            for external_id, row in after[2].items():
                if before[2].get(external_id) != row:
                    assert external_id in own or row[0] == f"ashby:{schedule['id']}"
                    assert row[1] == "Adam Hart"  # the API's name, never the payload's
                    taken.append(1)
        no_errors(caplog, bot.fake)

    fuzz(st.one_of(payloads(), near_valid()), check, examples=200)
    assert taken, "no fuzzed schedule was taken in: the strategy only reaches the 400s"


def api_answers() -> st.SearchStrategy[tuple[str, int, Any]]:
    methods = st.sampled_from(["application.info", "interview.info", "user.info", "*"])
    answers = st.one_of(
        json_values(),
        st.builds(
            lambda name, title: {
                "success": True,
                "results": {"candidate": {"name": name}, "job": {"title": title}},
            },
            maybe(nasty_text(max_size=300)),
            maybe(nasty_text(max_size=300)),
        ),
        st.just({"success": False, "errorInfo": {"code": "application_not_found"}}),
    )
    return st.tuples(methods, st.sampled_from([200, 200, 200, 401, 403, 404, 429, 500]), answers)


def test_fuzz_hostile_api_answers(
    world: tuple[ServedBot, FakeAshby], caplog: pytest.LogCaptureFixture
) -> None:
    bot, ashby = world
    counter = iter(range(10**9))

    def check(value: tuple[str, int, Any]) -> None:
        method, status, answer = value
        ashby.faults.clear()
        ashby.fail(method, Fault(status=status, body=answer, times=5))
        doc = json.loads(json.dumps(KNOWN))
        doc["webhookActionId"] = f"00000000-0000-4000-8000-{next(counter):012d}"
        body = json.dumps(doc).encode()
        before = state(bot)
        reply = post(bot, body, sign(SECRET, body))
        assert reply.status_code in (200, 400, 503), reply.text
        after = state(bot)
        if reply.status_code != 200:
            assert after == before
        for external_id, row in after[2].items():
            if before[2].get(external_id) != row:
                assert isinstance(row[1], str) and 0 < len(row[1]) <= 200
        no_errors(caplog, bot.fake)

    fuzz(api_answers(), check, examples=80)
