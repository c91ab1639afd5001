"""storage.deliveries: the outbox fanned out once per receiver, retries, giving up, purging.

On SQLite and PostgreSQL. The outbox events come from the real summary transitions
(storage.summaries), the interviews from tests.test_storage_feedback_support.
"""

from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from storage.deliveries import (
    GIVE_UP_AFTER,
    MAX_ATTEMPTS,
    Receiver,
    claim_due_deliveries,
    fan_out,
    fan_out_event,
    load_delivery,
    mark_delivered,
    pending_outbox,
    prune_deliveries,
    record_delivery_failure,
)
from storage.export import interview_record
from storage.export_json import export_document
from storage.feedback import submit_feedback
from storage.models import OutboxEvent, OutgoingDelivery, SummaryStep
from storage.retention import purge_expired
from storage.summaries import claim_due_summaries, mark_summary_posted
from tests.test_storage_feedback_support import (
    AFTER,
    END,
    MLE,
    POLICY,
    is_postgres,
    make_interview,
    public_id_of,
    rating,
)

DEADLINE = END + POLICY.summary_deadline
NOTES = "Strong on caching; unsure about the rollout plan."
EVIDENCE = "Designed a sharded cache with a clear eviction story."
WITH_NOTES = Receiver("https://warehouse.example/hook", include_notes=True)
WITHOUT_NOTES = Receiver("https://ats.example/hook", include_notes=False)
POSTED_ONLY = Receiver("https://zap.example/hook", events=("summary.posted",))


def posted_interview(factory: sessionmaker[Session], *, candidate: str = "Ada Lovelace") -> int:
    """An interview whose panel gave feedback and whose summary was just posted."""
    with factory.begin() as session:
        interview = make_interview(session, panel=("U0AAA", "U0BBB"), candidate=candidate)
        interview.summary_pending = SummaryStep.POST
        interview.summary_due_at = DEADLINE
        interview_id = interview.id
    for who in ("U0AAA", "U0BBB"):
        with factory.begin() as session:
            submit_feedback(
                session,
                public_id_of(factory, interview_id, who),
                user_id=who,
                recommendation="yes",
                notes=f"{NOTES} ({who})",
                ratings=tuple(rating(s.id, "senior", f"{EVIDENCE} ({who})") for s in MLE.skills),
                policy=POLICY,
                now=AFTER,
            )
    with factory.begin() as session:
        claim_due_summaries(session, now=DEADLINE, policy=POLICY)
        assert mark_summary_posted(
            session, interview_id, channel="C0HIRING", ts="1.0", now=DEADLINE
        )
    return interview_id


def deliveries(factory: sessionmaker[Session]) -> list[OutgoingDelivery]:
    with factory() as session:
        return list(session.scalars(sa.select(OutgoingDelivery).order_by(OutgoingDelivery.url)))


def outbox(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent)) or 0


def fan(factory: sessionmaker[Session], *receivers: Receiver, now: datetime = DEADLINE) -> int:
    with factory.begin() as session:
        return fan_out(session, receivers=receivers, now=now)


