"""Forged values in Slack-signed requests: refused with a clear message, nothing stored, audited.

A signed request can still carry anything in a button value or a modal's
``private_metadata`` (a user edits a payload, or replays an old one). The guard
must refuse another request's id, garbage, oversized strings, and ids of
cancelled or summarised interviews, and the audit trail must say so without
storing the forged value itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import AccessConfig, FileConfig
from storage.models import AuditEvent, Feedback, FeedbackRequest, Interview
from tests import reliability, slackreq
from tests.fakeslack import FakeSlack, running_fake
from tests.harness import ServedBot, feedback_values, wait_for
from tests.test_authz_matrix import IMPORT, PERSONAS, snapshot

GARBAGE = [
    "",
    "x" * 5000,
    "../../etc/passwd",
    "' OR 1=1 --",
    "🙂🙂🙂",
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  # well-formed charset, too long
    "nosuchrequest0000",  # well-formed, unknown
    "\x00\x1f<script>",
]
BUTTONS = ["feedback_open", "feedback_edit", "nudge_snooze_hour", "nudge_not_attended"]


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
        file_config=FileConfig(access=AccessConfig(recruiters=("U0REC",))),
    )
    path = tmp_path / "interviews.yaml"
    path.write_text(IMPORT)
    bot.import_file(path)
    bot.sweep()
    yield bot
    bot.close()
    assert fake.rejected == []


def public_id(factory: sessionmaker[Session], user: str) -> str:
    with factory() as session:
        return session.scalars(
            sa.select(FeedbackRequest.public_id).where(FeedbackRequest.interviewer == user)
        ).one()


def interview_id(factory: sessionmaker[Session], external_id: str) -> int:
    with factory() as session:
        return session.scalars(
            sa.select(Interview.id).where(Interview.external_id == external_id)
        ).one()


def refused(factory: sessionmaker[Session]) -> list[AuditEvent]:
    with factory() as session:
        return list(
            session.scalars(
                sa.select(AuditEvent)
                .where(AuditEvent.action == "access.refused")
                .order_by(AuditEvent.id)
            )
        )


def answers_seen(bot: ServedBot, before: int) -> str:
    calls = [
        c
        for c in bot.fake.calls[before:]
        if c.method in ("views.open", "chat.postEphemeral", "chat.update", "chat.postMessage")
    ]
    return json.dumps([c.args for c in calls])


def click(bot: ServedBot, user: str, action_id: str, value: str) -> str:
    before = len(bot.fake.calls)
    reply = bot.send(
        slackreq.block_action(user, action_id, value, trigger_id=bot.fake.issue_trigger())
    )
    assert reply.status == 200
    wait_for(lambda: answers_seen(bot, before) != "[]", what=f"an answer to {action_id}")
    return answers_seen(bot, before)


def submit(bot: ServedBot, user: str, metadata: str, *, values: object = None) -> dict[str, object]:
    view = {"type": "modal", "callback_id": "feedback_submit", "private_metadata": metadata}
    reply = bot.submit(
        user,
        view,
        values  # type: ignore[arg-type]
        if values is not None
        else feedback_values(
            {"system_design": ("senior", "Forged."), "learning": ("not_assessed", "")},
            recommendation="yes",
        ),
    )
    assert reply.status == 200, reply
    return dict(reply.json() or {})


def test_garbage_and_foreign_button_values_are_refused_and_audited(
    served: ServedBot, session_factory: sessionmaker[Session]
) -> None:
    others = public_id(session_factory, "U0BBB")
    for action_id in BUTTONS:
        for value in [*GARBAGE, others]:
            before, audits = snapshot(session_factory), len(refused(session_factory))
            seen = click(served, "U0AAA", action_id, value)
            assert any(
                phrase in seen
                for phrase in ("not valid", "couldn't find", "belongs to another interviewer")
            ), (action_id, value[:40], seen[:300])
            assert snapshot(session_factory) == before
            [event] = refused(session_factory)[audits:]
            assert event.actor == "U0AAA"
            assert (event.detail or {})["reason"] in ("malformed", "not_found", "not_allowed")
            if value:  # the forged value itself is never stored
                assert value[:12] not in json.dumps(event.detail) + event.entity_id
            reliability.record("authorization", "forged button values refused", 1)


@pytest.mark.parametrize(
    "metadata",
    [
        "",
        "not json",
        "[]",
        json.dumps({"r": "x" * 5000, "p": 0}),
        json.dumps({"r": "nosuchrequest0000", "p": 0}),
        json.dumps({"r": 42, "p": 0}),
        json.dumps({"r": "ok", "p": 0, "extra": 1}),
        "x" * 4000,
    ],
)
def test_forged_private_metadata_is_refused_and_audited(
    served: ServedBot, session_factory: sessionmaker[Session], metadata: str
) -> None:
    before, audits = snapshot(session_factory), len(refused(session_factory))
    answer = submit(served, "U0AAA", metadata)
    assert answer["response_action"] == "update"
    notice = json.dumps(answer["view"])
    assert "not valid" in notice or "couldn't find" in notice, notice
    assert snapshot(session_factory) == before
    [event] = refused(session_factory)[audits:]
    assert (event.detail or {})["reason"] in ("malformed", "not_found")
    reliability.record("authorization", "forged private_metadata refused", 1)


def test_another_interviewers_request_in_private_metadata_is_refused(
    served: ServedBot, session_factory: sessionmaker[Session]
) -> None:
    metadata = json.dumps({"r": public_id(session_factory, "U0BBB"), "p": 0})
    answer = submit(served, "U0AAA", metadata)
    assert "belongs to another interviewer" in json.dumps(answer["view"])
    with session_factory() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == 0
    [event] = refused(session_factory)
    assert (event.entity, (event.detail or {})["reason"]) == ("request", "not_allowed")
    reliability.record("authorization", "forged private_metadata refused", 1)


def test_a_cancelled_interview_refuses_everything_on_it(
    served: ServedBot, session_factory: sessionmaker[Session]
) -> None:
    interview = interview_id(session_factory, "a")
    assert "is cancelled" in served.command("U0REC", f"cancel {interview}").body.decode()
    mine = public_id(session_factory, "U0AAA")
    before = snapshot(session_factory)
    answer = submit(served, "U0AAA", json.dumps({"r": mine, "p": 0}))
    assert "was cancelled" in json.dumps(answer["view"])
    for action_id in BUTTONS:
        assert "was cancelled" in click(served, "U0AAA", action_id, mine)
    assert snapshot(session_factory) == before
    reasons = [(e.detail or {})["reason"] for e in refused(session_factory)]
    assert reasons == ["cancelled"] * (1 + len(BUTTONS))
    reliability.record("authorization", "actions on cancelled interviews refused", len(reasons))


def test_a_summarised_interview_locks_feedback_and_cannot_be_cancelled(
    served: ServedBot, session_factory: sessionmaker[Session]
) -> None:
    for user, skill in (("U0AAA", "system_design"), ("U0BBB", "communication")):
        served.give_feedback(user, {skill: ("senior", "Seen.")}, recommendation="yes")
    served.sweep()  # the whole panel is in: the summary goes out
    interview = interview_id(session_factory, "a")
    with session_factory() as session:
        assert session.get(Interview, interview).state.value == "summarised"  # type: ignore[union-attr]
    before = snapshot(session_factory)
    edit = submit(served, "U0AAA", json.dumps({"r": public_id(session_factory, "U0AAA"), "p": 0}))
    assert "locked" in json.dumps(edit["view"])
    cancel = served.command("U0REC", f"cancel {interview}").body.decode()
    assert "already summarised" in cancel
    assert snapshot(session_factory) == before
    reasons = [(e.detail or {})["reason"] for e in refused(session_factory)]
    assert reasons == ["locked", "summarised"]
    reliability.record("authorization", "changes to summarised interviews refused", 2)


def test_interview_numbers_reveal_nothing_to_outsiders(
    served: ServedBot, session_factory: sessionmaker[Session]
) -> None:
    real = interview_id(session_factory, "a")
    for text in (f"summary {real}", "summary 999999", "summary 0"):
        reply = served.command("U0STRANGER", text).body.decode()
        assert "Ada" not in reply and "Lovelace" not in reply
    exists = served.command("U0STRANGER", f"summary {real}").json()["text"]
    missing = served.command("U0STRANGER", "summary 999999").json()["text"]
    assert exists.replace(str(real), "N") == missing.replace("999999", "N")
    huge = served.command("U0STRANGER", "summary " + "9" * 5000).json()["text"]
    assert "Usage" in huge
    reliability.record("authorization", "summary probes by outsiders refused", 4)
