"""The fast path of a stored submission: how many SQL statements and transactions it costs.

One first submission of a one-page form, through Slack over HTTP, counted at the
engine from the request to the DM refreshed after the ack. The counts are printed
(``-s``) for docs/PERFORMANCE.md and bounded here, so a flow that starts loading
its request again, or opens another transaction, fails.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import AccessConfig, FileConfig
from storage.models import Feedback
from tests.fakeslack import FakeSlack, running_fake
from tests.harness import ServedBot, feedback_values

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
      - interviewer: U0AAA
        focus: [system_design]
      - interviewer: U0BBB
        focus: []
"""


REQUEST_ROW = "SELECT feedback_requests.id, feedback_requests.public_id"


class Counter:
    """Statements and transactions (BEGINs) the engine ran, by thread-safe count."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statements: list[str] = []
        self.transactions = 0

    def on_execute(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        with self.lock:
            self.statements.append(" ".join(statement.split()))

    def on_begin(self, conn: Any) -> None:
        with self.lock:
            self.transactions += 1


@contextmanager
def counting(engine: Engine, counter: Counter) -> Iterator[Counter]:
    event.listen(engine, "before_cursor_execute", counter.on_execute)
    event.listen(engine, "begin", counter.on_begin)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", counter.on_execute)
        event.remove(engine, "begin", counter.on_begin)


@pytest.fixture
def served(
    engine: Engine, session_factory: sessionmaker[Session], tmp_path: Path
) -> Iterator[ServedBot]:
    fake_gen = running_fake()
    fake: FakeSlack = next(fake_gen)
    for user in ("U0AAA", "U0BBB", "U0RECRUIT", "U0LEAD"):
        fake.add_user(user, tz="UTC")
    bot = ServedBot(
        engine,
        session_factory,
        fake,
        file_config=FileConfig(access=AccessConfig(recruiters=("U0RECRUIT",))),
    )
    path = tmp_path / "interviews.yaml"
    path.write_text(INTERVIEW)
    bot.import_file(path)
    yield bot
    bot.close()
    next(fake_gen, None)


def test_a_stored_submission_costs_one_transaction(served: ServedBot, engine: Engine) -> None:
    served.clock.now = served.clock.now.replace(hour=10, minute=6)
    served.sweep()
    dm = [m for m in served.fake.messages if m.channel == "U0AAA"][-1]
    value = next(
        e["value"]
        for b in dm.blocks
        for e in [b.get("accessory"), *b.get("elements", [])]
        if isinstance(e, dict) and e.get("action_id") == "feedback_open"
    )
    clicked = Counter()
    with counting(engine, clicked):
        served.click("U0AAA", "feedback_open", value)
    print(
        f"\n[{engine.dialect.name}] form opened: {len(clicked.statements)} statements, "
        f"{clicked.transactions} transactions"
    )
    assert clicked.transactions == 1  # the guard's decision and the form's read: 2 before
    view = served.last_opened_view()
    values = feedback_values(
        {"system_design": ("senior", "Clear trade-offs."), "learning": ("not_assessed", "")},
        recommendation="yes",
    )
    counter = Counter()
    with counting(engine, counter):
        reply = served.submit_and_settle("U0AAA", view, values)
    assert reply.status == 200 and not reply.body
    verbs = [s.split(None, 1)[0].upper() for s in counter.statements]
    kinds = {k: verbs.count(k) for k in sorted(set(verbs))}
    print(
        f"\n[{engine.dialect.name}] stored submission: {len(counter.statements)} statements "
        f"({kinds}), {counter.transactions} transactions"
    )
    # Stored, and the DM shows it (its Edit button) from what the flow returned.
    with served.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Feedback)) == 1
    update = served.fake.calls_to("chat.update")[-1].args
    assert update["channel"] == dm.channel and "feedback_edit" in json.dumps(update["blocks"])
    # One transaction from the guard's decision to the commit, none for the DM refresh;
    # the request row read once (by the guard). Before: 3 transactions, 32 statements
    # on SQLite (3 of them BEGIN IMMEDIATE) and 28 on PostgreSQL; after: 21 and 19.
    assert counter.transactions == 1
    request_reads = [s for s in counter.statements if s.startswith(REQUEST_ROW)]
    assert len(request_reads) == 1, request_reads
    assert len(counter.statements) <= 21, "\n".join(counter.statements)