def test_each_receiver_gets_one_delivery_with_the_export_shaped_record(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id = posted_interview(session_factory)
    assert outbox(session_factory) == 1
    assert fan(session_factory, WITH_NOTES, WITHOUT_NOTES) == 2
    assert outbox(session_factory) == 0
    assert fan(session_factory, WITH_NOTES, WITHOUT_NOTES) == 0  # fanned out once

    by_url = {d.url: d for d in deliveries(session_factory)}
    assert set(by_url) == {WITH_NOTES.url, WITHOUT_NOTES.url}
    full = json.loads(by_url[WITH_NOTES.url].body)
    assert full["event"] == "summary.posted"
    assert full["delivery_id"] == by_url[WITH_NOTES.url].id
    assert full["interview_id"] == interview_id
    assert full["occurred_at"] == DEADLINE.isoformat().replace("+00:00", "Z")
    with session_factory() as session:
        record = interview_record(session, interview_id)
    assert record is not None
    # Exactly what `interview-bot export` writes, exported at the fan-out.
    assert full["record"] == json.loads(json.dumps(export_document(record, exported_at=DEADLINE)))
    assert full["record"]["interview"]["summary"]["ts"] == "1.0"
    assert by_url[WITH_NOTES.url].id != by_url[WITHOUT_NOTES.url].id


def test_without_include_notes_no_notes_or_evidence_text_leaves(
    session_factory: sessionmaker[Session],
) -> None:
    posted_interview(session_factory)
    fan(session_factory, WITHOUT_NOTES)
    [delivery] = deliveries(session_factory)
    assert NOTES not in delivery.body and EVIDENCE not in delivery.body
    assert '"notes"' not in delivery.body and '"evidence"' not in delivery.body
    body = json.loads(delivery.body)
    [first, second] = body["record"]["panel"]
    # Ratings and recommendations still go: what an ATS scorecard needs.
    assert first["feedback"]["recommendation"] == "yes"
    levels = {r["skill_id"]: r["level"] for r in second["feedback"]["ratings"]}
    assert levels == {s.id: "senior" for s in MLE.skills}
    assert first["history"] and all("notes" not in v for v in first["history"])


def test_events_a_receiver_did_not_ask_for_make_no_delivery(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id = posted_interview(session_factory)
    with session_factory.begin() as session:
        session.add(OutboxEvent(event="summary.updated", interview_id=interview_id))
    assert fan(session_factory, POSTED_ONLY) == 1
    assert [d.event for d in deliveries(session_factory)] == ["summary.posted"]
    assert outbox(session_factory) == 0  # the unwanted event is consumed all the same


def test_two_sweepers_racing_fan_out_once_per_receiver(
    session_factory: sessionmaker[Session],
) -> None:
    ids = [posted_interview(session_factory, candidate=f"Candidate {i}") for i in range(6)]
    barrier = threading.Barrier(2)
    created: list[int] = []
    errors: list[BaseException] = []

    def sweeper() -> None:
        try:
            barrier.wait(timeout=10)
            created.append(fan(session_factory, WITH_NOTES, WITHOUT_NOTES))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=sweeper) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sum(created) == 12
    pairs = [(d.interview_id, d.url) for d in deliveries(session_factory)]
    assert len(pairs) == 12 and len(set(pairs)) == 12
    assert {i for i, _ in pairs} == set(ids)


def test_an_event_another_replica_holds_is_skipped_not_doubled(
    session_factory: sessionmaker[Session],
) -> None:
    if not is_postgres(session_factory.kw["bind"]):
        pytest.skip("SQLite serialises writers (BEGIN IMMEDIATE): no second writer to race")
    posted_interview(session_factory)
    with session_factory() as first, session_factory() as second:
        [event_id] = pending_outbox(first, limit=10)
        done = fan_out_event(first, event_id, receivers=[WITH_NOTES], now=DEADLINE)
        assert done is not None and done.created == 1
        # Uncommitted: the second replica skips the locked row instead of waiting.
        assert fan_out_event(second, event_id, receivers=[WITH_NOTES], now=DEADLINE) is None
        second.rollback()
        first.commit()
    assert len(deliveries(session_factory)) == 1


def attempt(factory: sessionmaker[Session], now: datetime, **kwargs: Any) -> Any:
    with factory.begin() as session:
        [delivery_id] = claim_due_deliveries(session, now=now)
    with factory.begin() as session:
        return delivery_id, record_delivery_failure(session, delivery_id, now=now, **kwargs)


def test_failures_back_off_and_keep_the_same_body(session_factory: sessionmaker[Session]) -> None:
    posted_interview(session_factory)
    fan(session_factory, WITH_NOTES)
    [before] = deliveries(session_factory)
    now = DEADLINE
    delivery_id, outcome = attempt(session_factory, now, error="http 500")
    assert outcome.next_attempt_at == now + timedelta(seconds=30)
    with session_factory.begin() as session:
        assert claim_due_deliveries(session, now=now + timedelta(seconds=29)) == []
    now += timedelta(seconds=30)
    _, outcome = attempt(session_factory, now, error="timeout")
    assert outcome.next_attempt_at == now + timedelta(minutes=1)
    now += timedelta(minutes=1)
    _, outcome = attempt(session_factory, now, error="http 429", retry_after=timedelta(minutes=10))
    assert outcome.next_attempt_at == now + timedelta(minutes=10)  # Retry-After beats 2 min
    now += timedelta(minutes=10)
    with session_factory.begin() as session:
        assert claim_due_deliveries(session, now=now) == [delivery_id]
    with session_factory() as session:
        loaded = load_delivery(session, delivery_id)
    assert loaded is not None and loaded.body == before.body.encode() and loaded.attempts == 3
    with session_factory.begin() as session:
        assert mark_delivered(session, delivery_id, now=now)
    [after] = deliveries(session_factory)
    assert after.delivered_at == now and after.next_attempt_at is None and after.attempts == 4
    assert after.body == before.body and after.last_error is None
    with session_factory.begin() as session:
        assert claim_due_deliveries(session, now=now + timedelta(days=1)) == []


def test_a_410_stops_and_a_day_of_failures_gives_up(
    session_factory: sessionmaker[Session],
) -> None:
    posted_interview(session_factory)
    fan(session_factory, WITH_NOTES, WITHOUT_NOTES)
    _, gone = attempt_url(session_factory, WITH_NOTES.url, DEADLINE, error="http 410", final=True)
    assert gone.gave_up and gone.attempts == 1
    now = DEADLINE + timedelta(minutes=2)  # the other one's claim lease ends
    tries = 0
    while True:
        _, outcome = attempt_url(session_factory, WITHOUT_NOTES.url, now, error="http 503")
        tries += 1
        if outcome.gave_up:
            break
        now = outcome.next_attempt_at
    assert tries <= MAX_ATTEMPTS and now - DEADLINE <= GIVE_UP_AFTER
    assert now - DEADLINE >= timedelta(hours=20)  # retried through most of a day
    rows = {d.url: d for d in deliveries(session_factory)}
    assert rows[WITH_NOTES.url].last_error == "gave up: http 410"
    assert rows[WITHOUT_NOTES.url].last_error == "gave up: http 503"
    assert all(d.next_attempt_at is None and d.delivered_at is None for d in rows.values())
    with session_factory.begin() as session:
        assert claim_due_deliveries(session, now=now + timedelta(days=2)) == []
        assert prune_deliveries(session, now=DEADLINE + timedelta(days=8)) == 0
        assert prune_deliveries(session, now=DEADLINE + timedelta(days=8, seconds=1)) == 2
    assert deliveries(session_factory) == []


def attempt_url(factory: sessionmaker[Session], url: str, now: datetime, **kwargs: Any) -> Any:
    """Claim what is due and fail the one attempt to ``url``."""
    with factory.begin() as session:
        claimed = claim_due_deliveries(session, now=now, limit=10)
        urls = {d: session.get_one(OutgoingDelivery, d).url for d in claimed}
    [mine] = [d for d, u in urls.items() if u == url]
    with factory.begin() as session:
        return mine, record_delivery_failure(session, mine, now=now, **kwargs)


def test_purging_the_interview_deletes_its_pending_deliveries(
    session_factory: sessionmaker[Session],
) -> None:
    interview_id = posted_interview(session_factory)
    fan(session_factory, WITH_NOTES)
    with session_factory.begin() as session:
        session.add(OutboxEvent(event="summary.updated", interview_id=interview_id))
    assert len(deliveries(session_factory)) == 1 and outbox(session_factory) == 1
    report = purge_expired(
        session_factory, cutoff=DEADLINE + timedelta(days=400), now=DEADLINE, actor="test"
    )
    assert [i.interview_id for i in report.interviews] == [interview_id]
    assert deliveries(session_factory) == [] and outbox(session_factory) == 0


def test_without_receivers_the_outbox_is_drained(session_factory: sessionmaker[Session]) -> None:
    """A bot without outgoing_webhooks still drains what summaries write (bot.sources)."""
    from handlers.deliveries import OutboxKind
    from handlers.jobs import run_kinds

    posted_interview(session_factory)
    report = run_kinds(
        [OutboxKind(session_factory, ())], now=lambda: DEADLINE, stopping=threading.Event()
    )
    assert report.of("outbox", "done") == 1
    assert outbox(session_factory) == 0 and deliveries(session_factory) == []


def test_a_failing_fan_out_backs_off_and_never_holds_up_newer_events(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    import handlers.deliveries as outgoing

    posted_interview(session_factory)
    with session_factory() as session:
        (broken,) = session.scalars(sa.select(OutboxEvent.id))
    real = outgoing.fan_out_event
    healed = threading.Event()

    def fan_out_event(session: Session, event_id: int, **kwargs: Any) -> Any:
        if event_id == broken and not healed.is_set():
            raise ValueError("this event's record cannot be exported")
        return real(session, event_id, **kwargs)

    monkeypatch.setattr(outgoing, "fan_out_event", fan_out_event)
    kind = outgoing.OutboxKind(session_factory, (WITH_NOTES,))
    assert kind.claim(DEADLINE, 10) == [broken]
    assert kind.run(broken, DEADLINE) == "failed"
    assert outbox(session_factory) == 1 and deliveries(session_factory) == []  # rolled back

    # Not retried every sweep: left alone for 30 s, then a minute, ...
    later = posted_interview(session_factory, candidate="Grace Hopper")
    with session_factory() as session:
        newer = session.scalar(sa.select(OutboxEvent.id).where(OutboxEvent.interview_id == later))
    assert kind.claim(DEADLINE + timedelta(seconds=29), 1) == [newer]  # not crowded out
    assert kind.run(newer, DEADLINE) == "done"
    assert kind.claim(DEADLINE + timedelta(seconds=29), 10) == []
    assert kind.claim(DEADLINE + timedelta(seconds=30), 10) == [broken]
    assert kind.run(broken, DEADLINE + timedelta(seconds=30)) == "failed"
    assert kind.claim(DEADLINE + timedelta(seconds=89), 10) == []
    assert kind.claim(DEADLINE + timedelta(seconds=90), 10) == [broken]

    healed.set()
    assert kind.run(broken, DEADLINE + timedelta(seconds=90)) == "done"
    assert outbox(session_factory) == 0
    assert len(deliveries(session_factory)) == 2  # one per event, for the one receiver
