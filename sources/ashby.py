"""Ashby's webhooks at ``POST /webhooks/ashby``: interview schedules become interviews.

Ashby signs each request with the webhook's secret token: ``Ashby-Signature:
sha256=<hex HMAC-SHA256 of the raw body>`` (docs "Authenticating Webhooks"). The
signature is checked before the body is parsed, in constant time; a wrong one is
401, which Ashby does not retry (docs "Retries"). Then:

* ``ping`` (sent when the webhook is created or edited) answers 200, or Ashby
  leaves the webhook disabled;
* ``interviewScheduleCreate`` / ``interviewScheduleUpdate``: one interview per
  interview event (``ashby:<event id>``), moved when its times change, cancelled
  when the schedule is ``Cancelled`` or the event left the schedule;
* any other action: 200 and a log line (Ashby would otherwise retry it 10 times).

Redeliveries carry the same ``webhookActionId`` and change nothing
(storage.webhook_events). A malformed payload is 400 with what is wrong. When
Ashby's API cannot be reached for the names, the answer is 503 before anything is
written, so Ashby retries the webhook later.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from sources.ashby_api import AshbyApi, AshbyUnavailable, fetch_details
from sources.ashby_names import split_unnamed, store_unnamed
from sources.ashby_payload import (
    ACTIONS,
    SOURCE,
    AshbySchedule,
    PayloadError,
    delivery_id,
    parse_action,
    parse_schedule,
    schedule_rows,
    schedule_source,
    version_of,
)
from sources.signatures import header as find_header
from sources.signatures import hmac_sha256_hex, same
from sources.webhooks import WebhookReply, bad_request, unauthorized
from sources.wiring import SourceDeps
from storage.import_file import EmailResolver
from storage.intake import IntakeResult, SourceRow, cancel_missing
from storage.models import WebhookEvent
from storage.webhook_events import first_delivery

__all__ = ["PATH", "SIGNATURE_HEADER", "AshbyEndpoint", "sign"]

logger = logging.getLogger(__name__)

PATH = "/webhooks/ashby"
SIGNATURE_HEADER = "Ashby-Signature"


def sign(secret: str, body: bytes) -> dict[str, str]:
    """The header Ashby sends with ``body`` (for tests and the setup docs)."""
    return {SIGNATURE_HEADER: f"sha256={hmac_sha256_hex(secret, body)}"}


def verify(secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    given = find_header(headers, SIGNATURE_HEADER)
    if not given or len(given) > 200:
        return False
    scheme, _, digest = given.strip().partition("=")
    if scheme.lower() != "sha256" or not digest:
        return False
    return same(digest, hmac_sha256_hex(secret, body))


@dataclass
class AshbyEndpoint:
    """The ``/webhooks/ashby`` endpoint (registered only when ASHBY_WEBHOOK_SECRET is set)."""

    secret: str = field(repr=False)
    deps: SourceDeps
    api: AshbyApi | None = None  # None without ASHBY_API_KEY: names unknown, rows incomplete
    path: str = PATH

    def handle(self, body: bytes, headers: Mapping[str, str]) -> WebhookReply:
        if not verify(self.secret, body, headers):
            return unauthorized()
        try:
            action, doc = parse_action(body)
        except PayloadError as exc:
            return bad_request(_printable(str(exc)))
        if action == "ping":
            return WebhookReply(200, {"ok": True})
        if action not in ACTIONS:
            logger.info("ashby: action %r is not handled; ignored", action[:80])
            return WebhookReply(200, {"ignored": _printable(action[:80])})
        try:
            schedule = parse_schedule(doc)
        except PayloadError as exc:
            return bad_request(_printable(str(exc)))
        return self._take(schedule, delivery_id(doc, body, action))

    def _take(self, schedule: AshbySchedule, event_id: str) -> WebhookReply:
        if self._seen(event_id):
            return WebhookReply(200, {"duplicate": True})
        try:
            details = fetch_details(self.api, schedule)
        except AshbyUnavailable as exc:
            logger.warning("ashby: API unavailable for schedule %s: %s", schedule.id, exc)
            return WebhookReply(503, {"error": "Ashby's API is unavailable; retry later"})
        rows = schedule_rows(schedule, details)
        resolve = self.deps.prefetch(rows)  # Slack, before locks
        session = self.deps.session_factory()
        try:
            reply, cancelled = self._write(session, schedule, event_id, rows, resolve)
        finally:
            session.close()  # rolls back whatever was not committed
        self.deps.cancelled(cancelled, SOURCE)
        return reply

    def _write(
        self,
        session: Session,
        schedule: AshbySchedule,
        event_id: str,
        rows: Sequence[SourceRow],
        resolve: EmailResolver | None,
    ) -> tuple[WebhookReply, tuple[int, ...]]:
        """Take the rows in one transaction: all of them, or (400) none."""
        now, intake = self.deps.clock(), self.deps.intake
        if not first_delivery(session, SOURCE, event_id, now):
            return WebhookReply(200, {"duplicate": True}), ()  # a replica took it meanwhile
        if _stale(session, schedule, now):
            session.commit()  # recorded: its own retries are stale too
            logger.info("ashby: schedule %s: an older version came late; ignored", schedule.id)
            return WebhookReply(200, {"stale": True}), ()
        ready, unnamed = split_unnamed(session, rows)
        result = intake.take(session, ready, now=now, resolve_email=resolve, all_or_nothing=True)
        if result.errors:
            session.rollback()  # nothing changed, the delivery not recorded either
            return bad_request("interview events are invalid", errors=_errors(result)), ()
        store_unnamed(session, unnamed, mapping=intake.mapping, now=now)
        seen = set() if schedule.cancelled else {row.external_id for row in rows}
        removed = cancel_missing(
            session, source=schedule_source(schedule), seen_external_ids=seen, now=now
        )
        session.commit()
        counts = result.counts()
        counts["cancelled"] += len(removed)
        counts["incomplete"] += len(unnamed)
        logger.info("ashby: schedule %s taken in: %s", schedule.id, counts)
        return WebhookReply(200, counts), (*result.cancelled_interviews, *removed)

    def _seen(self, event_id: str) -> bool:
        """Already taken in? Checked first, so a replay costs no API calls (then rolled back)."""
        session = self.deps.session_factory()
        try:
            return not first_delivery(session, SOURCE, event_id, self.deps.clock())
        finally:
            session.rollback()
            session.close()


def _stale(session: Session, schedule: AshbySchedule, now: datetime) -> bool:
    """Is a newer version of this schedule (by ``updatedAt``) already taken in?

    Ashby retries a failed delivery for hours, so an older update can arrive after
    a newer one; applied, it would move interviews back. The versions taken in are
    kept as the schedule's webhook events (pruned after a day, like every event id).
    """
    version = version_of(schedule)
    if version is None:
        return False
    source = schedule_source(schedule)
    newest = session.scalar(
        sa.select(sa.func.max(WebhookEvent.event_id)).where(WebhookEvent.source == source)
    )
    if newest is not None and newest > version:
        return True
    first_delivery(session, source, version, now)
    return False


def _errors(result: IntakeResult) -> list[dict[str, Any]]:
    return [
        {"index": e.index, "field": _printable(e.field), "message": _printable(e.message)}
        for e in result.errors
    ]


def _printable(text: str) -> str:
    """Payload text echoed in an answer: lone surrogates (valid in JSON, not in UTF-8) escaped."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
