"""The Ashby endpoint against the fake Ashby API, on SQLite and PostgreSQL (no Slack).

Signature before parsing, ping, unknown actions, malformed payloads (400, nothing
changed), replays, API failures (503, nothing written), moves, removed events and
cancelled schedules.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from rubric import RubricRegistry
from sources.ashby import AshbyEndpoint, sign
from sources.ashby_api import AshbyApi
from sources.wiring import SourceDeps
from storage.intake import Intake
from storage.interviews import Timings
from storage.mapping import JobMapping, SourceMapping
from storage.models import FeedbackRequest, IncompleteInterview, Interview, WebhookEvent
from tests.fake_ashby import API_KEY, FakeAshby, Fault, fixture, running_fake_ashby

SECRET = "8b943c474f5d1e1712f13e1a870b485c9b6b2b57"
NOW = datetime(2027, 2, 25, 12, 0, tzinfo=UTC)
EVENT_1 = "ashby:3ae2b801-19f6-41ef-ad28-214bd731948f"
EVENT_2 = "ashby:5f0e4b1c-8d2a-4e3b-9c7d-1a2b3c4d5e6f"
EMAILS = {
    "ana@example.com": "U0ANA",
    "sam@example.com": "U0SAM",
    "bo@example.com": "U0BO",
    "test@ashbyhq.com": "U0TEST",
}
MAPPING = SourceMapping(
    jobs=(
        JobMapping(
            job="Software Engineer",
            rubric="mle",
            role="Senior ML Engineer",
            hiring_channel="C0HIRING",
            recruiter="U0RECRUIT",
            hiring_lead="U0LEAD",
        ),
    ),
    kits={"Technical Phone Interview": ("system_design",)},
)


def resolve(email: str) -> str:
    try:
        return EMAILS[email]
    except KeyError:
        raise LookupError(f"no Slack user has the email {email}") from None


@pytest.fixture(scope="module")
def registry() -> RubricRegistry:
    return RubricRegistry.load(None)


@pytest.fixture
def ashby() -> Iterator[FakeAshby]:
    with running_fake_ashby() as fake:
        yield fake


class Endpoint:
    """The endpoint with its cancellations recorded, and helpers to send and inspect."""

    def __init__(
        self, factory: sessionmaker[Session], registry: RubricRegistry, api: AshbyApi | None
    ) -> None:
        self.factory = factory
        self.cancelled: list[int] = []
        self.now = NOW
        timings = Timings(form_delay=timedelta(minutes=5), summary_deadline=timedelta(hours=48))
        self.endpoint = AshbyEndpoint(
            secret=SECRET,
            deps=SourceDeps(
                session_factory=factory,
                intake=Intake(registry, timings, MAPPING),
                clock=lambda: self.now,
                resolve_email=resolve,
                on_cancelled=self._record,
            ),
            api=api,
        )

    def _record(self, ids: Sequence[int]) -> None:
        self.cancelled.extend(ids)

    def send(self, doc: dict[str, Any] | bytes, *, secret: str = SECRET) -> tuple[int, Any]:
        body = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
        reply = self.endpoint.handle(body, sign(secret, body))
        return reply.status, dict(reply.body)

    def interviews(self) -> dict[str, tuple[str, datetime, datetime, list[str]]]:
        with self.factory() as session:
            found = {}
            for interview in session.scalars(sa.select(Interview)):
                requests = session.scalars(
                    sa.select(FeedbackRequest)
                    .where(FeedbackRequest.interview_id == interview.id)
                    .order_by(FeedbackRequest.id)
                ).all()
                found[interview.external_id or ""] = (
                    interview.state.value,
                    interview.starts_at.astimezone(UTC),
                    interview.ends_at.astimezone(UTC),
                    [r.interviewer for r in requests],
                )
            return found

    def snapshot(self) -> tuple[Any, ...]:
        with self.factory() as session:
            return (
                self.interviews(),
                session.scalar(sa.select(sa.func.count()).select_from(IncompleteInterview)),
                session.scalar(sa.select(sa.func.count()).select_from(WebhookEvent)),
            )


@pytest.fixture
def with_api(
    session_factory: sessionmaker[Session], registry: RubricRegistry, ashby: FakeAshby
) -> Iterator[Endpoint]:
    api = AshbyApi(ashby.url, API_KEY, timeout=2.0)
    yield Endpoint(session_factory, registry, api)
    api.close()


def created() -> dict[str, Any]:
    return fixture("interview_schedule_create.json")


def update(doc: dict[str, Any], action_id: str) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    doc["action"] = "interviewScheduleUpdate"
    doc["webhookActionId"] = action_id
    return doc


def test_a_created_schedule_becomes_one_interview_per_event(
    with_api: Endpoint, ashby: FakeAshby
) -> None:
    status, body = with_api.send(created())
    assert (status, body["created"]) == (200, 2)
    found = with_api.interviews()
    assert found[EVENT_1] == (
        "scheduled",
        datetime(2027, 3, 1, 10, 0, tzinfo=UTC),
        datetime(2027, 3, 1, 11, 0, tzinfo=UTC),
        ["U0ANA", "U0SAM"],
    )
    assert found[EVENT_2][3] == ["U0BO"]
    with with_api.factory() as session:
        interview = session.scalars(
            sa.select(Interview).where(Interview.external_id == EVENT_1)
        ).one()
        assert (interview.candidate, interview.hiring_channel) == ("Adam Hart", "C0HIRING")
        assert interview.source == "ashby:9d34f544-c150-4d70-91c4-e8b0b4a72846"
        shadow = session.scalars(
            sa.select(FeedbackRequest).where(FeedbackRequest.interviewer == "U0SAM")
        ).one()
        assert shadow.shadow is True
        # The kit (the interview's title from interview.info) gave the focus skills.
        assert shadow.focus_skills == ["system_design"]
    # Names came from Ashby with the documented Basic auth (key as user, empty password).
    [call] = ashby.calls_to("application.info")
    assert call.params == {"applicationId": "3ae2b801-19f6-41ef-ad28-214bd731948f"}
    assert call.authorization == "Basic YXNoYnktdGVzdC1rZXk6"  # base64("ashby-test-key:")


def test_a_replay_changes_nothing_and_asks_ashby_nothing(
    with_api: Endpoint, ashby: FakeAshby
) -> None:
    assert with_api.send(created())[0] == 200
    before, calls = with_api.snapshot(), len(ashby.calls)
    assert with_api.send(created()) == (200, {"duplicate": True})
    assert with_api.snapshot() == before
    assert len(ashby.calls) == calls


def test_a_moved_event_reschedules_and_a_removed_one_cancels(with_api: Endpoint) -> None:
    with_api.send(created())
    moved = update(created(), "a0000000-0000-4000-8000-000000000001")
    events = moved["data"]["interviewSchedule"]["interviewEvents"]
    events[0]["startTime"], events[0]["endTime"] = "2027-03-02T14:00:00Z", "2027-03-02T15:00:00Z"
    del events[1]
    status, body = with_api.send(moved)
    assert (status, body["updated"], body["cancelled"]) == (200, 1, 1)
    found = with_api.interviews()
    assert found[EVENT_1][:3] == (
        "scheduled",
        datetime(2027, 3, 2, 14, 0, tzinfo=UTC),
        datetime(2027, 3, 2, 15, 0, tzinfo=UTC),
    )
    assert found[EVENT_2][0] == "cancelled"
    with with_api.factory() as session:
        removed = session.scalars(
            sa.select(Interview).where(Interview.external_id == EVENT_2)
        ).one()
    assert with_api.cancelled == [removed.id]


def test_an_older_version_arriving_late_changes_nothing(with_api: Endpoint) -> None:
    """Ashby retries for hours: an update that failed once may come after a newer one."""
    with_api.send(created())
    older = update(created(), "a0000000-0000-4000-8000-000000000011")
    older["data"]["interviewSchedule"]["updatedAt"] = "2027-02-21T09:00:00.000Z"
    older["data"]["interviewSchedule"]["interviewEvents"][0]["endTime"] = "2027-03-01T11:30:00Z"
    newer = update(created(), "a0000000-0000-4000-8000-000000000012")
    newer["data"]["interviewSchedule"]["updatedAt"] = "2027-02-22T09:00:00.000Z"
    newer["data"]["interviewSchedule"]["interviewEvents"][0]["endTime"] = "2027-03-01T12:00:00Z"
    assert with_api.send(newer)[1]["updated"] == 1
    before = with_api.interviews()
    assert with_api.send(older) == (200, {"stale": True})
    assert with_api.interviews() == before
    assert before[EVENT_1][2] == datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def test_a_cancelled_schedule_cancels_every_event(with_api: Endpoint, ashby: FakeAshby) -> None:
    with_api.send(created())
    calls = len(ashby.calls)
    cancelled = update(created(), "a0000000-0000-4000-8000-000000000002")
    cancelled["data"]["interviewSchedule"]["status"] = "Cancelled"
    cancelled["data"]["interviewSchedule"]["interviewEvents"] = []
    status, body = with_api.send(cancelled)
    assert (status, body["cancelled"]) == (200, 2)
    assert {state for state, *_ in with_api.interviews().values()} == {"cancelled"}
    assert len(with_api.cancelled) == 2
    assert len(ashby.calls) == calls  # a cancellation needs no names


def test_an_interviewer_unknown_to_slack_is_incomplete_not_guessed(with_api: Endpoint) -> None:
    doc = created()
    doc["data"]["interviewSchedule"]["interviewEvents"][1]["interviewers"][0]["email"] = (
        "stranger@example.com"
    )
    status, body = with_api.send(doc)
    assert (status, body["created"], body["incomplete"]) == (200, 1, 1)
    with with_api.factory() as session:
        [row] = session.scalars(sa.select(IncompleteInterview)).all()
    assert row.external_id == EVENT_2
    assert any("stranger@example.com" in m["message"] for m in row.missing)
    assert EVENT_2 not in with_api.interviews()


def test_deprecated_interviewer_ids_are_looked_up(with_api: Endpoint, ashby: FakeAshby) -> None:
    doc = created()
    event = doc["data"]["interviewSchedule"]["interviewEvents"][1]
    del event["interviewers"]
    event["interviewerUserIds"] = ["caea4d97-331d-46b1-a8e3-6b821c2214ef"]
    assert with_api.send(doc)[0] == 200
    assert with_api.interviews()[EVENT_2][3] == ["U0TEST"]  # user.info's email
    assert [c.params for c in ashby.calls_to("user.info")] == [
        {"userId": "caea4d97-331d-46b1-a8e3-6b821c2214ef"}
    ]


@pytest.mark.parametrize(
    "fault", [Fault(status=500), Fault(status=429), Fault(status=502, times=5)]
)
def test_an_unavailable_api_is_503_and_nothing_is_written(
    with_api: Endpoint, ashby: FakeAshby, fault: Fault
) -> None:
    before = with_api.snapshot()
    ashby.fail("application.info", fault)
    status, body = with_api.send(created())
    assert status == 503 and "retry" in body["error"]
    assert with_api.snapshot() == before  # the delivery is not recorded: Ashby's retry counts
    ashby.faults.clear()
    assert with_api.send(created())[1]["created"] == 2


def test_a_slow_api_times_out_as_503(
    session_factory: sessionmaker[Session], registry: RubricRegistry, ashby: FakeAshby
) -> None:
    api = AshbyApi(ashby.url, API_KEY, timeout=0.2)
    endpoint = Endpoint(session_factory, registry, api)
    ashby.fail("interview.info", Fault(status=200, delay=1.0))
    try:
        assert endpoint.send(created())[0] == 503
        assert endpoint.snapshot()[0] == {}
    finally:
        api.close()


def test_a_refused_api_key_leaves_names_unknown(
    session_factory: sessionmaker[Session], registry: RubricRegistry, ashby: FakeAshby
) -> None:
    """A wrong key (403) will not heal on retry: the events wait for a person, unguessed."""
    api = AshbyApi(ashby.url, "wrong-key", timeout=2.0)
    endpoint = Endpoint(session_factory, registry, api)
    try:
        status, body = endpoint.send(created())
    finally:
        api.close()
    assert (status, body["incomplete"], body["created"]) == (200, 2, 0)
    assert endpoint.interviews() == {}  # nothing guessed into an interview
    assert len(ashby.calls_to("application.info")) == 1
    with session_factory() as session:
        rows = session.scalars(sa.select(IncompleteInterview)).all()
    assert {m["field"] for row in rows for m in row.missing} == {"candidate", "job"}


def test_an_interview_keeps_its_names_when_the_api_later_refuses(
    session_factory: sessionmaker[Session], registry: RubricRegistry, ashby: FakeAshby
) -> None:
    api = AshbyApi(ashby.url, API_KEY, timeout=2.0)
    endpoint = Endpoint(session_factory, registry, api)
    try:
        endpoint.send(created())
        moved = update(created(), "a0000000-0000-4000-8000-000000000021")
        moved["data"]["interviewSchedule"]["interviewEvents"][0]["endTime"] = "2027-03-01T11:45:00Z"
        ashby.fail("application.info", Fault(status=403, body={"success": False}))
        status, body = endpoint.send(moved)
    finally:
        api.close()
    assert (status, body["updated"], body["incomplete"]) == (200, 1, 0)
    assert endpoint.interviews()[EVENT_1][2] == datetime(2027, 3, 1, 11, 45, tzinfo=UTC)
    with session_factory() as session:
        interview = session.scalars(
            sa.select(Interview).where(Interview.external_id == EVENT_1)
        ).one()
        assert (interview.candidate, interview.hiring_channel) == ("Adam Hart", "C0HIRING")
        assert session.scalar(sa.select(sa.func.count()).select_from(IncompleteInterview)) == 0


def test_bad_signature_is_401_before_the_body_is_read(with_api: Endpoint) -> None:
    before = with_api.snapshot()
    assert with_api.send(b"{not json", secret="wrong")[0] == 401
    assert with_api.send(created(), secret="wrong")[0] == 401
    reply = with_api.endpoint.handle(b"{}", {})
    assert reply.status == 401
    assert with_api.snapshot() == before


def test_ping_and_unknown_actions_are_200(with_api: Endpoint) -> None:
    assert with_api.send(fixture("ping.json")) == (200, {"ok": True})
    status, body = with_api.send({"action": "candidateHire", "data": {}})
    assert (status, body) == (200, {"ignored": "candidateHire"})
    assert with_api.snapshot()[0] == {}


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (b"{not json", "not JSON"),
        ({"action": "interviewScheduleCreate"}, "`data` is missing"),
        ({"action": "interviewScheduleUpdate", "data": {"interviewSchedule": []}}, "not an object"),
    ],
)
def test_malformed_is_400_with_what_is_wrong(with_api: Endpoint, doc: Any, message: str) -> None:
    before = with_api.snapshot()
    status, body = with_api.send(doc)
    assert status == 400 and message in body["error"]
    assert with_api.snapshot() == before


def test_without_an_api_key_new_events_wait_for_a_person(
    session_factory: sessionmaker[Session], registry: RubricRegistry
) -> None:
    endpoint = Endpoint(session_factory, registry, None)
    status, body = endpoint.send(created())
    assert (status, body["incomplete"]) == (200, 2)
    assert endpoint.interviews() == {}  # no candidate name: never an interview with a guess
    with session_factory() as session:
        rows = session.scalars(
            sa.select(IncompleteInterview).order_by(IncompleteInterview.external_id)
        ).all()
    assert [row.external_id for row in rows] == [EVENT_1, EVENT_2]
    assert [m["field"] for m in rows[0].missing] == ["candidate", "job"]
    assert rows[0].row["starts_at"] == "2027-03-01T10:00:00+00:00"
    # A replay of the same schedule (another delivery) changes nothing.
    before = endpoint.snapshot()[:2]
    endpoint.send(update(created(), "a0000000-0000-4000-8000-000000000031"))
    assert endpoint.snapshot()[:2] == before
