"""The authorization matrix, over real HTTP: every action tried as every role.

Interview A has recruiter U0REC (in ``access.recruiters``), hiring lead U0LEAD and
panel U0AAA and U0BBB; interview B (another panel) has U0OTHER on its panel. U0TEAM
is a recruiter of the team but not A's, U0STRANGER is nobody. The target of each
request is A, or U0AAA's feedback request on A. A refusal must be visible to the
user, must change nothing in the database, and must leave one ``access.refused``
audit event; an allowed request must get past the guard.

The expected matrix is written out here, independently of ``storage.access.MATRIX``,
so a wrong entry there fails a test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import AccessConfig, FileConfig
from storage.models import AuditEvent, Base, FeedbackRequest, Interview
from tests import reliability, slackreq
from tests.fakeslack import FakeSlack, running_fake
from tests.harness import ServedBot, feedback_values, wait_for

PERSONAS = {
    "recruiter": "U0REC",
    "recruiting team": "U0TEAM",
    "hiring lead": "U0LEAD",
    "interviewer": "U0AAA",
    "panel member": "U0BBB",
    "another panel's member": "U0OTHER",
    "stranger": "U0STRANGER",
}

# Who may, per action (persona names above); everyone else is refused.
ALLOWED: dict[str, set[str]] = {
    "schedule": {"recruiter", "recruiting team"},
    "schedule modal": {"recruiter", "recruiting team"},
    "cancel": {"recruiter", "recruiting team"},
    "open form": {"interviewer"},
    "edit form": {"interviewer"},
    "save page": {"interviewer"},
    "submit": {"interviewer"},
    "snooze": {"interviewer"},
    "decline": {"interviewer"},
    "nudge now": {"recruiter"},
    "summary": {"recruiter", "hiring lead"},
    # access.calibration is empty here: the default readers
    "calibration": {"recruiter", "recruiting team", "hiring lead"},
    # once the summary is posted (the setup below posts it)
    "debrief guide": {"recruiter", "recruiting team", "hiring lead"},
    # an incomplete interview's "Complete and schedule" button (handlers.incomplete)
    "complete incomplete": {"recruiter", "recruiting team"},
}

IMPORT = """\
interviews:
  - external_id: a
    candidate: Ada Lovelace
    role: Senior ML Engineer
    starts_at: 2027-03-01T06:00:00+00:00
    ends_at: 2027-03-01T07:00:00+00:00
    hiring_channel: C0HIRING
    recruiter: U0REC
    hiring_lead: U0LEAD
    panel:
      - interviewer: U0AAA
        focus: [system_design]
      - interviewer: U0BBB
        focus: [communication]
  - external_id: b
    candidate: Grace Hopper
    role: Lead ML Engineer
    starts_at: 2027-03-01T06:00:00+00:00
    ends_at: 2027-03-01T07:00:00+00:00
    hiring_channel: C0OTHER
    recruiter: U0REC2
    hiring_lead: U0LEAD2
    panel:
      - interviewer: U0OTHER
        focus: [planning]
