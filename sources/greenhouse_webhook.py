"""``POST /webhooks/greenhouse``: Greenhouse's ``interview_deleted`` webhook cancels.

Polling (sources.greenhouse) sees every created, moved or cancelled interview;
a deleted one simply stops appearing, so Greenhouse's webhook for deletions is
what cancels it. As documented at developers.greenhouse.io/webhooks.html:

- ``Signature: sha256 <hex>``: HMAC-SHA256 of the raw body keyed by the webhook's
  secret key (GREENHOUSE_WEBHOOK_SECRET), checked before anything is parsed and
  compared in constant time; a missing or wrong one is 401.
- ``Greenhouse-Event-ID``: unique per delivery, the de-duplication key
  (storage.webhook_events), so a redelivery changes nothing.
- The body is ``{"action": "interview_deleted", "payload": {"interview": {"id": N}}}``
  where N is the scheduled interview's id (the polled interview's id).
- Greenhouse pings the URL when the webhook is saved (``action: "ping"``): 200.

Any other action answers 200 and is logged (Greenhouse disables a webhook that
keeps failing). A malformed body is 400 with a specific message, nothing changed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sources.greenhouse_rows import SOURCE, external_id
from sources.signatures import header, hmac_sha256_hex, same
from sources.webhooks import WebhookReply, bad_request, unauthorized
from sources.wiring import SourceDeps
from storage.intake import SourceRow
from storage.webhook_events import WEBHOOK_EVENT_ID_MAX, first_delivery

__all__ = ["PATH", "GreenhouseWebhook", "signature_header", "verify"]

logger = logging.getLogger(__name__)

PATH = "/webhooks/greenhouse"
SIGNATURE = "Signature"
EVENT_ID = "Greenhouse-Event-ID"
PING_ACTIONS = frozenset({"ping", "test"})


def signature_header(secret: str, body: bytes) -> dict[str, str]:
    """The header Greenhouse sends for ``body`` (tests and the docs' example use it)."""
    return {SIGNATURE: f"sha256 {hmac_sha256_hex(secret, body)}"}


def verify(secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    given = header(headers, SIGNATURE)
    if not given or len(given) > 200:
        return False
    scheme, _, digest = given.strip().partition(" ")
    if scheme.lower() != "sha256" or not digest.strip():
        return False
    return same(digest.strip(), hmac_sha256_hex(secret, body))


def _deleted_id(data: Mapping[str, Any]) -> int | str:
    """The deleted interview's id, or the 400 message saying what is wrong."""
    payload = data.get("payload")
    if not isinstance(payload, Mapping):
        return "payload must be an object"
    interview = payload.get("interview")
    if not isinstance(interview, Mapping):
        return "payload.interview must be an object"
    raw = interview.get("id")
    if isinstance(raw, bool) or not isinstance(raw, int) or raw <= 0 or raw > 2**63:
        return "payload.interview.id must be a positive integer"
    return raw


@dataclass
class GreenhouseWebhook:
    """The endpoint; registered only when GREENHOUSE_WEBHOOK_SECRET is set."""

    secret: str = field(repr=False)
    deps: SourceDeps
    path: str = PATH

    def handle(self, body: bytes, headers: Mapping[str, str]) -> WebhookReply:
        if not verify(self.secret, body, headers):
            return unauthorized()
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, ValueError, RecursionError):
            return bad_request("body is not JSON")
        if not isinstance(data, dict):
            return bad_request("body must be a JSON object")
        action = data.get("action")
        if not isinstance(action, str) or not action:
            return bad_request("action must be a non-empty string")
        if action in PING_ACTIONS:
            return WebhookReply(200, {"ok": True})
        if action != "interview_deleted":
            logger.info("greenhouse webhook: action %.40r not handled", action)
            return WebhookReply(200, {"ignored": action[:64]})
        deleted = _deleted_id(data)
        if isinstance(deleted, str):
            return bad_request(deleted)
        event_id = (header(headers, EVENT_ID) or "").strip() or f"interview_deleted:{deleted}"
        if len(event_id) > WEBHOOK_EVENT_ID_MAX:
            return bad_request(f"{EVENT_ID} is longer than {WEBHOOK_EVENT_ID_MAX} characters")
        return self._cancel(deleted, event_id)

    def _cancel(self, deleted: int, event_id: str) -> WebhookReply:
        deps = self.deps
        now = deps.clock()
        row = SourceRow(
            SOURCE,
            external_id(deleted),
            {},
            cancelled=True,
            where=f"greenhouse interview {deleted} (deleted)",
        )
        with deps.session_factory.begin() as session:
            if not first_delivery(session, SOURCE, event_id, now):
                return WebhookReply(200, {"duplicate": True})
            result = deps.intake.take(session, [row], now=now)  # a cancel: no emails
        deps.cancelled(result.cancelled_interviews, SOURCE)
        return WebhookReply(200, {"cancelled": result.cancelled})
