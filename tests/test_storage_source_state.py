"""storage.source_state: one poll of a source at a time, success and failure recorded."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from storage.source_state import (
    PollStats,
    all_states,
    claim_polls,
    get_state,
    record_failure,
    record_success,
)

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
FIVE = timedelta(minutes=5)


def claim(factory: sessionmaker[Session], names: list[str], now: datetime = NOW) -> list[str]:
    with factory.begin() as session:
        return claim_polls(session, names, now=now)


def test_a_new_source_is_due_at_once_and_claimed_by_one_poller(
    session_factory: sessionmaker[Session],
) -> None:
    assert claim(session_factory, ["calendar:a", "calendar:b"]) == ["calendar:a", "calendar:b"]
    # Claimed: leased, not due again until the lease ends.
    assert claim(session_factory, ["calendar:a", "calendar:b"]) == []
    assert claim(session_factory, ["calendar:a"], NOW + timedelta(minutes=3)) == ["calendar:a"]


def test_concurrent_pollers_claim_each_source_once(
    session_factory: sessionmaker[Session],
) -> None:
    claim(session_factory, [])  # nothing configured: nothing claimed, nothing created
    with session_factory.begin() as session:
        assert all_states(session) == []
    with session_factory.begin() as session:
        claim_polls(session, ["calendar:x"], now=NOW - timedelta(days=1))
        record_success(session, "calendar:x", now=NOW - timedelta(days=1), interval=FIVE)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _i: claim(session_factory, ["calendar:x"]), range(8)))
    assert sorted(name for claimed in results for name in claimed) == ["calendar:x"]


def test_success_adds_counters_keeps_validators_and_schedules_the_next_poll(
    session_factory: sessionmaker[Session],
) -> None:
    claim(session_factory, ["calendar:a"])
    with session_factory.begin() as session:
        record_success(
            session,
            "calendar:a",
            now=NOW,
            interval=FIVE,
            stats=PollStats(events_seen=3, created=2, incomplete=1),
            etag='"v1"',
            last_modified="Mon, 01 Mar 2027 11:00:00 GMT",
        )
    later = NOW + FIVE
    with session_factory.begin() as session:
        # A 304: the validators stay as they were.
        record_success(
            session, "calendar:a", now=later, interval=FIVE, stats=PollStats(events_seen=3)
        )
    with session_factory() as session:
        state = get_state(session, "calendar:a")
    assert state is not None
    assert state.etag == '"v1"' and state.last_modified == "Mon, 01 Mar 2027 11:00:00 GMT"
    assert state.totals == {
        "events_seen": 6,
        "created": 2,
        "updated": 0,
        "cancelled": 0,
        "incomplete": 1,
    }
    assert state.last["events_seen"] == 3 and state.last["created"] == 0
    assert state.polls == 2 and state.last_success_at == later
    assert state.next_poll_at == later + FIVE
    assert claim(session_factory, ["calendar:a"], later + FIVE - timedelta(seconds=1)) == []
    assert claim(session_factory, ["calendar:a"], later + FIVE) == ["calendar:a"]


def test_failure_backs_off_within_the_interval_and_success_clears_it(
    session_factory: sessionmaker[Session],
) -> None:
    claim(session_factory, ["greenhouse"])
    delays = []
    for _attempt in range(8):
        with session_factory.begin() as session:
            delays.append(
                record_failure(
                    session, "greenhouse", now=NOW, error="HTTP 500\n" + "x" * 400, interval=FIVE
                )
            )
    assert delays[:3] == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2)]
    assert max(delays) == FIVE  # never rarer than the normal schedule
    with session_factory() as session:
        state = get_state(session, "greenhouse")
    assert state is not None
    assert state.attempts == 8 and state.failures == 8
    assert state.last_error is not None and len(state.last_error) == 255
    assert state.last_error.startswith("HTTP 500 xxx")
    assert state.last_success_at is None
    with session_factory.begin() as session:
        record_success(session, "greenhouse", now=NOW, interval=FIVE, cursor="2027-03-01T11:00Z")
    with session_factory() as session:
        state = get_state(session, "greenhouse")
    assert state is not None
    assert state.attempts == 0 and state.last_error is None and state.failures == 8
    assert state.cursor == "2027-03-01T11:00Z"
