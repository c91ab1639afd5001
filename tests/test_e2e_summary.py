"""End to end: the panel summary in the hiring channel, posted once, updated by later feedback.

Feedback given after the summary, and edits made after it, are shown in the thread,
marked, and never change what the summary says (DESIGN "After a partial summary").
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import FileConfig
from handlers.blocks.limits import check_message
from storage.models import Interview, InterviewState
from tests.fakeslack import FakeSlack, Fault, Message, running_fake
from tests.harness import ServedBot
from tests.summary_data import all_text

PANEL = {
    "U0AAA": ["system_design", "ml_workflows"],
    "U0BBB": ["system_design", "communication"],
    "U0CCC": ["system_design"],
    "U0DDD": ["system_design", "planning"],
}
# system_design: Junior, Junior, Lead, Lead (needs discussion); communication and
# fundamentals unanimous; inclusiveness nobody assesses (a coverage gap).
LEVELS = {
    "U0AAA": {"system_design": "junior", "ml_workflows": "senior", "fundamentals": "senior"},
    "U0BBB": {"system_design": "junior", "communication": "senior", "fundamentals": "senior"},
    "U0CCC": {"system_design": "lead", "fundamentals": "senior"},
    "U0DDD": {"system_design": "lead", "planning": "senior", "fundamentals": "senior"},
}
RECOMMENDATION = {"U0AAA": "no", "U0BBB": "strong_no", "U0CCC": "yes", "U0DDD": "strong_yes"}
NAMES = {"U0AAA": "Ann Aa", "U0BBB": "Bo Bb", "U0CCC": "Cy Cc", "U0DDD": "Dee Dd"}
INTERVIEW = """\
interviews:
  - external_id: gh-42
    candidate: Ada Lovelace
    role: Senior ML Engineer
    starts_at: 2027-03-01T09:00:00+00:00
    ends_at: 2027-03-01T10:00:00+00:00
    hiring_channel: C0HIRING
    recruiter: U0RECRUIT
    hiring_lead: U0LEAD
    panel:
"""


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    yield from running_fake()


@pytest.fixture
def file_config() -> FileConfig | None:
    return None


@pytest.fixture
def served(
    engine: Engine,
    session_factory: sessionmaker[Session],
    fake: FakeSlack,
    tmp_path: Path,
    file_config: FileConfig | None,
) -> Iterator[ServedBot]:
    for user in [*PANEL, "U0RECRUIT", "U0LEAD", "U0STRANGER"]:
        fake.add_user(user, real_name=NAMES.get(user))
    bot = ServedBot(engine, session_factory, fake, file_config=file_config)
    path = tmp_path / "interviews.yaml"
    path.write_text(
        INTERVIEW
        + "".join(
            f"      - interviewer: {u}\n        focus: [{', '.join(f)}]\n" for u, f in PANEL.items()
        )
    )
    bot.import_file(path)
    bot.clock.now = bot.clock.now.replace(hour=10, minute=10)
    bot.sweep()  # the four form DMs
    yield bot
    bot.close()
    assert fake.rejected == [], f"the bot sent payloads Slack would reject: {fake.rejected}"


def submit(served: ServedBot, user: str, levels: dict[str, str] | None = None) -> None:
    ratings: dict[str, tuple[str | None, str]] = {
        skill: (level, f"{user} saw {skill}") for skill, level in (levels or LEVELS[user]).items()
    }
    served.give_feedback(
        user, ratings, recommendation=RECOMMENDATION[user], notes=f"notes by {user}"
    )


def channel_posts(fake: FakeSlack, *, threaded: bool) -> list[Message]:
    return [
        m
        for m in fake.messages
        if m.channel.startswith("C") and (m.thread_ts is not None) == threaded
    ]


def text_of(message: Message) -> str:
    return json.dumps(message.blocks) + message.text


def test_summary_is_posted_once_after_the_last_submission(served: ServedBot) -> None:
    fake = served.fake
    for i, user in enumerate(PANEL):
        submit(served, user)
        served.sweep()
        assert len(channel_posts(fake, threaded=False)) == (1 if i == 3 else 0)
    for _ in range(3):
        served.sweep()
    [summary] = channel_posts(fake, threaded=False)
    assert summary.channel == "C0HIRING"
    text = text_of(summary)
    assert "Ada Lovelace" in text
    assert "4 of 4" in text
    # Needs discussion names the split skill with every interviewer's level, before anything else
    needs = text.index("Needs discussion")
    assert "System design" in text[needs:]
    for user in PANEL:
        assert f"<@{user}>" in text
    blocks = json.dumps(summary.blocks)
    start = blocks.index("Needs discussion")
    discussion_part = blocks[start : blocks.index("Recommendations", start)]
    assert "System design" in discussion_part
    assert "Fundamental" not in discussion_part  # unanimous skills are not flagged
    assert "split" in text.lower()  # hire / no hire votes on both sides
    assert "Inclusiveness" in text  # nobody assessed it: a coverage gap
    # the thread: every interviewer's notes and evidence in one message, and the heatmap
    [replies] = channel_posts(fake, threaded=True)
    assert replies.thread_ts == summary.ts
    for user in PANEL:
        assert text_of(replies).count(f"Feedback from <@{user}>") == 2  # blocks and fallback
        assert f"notes by {user}" in text_of(replies)
    [upload] = fake.uploads
    assert upload["channel"] == "C0HIRING" and upload["thread_ts"] == summary.ts
    assert upload["content"].startswith(b"\x89PNG")
    # nothing else ever went to a channel
    assert {m.channel for m in fake.messages if not m.channel.startswith("U")} == {"C0HIRING"}
    with served.session_factory() as session:
        assert session.scalars(select(Interview.state)).one() == InterviewState.SUMMARISED


def summary_line(message: Message, skill: str) -> str:
    """The skill's line of squares (not its line under Needs discussion)."""
    lines = all_text(message.blocks).splitlines()
    return next(line for line in lines if f"*{skill}*" in line and line.startswith(":"))


