"""End to end: import -> sweep -> DM -> button -> modal -> submission -> stored, over real HTTP.

Every request into the bot is Slack-signed and goes over HTTP to the served app;
every call the bot makes goes to the fake Slack, which validates each message and
view against Block Kit (slack_sdk's models plus the limits slack_sdk misses).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import AccessConfig, FileConfig
from storage.models import AuditEvent, Feedback, FeedbackRequest, RequestState, SkillRating
from tests import slackreq
from tests.fakeslack import FakeSlack, running_fake
from tests.harness import ServedBot, feedback_values, wait_for

PANEL = {
    "U0AAA": ["system_design", "ml_workflows"],
    "U0BBB": ["communication", "planning"],
    "U0CCC": ["fundamentals"],
    "U0DDD": [],
}
INTERVIEW = """\
interviews:
  - external_id: gh-1
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
def served(
    engine: Engine, session_factory: sessionmaker[Session], fake: FakeSlack, tmp_path: Path
) -> Iterator[ServedBot]:
    for user, tz in [
        ("U0AAA", "Europe/Berlin"),
        ("U0BBB", "America/New_York"),
        ("U0CCC", "Asia/Kolkata"),
        ("U0DDD", "UTC"),
        ("U0RECRUIT", "UTC"),
        ("U0LEAD", "UTC"),
        ("U0STRANGER", "UTC"),
    ]:
        fake.add_user(user, tz=tz)
    bot = ServedBot(
        engine,
        session_factory,
        fake,
        file_config=FileConfig(access=AccessConfig(recruiters=("U0RECRUIT",))),
    )
    path = tmp_path / "interviews.yaml"
    panel = "".join(
        f"      - interviewer: {user}\n        focus: [{', '.join(focus)}]\n"
        for user, focus in PANEL.items()
    )
    path.write_text(INTERVIEW + panel)
    bot.import_file(path)
    yield bot
    bot.close()
    assert fake.rejected == [], f"the bot sent payloads Slack would reject: {fake.rejected}"


def dm_of(fake: FakeSlack, user: str) -> Any:
    messages = [m for m in fake.messages if m.channel == user]
    assert len(messages) == 1, f"{user} got {len(messages)} DMs"
    return messages[0]


