"""Slack down for a while: forms, nudges, digests and summaries go out after it, each once.

The fake Slack answers every call with HTTP 500 (or drops every connection)
while the sweep runs on the test clock; the bot's client retries, gives up, and
the rows stay due with a backoff. After Slack recovers and the backoffs pass,
everything due is delivered exactly once, counted per DM and hiring channel in
what the fake Slack actually received.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.fakeslack import Outage
from storage.engine import create_engine_for, make_session_factory
from storage.migrate import upgrade
from storage.models import FeedbackRequest, Interview, InterviewState, RequestState
from tests.fakeslack import FakeSlack, Message, running_fake
from tests.harness import ServedBot, feedback_values
from tests.outage_support import record

DAY1_END = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
DAY2_END = DAY1_END + timedelta(days=1)
HIRING = "C0HIRING"
PANEL_2 = ("U0AAA", "U0BBB")


def interview(external_id: str, candidate: str, ends_at: datetime, panel: list[str]) -> str:
    starts_at = ends_at - timedelta(hours=1)
    return "\n".join(
        [
            f"  - external_id: {external_id}",
            f"    candidate: {candidate}",
            "    role: Senior ML Engineer",
            f"    starts_at: {starts_at.isoformat()}",
            f"    ends_at: {ends_at.isoformat()}",
            f"    hiring_channel: {HIRING}",
            "    recruiter: U0RECRUIT",
            "    hiring_lead: U0LEAD",
            "    panel:",
            *[f"      - interviewer: {user}\n        focus: [system_design]" for user in panel],
        ]
    )


SCHEDULE = "interviews:\n" + "\n".join(
    [
        # the whole panel submits: its summary falls due just as Slack goes down
        interview("out-1", "Ada Lovelace", DAY1_END, ["U0AAA", "U0BBB"]),
        # nobody submits: nudges and the recruiter's digest fall due during the outage
        interview("out-2", "Grace Hopper", DAY1_END, ["U0AAA", "U0BBB"]),
        # ends during the outage: its form falls due while Slack is down
        interview("out-3", "Alan Turing", DAY2_END, ["U0CCC"]),
    ]
)


def fast_retries(client: WebClient) -> None:
    """Keep the client's retries (count and kinds), without their 0.5-3.5 s backoff.

    Bolt's per-request clients share these handler objects (``bot.slack_client.counting``).
    """
    for handler in client.retry_handlers:
        handler.interval_calculator = FixedValueRetryIntervalCalculator(0.01)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    yield from running_fake()


@pytest.fixture
def served(
    engine: Engine, session_factory: sessionmaker[Session], fake: FakeSlack, tmp_path: Path
) -> Iterator[ServedBot]:
    yield from _served(engine, session_factory, fake, tmp_path)


@pytest.fixture
def served_sqlite(fake: FakeSlack, tmp_path: Path) -> Iterator[ServedBot]:
    """For what does not depend on the backend: SQLite only."""
    engine = create_engine_for(f"sqlite:///{tmp_path / 'bot.db'}")
    upgrade(engine)
    yield from _served(engine, make_session_factory(engine), fake, tmp_path)
    engine.dispose()


def _served(
    engine: Engine, session_factory: sessionmaker[Session], fake: FakeSlack, tmp_path: Path
) -> Iterator[ServedBot]:
    for user in ("U0AAA", "U0BBB", "U0CCC", "U0RECRUIT", "U0LEAD"):
        fake.add_user(user)  # UTC: 10:00 is outside everyone's quiet hours
    bot = ServedBot(engine, session_factory, fake)
    fast_retries(bot.bot.client)
    path = tmp_path / "interviews.yaml"
    path.write_text(SCHEDULE + "\n")
    bot.import_file(path)
    yield bot
    bot.close()
    assert fake.rejected == [], f"the bot sent payloads Slack would reject: {fake.rejected}"


def submit_feedback(
    served: ServedBot,
    user: str,
    candidate: str,
    ratings: dict[str, tuple[str | None, str]] | None = None,
) -> None:
    """Open ``user``'s form for ``candidate`` from its DM and submit it over signed HTTP."""
    dm = next(m for m in served.fake.messages if m.channel == user and candidate in m.text)
    value = next(
        element["value"]
        for block in dm.blocks
        for element in [block.get("accessory"), *block.get("elements", [])]
        if isinstance(element, dict) and element.get("action_id") == "feedback_open"
    )
    served.click(user, "feedback_open", value)
    values = feedback_values(
        ratings or {"system_design": ("senior", f"{user} saw a sound design.")},
        recommendation="yes",
    )
    reply = served.submit_and_settle(user, served.last_opened_view(), values)
    assert reply.status == 200 and not reply.body, reply.body[:300]