def test_partial_summary_then_feedback_after_it_changes_nothing(served: ServedBot) -> None:
    """Two late Leads would turn System design from Junior into a split: they do not."""
    fake = served.fake
    for user in ["U0AAA", "U0BBB"]:
        submit(served, user)
    served.sweep()
    assert channel_posts(fake, threaded=False) == []

    served.clock.now = served.clock.now.replace(hour=10) + timedelta(hours=48, minutes=1)
    served.sweep()
    [summary] = channel_posts(fake, threaded=False)
    assert "2 of 4 submitted" in text_of(summary)
    # The missing are named, never mentioned (a mention pings them into the summary).
    assert "posted without feedback from Cy Cc, Dee Dd." in text_of(summary)
    assert "<@U0CCC>" not in text_of(summary) and "<@U0DDD>" not in text_of(summary)
    assert "Junior ▼ below target · both Junior" in summary_line(
        summary, "System design and implementation"
    )
    assert "summary_debrief" in text_of(summary)
    [replies] = channel_posts(fake, threaded=True)  # the two replies, packed in one message
    assert all(f"Feedback from <@{u}>" in replies.text for u in ["U0AAA", "U0BBB"])
    [upload] = fake.uploads
    assert upload["thread_ts"] == summary.ts

    # Both submit after the summary, rating System design Lead (and ML workflows Lead).
    for user in ["U0CCC", "U0DDD"]:
        submit(served, user, {**LEVELS[user], "system_design": "lead", "ml_workflows": "lead"})
        served.sweep()
    served.sweep()
    assert len(channel_posts(fake, threaded=False)) == 1
    assert summary.history, "the summary was not updated in place"
    assert "2 of 4 before the summary, 2 after" in text_of(summary)
    sd = summary_line(summary, "System design and implementation")
    assert "Junior ▼ below target · both Junior" in sd and "split" not in sd
    assert "Senior ● meets target · 1 rating" in summary_line(summary, "End-to-end ML workflows")
    assert "Strong yes 0" in text_of(summary) and "Yes 0" in text_of(summary)
    thread = channel_posts(fake, threaded=True)
    late = [m for m in thread if "given after the summary" in m.text]
    assert {u for u in ["U0CCC", "U0DDD"] if any(f"<@{u}>" in m.text for m in late)} == {
        "U0CCC",
        "U0DDD",
    }
    assert all("not counted" in m.text for m in late)
    notes = [m for m in thread if m.text.startswith("Updated:")]
    assert notes and all("not counted" in m.text for m in notes)
    assert not any("Consensus:" in m.text or "Needs discussion:" in m.text for m in notes)
    for message in thread:
        check_message(message.text, message.blocks)
    served.sweep()
    assert len(channel_posts(fake, threaded=False)) == 1


@pytest.mark.parametrize(
    "file_config", [FileConfig.model_validate({"feedback": {"editable_until": "deadline"}})]
)
def test_an_edit_after_a_complete_summary_is_shown_and_not_counted(served: ServedBot) -> None:
    fake = served.fake
    for user in PANEL:
        submit(served, user)
    served.sweep()
    served.sweep()
    [summary] = channel_posts(fake, threaded=False)
    assert "4 of 4 submitted" in text_of(summary)
    before = summary_line(summary, "System design and implementation")
    assert "split Junior / Lead · 2 Junior, 2 Lead" in before

    # U0AAA changes System design to Lead after reading the summary.
    submit(served, "U0AAA", {**LEVELS["U0AAA"], "system_design": "lead"})
    served.sweep()
    served.sweep()
    assert summary_line(summary, "System design and implementation") == before
    thread = channel_posts(fake, threaded=True)
    [edit] = [m for m in thread if "edited after the summary" in m.text]
    assert "<@U0AAA>" in edit.text and "the version from before the summary counts" in edit.text
    assert "Lead: U0AAA saw system_design" in text_of(edit)
    [note] = [m for m in thread if m.text.startswith("Updated:")]
    assert "<@U0AAA> edited their feedback after the summary" in note.text


