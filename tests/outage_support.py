"""Shared by the outage and crash tests: many forms, their modals, and what an ack said.

Everything here talks to the bot the way Slack does (signed HTTP to
``/slack/events``) and reads what the bot sent from the fake Slack, so the same
helpers drive the in-process ``ServedBot`` and an ``interview-bot serve`` process.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from storage.models import AuditEvent, Feedback, FeedbackRequest
from tests import slackreq
from tests.fakeslack import FakeSlack
from tests.harness import SIGNING_SECRET, feedback_values, wait_for

Outcome = Literal["stored", "save_failed", "other"]

# What the interviewer must read when the database failed: not saved, submit again.
_SAYS_NOT_SAVED = re.compile(r"not (be )?saved.*submit again", re.IGNORECASE | re.DOTALL)


def write_interviews(
    path: Path,
    count: int,
    panel: list[str],
    *,
    ends_at: datetime,
    rubric: str = "mle",
    role: str = "Senior ML Engineer",
) -> Path:
    """``count`` interviews with the same panel (no focus skills), all ended at ``ends_at``."""
    starts_at = ends_at - timedelta(hours=1)
    lines = ["interviews:"]
    for i in range(count):
        lines += [
            f"  - external_id: outage-{i}",
            f"    candidate: Candidate {i}",
            f"    rubric: {rubric}",
            f"    role: {role}",
            f"    starts_at: {starts_at.isoformat()}",
            f"    ends_at: {ends_at.isoformat()}",
            "    hiring_channel: C0HIRING",
            "    recruiter: U0RECRUIT",
            "    hiring_lead: U0LEAD",
            "    panel:",
            *[f"      - interviewer: {user}" for user in panel],
        ]
    path.write_text("\n".join(lines) + "\n")
    return path


def form_buttons(fake: FakeSlack) -> list[tuple[str, str]]:
    """(interviewer, the button's value) of every form DM the fake received."""
    found = []
    for message in fake.messages:
        for block in message.blocks:
            for element in [block.get("accessory"), *block.get("elements", [])]:
                if isinstance(element, dict) and element.get("action_id") == "feedback_open":
                    found.append((message.channel, str(element["value"])))
    return found


def open_forms(
    events_url: str, fake: FakeSlack, buttons: Iterable[tuple[str, str]]
) -> dict[str, tuple[str, dict[str, Any]]]:
    """Each form's modal as Slack would hold it when the interviewer presses Submit.

    Returns ``{public_id: (interviewer, view)}``. The first form of each
    interviewer is really opened (its button clicked over signed HTTP, the modal
    taken from the fake's ``views.open``); their other forms get that modal
    retargeted through ``private_metadata``, which with the answers is all the bot
    reads back from a submission. (The fake checks each opened modal against Block
    Kit, ~30 ms apiece: hundreds of real opens would dominate these tests.)
    """
    buttons = list(buttons)
    first: dict[str, str] = {}
    for user, value in buttons:
        first.setdefault(user, value)
    before = len(fake.calls_to("views.open"))
    for user, value in first.items():
        body, ctype = slackreq.block_action(
            user, "feedback_open", value, trigger_id=fake.issue_trigger()
        )
        assert slackreq.post(events_url, body, ctype, secret=SIGNING_SECRET).status == 200
    wait_for(
        lambda: len(fake.calls_to("views.open")) >= before + len(first),
        what=f"{len(first)} modals",
        timeout=30,
    )
    templates: dict[str, dict[str, Any]] = {}
    for call in fake.calls_to("views.open")[before:]:
        view = call.args["view"]
        view = view if isinstance(view, dict) else json.loads(view)
        metadata = json.loads(view["private_metadata"])
        user = next(u for u, v in first.items() if v == metadata["r"])
        assert metadata == {"r": first[user], "p": 0}, "a one-page modal naming its form"
        templates[user] = view
    views: dict[str, tuple[str, dict[str, Any]]] = {}
    for user, value in buttons:
        view = copy.deepcopy(templates[user])
        view["private_metadata"] = json.dumps({"r": value, "p": 0}, separators=(",", ":"))
        views[value] = (user, view)
    return views


def answers(public_id: str) -> dict[str, Any]:
    """A complete final page; the notes name the request, to check what got stored."""
    return feedback_values(
        {"fundamentals": ("senior", "Explained bias and variance with an example.")},
        recommendation="yes",
        notes=f"notes for {public_id}",
    )


def input_block_ids(view: dict[str, Any]) -> set[str]:
    return {str(b.get("block_id")) for b in view.get("blocks", []) if b.get("type") == "input"}


def outcome_of(reply: slackreq.Reply, view: dict[str, Any]) -> Outcome:
    """What Slack would show for this answer to a final view_submission.

    ``stored``: an empty 200 (or ``response_action: clear``), which closes the
    modal. ``save_failed``: the modal stays open with the could-not-save error on
    one of its real input blocks. Anything else (a 500, a 404 for a missing
    ack, another error) is ``other``.
    """
    if reply.status != 200:
        return "other"
    if not reply.body.strip():
        return "stored"
    try:
        payload = json.loads(reply.body)
    except ValueError:
        return "other"
    if payload in ({}, {"response_action": "clear"}):
        return "stored"
    errors = payload.get("errors") if isinstance(payload, dict) else None
    if (
        payload.get("response_action") == "errors"
        and isinstance(errors, dict)
        and len(errors) == 1
        and set(errors) <= input_block_ids(view)
        and all(_SAYS_NOT_SAVED.search(str(message)) for message in errors.values())
    ):
        return "save_failed"
    return "other"


def stored_feedback(engine: Engine) -> dict[str, str]:
    """Stored feedback by request public id: its notes."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(FeedbackRequest.public_id, Feedback.notes).join(
                Feedback, Feedback.request_id == FeedbackRequest.id
            )
        ).all()
    return {str(public_id): str(notes) for public_id, notes in rows}


def duplicates(engine: Engine) -> int:
    """Feedback stored more than once: extra rows per request, plus extra "created" audits."""
    with engine.connect() as conn:
        rows = conn.scalar(sa.select(sa.func.count()).select_from(Feedback)) or 0
        requests = conn.scalar(sa.select(sa.func.count(sa.distinct(Feedback.request_id)))) or 0
        created = (
            conn.scalar(
                sa.select(sa.func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "feedback.submitted")
            )
            or 0
        )
    return (rows - requests) + max(created - requests, 0)


def record(name: str, figures: dict[str, Any]) -> None:
    """Print the figures; write them to ``$RELIABILITY_REPORT_DIR/<name>.json`` when it is set."""
    print(f"{name}: {json.dumps(figures, sort_keys=True)}")
    target = os.environ.get("RELIABILITY_REPORT_DIR")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        (Path(target) / f"{name}.json").write_text(json.dumps(figures, indent=2, sort_keys=True))