def button(blocks: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    for block in blocks:
        for element in [block.get("accessory"), *block.get("elements", [])]:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return element
    raise AssertionError(f"no {action_id} button in {json.dumps(blocks)[:400]}")


def full_answers(focus: list[str], *, level: str = "senior") -> dict[str, tuple[str | None, str]]:
    answers: dict[str, tuple[str | None, str]] = {
        s: (level, f"Observed {s} in the exercise.") for s in focus
    }
    answers["learning"] = ("not_assessed", "")
    return answers


def stored_feedback(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return session.scalar(select(func.count()).select_from(Feedback)) or 0


def test_sweep_sends_one_form_per_interviewer_after_the_interview(served: ServedBot) -> None:
    fake = served.fake
    served.clock.now = served.clock.now.replace(hour=10, minute=4)  # 4 min after the end
    served.sweep()
    assert fake.calls_to("chat.postMessage") == []

    served.clock.advance(timedelta(minutes=1, seconds=1))  # past form_delay (5m)
    report = served.sweep()
    assert report.forms_sent == 4
    assert sorted(m.channel for m in fake.messages) == sorted(PANEL)
    ada_dm = dm_of(fake, "U0AAA")
    assert "Ada Lovelace" in ada_dm.text
    assert "feedback" in button(ada_dm.blocks, "feedback_open")["text"]["text"].lower()
    rendered = json.dumps(ada_dm.blocks)
    assert "System design" in rendered  # focus skills by name
    assert "CET" in rendered or "Berlin" in rendered  # in the interviewer's time zone
    # nothing twice: a second sweep finds no due form
    assert served.sweep().forms_sent == 0
    assert len(fake.calls_to("chat.postMessage")) == 4
    with served.session_factory() as session:
        rows = session.scalars(select(FeedbackRequest)).all()
        assert {r.state for r in rows} == {RequestState.FORM_SENT}
        assert all(r.dm_channel and r.dm_ts for r in rows)


def test_the_whole_panel_submits_through_slack(served: ServedBot) -> None:
    fake = served.fake
    served.clock.now = served.clock.now.replace(hour=10, minute=6)
    served.sweep()

    for user, focus in PANEL.items():
        value = button(dm_of(fake, user).blocks, "feedback_open")["value"]
        reply = served.click(user, "feedback_open", value)
        assert reply.status == 200
        view = served.last_opened_view()
        assert view["callback_id"] == "feedback_submit"
        labels = [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]
        assert any(label.startswith("System design") for label in labels)
        assert any("recommend" in label.lower() for label in labels)
        assert any("notes" in label.lower() for label in labels)
        assert json.loads(view["private_metadata"]) == {"r": value, "p": 0}

        # 1. invalid: no recommendation, focus skills unanswered
        reply = served.submit(user, view, feedback_values({}, recommendation=None))
        assert reply.status == 200
        errors = reply.json()["errors"]
        assert reply.json()["response_action"] == "errors"
        assert "recommendation" in errors
        for skill in focus:
            assert f"level:{skill}" in errors
        # 2. invalid: a rating without evidence
        if focus:
            answers = full_answers(focus)
            answers[focus[0]] = ("senior", "")
            reply = served.submit(user, view, feedback_values(answers, recommendation="yes"))
            assert set(reply.json()["errors"]) == {f"evidence:{focus[0]}"}
        assert stored_feedback(served.session_factory) == list(PANEL).index(user)

        # 3. valid, and replayed: stored once
        values = feedback_values(full_answers(focus), recommendation="yes", notes="Solid.")
        reply = served.submit_and_settle(user, view, values)
        assert reply.status == 200
        for _ in range(2):
            reply = served.submit(user, view, values)
            assert reply.status == 200
            assert reply.body in (b"", b"{}") or reply.json() in (None, {})
        assert stored_feedback(served.session_factory) == list(PANEL).index(user) + 1

    with served.session_factory() as session:
        assert {r.state for r in session.scalars(select(FeedbackRequest))} == {
            RequestState.SUBMITTED
        }
        assert session.scalar(select(func.count()).select_from(SkillRating)) == sum(
            len(f) + 1 for f in PANEL.values()
        )
        submitted = session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("feedback.%"))
        ).all()
        assert submitted == ["feedback.submitted"] * 4  # replays audited nothing
    # each DM now shows it was submitted, with an Edit button
    for user in PANEL:
        dm = dm_of(fake, user)
        assert dm.history, f"{user}'s DM was not updated"
        assert button(dm.blocks, "feedback_edit")["text"]["text"].startswith("Edit")


def test_a_non_panel_user_is_refused_and_nothing_is_stored(served: ServedBot) -> None:
    fake = served.fake
    served.clock.now = served.clock.now.replace(hour=11)
    served.sweep()
    value = button(dm_of(fake, "U0AAA").blocks, "feedback_open")["value"]

    # the stranger clicks a forwarded button: a notice, not the form
    served.click("U0STRANGER", "feedback_open", value)
    notice = served.last_opened_view()
    assert notice.get("callback_id") is None and "another interviewer" in json.dumps(notice)

    # ... and submits a crafted view carrying the real request's id
    view = {
        "type": "modal",
        "callback_id": "feedback_submit",
        "private_metadata": json.dumps({"r": value, "p": 0}),
    }
    values = feedback_values(full_answers(PANEL["U0AAA"]), recommendation="strong_yes")
    reply = served.submit("U0STRANGER", view, values)
    assert reply.status == 200
    assert reply.json()["response_action"] == "update"
    assert "another interviewer" in json.dumps(reply.json()["view"])
    # garbage metadata is refused the same way
    reply = served.submit("U0AAA", {**view, "private_metadata": "{'r': 1}"}, values)
    assert reply.json()["response_action"] == "update"
    assert stored_feedback(served.session_factory) == 0