def test_not_in_channel_tells_the_recruiter_once_and_retries(served: ServedBot) -> None:
    fake = served.fake
    for user in ["U0AAA", "U0BBB", "U0CCC"]:
        submit(served, user)
    fake.fail("chat.postMessage", Fault(body={"ok": False, "error": "not_in_channel"}, times=1))
    submit(served, "U0DDD")
    served.sweep()
    recruiter_dms = fake.messages_in("U0RECRUIT")
    assert len(recruiter_dms) == 1
    assert "/invite" in text_of(recruiter_dms[0])
    assert channel_posts(fake, threaded=False) == []
    served.sweep()  # not yet: the retry waits
    assert len(fake.messages_in("U0RECRUIT")) == 1
    served.clock.advance(timedelta(hours=7))
    served.sweep()
    assert len(channel_posts(fake, threaded=False)) == 1
    assert len(fake.messages_in("U0RECRUIT")) == 1


def test_summary_on_demand_for_recruiter_and_lead_only(served: ServedBot) -> None:
    submit(served, "U0AAA")
    with served.session_factory() as session:
        interview_id = session.scalars(select(Interview.id)).one()
    reply: Any = served.command("U0LEAD", f"summary {interview_id}").json()
    assert "Ada Lovelace" in json.dumps(reply) and "1 of 4" in json.dumps(reply)
    assert reply.get("response_type") == "ephemeral"
    for outsider in ("U0BBB", "U0STRANGER"):
        refused = json.dumps(served.command(outsider, f"summary {interview_id}").json())
        assert "Ada Lovelace" not in refused and "saw system_design" not in refused
    assert channel_posts(served.fake, threaded=False) == []  # on demand posts nothing


def test_a_failed_heatmap_upload_leaves_the_summary_standing(served: ServedBot) -> None:
    fake = served.fake
    fake.fail("files.getUploadURLExternal", Fault(body={"ok": False, "error": "missing_scope"}))
    for user in PANEL:
        submit(served, user)
    served.sweep()
    served.sweep()
    assert len(channel_posts(fake, threaded=False)) == 1
    assert len(channel_posts(fake, threaded=True)) == 1
    assert fake.uploads == []
    assert len(fake.calls_to("files.getUploadURLExternal")) == 1  # not retried


@pytest.mark.postgres
def test_two_bot_processes_post_one_summary(
    served: ServedBot, db_url: str, fake: FakeSlack
) -> None:
    """Two sweepers on separate engines (as two replicas would be) race for the same post."""
    import threading

    from bot.app import build_bot
    from bot.slack_client import create_web_client
    from storage.engine import create_engine_for, make_session_factory

    if not db_url.startswith("postgresql"):
        pytest.skip("replicas share PostgreSQL; SQLite serves one process")
    for user in PANEL:
        submit(served, user)
    engines = [create_engine_for(db_url) for _ in range(2)]
    bots = [
        build_bot(
            served.config,
            make_session_factory(e),
            create_web_client(served.config),
            clock=served.clock,
        )
        for e in engines
    ]
    barrier = threading.Barrier(2)

    def sweep(index: int) -> None:
        barrier.wait()
        bots[index].sweeper.run_once()

    threads = [threading.Thread(target=sweep, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    for e in engines:
        e.dispose()
    assert len(channel_posts(fake, threaded=False)) == 1
    assert len(channel_posts(fake, threaded=True)) == 1
    assert len(fake.uploads) == 1


def test_long_evidence_spreads_the_thread_over_messages_and_a_failure_resumes_it(
    served: ServedBot,
) -> None:
    """Replies pack into as few messages as fit; one that failed is posted once, later."""
    fake = served.fake
    for user in PANEL:
        ratings = {
            skill: (level, f"{user} {skill} " + "evidence " * 160)  # ~1300 characters each
            for skill, level in LEVELS[user].items()
        }
        served.give_feedback(user, ratings, recommendation=RECOMMENDATION[user], notes="n")
    # The summary and the first thread message go through; the second fails once.
    fake.fail("chat.postMessage", Fault(skip=2))
    served.sweep()
    served.clock.advance(timedelta(minutes=30))  # past the retry's backoff
    served.sweep()
    served.sweep()
    [summary] = channel_posts(fake, threaded=False)
    thread = channel_posts(fake, threaded=True)
    assert len(thread) == 2, [m.text for m in thread]
    assert all(m.thread_ts == summary.ts for m in thread)
    assert len(fake.calls_to("chat.postMessage")) == len(PANEL) + 1 + 2 + 1  # DMs, post, 2 + retry
    everything = "".join(text_of(m) for m in thread)
    for user in PANEL:  # each interviewer's reply exactly once (blocks + fallback text)
        assert everything.count(f"Feedback from <@{user}>") == 2, user
        assert f"{user} system_design evidence" in everything
    for message in thread:
        check_message(message.text, message.blocks)
    assert len(fake.uploads) == 1
