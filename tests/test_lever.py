"""Lever: the signed envelope, the mapping to intake rows, the API client and the endpoint.

The endpoint tests run the real LeverEndpoint against the loopback Lever API
(tests/fake_lever.py) and a migrated database (SQLite and PostgreSQL); what they
check is what Lever would be answered and what the database then holds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from rubric import RubricRegistry
from sources.lever import LeverEndpoint, signature_tokens
from sources.lever_api import LeverApi, LeverInterview, LeverUnavailable
from sources.lever_events import (
    LeverEvent,
    Malformed,
    parse_event,
    read_envelope,
    signature_for,
    verified,
)
from sources.lever_rows import interview_fields, interview_row
from sources.wiring import SourceDeps
from storage.intake import Intake
from storage.interviews import Timings
from storage.mapping import JobMapping, SourceMapping
from storage.models import IncompleteInterview, Interview, InterviewState, WebhookEvent
from tests.fake_lever import API_KEY, SIGNATURE_TOKEN, FakeLever, fixture, webhook_body

NOW = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
EMAILS = {
    "ashley@example.com": "U0ASHLEY",
    "chaim@example.com": "U0CHAIM",
    "rachel@example.com": "U0RACHEL",
}
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


def found_from_fixtures(**interview: Any) -> LeverInterview:
    data = fixture("interview.json")["data"] | interview
    return LeverInterview(
        interview=data,
        opportunity=fixture("opportunity.json")["data"],
        posting_title=fixture("posting.json")["data"]["text"],
        form_name=fixture("feedback_template.json")["data"]["text"],
    )


# -- the envelope ---------------------------------------------------------------------


def test_documented_example_verifies_with_its_token_only() -> None:
    example = fixture("webhook_interview_created.json")
    example["signature"] = signature_for("tok", example["token"], example["triggeredAt"])
    envelope = read_envelope(json.dumps(example).encode())
    assert verified(envelope, ["tok"])
    assert verified(envelope, ["other", "tok"])  # one token per Lever webhook
    assert not verified(envelope, ["other"])
    assert not verified(envelope, [])
    tampered = dict(example, token=example["token"] + "0")
    assert not verified(read_envelope(json.dumps(tampered).encode()), ["tok"])
    later = dict(example, triggeredAt=example["triggeredAt"] + 1)
    assert not verified(read_envelope(json.dumps(later).encode()), ["tok"])


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[1, 2]",
        b'"text"',
        b"[" * 100_000 + b"]" * 100_000,  # deeper than the parser's stack
        b'{"token": "t", "triggeredAt": 1}',
        b'{"token": "t", "signature": "s"}',
        b'{"token": 5, "triggeredAt": 1, "signature": "s"}',
        b'{"token": "t", "triggeredAt": true, "signature": "s"}',
        b'{"token": "t", "triggeredAt": -1, "signature": "s"}',
        b'{"token": "t", "triggeredAt": 1.5, "signature": "s"}',
        b'{"token": "t", "triggeredAt": "\xd9\xa1", "signature": "s"}',
        json.dumps({"token": "t" * 129, "triggeredAt": 1, "signature": "s"}).encode(),
    ],
)
def test_body_without_checkable_signature_has_no_envelope(body: bytes) -> None:
    assert read_envelope(body) is None
    assert not verified(read_envelope(body), [SIGNATURE_TOKEN])


def test_interview_events_parse_and_others_are_named() -> None:
    envelope = read_envelope(webhook_body("interviewUpdated", token="t1"))
    assert envelope is not None
    event = parse_event(envelope)
    assert event == LeverEvent(
        "interviewUpdated",
        "t1",
        "9c7e2d64-1f3a-4b8e-a1c2-5d6e7f8a9b0c",
        "77a6fb5d-ca8f-4a51-b9fa-c2fa5c2d8398",
    )
    assert isinstance(event, LeverEvent) and event.external_id.startswith("lever:77a6")
    other = read_envelope(webhook_body("candidateStageChange", token="t2", data={}))
    assert other is not None and parse_event(other) == "candidateStageChange"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (None, "data: expected an object"),
        ({"opportunityId": "o1"}, "data.interviewId"),
        ({"opportunityId": "../../users", "interviewId": "i"}, "data.opportunityId"),
        ({"opportunityId": "o1", "interviewId": "a/b"}, "data.interviewId"),
        ({"opportunityId": "o1", "interviewId": "x" * 65}, "data.interviewId"),
        ({"opportunityId": "o1", "interviewId": 7}, "data.interviewId"),
    ],
)
def test_malformed_interview_event_names_the_field(data: Any, message: str) -> None:
    payload = json.loads(webhook_body("interviewCreated", token="t"))
    payload["data"] = data
    envelope = read_envelope(json.dumps(payload).encode())
    assert envelope is not None
    with pytest.raises(Malformed, match=message.replace(".", r"\.")):
        parse_event(envelope)


def test_signature_tokens_may_list_one_per_webhook() -> None:
    assert signature_tokens("a") == ("a",)
    assert signature_tokens(" a, b ,\nc,, ") == ("a", "b", "c")
    assert signature_tokens(" , ") == ()


# -- the mapping (pure) -----------------------------------------------------------------


def test_documented_interview_maps_to_an_intake_row() -> None:
    row = interview_row("77a6fb5d-ca8f-4a51-b9fa-c2fa5c2d8398", found_from_fixtures())
    assert row.source == "lever"
    assert row.external_id == "lever:77a6fb5d-ca8f-4a51-b9fa-c2fa5c2d8398"
    assert not row.cancelled
    assert dict(row.fields) == {
        "candidate": "Kristoffer Hoeger",
        "starts_at": "2026-03-02T11:13:20+00:00",  # date 1772450000000 ms
        "duration": "45m",
        "panel": [{"interviewer": "ashley@example.com"}, {"interviewer": "chaim@example.com"}],
        "recruiter": "rachel@example.com",  # the opportunity's owner (expand=owner)
        "job": "Machine Learning Engineer",  # the posting's title
        "kit": "System design",  # the feedback form's name
    }


def test_kit_falls_back_to_the_subject_and_canceled_cancels() -> None:
    found = found_from_fixtures()
    no_form = LeverInterview(found.interview, found.opportunity, found.posting_title, None)
    assert interview_fields(no_form)["kit"] == "On-site interview - Kristoffer Hoeger"
    canceled = interview_row("i1", found_from_fixtures(canceledAt=1772400000000))
    assert canceled.cancelled and canceled.external_id == "lever:i1"


def test_odd_values_are_passed_on_for_the_intake_to_name() -> None:
    found = found_from_fixtures(
        date="tomorrow",
        duration=0,
        interviewers=[{"name": "No Email"}, {"email": "A@x.io"}, {"email": "a@x.io"}],
    )
    fields = interview_fields(found)
    assert fields["starts_at"] == "tomorrow" and fields["duration"] == 0
    # duplicates by email collapse; one without an email is kept (and refused), not dropped
    assert fields["panel"] == [{"interviewer": "No Email"}, {"interviewer": "A@x.io"}]


# -- the API client ---------------------------------------------------------------------


@pytest.fixture
def lever() -> Iterator[FakeLever]:
    fake = FakeLever()
    yield fake
    fake.close()


def test_client_fetches_interview_opportunity_posting_and_form(lever: FakeLever) -> None:
    api = LeverApi(lever.url, API_KEY)
    found = api.interview(
        "9c7e2d64-1f3a-4b8e-a1c2-5d6e7f8a9b0c", "77a6fb5d-ca8f-4a51-b9fa-c2fa5c2d8398"
    )
    assert found is not None
    assert found.posting_title == "Machine Learning Engineer"
    assert found.form_name == "System design"
    assert found.opportunity["owner"]["email"] == "rachel@example.com"
    assert any("expand=owner" in path for path in lever.requests)
    assert api.interview("9c7e2d64-1f3a-4b8e-a1c2-5d6e7f8a9b0c", "gone") is None
    api.close()


@pytest.mark.parametrize("status", [401, 429, 500, 503])
def test_client_failures_raise_unavailable(lever: FakeLever, status: int) -> None:
    api = LeverApi(lever.url, API_KEY)
    lever.fail_with(status)
    with pytest.raises(LeverUnavailable, match=str(status)):
        api.get("/postings/f2f01e16-27f8-4711-a728-7d49499795a0")
    with pytest.raises(LeverUnavailable, match="401"):
        LeverApi(lever.url, "wrong key").get("/postings/f2f01e16-27f8-4711-a728-7d49499795a0")


def test_client_gives_up_on_a_silent_lever(lever: FakeLever) -> None:
    lever.hang = True
    api = LeverApi(lever.url, API_KEY, timeout=httpx.Timeout(0.2))
    with pytest.raises(LeverUnavailable, match="Timeout"):
        api.get("/postings/x")


def test_client_refuses_what_is_not_lever_data() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/huge"):
            return httpx.Response(200, content=b" " * (3 * 1024 * 1024))
        if request.url.path.endswith("/list"):
            return httpx.Response(200, json={"data": []})
        return httpx.Response(200, content=b"<html>")

    api = LeverApi("https://lever.invalid", API_KEY, transport=httpx.MockTransport(answer))
    for path, reason in [("/huge", "size limit"), ("/list", "no data"), ("/x", "not JSON")]:
        with pytest.raises(LeverUnavailable, match=reason):
            api.get(path)


# -- the endpoint -----------------------------------------------------------------------


class World:
    def __init__(self, factory: sessionmaker[Session], lever: FakeLever) -> None:
        self.factory = factory
        self.lever = lever
        self.now = NOW
        self.cancelled: list[int] = []
        self.endpoint = LeverEndpoint(
            ["another-webhook-token", SIGNATURE_TOKEN],
            LeverApi(lever.url, API_KEY),
            SourceDeps(
                session_factory=factory,
                intake=Intake(
                    RubricRegistry.load(None),
                    Timings(timedelta(minutes=5), timedelta(hours=48)),
                    MAPPING,
                ),
                clock=lambda: self.now,
                resolve_email=self.resolve,
                on_cancelled=self.cancelled.extend,
            ),
        )
        self.schedule(NOW + timedelta(hours=2))

    @staticmethod
    def resolve(email: str) -> str:
        try:
            return EMAILS[email.lower()]
        except KeyError:
            raise LookupError(f"no Slack user has the email {email}") from None

    def schedule(self, start: datetime) -> None:
        self.lever.interview["date"] = int(start.timestamp() * 1000)

    def post(self, event: str, token: str, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        reply = self.endpoint.handle(webhook_body(event, token=token, **kwargs), {})
        return reply.status, dict(reply.body)

    def interviews(self) -> list[Interview]:
        with self.factory() as session:
            return list(session.scalars(select(Interview)).all())

    def count(self, model: type[Any]) -> int:
        with self.factory() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def world(session_factory: sessionmaker[Session], lever: FakeLever) -> World:
    return World(session_factory, lever)


def test_created_moved_deleted_through_the_endpoint(world: World) -> None:
    assert world.post("interviewCreated", "t1") == (200, {"outcome": "created"})
    [interview] = world.interviews()
    assert interview.external_id == "lever:77a6fb5d-ca8f-4a51-b9fa-c2fa5c2d8398"
    assert interview.source == "lever" and interview.candidate == "Kristoffer Hoeger"
    assert interview.role == "Senior ML Engineer" and interview.hiring_channel == "C0HIRING"
    assert interview.recruiter == "U0RACHEL"
    assert interview.ends_at - interview.starts_at == timedelta(minutes=45)

    world.schedule(NOW + timedelta(days=1))
    assert world.post("interviewUpdated", "t2") == (200, {"outcome": "updated"})
    [moved] = world.interviews()
    assert moved.starts_at.replace(tzinfo=UTC) == NOW + timedelta(days=1)

    world.lever.delete_interview()
    assert world.post("interviewDeleted", "t3") == (200, {"outcome": "cancelled"})
    [gone] = world.interviews()
    assert gone.state == InterviewState.CANCELLED
    assert world.cancelled == [gone.id]


def test_bad_signature_is_refused_before_anything_else(world: World) -> None:
    for body in [
        webhook_body("interviewCreated", token="t1", secret="not-the-token"),
        webhook_body("interviewCreated", token="t1", signature="00" * 32),
        b'{"event": "interviewCreated", "data": {}}',
        b"not json at all",
    ]:
        reply = world.endpoint.handle(body, {})
        assert reply.status == 401
        assert "signature" in reply.body["error"]
    assert world.lever.requests == []  # Lever's API never called
    assert world.count(WebhookEvent) == 0 and world.interviews() == []


def test_replay_changes_nothing_and_costs_no_api_call(world: World) -> None:
    assert world.post("interviewCreated", "t1")[0] == 200
    calls = len(world.lever.requests)
    world.schedule(NOW + timedelta(days=3))  # a replay must not pick up this change
    assert world.post("interviewCreated", "t1") == (200, {"duplicate": True})
    assert len(world.lever.requests) == calls
    [interview] = world.interviews()
    assert interview.starts_at.replace(tzinfo=UTC) == NOW + timedelta(hours=2)


def test_unhandled_event_is_200_and_logged(world: World, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="sources.lever")
    assert world.post("candidateStageChange", "t1", data={"toStageId": "x"}) == (
        200,
        {"ignored": "candidateStageChange"},
    )
    assert "candidateStageChange not handled" in caplog.text
    assert world.lever.requests == [] and world.count(WebhookEvent) == 0


def test_malformed_signed_payload_is_400_with_nothing_changed(world: World) -> None:
    status, body = world.post("interviewCreated", "t1", data={"opportunityId": "o/../x"})
    assert status == 400 and body["error"].startswith("data.opportunityId")
    payload = json.loads(webhook_body("interviewCreated", token="t2"))
    payload["event"] = 42
    reply = world.endpoint.handle(json.dumps(payload).encode(), {})
    assert reply.status == 400 and reply.body["error"].startswith("event:")
    assert world.lever.requests == [] and world.count(WebhookEvent) == 0


def test_lever_down_is_503_with_nothing_changed_then_the_retry_works(world: World) -> None:
    world.lever.fail_with(503)
    assert world.post("interviewCreated", "t1")[0] == 503
    assert world.count(WebhookEvent) == 0 and world.interviews() == []
    world.lever.fail_with(429, path="/postings/")  # the interview loads, its posting does not
    assert world.post("interviewCreated", "t1")[0] == 503
    assert world.count(WebhookEvent) == 0 and world.interviews() == []
    assert world.post("interviewCreated", "t1") == (200, {"outcome": "created"})


def test_a_forged_delete_of_an_interview_lever_still_has_only_syncs_it(world: World) -> None:
    # The signature does not cover ``data``: Lever's API, not the payload, says it is gone.
    assert world.post("interviewCreated", "t1")[0] == 200
    assert world.post("interviewDeleted", "t2") == (200, {"outcome": "unchanged"})
    [interview] = world.interviews()
    assert interview.state == InterviewState.SCHEDULED and world.cancelled == []


def test_canceled_in_lever_cancels(world: World) -> None:
    assert world.post("interviewCreated", "t1")[0] == 200
    world.lever.interview["canceledAt"] = int(NOW.timestamp() * 1000)
    assert world.post("interviewUpdated", "t2") == (200, {"outcome": "cancelled"})
    assert world.interviews()[0].state == InterviewState.CANCELLED


def test_unknown_interviewer_email_is_incomplete_then_completed(world: World) -> None:
    world.lever.interview["interviewers"][1]["email"] = "nobody@example.com"
    assert world.post("interviewCreated", "t1") == (200, {"outcome": "incomplete"})
    assert world.interviews() == []
    with world.factory() as session:
        [incomplete] = session.scalars(select(IncompleteInterview)).all()
        assert incomplete.external_id == "lever:77a6fb5d-ca8f-4a51-b9fa-c2fa5c2d8398"
        assert incomplete.recruiter == "U0RACHEL"
        assert "nobody@example.com" in json.dumps(incomplete.missing)
    world.lever.interview["interviewers"][1]["email"] = "chaim@example.com"
    assert world.post("interviewUpdated", "t2") == (200, {"outcome": "created"})


def test_unmapped_posting_is_incomplete(world: World) -> None:
    world.lever.postings["f2f01e16-27f8-4711-a728-7d49499795a0"]["text"] = "Chef"
    assert world.post("interviewCreated", "t1") == (200, {"outcome": "incomplete"})
    with world.factory() as session:
        [incomplete] = session.scalars(select(IncompleteInterview)).all()
        assert "Chef" in json.dumps(incomplete.missing)


def test_invalid_lever_data_is_answered_with_the_field_and_kept_out(world: World) -> None:
    world.lever.interview["date"] = "soon"
    status, body = world.post("interviewCreated", "t1")
    assert status == 200 and body["outcome"] == "invalid"
    assert [error["field"] for error in body["errors"]] == ["starts_at"]
    assert world.interviews() == []


def test_database_down_is_503_before_lever_is_called(
    lever: FakeLever, tmp_path: Any, caplog: pytest.LogCaptureFixture
) -> None:
    broken = sa.create_engine(f"sqlite:///{tmp_path}/missing/dir/bot.db")
    world = World(sessionmaker(bind=broken), lever)
    assert world.post("interviewCreated", "t1") == (
        503,
        {"error": "the database is unavailable; retry later"},
    )
    assert lever.requests == []
    assert "the database failed (OperationalError)" in caplog.text
