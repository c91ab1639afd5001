"""The recruiter's DM about an incomplete interview, as a job-engine kind, over the served bot.

Whom it reaches (the row's recruiter, else everyone in access.recruiters, user
groups expanded), and what a Slack failure does: a transient one backs off and
the DM follows once Slack answers; a permanent one is recorded and not retried.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import AccessConfig, FileConfig
from storage.models import IncompleteInterview
from tests.fakeslack import FakeSlack, Fault, running_fake
from tests.harness import ServedBot
from tests.test_e2e_generic_webhook import row
from tests.webhook_support import WEBHOOK_SECRET, post_webhook


@pytest.fixture
def served(engine: Engine, session_factory: sessionmaker[Session]) -> Iterator[ServedBot]:
    fakes: Iterator[FakeSlack] = running_fake()
    fake = next(fakes)
    for user in ("U0REC", "U0TEAM", "U0INGROUP", "U0LEAD", "U0AAA"):
        fake.add_user(user)
    fake.usergroups["S0RECRUIT"] = ["U0INGROUP", "U0TEAM"]
    bot = ServedBot(
        engine,
        session_factory,
        fake,
        file_config=FileConfig(access=AccessConfig(recruiters=("U0TEAM", "S0RECRUIT"))),
        extra_secrets={"webhook_secret": WEBHOOK_SECRET},
    )
    yield bot
    bot.close()
    assert fake.rejected == []
    next(fakes, None)


def stored(factory: sessionmaker[Session]) -> IncompleteInterview:
    with factory() as session:
        return session.scalars(sa.select(IncompleteInterview)).one()


def told(fake: FakeSlack, user: str) -> int:
    return sum("incomplete_complete" in str(m.blocks) for m in fake.messages_in(user))


def test_without_a_recruiter_the_whole_team_is_told(served: ServedBot) -> None:
    body = {"interviews": [row(recruiter=None, hiring_channel=None)]}
    body["interviews"][0].pop("recruiter")
    body["interviews"][0].pop("hiring_channel")
    body["interviews"][0]["panel"] = [{"interviewer": "U0AAA"}]
    assert post_webhook(served, body)[1]["incomplete"] == 1
    served.sweep()
    assert {u: told(served.fake, u) for u in ("U0TEAM", "U0INGROUP", "U0REC")} == {
        "U0TEAM": 1,
        "U0INGROUP": 1,
        "U0REC": 0,
    }
    text = str(served.fake.messages_in("U0TEAM")[0].blocks)
    assert "Recruiter" in text and "Hiring channel" in text


def test_a_transient_failure_backs_off_then_the_dm_follows(
    served: ServedBot, session_factory: sessionmaker[Session]
) -> None:
    unknown = row(panel=[{"interviewer": "eve@example.com"}])
    assert post_webhook(served, {"interviews": [unknown]})[1]["incomplete"] == 1
    for _ in range(5):  # past the client's own retries
        served.fake.fail("chat.postMessage", Fault(status=500))
    served.sweep()
    assert told(served.fake, "U0REC") == 0
    failed = stored(session_factory)
    assert failed.notify_attempts == 1 and failed.last_error
    assert failed.notify_due_at == served.clock() + timedelta(seconds=30)
    served.fake.faults.clear()
    served.sweep()
    assert told(served.fake, "U0REC") == 0, "retried before its backoff"
    served.clock.advance(timedelta(seconds=30))
    served.sweep()
    assert told(served.fake, "U0REC") == 1
    done = stored(session_factory)
    assert done.notified_at == served.clock() and done.notify_due_at is None


def test_a_permanent_failure_is_recorded_and_not_retried(
    served: ServedBot, session_factory: sessionmaker[Session]
) -> None:
    unknown = row(panel=[{"interviewer": "eve@example.com"}])
    assert post_webhook(served, {"interviews": [unknown]})[1]["incomplete"] == 1
    served.fake.fail(
        "chat.postMessage", Fault(status=200, body={"ok": False, "error": "user_not_found"})
    )
    served.sweep()
    failed = stored(session_factory)
    assert (failed.last_error, failed.notify_due_at) == ("user_not_found", None)
    served.clock.advance(timedelta(hours=2))
    served.sweep()
    assert told(served.fake, "U0REC") == 0
    assert len(served.fake.calls_to("chat.postMessage")) == 1
