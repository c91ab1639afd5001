"""storage.intake: the shared intake of every source, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from rubric import RubricRegistry
from storage.incomplete import all_incomplete, incomplete_for
from storage.intake import IntakeResult, SourceRow, cancel_missing, intake_rows
from storage.interviews import Timings
from storage.mapping import JobMapping, SourceMapping
from storage.models import FeedbackRequest, IncompleteInterview, Interview, InterviewState
from storage.webhook_events import first_delivery

TIMINGS = Timings(form_delay=timedelta(minutes=5), summary_deadline=timedelta(hours=48))
NOW = datetime(2027, 2, 1, 12, 0, tzinfo=UTC)
EMAILS = {"ada@example.com": "U0ADA", "bob@example.com": "U0BOB"}


@pytest.fixture(scope="module")
def registry() -> RubricRegistry:
    return RubricRegistry.load(None)


def resolve(email: str) -> str:
    try:
        return EMAILS[email]
    except KeyError:
        raise LookupError(f"no Slack user has the email {email}") from None


def fields(**over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "candidate": "Ada Lovelace",
        "role": "Senior ML Engineer",
        "starts_at": "2027-03-01T10:00:00+01:00",
        "duration": "1h",
        "hiring_channel": "C0HIRING",
        "recruiter": "U0RECRUIT",
        "hiring_lead": "U0LEAD",
        "panel": [{"interviewer": "U0AAA", "focus": ["system_design"]}],
    }
    row.update(over)
    return {k: v for k, v in row.items() if v is not None}


def take(
    factory: sessionmaker[Session],
    registry: RubricRegistry,
    rows: list[SourceRow],
    *,
    mapping: SourceMapping | None = None,
    now: datetime = NOW,
    all_or_nothing: bool = False,
) -> IntakeResult:
    with factory.begin() as session:
        result = intake_rows(
            session,
            rows,
            registry=registry,
            timings=TIMINGS,
            mapping=mapping or SourceMapping(),
            now=now,
            resolve_email=resolve,
            all_or_nothing=all_or_nothing,
        )
        if all_or_nothing and result.errors:
            session.rollback()
    return result


def row(external_id: str = "webhook:1", **over: Any) -> SourceRow:
    cancelled = over.pop("cancelled", False)
    return SourceRow("webhook", external_id, fields(**over), cancelled=cancelled)


def interviews(factory: sessionmaker[Session]) -> list[Interview]:
    with factory() as session:
        return list(session.scalars(select(Interview).order_by(Interview.id)).all())


def counts(result: IntakeResult) -> tuple[int, int, int, int, int]:
    return (
        result.created,
        result.updated,
        result.unchanged,
        result.cancelled,
        result.incomplete,
    )


def test_created_replayed_moved_cancelled(
    session_factory: sessionmaker[Session], registry: RubricRegistry
) -> None:
    first = take(session_factory, registry, [row()])
    assert counts(first) == (1, 0, 0, 0, 0) and first.outcomes == ("created",)
    [ada] = interviews(session_factory)
    assert (ada.source, ada.external_id, ada.state) == ("webhook", "webhook:1", "scheduled")
    assert counts(take(session_factory, registry, [row()])) == (0, 0, 1, 0, 0)

    moved = take(session_factory, registry, [row(starts_at="2027-03-02T10:00:00+01:00")])
    assert moved.outcomes == ("updated",)
    with session_factory() as session:
        request = session.scalars(select(FeedbackRequest)).one()
        # The form now falls due after the new end, not the old one.
        assert request.next_action_at == datetime(2027, 3, 2, 10, 5, tzinfo=UTC)

    gone = take(session_factory, registry, [row(cancelled=True)])
    assert gone.outcomes == ("cancelled",) and gone.cancelled_interviews == (ada.id,)
    [ada] = interviews(session_factory)
    assert ada.state == InterviewState.CANCELLED
    with session_factory() as session:
        assert session.scalars(select(FeedbackRequest.next_action_at)).all() == [None]
    again = take(session_factory, registry, [row(cancelled=True)])
    assert again.outcomes == ("unchanged",) and again.cancelled_interviews == ()


def test_cancel_of_unknown_row_changes_nothing(
    session_factory: sessionmaker[Session], registry: RubricRegistry
) -> None:
    result = take(session_factory, registry, [row("webhook:nope", cancelled=True)])
    assert result.outcomes == ("unchanged",) and interviews(session_factory) == []


def test_invalid_rows_are_errors_and_all_or_nothing_rolls_back(
    session_factory: sessionmaker[Session], registry: RubricRegistry
) -> None:
    rows = [row("webhook:1"), row("webhook:2", starts_at="tomorrow"), row("webhook:3", panel=3)]
    result = take(session_factory, registry, rows, all_or_nothing=True)
    assert result.outcomes == ("unchanged", "invalid", "invalid")
    assert [(e.index, e.field) for e in result.errors] == [(1, "starts_at"), (2, "panel")]
    assert "ISO 8601" in result.errors[0].message
    assert interviews(session_factory) == []

    # Without all_or_nothing (a feed), the good rows get in and the bad ones are reported.
    partial = take(session_factory, registry, rows)
    assert partial.outcomes == ("created", "invalid", "invalid")
    assert len(interviews(session_factory)) == 1


def test_duplicate_external_id_in_one_batch_is_an_error(
    session_factory: sessionmaker[Session], registry: RubricRegistry
) -> None:
    result = take(session_factory, registry, [row(), row()], all_or_nothing=True)
    assert [(e.index, e.field) for e in result.errors] == [(1, "external_id")]


def test_incomplete_row_is_stored_never_guessed_then_completed(
    session_factory: sessionmaker[Session], registry: RubricRegistry
) -> None:
    raw = row(
        hiring_channel=None,
        panel=[{"interviewer": "ada@example.com"}, {"interviewer": "eve@example.com"}],
    )
    result = take(session_factory, registry, [raw])
    assert result.outcomes == ("incomplete",) and result.errors == ()
    assert interviews(session_factory) == []
    with session_factory() as session:
        [open_] = incomplete_for(session, "U0RECRUIT")
        assert incomplete_for(session, "U0OTHER") == []
        assert [m[0] for m in open_.missing] == ["hiring_channel", "panel[1].interviewer"]
        assert "eve@example.com" in open_.missing[1][1]
        # What is known is kept, emails Slack knows resolved; the unknown one as given.
        assert open_.row["panel"] == [{"interviewer": "U0ADA"}, {"interviewer": "eve@example.com"}]
        stored = session.scalars(select(IncompleteInterview)).one()
        assert stored.notify_due_at == NOW and stored.recruiter == "U0RECRUIT"

    # A replay changes nothing (and is not told again).
    later = NOW + timedelta(minutes=1)
    assert take(session_factory, registry, [raw], now=later).outcomes == ("incomplete",)
    with session_factory() as session:
        assert session.scalars(select(IncompleteInterview.notify_due_at)).one() == NOW

    done = take(session_factory, registry, [row(panel=[{"interviewer": "ada@example.com"}])])
    assert done.outcomes == ("created",)
    [ada] = interviews(session_factory)
    with session_factory() as session:
        assert all_incomplete(session) == []
        stored = session.scalars(select(IncompleteInterview)).one()
        assert stored.resolved_interview_id == ada.id and stored.notify_due_at is None


def test_missing_people_and_unknown_job_are_incomplete(
    session_factory: sessionmaker[Session], registry: RubricRegistry
) -> None:
    raw = SourceRow(
        "ashby",
        "ashby:9",
        {"candidate": "Bo", "job": "Data Wrangler", "starts_at": "2027-03-01T10:00:00Z"},
    )
    mapping = SourceMapping(defaults={"duration": "45m"})
    result = take(session_factory, registry, [raw], mapping=mapping)
    assert result.outcomes == ("incomplete",)
    with session_factory() as session:
        [open_] = all_incomplete(session)
    assert [m[0] for m in open_.missing] == [
        "job",
        "hiring_channel",
        "recruiter",
        "hiring_lead",
        "panel",
    ]
    assert open_.recruiter is None  # everyone in access.recruiters is asked


def test_cancelled_row_drops_its_incomplete(
    session_factory: sessionmaker[Session], registry: RubricRegistry
) -> None:
    take(session_factory, registry, [row(hiring_channel=None)])
    result = take(session_factory, registry, [row(cancelled=True)])
    assert result.outcomes == ("cancelled",) and result.cancelled_interviews == ()
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(IncompleteInterview)) == 0


def test_mapping_resolves_job_kit_and_defaults(
    session_factory: sessionmaker[Session], registry: RubricRegistry
) -> None:
    mapping = SourceMapping(
        defaults={"recruiter": "U0DEFAULT", "duration": "45m"},
        jobs=(
            JobMapping(
                job="Senior ML Engineer",
                rubric="mle",
                target_level="senior",
                hiring_channel="C0ML",
                hiring_lead="U0MLLEAD",
            ),
        ),
        kits={"Onsite Design": ("system_design", "planning")},
    )
    raw = SourceRow(
        "greenhouse",
        "greenhouse:7",
        {
            "candidate": "Ada",
            "job": "senior ml ENGINEER",
            "kit": "onsite design",
            "starts_at": "2027-03-01T10:00:00Z",
            "panel": [
                {"interviewer": "U0AAA"},
                {"interviewer": "U0BBB", "focus": ["fundamentals"]},
            ],
        },
    )
    assert take(session_factory, registry, [raw], mapping=mapping).outcomes == ("created",)
    [ada] = interviews(session_factory)
    assert (ada.role, ada.target_level, ada.hiring_channel) == (
        "senior ml ENGINEER",
        "senior",
        "C0ML",
    )
    assert (ada.recruiter, ada.hiring_lead) == ("U0DEFAULT", "U0MLLEAD")
    assert ada.ends_at - ada.starts_at == timedelta(minutes=45)
    with session_factory() as session:
        focus = session.scalars(
            select(FeedbackRequest.focus_skills).order_by(FeedbackRequest.position)
        ).all()
    assert focus == [["system_design", "planning"], ["fundamentals"]]


def test_cancel_missing_cancels_what_left_the_feed_before_it_ended(
    session_factory: sessionmaker[Session], registry: RubricRegistry
) -> None:
    def feed(external_id: str, starts: str) -> SourceRow:
        return SourceRow("calendar:team", external_id, fields(starts_at=starts))

    rows = [
        feed("cal:past", "2027-01-01T10:00:00Z"),  # ended: left alone
        feed("cal:kept", "2027-03-01T10:00:00Z"),
        feed("cal:gone", "2027-03-02T10:00:00Z"),
        SourceRow(
            "calendar:team",
            "cal:open",
            fields(hiring_channel=None, starts_at="2027-03-03T10:00:00Z"),
        ),
    ]
    take(session_factory, registry, rows, now=datetime(2026, 12, 1, tzinfo=UTC))
    take(session_factory, registry, [row("webhook:other")])  # another source's: untouched
    with session_factory.begin() as session:
        cancelled = cancel_missing(
            session, source="calendar:team", seen_external_ids={"cal:kept"}, now=NOW
        )
    states = {i.external_id: (i.id, i.state) for i in interviews(session_factory)}
    assert cancelled == (states["cal:gone"][0],)
    assert {k: v[1] for k, v in states.items()} == {
        "cal:past": "scheduled",
        "cal:kept": "scheduled",
        "cal:gone": "cancelled",
        "webhook:other": "scheduled",
    }
    with session_factory() as session:
        assert all_incomplete(session) == []


def test_first_delivery_dedupes_per_source_and_prunes(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory.begin() as session:
        assert first_delivery(session, "ashby", "e1", NOW)
        assert not first_delivery(session, "ashby", "e1", NOW)
        assert first_delivery(session, "lever", "e1", NOW)
    with session_factory.begin() as session:
        # A day later the id is pruned: a (very) late redelivery is new again.
        assert first_delivery(session, "ashby", "e1", NOW + timedelta(days=1, seconds=1))
    with pytest.raises(ValueError), session_factory.begin() as session:
        first_delivery(session, "ashby", "x" * 129, NOW)


def complete_by_hand(
    factory: sessionmaker[Session], registry: RubricRegistry, data: dict[str, Any]
) -> int:
    """What the schedule modal does for an incomplete interview (handlers.schedule)."""
    from storage.import_file import parse_interview
    from storage.incomplete import resolve_incomplete
    from storage.interviews import import_interviews

    spec = parse_interview(data, source="schedule modal", registry=registry)
    with factory.begin() as session:
        [result] = import_interviews(
            session, [spec], registry=registry, timings=TIMINGS, now=NOW, source="webhook"
        )
        resolve_incomplete(session, str(data["external_id"]), result.interview_id, NOW)
    return result.interview_id


def test_a_row_a_person_completed_stays_completed(
    session_factory: sessionmaker[Session], registry: RubricRegistry
) -> None:
    no_channel = row(hiring_channel=None)
    assert take(session_factory, registry, [no_channel]).outcomes == ("incomplete",)
    made = complete_by_hand(
        session_factory, registry, {**fields(hiring_channel="C0PICKED"), "external_id": "webhook:1"}
    )
    # The source repeats itself: nothing changes, nobody is asked again.
    assert take(session_factory, registry, [no_channel]).outcomes == ("unchanged",)
    with session_factory() as session:
        assert all_incomplete(session) == []
    # The source moves it: what the person picked is kept, the new time applied.
    moved = row(hiring_channel=None, starts_at="2027-03-01T15:00:00+01:00")
    assert take(session_factory, registry, [moved]).outcomes == ("updated",)
    [ada] = interviews(session_factory)
    assert (ada.id, ada.hiring_channel) == (made, "C0PICKED")
    assert ada.starts_at == datetime(2027, 3, 1, 14, 0, tzinfo=UTC)
    # Something the person cannot have decided (a new unknown interviewer): asked again.
    again = row(hiring_channel=None, panel=[{"interviewer": "eve@example.com"}])
    assert take(session_factory, registry, [again]).outcomes == ("incomplete",)
    with session_factory() as session:
        [open_] = all_incomplete(session)
        assert [m[0] for m in open_.missing] == ["hiring_channel", "panel[0].interviewer"]


def test_text_no_column_can_hold_is_an_error_not_a_crash(
    session_factory: sessionmaker[Session], registry: RubricRegistry
) -> None:
    rows = [
        SourceRow("webhook", "bad\udfff", {}, cancelled=True),
        row("webhook:2", panel=[{"interviewer": "e\x00ve@example.com"}]),
    ]
    result = take(session_factory, registry, rows, all_or_nothing=True)
    assert [(e.index, e.field) for e in result.errors] == [
        (0, "external_id"),
        (1, "panel[0].interviewer"),
    ]
    assert "U+DFFF" in result.errors[0].message


def test_completed_while_its_dm_was_on_the_way_falls_due_to_say_so(
    session_factory: sessionmaker[Session], registry: RubricRegistry
) -> None:
    from storage.incomplete import (
        DoneNotice,
        claim_due_incomplete,
        load_due_incomplete,
        mark_incomplete_notified,
        resolve_incomplete,
    )

    take(session_factory, registry, [row(hiring_channel=None)])
    with session_factory.begin() as session:
        [claimed] = claim_due_incomplete(session, now=NOW)
    made = complete_by_hand(
        session_factory, registry, {**fields(), "external_id": "webhook:1"}
    )  # meanwhile, in the modal
    later = NOW + timedelta(seconds=5)
    with session_factory.begin() as session:
        mark_incomplete_notified(session, claimed.key, now=later, dms=[("DU0RECRUIT", "1.5")])
    with session_factory.begin() as session:
        assert [c.key for c in claim_due_incomplete(session, now=later)] == [claimed.key]
        done = load_due_incomplete(session, claimed.key)
    assert isinstance(done, DoneNotice)
    assert (done.interview_id, done.dms) == (made, (("DU0RECRUIT", "1.5"),))
    with session_factory.begin() as session:
        mark_incomplete_notified(session, claimed.key, now=later)
        assert claim_due_incomplete(session, now=later + timedelta(hours=1)) == []
        assert resolve_incomplete(session, "webhook:1", made, later) is False