def delivered(fake: FakeSlack) -> Counter[str]:
    """Messages Slack accepted, per channel (top-level; thread replies counted apart)."""
    return Counter(m.channel for m in fake.messages if m.thread_ts is None)


def thread_of(fake: FakeSlack, parent: Message) -> list[Message]:
    return [m for m in fake.messages if m.channel == parent.channel and m.thread_ts == parent.ts]


def test_everything_due_during_a_slack_outage_is_delivered_once_after_it(
    served: ServedBot, engine: Engine
) -> None:
    fake = served.fake
    # One failure mode per backend (both are covered, at half the cost of all four):
    # the outage logic is the same on both, the claiming queries are not.
    mode = "http_500" if engine.dialect.name == "sqlite" else "disconnect"
    # Day 1, Slack up: four form DMs; the first panel submits.
    served.clock.now = DAY1_END + timedelta(minutes=10)
    assert served.sweep().forms_sent == 4
    for user in ("U0AAA", "U0BBB"):
        submit_feedback(served, user, "Ada Lovelace")
    before = len(fake.messages)

    # Slack goes down. The summary is due now; a day later, the nudges, the digest
    # and the third interview's form fall due too. Sweeps keep trying, and fail.
    fake.outage(Outage(disconnect=True) if mode == "disconnect" else Outage(status=500))
    down_since = served.clock.now
    served.clock.advance(timedelta(minutes=1))
    report = served.sweep()
    assert report.summaries.failed == 1
    served.clock.now = DAY2_END + timedelta(minutes=10)
    report = served.sweep()
    assert report.forms_failed == 1
    assert report.reminders.failed >= 2  # two nudges (and the digest)
    assert report.summaries.failed == 1
    served.clock.advance(timedelta(minutes=20))  # past every backoff so far: they try again
    report = served.sweep()
    assert report.forms_failed == 1 and report.summaries.failed == 1
    assert len(fake.messages) == before, "nothing is delivered while Slack is down"
    failed_methods = Counter(c.method for c in fake.outage_calls)
    # every unit due was tried in every sweep (1, then 5, then 5), each retried by the client
    assert failed_methods["chat.postMessage"] >= 11

    # Slack is back. The next sweeps after the backoffs deliver everything, once.
    fake.recover()
    outage_minutes = (served.clock.now - down_since) / timedelta(minutes=1)
    served.clock.advance(timedelta(minutes=5))
    served.sweep()
    served.clock.advance(timedelta(minutes=5))
    served.sweep()  # and nothing twice

    counts = delivered(fake)
    # forms of interviews 1 and 2 (sent on day 1) + exactly one nudge for interview 2
    assert counts["U0AAA"] == 3 and counts["U0BBB"] == 3, counts
    assert counts["U0CCC"] == 1, counts  # interview 3's form
    assert counts["U0RECRUIT"] == 1, counts  # one digest
    assert counts["U0LEAD"] == 0, counts  # no escalation before the summary deadline
    assert counts[HIRING] == 1, counts  # one summary
    summary = next(m for m in fake.messages if m.channel == HIRING and m.thread_ts is None)
    assert "Ada Lovelace" in summary.text
    replies = thread_of(fake, summary)
    assert len(replies) == 1, [r.text for r in replies]  # both interviewers' evidence, packed
    for user in ("U0AAA", "U0BBB"):
        assert replies[0].text.count(f"Feedback from <@{user}>") == 1
    assert [u["channel"] for u in fake.uploads] == [HIRING]  # the heatmap, once
    nudges = [m for m in fake.messages if m.channel == "U0AAA" and "Grace Hopper" in m.text]
    assert len(nudges) == 2  # the form DM and one nudge

    with served.session_factory() as session:
        requests = session.scalars(sa.select(FeedbackRequest)).all()
        by_state = Counter(r.state for r in requests)
        assert by_state == {RequestState.SUBMITTED: 2, RequestState.FORM_SENT: 3}
        assert sorted(r.reminder_count for r in requests if r.state == RequestState.FORM_SENT) == [
            0,
            1,
            1,
        ]
        assert all(r.last_error is None for r in requests)
        first = session.scalars(sa.select(Interview).where(Interview.external_id == "out-1")).one()
        assert first.state == InterviewState.SUMMARISED and first.summary_pending is None

    record(
        f"slack-outage-{mode}-{engine.dialect.name}",
        {
            "outage_test_clock_minutes": outage_minutes,
            "sweeps_during_outage": 3,
            "slack_calls_failed": len(fake.outage_calls),
            "delivered_during_outage": 0,
            "delivered_after_recovery": len(fake.messages) - before,
            "form_dms": counts["U0CCC"],
            "nudges": sum(
                1 for m in fake.messages if "Grace Hopper" in m.text and m.channel in PANEL_2
            )
            - len(PANEL_2),  # each got the form DM first
            "digests": counts["U0RECRUIT"],
            "summaries": counts[HIRING],
            "summary_thread_replies": len(replies),
            "heatmaps": len(fake.uploads),
            "duplicates": 0,
        },
    )


