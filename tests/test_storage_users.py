"""storage.users: cached Slack time zones, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from storage.models import SlackUser
from storage.users import cached_timezone, store_timezone
from tests.test_storage_feedback_support import START, count


def test_nothing_cached_is_not_fresh(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session:
        assert cached_timezone(session, "U0AAA", now=START) == (False, None)


def test_store_then_read_until_it_is_a_day_old(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        store_timezone(session, "U0AAA", "Europe/Berlin", now=START)
    with session_factory() as session:
        assert cached_timezone(session, "U0AAA", now=START) == (True, "Europe/Berlin")
        almost = START + timedelta(hours=24) - timedelta(seconds=1)
        assert cached_timezone(session, "U0AAA", now=almost) == (True, "Europe/Berlin")
        # Stale: still returned (usable if Slack cannot be asked), but to be refreshed.
        day = START + timedelta(hours=24)
        assert cached_timezone(session, "U0AAA", now=day) == (False, "Europe/Berlin")
        assert cached_timezone(session, "U0AAA", now=START, max_age=timedelta(0)) == (
            False,
            "Europe/Berlin",
        )


def test_store_again_updates_in_place(session_factory: sessionmaker[Session]) -> None:
    later = START + timedelta(days=2)
    with session_factory.begin() as session:
        store_timezone(session, "U0AAA", "Europe/Berlin", now=START)
    with session_factory.begin() as session:
        store_timezone(session, "U0AAA", "America/New_York", now=later)
    with session_factory.begin() as session:
        store_timezone(session, "U0BBB", None, now=later)  # Slack gave none
    with session_factory() as session:
        assert cached_timezone(session, "U0AAA", now=later) == (True, "America/New_York")
        assert cached_timezone(session, "U0BBB", now=later) == (True, None)
    assert count(session_factory, SlackUser) == 2


def test_store_twice_in_one_transaction(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        store_timezone(session, "U0AAA", "Europe/Berlin", now=START)
        store_timezone(session, "U0AAA", "Asia/Tokyo", now=START)
        assert cached_timezone(session, "U0AAA", now=START) == (True, "Asia/Tokyo")
    assert count(session_factory, SlackUser) == 1
