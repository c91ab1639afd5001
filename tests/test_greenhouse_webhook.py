"""POST /webhooks/greenhouse (interview_deleted): signature first, de-duplicated, fuzzed.

On SQLite and PostgreSQL, against the endpoint object (the HTTP path is covered
end to end in tests/test_greenhouse_e2e.py).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from rubric import RubricRegistry
from sources.greenhouse_webhook import GreenhouseWebhook, signature_header
from sources.wiring import SourceDeps
from storage.incomplete import upsert_incomplete
from storage.intake import Intake, SourceRow, intake_rows
from storage.interviews import Timings
from storage.mapping import SourceMapping
from storage.models import IncompleteInterview, Interview, InterviewState, WebhookEvent
from tests.fuzz_strategies import fuzz

FIXTURES = Path(__file__).parent / "fixtures" / "greenhouse"
SECRET = "greenhouse-webhook-secret-key"
NOW = datetime(2027, 2, 28, 12, 0, tzinfo=UTC)
TIMINGS = Timings(form_delay=timedelta(minutes=5), summary_deadline=timedelta(hours=48))
REGISTRY = RubricRegistry.load(None)


def signed(body: bytes, event_id: str | None = "evt-1", secret: str = SECRET) -> dict[str, str]:
    headers = {"Content-Type": "application/json", **signature_header(secret, body)}
    if event_id is not None:
        headers["Greenhouse-Event-ID"] = event_id
    return headers


def deleted_body(interview_id: int = 9800001) -> bytes:
    data = json.loads((FIXTURES / "interview_deleted.json").read_text())
    data["payload"]["interview"]["id"] = interview_id
    return json.dumps(data).encode()


@pytest.fixture
def endpoint(session_factory: sessionmaker[Session]) -> GreenhouseWebhook:
    calls: list[list[int]] = []
    hook = GreenhouseWebhook(
        secret=SECRET,
        deps=SourceDeps(
            session_factory,
            Intake(REGISTRY, TIMINGS, SourceMapping()),
            clock=lambda: NOW,
            on_cancelled=lambda ids: calls.append(list(ids)),
        ),
    )
    hook.calls = calls  # type: ignore[attr-defined]
    return hook


def scheduled(factory: sessionmaker[Session], gid: int = 9800001) -> int:
    row = SourceRow(
        "greenhouse",
        f"greenhouse:{gid}",
        {
            "candidate": "Jane Doe",
            "role": "Senior ML Engineer",
            "rubric": "mle",
            "target_level": "senior",
            "starts_at": "2027-03-01T10:00:00Z",
            "ends_at": "2027-03-01T11:00:00Z",
            "hiring_channel": "C0HIRING",
            "recruiter": "U0RECRUIT",
            "hiring_lead": "U0LEAD",
            "panel": [{"interviewer": "U0ADA", "focus": ["system_design"]}],
        },
    )
    with factory.begin() as session:
        result = intake_rows(
            session, [row], registry=REGISTRY, timings=TIMINGS, mapping=SourceMapping(), now=NOW
        )
        assert result.outcomes == ("created",)
        return session.scalars(sa.select(Interview.id)).one()


def state(factory: sessionmaker[Session]) -> list[tuple[Any, ...]]:
    with factory() as session:
        interviews = session.execute(sa.select(Interview.id, Interview.state)).all()
        events = session.execute(sa.select(WebhookEvent.event_id)).all()
        incomplete = session.execute(sa.select(IncompleteInterview.external_id)).all()
    return [tuple(interviews), tuple(events), tuple(incomplete)]


def test_interview_deleted_cancels_and_updates_the_sent_forms(
    endpoint: GreenhouseWebhook, session_factory: sessionmaker[Session]
) -> None:
    interview_id = scheduled(session_factory)
    reply = endpoint.handle(deleted_body(), signed(deleted_body()))
    assert (reply.status, dict(reply.body)) == (200, {"cancelled": 1})
    with session_factory() as session:
        assert session.get(Interview, interview_id).state == InterviewState.CANCELLED  # type: ignore[union-attr]
    assert endpoint.calls == [[interview_id]]  # type: ignore[attr-defined]


def test_a_redelivery_is_dropped_by_its_event_id(
    endpoint: GreenhouseWebhook, session_factory: sessionmaker[Session]
) -> None:
    scheduled(session_factory)
    endpoint.handle(deleted_body(), signed(deleted_body()))
    before = state(session_factory)
    reply = endpoint.handle(deleted_body(), signed(deleted_body()))
    assert (reply.status, dict(reply.body)) == (200, {"duplicate": True})
    assert state(session_factory) == before
    assert len(endpoint.calls) == 1  # type: ignore[attr-defined]


def test_an_unknown_interview_and_an_incomplete_one(
    endpoint: GreenhouseWebhook, session_factory: sessionmaker[Session]
) -> None:
    reply = endpoint.handle(deleted_body(5), signed(deleted_body(5), "evt-a"))
    assert (reply.status, dict(reply.body)) == (200, {"cancelled": 0})
    with session_factory.begin() as session:
        upsert_incomplete(
            session,
            source="greenhouse",
            external_id="greenhouse:6",
            row={"candidate": "Jane Doe"},
            missing=[{"field": "job", "message": "no mapping"}],
            recruiter="U0RECRUIT",
            now=NOW,
        )
    reply = endpoint.handle(deleted_body(6), signed(deleted_body(6), "evt-b"))
    assert reply.status == 200
    assert state(session_factory)[2] == ()  # the incomplete one is dropped
    assert endpoint.calls == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Signature": ""},
        {"Signature": "sha256"},
        {"Signature": "sha256=" + "0" * 64},
        {"Signature": "sha1 " + "0" * 64},
        {"Signature": "sha256 " + "0" * 64},
        signature_header("another-secret", deleted_body()),
    ],
)
def test_a_missing_or_wrong_signature_is_401_before_anything_is_parsed(
    endpoint: GreenhouseWebhook,
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
    headers: dict[str, str],
) -> None:
    interview_id = scheduled(session_factory)
    before = state(session_factory)
    body = deleted_body()

    def no_parsing(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("parsed before the signature was checked")

    monkeypatch.setattr("sources.greenhouse_webhook.json.loads", no_parsing)
    reply = endpoint.handle(body, headers)
    monkeypatch.undo()
    assert reply.status == 401
    assert state(session_factory) == before and interview_id
    assert endpoint.calls == []  # type: ignore[attr-defined]


def test_the_signature_is_over_the_exact_raw_body(
    endpoint: GreenhouseWebhook, session_factory: sessionmaker[Session]
) -> None:
    scheduled(session_factory)
    body = deleted_body()
    headers = signed(body)
    assert endpoint.handle(body + b" ", headers).status == 401  # one byte more
    assert endpoint.handle(body.replace(b": ", b":"), headers).status == 401
    upper = {"Signature": headers["Signature"].upper().replace("SHA256", "sha256")}
    assert endpoint.handle(body, {**headers, **upper}).status == 200  # hex case ignored


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "body is not JSON"),
        (b"\xff\xfe", "body is not JSON"),
        (b"[1, 2]", "body must be a JSON object"),
        (b"{}", "action must be a non-empty string"),
        (b'{"action": 3}', "action must be a non-empty string"),
        (b'{"action": "interview_deleted"}', "payload must be an object"),
        (b'{"action": "interview_deleted", "payload": {}}', "payload.interview must be an object"),
        (
            b'{"action": "interview_deleted", "payload": {"interview": {"id": "9"}}}',
            "payload.interview.id must be a positive integer",
        ),
        (
            b'{"action": "interview_deleted", "payload": {"interview": {"id": true}}}',
            "payload.interview.id must be a positive integer",
        ),
        (
            b'{"action": "interview_deleted", "payload": {"interview": {"id": -4}}}',
            "payload.interview.id must be a positive integer",
        ),
    ],
)
def test_a_malformed_payload_is_400_with_a_specific_message_and_changes_nothing(
    endpoint: GreenhouseWebhook, session_factory: sessionmaker[Session], body: bytes, message: str
) -> None:
    scheduled(session_factory)
    before = state(session_factory)
    reply = endpoint.handle(body, signed(body))
    assert (reply.status, reply.body.get("error")) == (400, message)
    assert state(session_factory) == before


def test_ping_and_unhandled_actions_answer_200(
    endpoint: GreenhouseWebhook,
    session_factory: sessionmaker[Session],
    caplog: pytest.LogCaptureFixture,
) -> None:
    scheduled(session_factory)
    before = state(session_factory)
    ping = (FIXTURES / "ping.json").read_bytes()
    assert endpoint.handle(ping, signed(ping)).status == 200
    hired = b'{"action": "candidate_hired", "payload": {"application": {"id": 1}}}'
    with caplog.at_level(logging.INFO, logger="sources.greenhouse_webhook"):
        reply = endpoint.handle(hired, signed(hired))
    assert (reply.status, dict(reply.body)) == (200, {"ignored": "candidate_hired"})
    assert "candidate_hired" in caplog.text and "not handled" in caplog.text
    assert state(session_factory) == before


def test_an_overlong_event_id_is_400(
    endpoint: GreenhouseWebhook, session_factory: sessionmaker[Session]
) -> None:
    reply = endpoint.handle(deleted_body(), signed(deleted_body(), "e" * 129))
    assert reply.status == 400 and "Greenhouse-Event-ID" in str(reply.body["error"])
    assert state(session_factory) == [(), (), ()]


# -- fuzzing -----------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
payloads = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"action": st.sampled_from(["interview_deleted", "ping", "x"]) | json_values},
        optional={
            "payload": st.fixed_dictionaries(
                {},
                optional={
                    "interview": st.fixed_dictionaries(
                        {}, optional={"id": st.integers(-5, 2**70) | json_values}
                    )
                    | json_values
                },
            )
            | json_values
        },
    ),
)


def test_fuzz_signed_payloads_are_answered_200_or_400_never_an_error(
    endpoint: GreenhouseWebhook, session_factory: sessionmaker[Session], db_url: str
) -> None:
    interview_id = scheduled(session_factory, gid=424242)

    def check(case: tuple[Any, str | None]) -> None:
        value, event_id = case
        body = json.dumps(value).encode()
        reply = endpoint.handle(body, signed(body, event_id))
        assert reply.status in (200, 400), (reply.status, value)
        reply.encoded()  # always a JSON answer
        with session_factory() as session:
            assert session.get(Interview, interview_id).state == InterviewState.SCHEDULED  # type: ignore[union-attr]

    events = st.none() | st.text(min_size=1, max_size=40).filter(str.strip)
    fuzz(st.tuples(payloads, events), check, examples=150 if "sqlite" in db_url else 60)


def test_fuzz_unsigned_bytes_and_headers_are_always_401(
    endpoint: GreenhouseWebhook, session_factory: sessionmaker[Session], db_url: str
) -> None:
    def check(case: tuple[bytes, dict[str, str]]) -> None:
        body, headers = case
        assert endpoint.handle(body, headers).status == 401

    headers = st.dictionaries(
        st.sampled_from(["Signature", "signature", "Greenhouse-Event-ID", "X"]),
        st.text(max_size=80) | st.just("sha256 ") | st.just("sha256 " + "a" * 64),
        max_size=3,
    )
    fuzz(st.tuples(st.binary(max_size=300), headers), check, examples=200)
    assert state(session_factory) == [(), (), ()]
