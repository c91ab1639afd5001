"""Display names from users.info: cached next to the time zone, read for the summary."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker

from handlers.timezones import TimeZones
from storage.users import cached_timezone, display_name_of, display_names, store_timezone

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def test_the_name_slack_shows() -> None:
    full = {"real_name": "Top Real", "profile": {"display_name": "dee", "real_name": "Dee Doe"}}
    assert display_name_of(full) == "dee"
    assert display_name_of({**full, "profile": {"display_name": " ", "real_name": "Dee Doe"}}) == (
        "Dee Doe"
    )
    assert display_name_of({"real_name": "Top  Real", "profile": {}}) == "Top Real"
    assert display_name_of({"profile": {"display_name": ""}}) is None
    assert display_name_of({}) is None
    assert display_name_of({"profile": {"display_name": "x" * 200}}) == "x" * 80


def test_names_are_stored_with_the_time_zone(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        store_timezone(session, "U0AAA", "Europe/Berlin", now=START, display_name="Ann")
        store_timezone(session, "U0BBB", None, now=START)  # Slack gave no name
        store_timezone(session, "U0CCC", "UTC", now=START, display_name="C" * 100)
    with session_factory() as session:
        assert display_names(session, ["U0AAA", "U0BBB", "U0CCC", "U0NONE"]) == {
            "U0AAA": "Ann",
            "U0CCC": "C" * 80,
        }
        assert display_names(session, []) == {}
        assert cached_timezone(session, "U0AAA", now=START) == (True, "Europe/Berlin")
    with session_factory.begin() as session:  # a later lookup replaces the name
        store_timezone(session, "U0AAA", "Europe/Berlin", now=START, display_name="Ann B")
    with session_factory() as session:
        assert display_names(session, ["U0AAA"]) == {"U0AAA": "Ann B"}


class Client:
    """Answers users.info like Slack; counts the calls."""

    def __init__(self, users: dict[str, dict[str, Any]]) -> None:
        self.users = users
        self.calls: list[str] = []

    def users_info(self, *, user: str) -> dict[str, Any]:
        self.calls.append(user)
        if user not in self.users:
            raise SlackApiError("user_not_found", {"ok": False, "error": "user_not_found"})
        return {"ok": True, "user": self.users[user]}


def test_names_look_up_only_the_unknown_once(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        store_timezone(session, "U0AAA", "UTC", now=START, display_name="Ann")
    client = Client({"U0BBB": {"tz": "Asia/Seoul", "profile": {"real_name": "Bo Bb"}}})
    zones = TimeZones(UTC, session_factory=session_factory, clock=lambda: START)
    names = zones.names(client, ["U0AAA", "U0BBB", "U0GONE"])  # type: ignore[arg-type]
    assert names == {"U0AAA": "Ann", "U0BBB": "Bo Bb"}
    assert client.calls == ["U0BBB", "U0GONE"]
    with session_factory() as session:
        assert cached_timezone(session, "U0BBB", now=START) == (True, "Asia/Seoul")
    # Cached now; the user Slack does not know is not asked again right away.
    assert zones.names(client, ["U0AAA", "U0BBB", "U0GONE"]) == names  # type: ignore[arg-type]
    assert client.calls == ["U0BBB", "U0GONE"]


def test_a_time_zone_lookup_stores_the_name(session_factory: sessionmaker[Session]) -> None:
    client = Client({"U0CCC": {"tz": "Europe/Rome", "profile": {"display_name": "cy"}}})
    zones = TimeZones(UTC, session_factory=session_factory, clock=lambda: START)
    assert str(zones.of(client, "U0CCC")) == "Europe/Rome"  # type: ignore[arg-type]
    with session_factory() as session:
        assert display_names(session, ["U0CCC"]) == {"U0CCC": "cy"}
    assert TimeZones(UTC).names(client, ["U0CCC"]) == {}  # type: ignore[arg-type]  # no database
