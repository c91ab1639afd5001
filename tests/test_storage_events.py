"""storage.events: an event_id is taken in once, on both backends, and pruned after a day."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from storage.events import KEEP_EVENTS, first_delivery
from storage.models import SlackEvent

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def take(factory: sessionmaker[Session], event_id: str, now: datetime = NOW) -> bool:
    with factory.begin() as session:
        return first_delivery(session, event_id, now=now)


def test_first_delivery_then_redeliveries(session_factory: sessionmaker[Session]) -> None:
    assert take(session_factory, "Ev1") is True
    assert take(session_factory, "Ev1") is False
    assert take(session_factory, "Ev1", NOW + timedelta(minutes=5)) is False
    assert take(session_factory, "Ev2") is True


def test_ids_older_than_a_day_are_pruned(session_factory: sessionmaker[Session]) -> None:
    assert take(session_factory, "Ev1") is True
    later = NOW + KEEP_EVENTS + timedelta(seconds=1)
    assert take(session_factory, "Ev2", later) is True
    with session_factory() as session:
        assert list(session.scalars(sa.select(SlackEvent.event_id))) == ["Ev2"]


def test_concurrent_deliveries_are_taken_in_once(session_factory: sessionmaker[Session]) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _i: take(session_factory, "EvRACE"), range(16)))
    assert results.count(True) == 1


@pytest.mark.parametrize("event_id", ["", "x" * 65])
def test_bad_ids_are_rejected(session_factory: sessionmaker[Session], event_id: str) -> None:
    with pytest.raises(ValueError), session_factory.begin() as session:
        first_delivery(session, event_id, now=NOW)