def test_edit_reopens_the_modal_prefilled(served: ServedBot) -> None:
    fake = served.fake
    served.clock.now = served.clock.now.replace(hour=11)
    served.sweep()
    value = button(dm_of(fake, "U0BBB").blocks, "feedback_open")["value"]
    served.click("U0BBB", "feedback_open", value)
    view = served.last_opened_view()
    answers = full_answers(PANEL["U0BBB"], level="lead")
    served.submit_and_settle(
        "U0BBB", view, feedback_values(answers, recommendation="strong_yes", notes="Great.")
    )

    edit = button(dm_of(fake, "U0BBB").blocks, "feedback_edit")
    served.click("U0BBB", "feedback_edit", edit["value"])
    reopened = served.last_opened_view()
    by_id = {b.get("block_id"): b for b in reopened["blocks"]}
    assert by_id["level:communication"]["element"]["initial_option"]["value"] == "lead"
    assert (
        by_id["evidence:communication"]["element"]["initial_value"]
        == "Observed communication in the exercise."
    )
    assert by_id["recommendation"]["element"]["initial_option"]["value"] == "strong_yes"
    assert by_id["notes"]["element"]["initial_value"] == "Great."

    # an edit is stored over the old answers and audited
    answers["communication"] = ("senior", "Rethought it.")
    reply = served.submit("U0BBB", reopened, feedback_values(answers, recommendation="yes"))
    assert reply.status == 200
    with served.session_factory() as session:
        feedback = session.scalars(select(Feedback)).one()
        assert feedback.recommendation == "yes"
        levels = {r.skill_id: r.level for r in feedback.ratings}
        assert levels["communication"] == "senior"
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("feedback.%"))
        ).all()
        assert actions == ["feedback.submitted", "feedback.edited"]


def test_app_home_shows_only_your_own(served: ServedBot) -> None:
    fake = served.fake
    served.clock.now = served.clock.now.replace(hour=11)
    served.sweep()
    home = json.dumps(served.open_home("U0AAA"))
    assert "Ada Lovelace" in home and "feedback_open" in home
    recruiter_home = json.dumps(served.open_home("U0RECRUIT"))
    assert "0 of 4" in recruiter_home
    # a stranger sees nothing of this interview
    assert "Ada Lovelace" not in json.dumps(served.open_home("U0STRANGER"))

    # after U0AAA submits, U0BBB's home still shows nothing of U0AAA's answers
    value = button(dm_of(fake, "U0AAA").blocks, "feedback_open")["value"]
    served.click("U0AAA", "feedback_open", value)
    answers = full_answers(PANEL["U0AAA"])
    answers["system_design"] = ("lead", "DISTINCTIVE-EVIDENCE-TEXT")
    served.submit_and_settle(
        "U0AAA",
        served.last_opened_view(),
        feedback_values(answers, recommendation="strong_no", notes="SECRET-NOTE"),
    )
    assert "1 of 4" in json.dumps(served.open_home("U0RECRUIT"))
    others = json.dumps(served.open_home("U0BBB")) + json.dumps(
        served.command("U0BBB", "list").json()
    )
    value_b = button(dm_of(fake, "U0BBB").blocks, "feedback_open")["value"]
    served.click("U0BBB", "feedback_open", value_b)
    others += json.dumps(served.last_opened_view()) + json.dumps(dm_of(fake, "U0BBB").blocks)
    for secret in ("DISTINCTIVE-EVIDENCE-TEXT", "SECRET-NOTE"):
        assert secret not in others
    # nothing is preselected in U0BBB's form: no trace of U0AAA's levels or recommendation
    assert "initial_option" not in json.dumps(served.last_opened_view())


def test_interview_command(served: ServedBot) -> None:
    fake = served.fake
    served.clock.now = served.clock.now.replace(hour=11)
    served.sweep()
    reply = served.command("U0AAA", "help")
    assert reply.status == 200 and "/interview list" in json.dumps(reply.json())
    assert "/interview list" in json.dumps(served.command("U0AAA", "frobnicate").json())
    listing = json.dumps(served.command("U0AAA", "list").json())
    assert "Ada Lovelace" in listing
    # schedule: recruiters only
    refused = served.command("U0AAA", "schedule").json()
    assert "Only recruiters" in json.dumps(refused)
    opened_before = len(fake.calls_to("views.open"))
    served.command("U0RECRUIT", "schedule", opens_view=True)
    assert len(fake.calls_to("views.open")) == opened_before + 1
    assert served.last_opened_view()["callback_id"] == "schedule_submit"
    # cancel: recruiters only, then idempotent
    assert "Only recruiters" in json.dumps(served.command("U0AAA", "cancel 1").json())
    with served.session_factory() as session:
        interview_id = session.scalars(select(FeedbackRequest.interview_id)).first()
    assert "is cancelled" in json.dumps(
        served.command("U0RECRUIT", f"cancel {interview_id}").json()
    )
    assert "already cancelled" in json.dumps(
        served.command("U0RECRUIT", f"cancel {interview_id}").json()
    )


