"""Fuzzing ``POST /webhooks/interviews`` over HTTP against the served bot (house style:
test_fuzz_payloads).

One served bot per test; hypothesis sends many bodies and each property is
checked against the state just before the request:

* never a 500 and never an ERROR log record, and the fake Slack rejected nothing;
* a body whose signature does not verify is 401 and changes no row;
* a signed body is 200 or 400; a 400 changes no row (all or nothing) and names
  each problem with its row index and field; a 200 accounts for every row
  (created + updated + unchanged + cancelled + incomplete) and writes only the
  interviews its rows name.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import AccessConfig, FileConfig
from sources.signatures import sign_v1
from storage.mapping import JobMapping, SourceMapping
from storage.models import IncompleteInterview, Interview
from tests.fakeslack import FakeSlack, running_fake
from tests.fuzz_strategies import MISSING, fuzz, json_values, maybe, nasty_text, numbers, put
from tests.harness import ServedBot
from tests.webhook_support import WEBHOOK_PATH, WEBHOOK_SECRET

MAPPING = SourceMapping(
    defaults={"hiring_lead": "U0LEAD"},
    jobs=(JobMapping(job="Senior ML Engineer", target_level="senior", hiring_channel="C0ML"),),
    kits={"Onsite": ("system_design",)},
)


@pytest.fixture
def served(
    engine: Engine, session_factory: sessionmaker[Session], caplog: pytest.LogCaptureFixture
) -> Iterator[ServedBot]:
    fakes: Iterator[FakeSlack] = running_fake()
    fake = next(fakes)
    for user in ("U0REC", "U0LEAD", "U0AAA"):
        fake.add_user(user)
    fake.add_user("U0BBB", email="bob@example.com")
    bot = ServedBot(
        engine,
        session_factory,
        fake,
        file_config=FileConfig(access=AccessConfig(recruiters=("U0REC",)), mapping=MAPPING),
        extra_secrets={"webhook_secret": WEBHOOK_SECRET},
    )
    caplog.set_level(logging.WARNING)
    yield bot
    bot.close()
    next(fakes, None)


def state(bot: ServedBot) -> list[tuple[Any, ...]]:
    with bot.session_factory() as session:
        interviews = session.execute(
            select(Interview.external_id, Interview.candidate, Interview.starts_at, Interview.state)
        ).all()
        incomplete = session.execute(
            select(IncompleteInterview.external_id, IncompleteInterview.missing)
        ).all()
    return sorted(tuple(map(repr, r)) for r in [*interviews, *incomplete])


def external_ids(bot: ServedBot) -> set[str]:
    with bot.session_factory() as session:
        found = [*session.scalars(select(Interview.external_id))]
        found += session.scalars(select(IncompleteInterview.external_id))
    return {e for e in found if e is not None}


def post(bot: ServedBot, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{bot.url}{WEBHOOK_PATH}", content=body, headers=headers, timeout=15)


def no_errors(caplog: pytest.LogCaptureFixture, fake: FakeSlack) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    assert fake.rejected == []


# -- strategies ------------------------------------------------------------------------

people = st.sampled_from(["U0REC", "U0LEAD", "U0AAA", "U0BBB", "bob@example.com", "eve@x.io"])
stamps = st.one_of(
    st.sampled_from(["2027-03-01T09:00:00Z", "2027-03-01T12:00:00+01:00", "2027-02-01T09:00Z"]),
    st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
    nasty_text(max_size=30),
)


def panels() -> st.SearchStrategy[Any]:
    def member(who: Any, focus: Any, shadow: Any) -> Any:
        return put(put(put({}, "interviewer", who), "focus", focus), "shadow", shadow)

    skills = st.lists(
        st.sampled_from(["system_design", "planning", "nope"]) | nasty_text(), max_size=3
    )
    return st.one_of(
        st.lists(st.builds(member, maybe(people), maybe(skills), maybe(st.booleans())), max_size=4),
        json_values(),
    )


def rows() -> st.SearchStrategy[Any]:
    def build(*values: Any) -> dict[str, Any]:
        keys = (
            "external_id", "candidate", "role", "job", "kit", "starts_at", "duration",
            "ends_at", "hiring_channel", "recruiter", "hiring_lead", "panel", "status",
        )  # fmt: skip
        row: dict[str, Any] = {}
        for key, value in zip(keys, values, strict=True):
            put(row, key, value)
        return row

    texts = st.sampled_from(["Ada", "Senior ML Engineer", "Onsite"]) | nasty_text()
    return st.one_of(
        st.builds(
            build,
            maybe(st.sampled_from(["a", "b", "c"]) | st.integers(0, 3) | nasty_text(max_size=130)),
            maybe(texts),
            maybe(texts),
            maybe(texts),
            maybe(texts),
            maybe(stamps),
            maybe(st.sampled_from(["1h", "45m", "0s", "99999d"]) | nasty_text()),
            st.just(MISSING) | maybe(stamps),
            maybe(st.sampled_from(["C0HIRING", "#hiring"]) | nasty_text()),
            maybe(people | nasty_text()),
            maybe(people),
            maybe(panels()),
            maybe(st.sampled_from(["cancelled", "scheduled", "deleted"])),
        ),
        json_values(),
        numbers(),
    )


def bodies() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.builds(lambda items: {"interviews": items}, st.lists(rows(), max_size=4)),
        json_values(),
    )


def signed(payload: Any, *, now: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(payload).encode()
    return body, {
        "Content-Type": "application/json",
        **sign_v1(WEBHOOK_SECRET, body, timestamp=now),
    }


# -- properties ------------------------------------------------------------------------


def test_fuzz_unsigned_bodies_are_refused_unread(
    served: ServedBot, caplog: pytest.LogCaptureFixture
) -> None:
    now = int(served.clock().timestamp())

    def check(case: tuple[Any, Any, Any]) -> None:
        body, stamp, signature = case
        headers: dict[str, str] = {}
        if isinstance(stamp, int):
            headers["X-Interview-Bot-Timestamp"] = str(now + stamp)
        if isinstance(signature, str) and signature.isascii() and signature.isprintable():
            headers["X-Interview-Bot-Signature"] = signature.strip()
        before = state(served)
        reply = post(served, body, headers)
        assert reply.status_code == 401, reply.text
        assert state(served) == before
        no_errors(caplog, served.fake)

    raw = st.one_of(st.binary(max_size=300), bodies().map(lambda v: json.dumps(v).encode()))
    fuzz(
        st.tuples(
            raw,
            st.none() | st.integers(-(10**6), 10**6),
            st.none() | st.text(st.characters(codec="ascii"), max_size=80).map(lambda s: "v1=" + s),
        ),
        check,
        examples=150,
    )


def test_fuzz_signed_bodies(served: ServedBot, caplog: pytest.LogCaptureFixture) -> None:
    now = int(served.clock().timestamp())

    def check(payload: Any) -> None:
        body, headers = signed(payload, now=now)
        before, ids_before = state(served), external_ids(served)
        reply = post(served, body, headers)
        if len(body) > 1024 * 1024:  # refused by the server before it is read
            assert reply.status_code == 413 and state(served) == before
            return
        assert reply.status_code in (200, 400), reply.text
        answer = reply.json()
        if reply.status_code == 400:
            assert state(served) == before, "a refused body changed data"
            assert answer["errors"], answer
            for error in answer["errors"]:
                assert set(error) == {"index", "field", "message"} and error["message"]
        else:
            items = payload["interviews"]
            assert sum(answer.values()) == len(items), answer
            named = {str(item["external_id"]).strip() for item in items}
            assert external_ids(served) - ids_before <= named
        no_errors(caplog, served.fake)

    fuzz(bodies(), check, examples=300)
