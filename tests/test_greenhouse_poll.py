"""Greenhouse polling against the fake Harvest, on SQLite and PostgreSQL.

The cursor advances only with a committed intake; a 429 or a 500 anywhere (the
interviews, a page after the first, a name lookup) writes nothing but the
failure and its backoff.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

import sources.greenhouse as greenhouse
from handlers.greenhouse import GreenhousePollKind
from rubric import RubricRegistry
from sources.greenhouse import GreenhousePoller
from sources.greenhouse_api import HarvestClient
from sources.wiring import SourceDeps
from storage.intake import Intake
from storage.interviews import Timings
from storage.mapping import JobMapping, SourceMapping
from storage.models import FeedbackRequest, IncompleteInterview, Interview, InterviewState
from storage.source_state import get_state
from tests.fake_harvest import CLIENT_ID, CLIENT_SECRET, FakeHarvest

FIXTURES = Path(__file__).parent / "fixtures" / "greenhouse"
NOW = datetime(2027, 2, 28, 12, 0, tzinfo=UTC)
TIMINGS = Timings(form_delay=timedelta(minutes=5), summary_deadline=timedelta(hours=48))
EMAILS = {"ada@example.com": "U0ADA", "grace@example.com": "U0GRACE"}
MAPPING = SourceMapping(
    jobs=(
        JobMapping(
            job="Senior ML Engineer",
            rubric="mle",
            target_level="senior",
            hiring_channel="C0HIRING",
            recruiter="U0RECRUIT",
            hiring_lead="U0LEAD",
        ),
    ),
    kits={"technical interview": ("system_design",), "culture interview": ("communication",)},
)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def resolve(email: str) -> str:
    try:
        return EMAILS[email]
    except KeyError:
        raise LookupError(f"no Slack user has the email {email}") from None


@pytest.fixture
def fake() -> Iterator[FakeHarvest]:
    harvest = FakeHarvest()
    for kind in ("applications", "candidates", "jobs", "job_interviews"):
        for record in fixture(f"{kind}.json"):
            harvest.put(kind, record)
    [scheduled, _cancelled] = fixture("interviews.json")
    harvest.put_interview(scheduled)
    with harvest.running():
        yield harvest


@pytest.fixture(scope="module")
def registry() -> RubricRegistry:
    return RubricRegistry.load(None)


@pytest.fixture
def poller(
    fake: FakeHarvest, session_factory: sessionmaker[Session], registry: RubricRegistry
) -> GreenhousePoller:
    api = HarvestClient(
        api_url=fake.url,
        token_url=fake.token_url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        clock=lambda: NOW,
    )
    cancelled: list[int] = []
    poller = GreenhousePoller(
        deps=SourceDeps(
            session_factory,
            Intake(registry, TIMINGS, MAPPING),
            clock=lambda: NOW,
            resolve_email=resolve,
            on_cancelled=cancelled.extend,
        ),
        api=api,
        interval=timedelta(minutes=5),
    )
    poller.cancelled = cancelled  # type: ignore[attr-defined]
    return poller


def interviews(factory: sessionmaker[Session]) -> dict[str, tuple[Any, ...]]:
    with factory() as session:
        rows = session.execute(
            sa.select(
                Interview.external_id,
                Interview.source,
                Interview.candidate,
                Interview.role,
                Interview.starts_at,
                Interview.ends_at,
                Interview.state,
                Interview.updated_at,
            )
        ).all()
    return {str(r[0]): tuple(r[1:]) for r in rows}


def panel(factory: sessionmaker[Session], external_id: str) -> list[tuple[str, datetime | None]]:
    with factory() as session:
        rows = session.execute(
            sa.select(FeedbackRequest.interviewer, FeedbackRequest.next_action_at)
            .join(Interview, Interview.id == FeedbackRequest.interview_id)
            .where(Interview.external_id == external_id)
            .order_by(FeedbackRequest.interviewer)
        ).all()
    return [(str(r[0]), r[1]) for r in rows]


def moved(item: dict[str, Any], hours: int, updated: str) -> dict[str, Any]:
    starts = datetime.fromisoformat(item["starts_at"].replace("Z", "+00:00")) + timedelta(
        hours=hours
    )
    ends = datetime.fromisoformat(item["ends_at"].replace("Z", "+00:00")) + timedelta(hours=hours)
    return dict(
        item,
        starts_at=starts.isoformat().replace("+00:00", "Z"),
        ends_at=ends.isoformat().replace("+00:00", "Z"),
        updated_at=updated,
    )


def test_a_poll_creates_the_interview_with_names_resolved_and_stores_the_cursor(
    poller: GreenhousePoller, fake: FakeHarvest, session_factory: sessionmaker[Session]
) -> None:
    outcome = poller.poll(NOW)
    assert outcome.outcome == "done" and outcome.result is not None
    assert outcome.result.outcomes == ("created",)
    found = interviews(session_factory)
    assert list(found) == ["greenhouse:9800001"]
    source, candidate, role, starts, ends, state, _ = found["greenhouse:9800001"]
    assert (source, candidate, role, state) == (
        "greenhouse",
        "Jane Doe",
        "Senior ML Engineer",
        InterviewState.SCHEDULED,
    )
    assert (starts, ends) == (
        datetime(2027, 3, 1, 10, tzinfo=UTC),
        datetime(2027, 3, 1, 11, tzinfo=UTC),
    )
    assert [who for who, _ in panel(session_factory, "greenhouse:9800001")] == [
        "U0ADA",
        "U0GRACE",
    ]
    with session_factory() as session:
        state_row = get_state(session, "greenhouse")
    assert state_row is not None
    assert state_row.cursor == "2027-02-25T14:30:00.000Z"
    assert state_row.last_success_at == NOW and state_row.next_poll_at == NOW + timedelta(minutes=5)
    assert state_row.totals["created"] == 1 and state_row.totals["events_seen"] == 1
    # The first poll looks a day back by start; names come from one call per kind.
    [first] = fake.calls("/v3/interviews")
    assert first.query["starts_at"] == ["gte|2027-02-27T12:00:00.000Z"]
    assert [len(fake.calls(f"/v3/{k}")) for k in ("applications", "candidates", "jobs")] == [1] * 3
    assert fake.calls("/v3/applications")[0].query["ids"] == ["4900001"]


def test_a_second_poll_with_nothing_new_changes_nothing(
    poller: GreenhousePoller, fake: FakeHarvest, session_factory: sessionmaker[Session]
) -> None:
    poller.poll(NOW)
    before = interviews(session_factory), panel(session_factory, "greenhouse:9800001")
    outcome = poller.poll(NOW + timedelta(minutes=5))
    assert outcome.outcome == "done" and outcome.result is not None
    assert outcome.result.outcomes == ("unchanged",)  # the inclusive cursor re-reads it
    assert (interviews(session_factory), panel(session_factory, "greenhouse:9800001")) == before
    last = fake.calls("/v3/interviews")[-1]
    assert last.query["updated_at"] == ["gte|2027-02-25T14:30:00.000Z"]
    assert poller.cancelled == []  # type: ignore[attr-defined]


def test_a_moved_interview_is_rescheduled_and_its_forms_move(
    poller: GreenhousePoller, fake: FakeHarvest, session_factory: sessionmaker[Session]
) -> None:
    poller.poll(NOW)
    [(_, old_send)] = panel(session_factory, "greenhouse:9800001")[:1]
    [scheduled, _] = fixture("interviews.json")
    fake.put_interview(moved(scheduled, 3, "2027-02-28T12:01:00.000Z"))
    outcome = poller.poll(NOW + timedelta(minutes=5))
    assert outcome.result is not None and outcome.result.outcomes == ("updated",)
    _, _, _, starts, ends, _, _ = interviews(session_factory)["greenhouse:9800001"]
    assert (starts, ends) == (
        datetime(2027, 3, 1, 13, tzinfo=UTC),
        datetime(2027, 3, 1, 14, tzinfo=UTC),
    )
    [(_, new_send)] = panel(session_factory, "greenhouse:9800001")[:1]
    assert old_send is not None and new_send == old_send + timedelta(hours=3)
    with session_factory() as session:
        assert get_state(session, "greenhouse").cursor == "2027-02-28T12:01:00.000Z"  # type: ignore[union-attr]


def test_a_cancelled_status_cancels_and_reports_the_interview(
    poller: GreenhousePoller, fake: FakeHarvest, session_factory: sessionmaker[Session]
) -> None:
    poller.poll(NOW)
    [scheduled, _] = fixture("interviews.json")
    fake.put_interview(dict(scheduled, status="cancelled", updated_at="2027-02-28T12:02:00.000Z"))
    outcome = poller.poll(NOW + timedelta(minutes=5))
    assert outcome.result is not None and outcome.result.outcomes == ("cancelled",)
    assert interviews(session_factory)["greenhouse:9800001"][5] == InterviewState.CANCELLED
    with session_factory() as session:
        interview_id = session.scalars(sa.select(Interview.id)).one()
    assert poller.cancelled == [interview_id]  # type: ignore[attr-defined]


def test_an_unknown_interviewer_email_makes_it_incomplete(
    poller: GreenhousePoller, fake: FakeHarvest, session_factory: sessionmaker[Session]
) -> None:
    [scheduled, _] = fixture("interviews.json")
    stranger = {"user_id": 9, "email": "stranger@example.com", "response_status": "accepted"}
    fake.put_interview(dict(scheduled, interviewers=[*scheduled["interviewers"], stranger]))
    outcome = poller.poll(NOW)
    assert outcome.result is not None and outcome.result.outcomes == ("incomplete",)
    assert interviews(session_factory) == {}
    with session_factory() as session:
        [incomplete] = session.scalars(sa.select(IncompleteInterview)).all()
        assert incomplete.external_id == "greenhouse:9800001"
        assert incomplete.recruiter == "U0RECRUIT"
        assert [m["field"] for m in incomplete.missing] == ["panel[2].interviewer"]
        assert "stranger@example.com" in incomplete.missing[0]["message"]


def failed_state(factory: sessionmaker[Session]) -> Any:
    with factory() as session:
        return get_state(session, "greenhouse")


def test_a_429_defers_the_poll_by_retry_after_and_writes_nothing(
    poller: GreenhousePoller, fake: FakeHarvest, session_factory: sessionmaker[Session]
) -> None:
    fake.fail_next(429, path="/v3/interviews", retry_after=120)
    outcome = poller.poll(NOW)
    assert outcome.outcome == "failed" and outcome.retry_in == timedelta(seconds=120)
    assert interviews(session_factory) == {}
    state = failed_state(session_factory)
    assert state.cursor is None and state.attempts == 1 and state.last_success_at is None
    assert state.next_poll_at == NOW + timedelta(seconds=120)
    assert "429" in state.last_error


@pytest.mark.parametrize("where", ["/v3/interviews", "/v3/candidates", "/v3/job_interviews"])
def test_a_500_on_a_later_page_or_a_lookup_writes_nothing(
    poller: GreenhousePoller,
    fake: FakeHarvest,
    session_factory: sessionmaker[Session],
    where: str,
) -> None:
    poller.poll(NOW)  # one interview in, cursor stored
    [scheduled, _] = fixture("interviews.json")
    for i in range(1, 151):  # two pages of 100 this time
        fake.put_interview(dict(scheduled, id=9900000 + i, updated_at="2027-02-28T12:05:00.000Z"))
    # The first page of this poll comes through; the second (or a lookup) fails.
    fake.fail_next(500, path=where, skip=1 if where == "/v3/interviews" else 0)
    before = interviews(session_factory)
    outcome = poller.poll(NOW + timedelta(minutes=5))
    assert outcome.outcome == "failed"
    assert interviews(session_factory) == before
    state = failed_state(session_factory)
    assert state.cursor == "2027-02-25T14:30:00.000Z"  # unchanged
    assert state.attempts == 1 and "500" in state.last_error
    assert state.next_poll_at == NOW + timedelta(minutes=5, seconds=30)  # backoff
    # The next poll reads the same interviews again and takes them in.
    outcome = poller.poll(NOW + timedelta(minutes=6))
    assert outcome.outcome == "done" and len(interviews(session_factory)) == 151
    assert failed_state(session_factory).cursor == "2027-02-28T12:05:00.000Z"


def test_the_cursor_advances_only_with_a_committed_intake(
    poller: GreenhousePoller,
    session_factory: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database went away mid-commit")

    monkeypatch.setattr(greenhouse, "record_success", broken)
    with pytest.raises(RuntimeError):
        poller.poll(NOW)
    assert interviews(session_factory) == {}
    state = failed_state(session_factory)
    assert state is None or state.cursor is None


def test_the_kind_claims_the_poll_once_per_lease(
    poller: GreenhousePoller, session_factory: sessionmaker[Session]
) -> None:
    kind = GreenhousePollKind(poller)
    assert kind.name == "greenhouse_poll"
    assert list(kind.claim(NOW, 10)) == ["greenhouse"]
    assert list(kind.claim(NOW, 10)) == []  # another replica finds it leased
    assert kind.run("greenhouse", NOW) == "done"
    assert list(kind.claim(NOW + timedelta(minutes=4), 10)) == []  # next poll in 5 min
    assert list(kind.claim(NOW + timedelta(minutes=5), 10)) == ["greenhouse"]


def test_an_interview_long_over_that_changes_now_is_not_taken_in(
    poller: GreenhousePoller, fake: FakeHarvest, session_factory: sessionmaker[Session]
) -> None:
    poller.poll(NOW)
    [scheduled, _] = fixture("interviews.json")
    # Last month's interview gets a scorecard today: its updated_at moves, nothing else.
    old = moved(scheduled, -24 * 30, "2027-02-28T12:03:00.000Z")
    fake.put_interview(dict(old, id=9700001, status="complete"))
    outcome = poller.poll(NOW + timedelta(minutes=5))
    assert outcome.result is not None and outcome.result.outcomes == ("unchanged",)
    assert list(interviews(session_factory)) == ["greenhouse:9800001"]
    assert failed_state(session_factory).cursor == "2027-02-28T12:03:00.000Z"