"""
CANDIDATE_A = "Ada Lovelace"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    yield from running_fake()


@pytest.fixture
def served(
    engine: Engine, session_factory: sessionmaker[Session], fake: FakeSlack, tmp_path: Path
) -> Iterator[ServedBot]:
    for user in [*PERSONAS.values(), "U0REC2", "U0LEAD2"]:
        fake.add_user(user, tz="UTC")
    bot = ServedBot(
        engine,
        session_factory,
        fake,
        file_config=FileConfig(access=AccessConfig(recruiters=("U0REC", "U0TEAM"))),
    )
    path = tmp_path / "interviews.yaml"
    path.write_text(IMPORT)
    bot.import_file(path)
    bot.sweep()  # the interviews ended at 07:00; the clock says 08:00: forms go out
    yield bot
    bot.close()
    assert fake.rejected == [], f"the bot sent payloads Slack would reject: {fake.rejected}"


# -- what the database holds ------------------------------------------------------------
_VOLATILE = {"audit_events", "slack_events", "slack_users"}


def snapshot(factory: sessionmaker[Session]) -> dict[str, list[str]]:
    """Every row of every table but the audit trail and caches, comparable."""
    with factory() as session:
        return {
            table.name: sorted(repr(tuple(row)) for row in session.execute(sa.select(table)))
            for table in Base.metadata.sorted_tables
            if table.name not in _VOLATILE
        }


def refusals(factory: sessionmaker[Session]) -> list[AuditEvent]:
    with factory() as session:
        return list(
            session.scalars(
                sa.select(AuditEvent)
                .where(AuditEvent.action == "access.refused")
                .order_by(AuditEvent.id)
            )
        )


def ids(factory: sessionmaker[Session]) -> tuple[int, str]:
    """Interview A's id and U0AAA's request public id."""
    with factory() as session:
        interview = session.scalars(sa.select(Interview).where(Interview.external_id == "a")).one()
        public_id = session.scalars(
            sa.select(FeedbackRequest.public_id).where(
                FeedbackRequest.interview_id == interview.id,
                FeedbackRequest.interviewer == "U0AAA",
            )
        ).one()
        return interview.id, public_id


# -- one way to try each action, returning what the user saw ------------------------------
@dataclass
class Attempt:
    status: int
    seen: str  # everything the user was shown in answer, as text


Try = Callable[[ServedBot, str, int, str], Attempt]


def _reply_text(reply: slackreq.Reply) -> str:
    return reply.body.decode(errors="replace")


def _after(bot: ServedBot, before: dict[str, int]) -> str:
    """What the bot showed the user after the ack: a notice modal or an ephemeral message."""
    opened = bot.fake.calls_to("views.open")[before["views.open"] :]
    ephemeral = bot.fake.calls_to("chat.postEphemeral")[before["chat.postEphemeral"] :]
    return json.dumps([c.args for c in opened + ephemeral])


def _counts(bot: ServedBot) -> dict[str, int]:
    methods = ("views.open", "chat.postEphemeral", "chat.update")
    return {m: len(bot.fake.calls_to(m)) for m in methods}


def _click(action_id: str) -> Try:
    def attempt(bot: ServedBot, user: str, _interview: int, public_id: str) -> Attempt:
        before = _counts(bot)
        reply = bot.send(
            slackreq.block_action(user, action_id, public_id, trigger_id=bot.fake.issue_trigger())
        )
        wait_for(lambda: _counts(bot) != before, what=f"an answer to {action_id}")
        return Attempt(reply.status, _reply_text(reply) + _after(bot, before))

    return attempt


def _click_interview(action_id: str) -> Try:
    """A summary button, whose value is the interview number, clicked in the channel."""

    def attempt(bot: ServedBot, user: str, interview: int, _public_id: str) -> Attempt:
        before = _counts(bot)
        channel = {"type": "message", "channel_id": "C0HIRING", "message_ts": "1.0"}
        packed = slackreq.block_action(
            user, action_id, str(interview), trigger_id=bot.fake.issue_trigger(), container=channel
        )
        reply = bot.send(packed)
        wait_for(lambda: _counts(bot) != before, what=f"an answer to {action_id}")
        return Attempt(reply.status, _reply_text(reply) + _after(bot, before))

    return attempt


def _post_summary(bot: ServedBot) -> None:
    """Both of A's interviewers submit; the sweep posts A's summary."""
    for user, focus in (("U0AAA", "system_design"), ("U0BBB", "communication")):
        bot.give_feedback(user, {focus: ("senior", f"{user} saw it")}, recommendation="yes")
    bot.sweep()
    assert any(m.channel == "C0HIRING" for m in bot.fake.messages), "no summary was posted"


def _command(text: str) -> Callable[[ServedBot, str, int, str], Attempt]:
    def attempt(bot: ServedBot, user: str, interview: int, _public_id: str) -> Attempt:
        reply = bot.command(user, text.format(id=interview))
        return Attempt(reply.status, _reply_text(reply))

    return attempt


def _feedback_view(callback_id: str, page: int) -> Try:
    def attempt(bot: ServedBot, user: str, _interview: int, public_id: str) -> Attempt:
        view = {
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": json.dumps({"r": public_id, "p": page}),
            "blocks": [],
        }
        values = feedback_values(
            {"system_design": ("senior", "Forged evidence.")}, recommendation="yes"
        )
        reply = bot.submit(user, view, values)
        return Attempt(reply.status, _reply_text(reply))

    return attempt


def _schedule_view(bot: ServedBot, user: str, _interview: int, _public_id: str) -> Attempt:
    view = {"type": "modal", "callback_id": "schedule_submit", "blocks": []}
    reply = bot.submit(user, view, {})
    return Attempt(reply.status, _reply_text(reply))


TRIES: dict[str, Try] = {
    "schedule": _command("schedule"),
    "schedule modal": _schedule_view,
    "cancel": _command("cancel {id}"),
    "open form": _click("feedback_open"),
    "edit form": _click("feedback_edit"),
    "save page": _feedback_view("feedback_page", 0),
    "submit": _feedback_view("feedback_submit", 0),
    "snooze": _click("nudge_snooze_hour"),
    "decline": _click("nudge_not_attended"),
    "nudge now": _click("digest_nudge_now"),
    "summary": _command("summary {id}"),
    "calibration": _command("calibration --since 30d"),
    "debrief guide": _click_interview("summary_debrief"),
    "complete incomplete": _click("incomplete_complete"),
}
# What an action needs in place before anyone tries it (not part of any attempt).
SETUP: dict[str, Callable[[ServedBot], None]] = {"debrief guide": _post_summary}

# What a refused user reads, per action (a fragment of the message).
REFUSAL_SAYS = {
    "schedule": "Only recruiters can schedule interviews",
    "schedule modal": "Only recruiters can schedule interviews",
    "cancel": "Only recruiters can cancel interviews",
    "open form": "belongs to another interviewer",
    "edit form": "belongs to another interviewer",
    "save page": "belongs to another interviewer",
    "submit": "belongs to another interviewer",
    "snooze": "belongs to another interviewer",
    "decline": "belongs to another interviewer",
    "nudge now": "Only the interview's recruiter",
    "summary": "that you recruit for or lead",
    "calibration": "Calibration is for hiring leads and recruiters",
    "debrief guide": "that you recruit for or lead",
    "complete incomplete": "Only recruiters can complete and schedule interviews",
}


def test_the_expected_matrix_covers_every_action_and_persona() -> None:
    assert set(ALLOWED) == set(TRIES) == set(REFUSAL_SAYS)
    for allowed in ALLOWED.values():
        assert allowed <= set(PERSONAS)


@pytest.mark.parametrize("action", sorted(TRIES))
def test_every_role_tries_every_action(
    served: ServedBot, session_factory: sessionmaker[Session], action: str
) -> None:
    interview_id, public_id = ids(session_factory)
    if action in SETUP:
        SETUP[action](served)
    attempt = TRIES[action]
    refused = [p for p in PERSONAS if p not in ALLOWED[action]]
    tried = 0
    for persona in refused:
        user = PERSONAS[persona]
        before = snapshot(session_factory)
        audits = len(refusals(session_factory))
        seen = attempt(served, user, interview_id, public_id)
        tried += 1
        assert seen.status == 200, (persona, seen)
        assert REFUSAL_SAYS[action] in seen.seen, (persona, seen.seen[:500])
        assert CANDIDATE_A not in seen.seen  # a refusal reveals nothing of the interview
        assert snapshot(session_factory) == before, f"{action} as {persona} changed data"
        new = refusals(session_factory)[audits:]
        assert [(e.actor, (e.detail or {}).get("reason")) for e in new] == [
            (user, "not_allowed")
        ], (persona, [(e.actor, e.detail) for e in new])
    for persona in sorted(ALLOWED[action]):
        audits = len(refusals(session_factory))
        seen = attempt(served, PERSONAS[persona], interview_id, public_id)
        assert seen.status == 200
        assert REFUSAL_SAYS[action] not in seen.seen, (persona, seen.seen[:500])
        assert refusals(session_factory)[audits:] == [], f"{action} as {persona} was refused"
    reliability.record("authorization", f"refused:{action}", tried)


def test_app_home_and_list_show_each_person_only_their_own(served: ServedBot) -> None:
    for persona, user in PERSONAS.items():
        home = json.dumps(served.open_home(user))
        listed = _reply_text(served.command(user, "list"))
        sees_a = persona in ("recruiter", "hiring lead", "interviewer", "panel member")
        assert (CANDIDATE_A in home) is sees_a, (persona, home[:400])
        assert (CANDIDATE_A in listed) is sees_a, (persona, listed[:400])
        assert "Grace Hopper" not in home or persona == "another panel's member"
    reliability.record("authorization", "home and list views checked", len(PERSONAS) * 2)


def test_reliability_doc_shows_the_matrix_the_code_enforces() -> None:
    script = Path(__file__).resolve().parent.parent / "scripts" / "reliability_report.py"
    done = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_listener_is_behind_the_guard(served: ServedBot) -> None:
    """A listener added without the guard would skip the matrix: none may exist."""
    listeners = served.bot.app._listeners
    assert len(listeners) >= 11
    for listener in listeners:
        # Bolt adds built-in middleware objects; ours are functions it wraps (.func).
        names = [getattr(getattr(m, "func", None), "__name__", "") for m in listener.middleware]
        guards = [n for n in names if n.startswith("guard_")]
        assert len(guards) == 1, (listener.ack_function, names)
