"""The audit trail: flushed with the change it describes, committed by the caller."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from storage.audit import audit_events_for, record_audit


def test_record_audit_flushes_and_is_queryable(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        event = record_audit(
            session,
            actor="U0RECRUIT",
            action="interview.created",
            entity="interview",
            entity_id=42,
            detail={"external_id": "greenhouse-4711", "panel": ["U0AAA", "U0BBB"]},
        )
        assert event.id is not None
        assert event.entity_id == "42"
        assert event.at.tzinfo is UTC
        found = audit_events_for(session, entity="interview", entity_id=42)
        assert [e.id for e in found] == [event.id]
    with session_factory() as session:
        (stored,) = audit_events_for(session, entity="interview", entity_id="42")
        assert stored.actor == "U0RECRUIT"
        assert stored.action == "interview.created"
        assert stored.detail == {"external_id": "greenhouse-4711", "panel": ["U0AAA", "U0BBB"]}


def test_nothing_is_committed_by_record_audit(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session, session.begin() as transaction:
        record_audit(
            session, actor="cli", action="interview.cancelled", entity="interview", entity_id=7
        )
        transaction.rollback()
    with session_factory() as session:
        assert audit_events_for(session, entity="interview", entity_id=7) == []


def test_events_are_per_entity_and_oldest_first(session_factory: sessionmaker[Session]) -> None:
    at = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    with session_factory.begin() as session:
        record_audit(
            session,
            actor="system",
            action="request.reminded",
            entity="request",
            entity_id=1,
            at=at + timedelta(hours=4),
        )
        record_audit(
            session,
            actor="system",
            action="request.form_sent",
            entity="request",
            entity_id=1,
            at=at,
        )
        record_audit(
            session,
            actor="system",
            action="request.form_sent",
            entity="request",
            entity_id=2,
            at=at,
        )
        record_audit(
            session,
            actor="system",
            action="interview.created",
            entity="interview",
            entity_id=1,
            at=at,
        )
    with session_factory() as session:
        events = audit_events_for(session, entity="request", entity_id=1)
    assert [e.action for e in events] == ["request.form_sent", "request.reminded"]
    assert events[0].at == at
    assert events[0].detail is None
