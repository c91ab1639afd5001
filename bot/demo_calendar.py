"""``interview-bot demo --source calendar``: an interview arriving from an ICS file, offline.

A sample calendar feed (the shape Google Calendar exports) is written to the
demo's temporary folder and configured as ``calendars:`` would configure it. The
real bot polls it with its sweep, against a fake Slack on loopback and a
throwaway SQLite database: the event becomes an interview (attendees' emails
resolved with ``users.lookupByEmail``, the room and the organizer left out), the
event is moved and the interview follows, and after the new end each
interviewer gets one feedback form DM. Nothing reads the configuration or the
environment.
"""

from __future__ import annotations

import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

import sqlalchemy as sa
from pydantic import SecretStr

from bot.app import Bot, build_bot
from bot.config import Config, FileConfig, Secrets
from bot.config_sources import CalendarFeedConfig
from bot.demo import HIRING_CHANNEL, HIRING_LEAD, PEOPLE, RECRUITER, DemoClock, Recorder
from bot.examples import START
from bot.fakeslack import FakeSlack
from bot.slack_client import create_web_client
from bot.sources_status import collect_status, render_text
from storage.engine import create_engine_for, make_session_factory
from storage.migrate import upgrade
from storage.models import Interview

__all__ = ["run_calendar_demo", "sample_feed"]

STEPS = 5
FEED_NAME = "recruiting"
TITLE_PATTERN = r"^Interview: (?P<candidate>[^(]+?) \((?P<role>[^)]+)\)"
UID = "demo-7f3a2c@google.com"
PANEL_EMAILS = ("priya@example.com", "marco@example.com")


def sample_feed(starts_at: datetime, *, minutes: int = 60) -> str:
    """A Google Calendar-shaped feed with one interview (and a meeting that is not one)."""
    local = starts_at.astimezone(UTC)
    end = local + timedelta(minutes=minutes)
    stamp = "%Y%m%dT%H%M%SZ"
    attendees = "".join(
        f"ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED:mailto:{email}\r\n"
        for email in ("rita@example.com", *PANEL_EMAILS)
    )
    return (
        "BEGIN:VCALENDAR\r\nPRODID:-//Google Inc//Google Calendar 70.9054//EN\r\n"
        "VERSION:2.0\r\nX-WR-CALNAME:Recruiting\r\n"
        "BEGIN:VEVENT\r\n"
        f"UID:{UID}\r\nDTSTAMP:{local:{stamp}}\r\n"
        f"DTSTART:{local:{stamp}}\r\nDTEND:{end:{stamp}}\r\n"
        "SUMMARY:Interview: Ada Lovelace (Senior ML Engineer)\r\n"
        "ORGANIZER;CN=Rita Recruiter:mailto:rita@example.com\r\n"
        f"{attendees}"
        "ATTENDEE;CUTYPE=RESOURCE;CN=Room Babbage:mailto:c_babbage@resource.calendar.google.com\r\n"
        "END:VEVENT\r\n"
        "BEGIN:VEVENT\r\n"
        f"UID:standup@google.com\r\nDTSTART:{local:{stamp}}\r\nDTEND:{end:{stamp}}\r\n"
        "SUMMARY:Team standup\r\nATTENDEE:mailto:marco@example.com\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    )


def run_calendar_demo(stdout: TextIO | None = None) -> int:
    """Run the calendar demo; returns the exit code (0 ok, 1 something misbehaved)."""
    printer = stdout or sys.stdout

    def say(text: str = "") -> None:
        print(text, file=printer, flush=True)

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="interview-bot-demo-calendar-") as workdir:
        code = _run(Path(workdir), say)
    if code == 0:
        say(f"Done in {time.monotonic() - started:.1f} s; nothing is left running.")
    return code


def _run(workdir: Path, say: Callable[[str], None]) -> int:
    feed = workdir / "recruiting.ics"
    feed.write_text(sample_feed(START))
    fake = FakeSlack().start()
    engine = create_engine_for(f"sqlite:///{workdir / 'demo.db'}")
    bot: Bot | None = None
    try:
        upgrade(engine)
        config = _config(feed, str(engine.url), fake.url)
        clock = DemoClock(START - timedelta(days=1))
        bot = build_bot(
            config, make_session_factory(engine), create_web_client(config), clock=clock
        )
        for user, (name, tz) in PEOPLE.items():
            fake.add_user(user, f"{name.split()[0].lower()}@example.com", tz=tz, real_name=name)
        say(
            f"[1/{STEPS}] A fake Slack on {fake.url}, SQLite and a calendar feed in {workdir}:\n"
            f"      {feed.name}: 'Interview: Ada Lovelace (Senior ML Engineer)' "
            f"{START:%Y-%m-%d %H:%M} UTC with {', '.join(PANEL_EMAILS)}, the organizer "
            "rita@example.com and a room; and a 'Team standup'"
        )
        return _Play(bot, fake, config, clock, feed, Recorder(fake), say).play()
    finally:
        if bot is not None:
            bot.close()
        fake.stop()
        engine.dispose()