def test_the_outage_switch_fails_every_call_then_recovers(fake: FakeSlack) -> None:
    client = WebClient(base_url=fake.url, token="xoxb-test", retry_handlers=[])
    fake.add_user("U0AAA")
    fake.outage(Outage(status=503, after=1))
    assert client.chat_postMessage(channel="U0AAA", text="before")["ok"]  # `after` lets one by
    with pytest.raises(SlackApiError) as failed:
        client.chat_postMessage(channel="U0AAA", text="during")
    assert failed.value.response.status_code == 503
    fake.outage(Outage(disconnect=True))
    with pytest.raises(OSError):
        client.users_info(user="U0AAA")
    fake.recover()
    assert client.chat_postMessage(channel="U0AAA", text="after")["ok"]
    assert [m.text for m in fake.messages] == ["before", "after"]
    assert [c.method for c in fake.outage_calls] == ["chat.postMessage", "users.info"]


def test_an_outage_in_the_middle_of_a_summary_thread_repeats_no_reply(
    served_sqlite: ServedBot,
) -> None:
    served = served_sqlite
    fake = served.fake
    served.clock.now = DAY1_END + timedelta(minutes=10)
    served.sweep()
    # Long evidence: the two replies need a thread message each (pack_replies).
    skills = ["system_design", "fundamentals", "ml_workflows", "planning", "communication"]
    for user in ("U0AAA", "U0BBB"):
        ratings = {s: ("senior", f"{user} on {s}: " + "evidence " * 160) for s in skills}
        submit_feedback(served, user, "Ada Lovelace", ratings)
    # Slack goes down right after the summary and its first thread reply went out.
    fake.outage(Outage(after=2))
    served.clock.advance(timedelta(minutes=1))
    assert served.sweep().summaries.failed == 1
    fake.recover()
    served.clock.advance(timedelta(minutes=5))
    served.sweep()
    summary = next(m for m in fake.messages if m.channel == HIRING and m.thread_ts is None)
    replies = Counter(m.text for m in thread_of(fake, summary))
    assert sorted(replies.values()) == [1, 1], replies