def test_requests_with_bad_signatures_touch_nothing(served: ServedBot) -> None:
    packed = slackreq.slash_command("U0AAA", "list", trigger_id="t")
    assert served.send(packed, secret="wrong-secret-wrong-secret").status == 401
    assert served.send(packed, secret=None).status == 401
    old = served.send(packed, timestamp=int(__import__("time").time()) - 301)
    assert old.status == 401
    assert served.fake.calls_to("chat.postMessage") == []


def test_healthz(served: ServedBot) -> None:
    import urllib.request

    with urllib.request.urlopen(f"{served.url}/healthz", timeout=5) as response:
        assert response.status == 200


def test_cancelled_interview_sends_nothing(served: ServedBot) -> None:
    with served.session_factory() as session:
        interview_id = session.scalars(select(FeedbackRequest.interview_id)).first()
    served.command("U0RECRUIT", f"cancel {interview_id}")
    served.clock.now = served.clock.now.replace(hour=11)
    assert served.sweep().forms_sent == 0
    assert served.fake.calls_to("chat.postMessage") == []


def test_slack_failures_retry_with_backoff_and_permanent_errors_stop(served: ServedBot) -> None:
    from tests.fakeslack import Fault

    fake = served.fake
    fake.fail("chat.postMessage", Fault(status=200, body={"ok": False, "error": "user_not_found"}))
    fake.fail(
        "chat.postMessage",
        Fault(status=500, body={"ok": False, "error": "internal_error"}, times=3),
    )
    served.clock.now = served.clock.now.replace(hour=11)
    report = served.sweep()
    assert report.forms_abandoned == 1
    assert report.forms_sent == 2
    assert report.forms_failed == 1  # still 500 after the client's own retries: stays due
    with served.session_factory() as session:
        errors = sorted(r.last_error or "" for r in session.scalars(select(FeedbackRequest)))
    assert "user_not_found" in errors
    served.clock.advance(timedelta(hours=2))
    served.sweep()
    assert len([m for m in fake.messages]) == 3  # the abandoned one is never retried


def test_cancelling_after_the_forms_went_out_updates_every_dm(served: ServedBot) -> None:
    fake = served.fake
    served.clock.now = served.clock.now.replace(hour=11)
    served.sweep()
    value = button(dm_of(fake, "U0CCC").blocks, "feedback_open")["value"]
    with served.session_factory() as session:
        interview_id = session.scalars(select(FeedbackRequest.interview_id)).first()
    served.command("U0RECRUIT", f"cancel {interview_id}")
    wait_for(lambda: len(fake.calls_to("chat.update")) == 4, what="4 DM updates")
    for user in PANEL:
        dm = dm_of(fake, user)
        assert "no feedback needed" in json.dumps(dm.blocks).lower()
        assert "feedback_open" not in json.dumps(dm.blocks)
    # the old button, still on a phone's screen, explains instead of opening the form
    served.click("U0CCC", "feedback_open", value)
    notice = served.last_opened_view()
    assert "cancelled" in json.dumps(notice)
    assert notice.get("callback_id") is None


def test_rate_limited_calls_wait_for_retry_after_and_go_through(served: ServedBot) -> None:
    from tests.fakeslack import Fault

    fake = served.fake
    fake.fail(
        "chat.postMessage",
        Fault(
            status=429,
            body={"ok": False, "error": "ratelimited"},
            headers={"Retry-After": "0"},
            times=2,
        ),
    )
    served.clock.now = served.clock.now.replace(hour=11)
    report = served.sweep()
    assert report.forms_sent == 4 and report.forms_failed == 0
    assert len(fake.calls_to("chat.postMessage")) == 6  # two 429s, each retried after Retry-After
    assert sorted(m.channel for m in fake.messages) == sorted(PANEL)