def _config(feed: Path, database_url: str, slack_url: str) -> Config:
    calendar = CalendarFeedConfig(
        name=FEED_NAME,
        url=str(feed),
        title_pattern=TITLE_PATTERN,
        defaults={
            "rubric": "mle",
            "target_level": "senior",
            "hiring_channel": HIRING_CHANNEL,
            "recruiter": RECRUITER,
            "hiring_lead": HIRING_LEAD,
        },
        kits={},
    )
    return Config(
        file=FileConfig(calendars=(calendar,)),
        database_url=database_url,
        slack_api_url=slack_url,
        secrets=Secrets(
            bot_token=SecretStr(f"xoxb-demo-{secrets.token_hex(12)}"),
            signing_secret=SecretStr(secrets.token_hex(16)),
        ),
    )


@dataclass
class _Play:
    bot: Bot
    fake: FakeSlack
    config: Config
    clock: DemoClock
    feed: Path
    recorder: Recorder
    say: Callable[[str], None]

    def play(self) -> int:
        self.bot.sweeper.run_once()
        interview = self.interview()
        if interview is None:
            return self.fail("the feed poll created no interview")
        panel = ", ".join(self.name(m.interviewer) for m in interview.requests)
        self.say(
            f"[2/{STEPS}] The sweep polls the feed: interview {interview.id} for "
            f"{interview.candidate}, {interview.starts_at:%H:%M}-{interview.ends_at:%H:%M} UTC; "
            f"panel from the attendees' emails (users.lookupByEmail): {panel}; "
            "the organizer, the room and the standup are left out"
        )
        moved = START + timedelta(hours=2)
        self.feed.write_text(sample_feed(moved))
        self.clock.advance_to(self.clock.now + timedelta(minutes=5))
        self.bot.sweeper.run_once()
        interview = self.interview()
        assert interview is not None
        self.say(
            f"[3/{STEPS}] The recruiter moves the event two hours later; the next poll "
            f"reschedules interview {interview.id} to {interview.starts_at:%H:%M} UTC "
            "(no form at the old end)"
        )
        self.recorder.drain()
        old_end = START + timedelta(hours=1) + self.config.feedback.form_delay
        self.clock.advance_to(old_end + timedelta(minutes=1))
        self.bot.sweeper.run_once()
        if any(sent.kind == "dm" for sent in self.recorder.drain()):
            return self.fail("a form was sent at the old end")
        end = interview.ends_at + self.config.feedback.form_delay + timedelta(minutes=1)
        self.clock.advance_to(end)
        self.bot.sweeper.run_once()
        dms = [sent for sent in self.recorder.drain() if sent.kind == "dm"]
        self.say(
            f"[4/{STEPS}] At {self.clock.now:%H:%M} UTC, after the new end, the sweep sends "
            f"{len(dms)} feedback form DMs:"
        )
        for sent in dms:
            self.say(f"      DM to {self.name(sent.who)}: {sent.payload['text']}")
        if len(dms) != len(PANEL_EMAILS):
            return self.fail(f"expected {len(PANEL_EMAILS)} form DMs, got {len(dms)}")
        self.say(f"[5/{STEPS}] interview-bot sources status:")
        status = collect_status(self.config, self.bot.ctx.session_factory)
        for line in render_text(status, self.clock.now).splitlines():
            self.say(f"      {line}".rstrip())
        return 0

    def interview(self) -> Interview | None:
        with self.bot.ctx.session_factory() as session:
            found = session.scalars(
                sa.select(Interview).where(Interview.source == f"calendar:{FEED_NAME}")
            ).first()
            if found is not None:
                _ = list(found.requests)  # loaded before the session closes
            return found

    def name(self, user: str) -> str:
        return PEOPLE.get(user, (user, ""))[0]

    def fail(self, message: str) -> int:
        self.say(f"demo failed: {message}")
        return 1
