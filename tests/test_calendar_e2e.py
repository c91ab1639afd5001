"""End to end: a calendar feed polled by the served bot's sweep, on SQLite and PostgreSQL.

The feed is a file the test rewrites (as a recruiter edits the calendar) or, for
the conditional-request test, served by a loopback HTTP host with an ETag. The
sweep runs with the test clock; what the panel and the recruiter see is read from
the fake Slack; ``sources status`` is read as an operator would.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import FileConfig
from bot.config_sources import CalendarFeedConfig
from bot.sources_status import collect_status, sources_status
from storage.models import IncompleteInterview, Interview, InterviewState
from tests.fakeslack import FakeSlack, Fault, Message, running_fake
from tests.harness import ServedBot, wait_for

PEOPLE = {"U0ALICE": "alice@example.com", "U0BOB": "bob@example.com", "U0RITA": "rita@example.com"}
PANEL = ("U0ALICE", "U0BOB")
STAMP = "%Y%m%dT%H%M%SZ"


def vevent(
    uid: str,
    start: datetime,
    *,
    candidate: str = "Dana Candidate",
    emails: tuple[str, ...] = ("alice@example.com", "bob@example.com"),
    status: str = "CONFIRMED",
) -> str:
    end = start + timedelta(hours=1)
    attendees = "".join(
        f"ATTENDEE;CUTYPE=INDIVIDUAL;PARTSTAT=ACCEPTED:mailto:{email}\r\n"
        for email in ("rita@example.com", *emails, "dana@candidate.example")
    )
    return (
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20270225T120000Z\r\n"
        f"DTSTART:{start.astimezone(UTC):{STAMP}}\r\nDTEND:{end.astimezone(UTC):{STAMP}}\r\n"
        f"SUMMARY:Interview: {candidate}\r\nSTATUS:{status}\r\n"
        "ORGANIZER:mailto:rita@example.com\r\n"
        f"{attendees}"
        "ATTENDEE;CUTYPE=ROOM:mailto:room@example.com\r\nEND:VEVENT\r\n"
    )


def calendar(*events: str) -> bytes:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\n" + "".join(events)).encode() + (
        b"END:VCALENDAR\r\n"
    )


def feed_config(url: str) -> FileConfig:
    return FileConfig(
        calendars=(
            CalendarFeedConfig(
                name="team",
                url=url,
                title_pattern=r"^Interview: (?P<candidate>.+)$",
                defaults={
                    "rubric": "mle",
                    "role": "Senior ML Engineer",
                    "hiring_channel": "C0HIRING",
                    "recruiter": "U0RITA",
                    "hiring_lead": "U0LEAD",
                },
                ignore=("*@candidate.example",),
            ),
        )
    )


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    yield from running_fake()


@pytest.fixture
def feed(tmp_path: Path) -> Path:
    path = tmp_path / "team.ics"
    path.write_bytes(calendar())
    return path


def served(
    engine: Engine, session_factory: sessionmaker[Session], fake: FakeSlack, url: str
) -> ServedBot:
    for user, email in PEOPLE.items():
        fake.add_user(user, email=email)
    fake.add_user("U0LEAD")
    return ServedBot(engine, session_factory, fake, file_config=feed_config(url))


@pytest.fixture
def bot(
    engine: Engine, session_factory: sessionmaker[Session], fake: FakeSlack, feed: Path
) -> Iterator[ServedBot]:
    running = served(engine, session_factory, fake, str(feed))
    yield running
    running.close()


def form_dms(fake: FakeSlack, user: str) -> list[Message]:
    return [m for m in fake.messages_in(user) if "feedback_open" in json.dumps(m.blocks)]


def interviews(bot: ServedBot) -> list[Interview]:
    with bot.session_factory() as session:
        found = list(session.scalars(select(Interview).order_by(Interview.id)).all())
        for interview in found:
            _ = list(interview.requests)  # loaded while the session is open
        return found


def poll(bot: ServedBot, *, after: timedelta = timedelta(minutes=5)) -> None:
    """Let the poll interval pass and sweep (the poll, then the forms it made due)."""
    bot.clock.advance(after)
    bot.sweep()
    bot.sweep()


def status(bot: ServedBot) -> dict[str, Any]:
    [source] = collect_status(bot.config, bot.session_factory)["sources"]
    return dict(source)


def test_an_event_becomes_an_interview_moves_and_gets_one_form_each(
    bot: ServedBot, fake: FakeSlack, feed: Path
) -> None:
    start = bot.clock() + timedelta(hours=2)
    feed.write_bytes(calendar(vevent("ev1@test", start)))
    bot.sweep()
    [interview] = interviews(bot)
    assert interview.source == "calendar:team" and interview.external_id == "calendar:team:ev1@test"
    assert interview.candidate == "Dana Candidate"
    assert sorted(r.interviewer for r in interview.requests) == list(PANEL)

    moved = start + timedelta(days=1)
    feed.write_bytes(calendar(vevent("ev1@test", moved)))
    poll(bot)
    [interview] = interviews(bot)
    assert interview.starts_at == moved
    # The old end passes: no form.
    poll(bot, after=start + timedelta(hours=1, minutes=10) - bot.clock())
    assert [form_dms(fake, user) for user in PANEL] == [[], []]
    # After the new end: one form DM each, and replays of the same feed add nothing.
    poll(bot, after=moved + timedelta(hours=1, minutes=10) - bot.clock())
    assert [len(form_dms(fake, user)) for user in PANEL] == [1, 1]
    sent = len(fake.messages)
    lookups = len(fake.calls_to("users.lookupByEmail"))
    poll(bot)
    poll(bot)
    assert len(fake.messages) == sent
    assert len(fake.calls_to("users.lookupByEmail")) == lookups  # kept for an hour
    assert interviews(bot)[0].state == InterviewState.SCHEDULED
    shown = status(bot)
    assert shown["last_error"] is None and shown["events_seen"] == 1
    assert shown["totals"] == {"created": 1, "updated": 1, "cancelled": 0, "incomplete": 0}
    assert fake.rejected == []


def test_cancelled_or_removed_before_the_end_cancels_and_no_form_follows(
    bot: ServedBot, fake: FakeSlack, feed: Path
) -> None:
    start = bot.clock() + timedelta(hours=2)
    feed.write_bytes(calendar(vevent("a@test", start), vevent("b@test", start, candidate="Eve")))
    bot.sweep()
    assert len(interviews(bot)) == 2
    feed.write_bytes(calendar(vevent("a@test", start, status="CANCELLED")))  # b removed
    poll(bot)
    assert [i.state for i in interviews(bot)] == [InterviewState.CANCELLED] * 2
    poll(bot, after=timedelta(hours=3))
    assert [form_dms(fake, user) for user in PANEL] == [[], []]
    assert status(bot)["totals"]["cancelled"] == 2


def test_cancelled_after_the_forms_went_out_updates_the_sent_dms(
    bot: ServedBot, fake: FakeSlack, feed: Path
) -> None:
    start = bot.clock() - timedelta(hours=2)  # ended an hour ago, within the lookback
    feed.write_bytes(calendar(vevent("late@test", start)))
    poll(bot)
    assert [len(form_dms(fake, user)) for user in PANEL] == [1, 1]
    feed.write_bytes(calendar(vevent("late@test", start, status="CANCELLED")))
    poll(bot)
    assert interviews(bot)[0].state == InterviewState.CANCELLED
    for user in PANEL:
        [dm] = fake.messages_in(user)

        def updated(dm: Message = dm) -> bool:
            return bool(dm.history)

        wait_for(updated, what=f"{user}'s form DM updated")
        assert "feedback_open" not in json.dumps(dm.blocks)


def test_a_broken_feed_changes_nothing_and_says_why(
    bot: ServedBot, fake: FakeSlack, feed: Path
) -> None:
    start = bot.clock() + timedelta(hours=2)
    feed.write_bytes(calendar(vevent("ev1@test", start)))
    bot.sweep()
    feed.write_bytes(b"<html><body>Sign in to view this calendar</body></html>")
    poll(bot)
    # Not "every event left the feed": nothing is cancelled.
    assert [i.state for i in interviews(bot)] == [InterviewState.SCHEDULED]
    shown = status(bot)
    assert shown["last_error"] == "not an iCalendar feed (it does not begin with BEGIN:VCALENDAR)"
    assert shown["consecutive_failures"] == 1
    out = io.StringIO()
    sources_status(bot.config, bot.session_factory, fmt="text", now=bot.clock(), out=out)
    assert "calendar:team (every 5m)" in out.getvalue()
    assert "last error:   not an iCalendar feed" in out.getvalue()


def test_an_unknown_attendee_makes_it_incomplete_and_the_recruiter_is_asked(
    bot: ServedBot, fake: FakeSlack, feed: Path
) -> None:
    start = bot.clock() + timedelta(hours=2)
    emails = ("alice@example.com", "contractor@elsewhere.example")
    feed.write_bytes(calendar(vevent("inc@test", start, emails=emails)))
    bot.sweep()
    bot.sweep()
    assert interviews(bot) == []
    with bot.session_factory() as session:
        [incomplete] = session.scalars(select(IncompleteInterview)).all()
    assert incomplete.source == "calendar:team" and incomplete.recruiter == "U0RITA"
    [listed] = collect_status(bot.config, bot.session_factory)["incomplete"]
    assert listed["candidate"] == "Dana Candidate"
    assert "contractor@elsewhere.example" in json.dumps(listed["missing"])
    [notice] = fake.messages_in("U0RITA")
    assert "contractor@elsewhere.example" in json.dumps(notice.blocks)
    poll(bot, after=timedelta(hours=4))
    assert form_dms(fake, "U0ALICE") == []
    assert len(fake.messages_in("U0RITA")) == 1  # asked once, not at every poll


@dataclass
class FeedHost:
    """A calendar host on loopback: serves ``body`` with ``etag``, 304 when it matches."""

    body: bytes = b""
    etag: str = '"1"'
    asked: list[str | None] = field(default_factory=list)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        host = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                host.asked.append(self.headers.get("If-None-Match"))
                if self.headers.get("If-None-Match") == host.etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("ETag", host.etag)
                self.send_header("Content-Length", str(len(host.body)))
                self.end_headers()
                self.wfile.write(host.body)

        return Handler


def test_an_unchanged_feed_over_http_is_a_304_and_changes_nothing(
    engine: Engine, session_factory: sessionmaker[Session], fake: FakeSlack
) -> None:
    host = FeedHost()
    server = ThreadingHTTPServer(("127.0.0.1", 0), host.handler())
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    bot = served(engine, session_factory, fake, f"http://127.0.0.1:{server.server_port}/t.ics")
    try:
        host.body = calendar(vevent("ev1@test", bot.clock() + timedelta(hours=2)))
        bot.sweep()
        [interview] = interviews(bot)
        poll(bot)
        poll(bot)
        assert host.asked == [None, '"1"', '"1"']
        assert interviews(bot)[0].updated_at == interview.updated_at
        shown = status(bot)
        assert shown["polls"] == 3 and shown["events_seen"] == 1
        assert shown["totals"]["created"] == 1 and shown["totals"]["updated"] == 0
        # A new version of the feed (a new ETag) is read again.
        host.etag = '"2"'
        host.body = calendar(vevent("ev1@test", bot.clock() + timedelta(hours=5)))
        poll(bot)
        assert status(bot)["totals"]["updated"] == 1
    finally:
        bot.close()
        server.shutdown()
        server.server_close()


def test_slack_failing_to_look_up_fails_the_poll_instead_of_marking_people_missing(
    bot: ServedBot, fake: FakeSlack, feed: Path
) -> None:
    feed.write_bytes(calendar(vevent("ev1@test", bot.clock() + timedelta(hours=2))))
    fake.fail("users.lookupByEmail", Fault(body={"ok": False, "error": "fatal_error"}, times=5))
    bot.sweep()
    assert interviews(bot) == []
    with bot.session_factory() as session:
        assert session.scalars(select(IncompleteInterview)).all() == []
    shown = status(bot)
    assert shown["last_error"] is not None
    assert shown["last_error"].startswith("Slack could not look up an attendee:")
    # The retry (30 s later, Slack answering again) takes the event in.
    fake.faults.clear()
    poll(bot, after=timedelta(seconds=30))
    assert [i.candidate for i in interviews(bot)] == ["Dana Candidate"]
    assert status(bot)["last_error"] is None
