"""Lever: ``POST /webhooks/lever`` for interviewCreated, interviewUpdated and interviewDeleted.

Order of work on each request (docs/sources/lever.md):

1. The signature inside the body (sources.lever_events) matches one of the
   configured signature tokens, or 401 and nothing else is read.
2. The event: another event answers 200 and is logged; a malformed interview
   event answers 400.
3. A delivery whose ``token`` was taken in before answers 200 and changes nothing.
4. The interview, its opportunity, posting and feedback form come from Lever's API
   (the webhook's ``data`` is not signed: only its ids are used). Lever failing
   answers 503 with nothing changed, and Lever retries.
5. One transaction records the token (storage.webhook_events) and takes the row in
   through the shared intake (storage.intake.intake_rows): created, moved (the due
   times move with it), cancelled (deleted, canceled or gone in Lever) or stored as
   incomplete. After it commits, the sent form DMs of cancelled interviews are
   updated (``on_cancelled``, from the Slack side).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from sources.lever_api import LeverApi, LeverUnavailable
from sources.lever_events import (
    LeverEvent,
    Malformed,
    parse_event,
    read_envelope,
    verified,
)
from sources.lever_rows import SOURCE, cancelled_row, interview_row
from sources.webhooks import WebhookReply, bad_request, unauthorized
from sources.wiring import SourceDeps
from storage.intake import IntakeResult, SourceRow
from storage.models import WebhookEvent
from storage.webhook_events import first_delivery

__all__ = ["LeverEndpoint", "signature_tokens"]

logger = logging.getLogger(__name__)

PATH = "/webhooks/lever"


def signature_tokens(value: str) -> tuple[str, ...]:
    """LEVER_SIGNATURE_TOKEN: one token, or several (one per Lever webhook) split by commas."""
    return tuple(part.strip() for part in value.replace("\n", ",").split(",") if part.strip())


class LeverEndpoint:
    path = PATH

    def __init__(self, tokens: Sequence[str], api: LeverApi, deps: SourceDeps) -> None:
        if not tokens:
            raise ValueError("a Lever endpoint needs at least one signature token")
        self._tokens = tuple(tokens)
        self._api = api
        self._deps = deps

    def handle(self, body: bytes, headers: Mapping[str, str]) -> WebhookReply:
        envelope = read_envelope(body)
        if envelope is None or not verified(envelope, self._tokens):
            return unauthorized("missing or wrong Lever signature")
        try:
            event = parse_event(envelope)
        except Malformed as exc:
            return bad_request(str(exc))
        if isinstance(event, str):
            logger.info("lever event %s not handled", event[:64])
            return WebhookReply(200, {"ignored": event})
        try:
            if self._seen(event.token):
                return WebhookReply(200, {"duplicate": True})
            row = self._fetch(event)
            return self._take_in(event, row)
        except SQLAlchemyError as exc:
            logger.error("lever: the database failed (%s); answered 503", type(exc).__name__)
            return WebhookReply(503, {"error": "the database is unavailable; retry later"})
        except LeverUnavailable as exc:
            logger.warning(
                "lever %s %s: Lever API unavailable: %s", event.event, event.interview_id, exc
            )
            return WebhookReply(503, {"error": "Lever's API is unavailable; retry later"})

    def _seen(self, token: str) -> bool:
        # Before calling Lever: a replayed delivery must cost nothing.
        with self._deps.session_factory() as session:
            found = session.execute(
                sa.select(WebhookEvent.event_id).where(
                    WebhookEvent.source == SOURCE, WebhookEvent.event_id == token
                )
            ).first()
        return found is not None

    def _fetch(self, event: LeverEvent) -> SourceRow:
        # Deleted or not, Lever's API decides: the unsigned ``data`` never cancels by itself.
        found = self._api.interview(event.opportunity_id, event.interview_id)
        if found is None:
            return cancelled_row(event.interview_id)
        if event.event == "interviewDeleted":
            logger.info("lever interview %s deleted but still in Lever: synced", event.interview_id)
        return interview_row(event.interview_id, found)

    def _take_in(self, event: LeverEvent, row: SourceRow) -> WebhookReply:
        deps = self._deps
        # Slack's email lookups before the transaction: it holds the token's row meanwhile.
        resolve = deps.prefetch([row])
        now = deps.clock()
        with deps.session_factory.begin() as session:
            if not first_delivery(session, SOURCE, event.token, now):
                return WebhookReply(200, {"duplicate": True})
            result = deps.intake.take(session, [row], now=now, resolve_email=resolve)
        outcome = result.outcomes[0] if result.outcomes else "unchanged"
        logger.info("lever %s %s: %s", event.event, event.interview_id, outcome)
        if result.errors:
            fields = ", ".join(sorted({error.field for error in result.errors}))
            logger.warning("lever interview %s is invalid (%s)", event.interview_id, fields)
        # Committed: the DMs are updated by a later path if this fails, not retried here.
        deps.cancelled(result.cancelled_interviews, SOURCE)
        return WebhookReply(200, _answer(outcome, result))


def _answer(outcome: str, result: IntakeResult) -> dict[str, object]:
    answer: dict[str, object] = {"outcome": outcome}
    if result.errors:
        # Lever's own data does not pass validation: retrying would not help.
        answer["errors"] = [
            {"field": error.field, "message": error.message} for error in result.errors
        ]
    return answer
