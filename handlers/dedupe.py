"""Bolt global middleware: each Slack event is processed once, however often it is delivered."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltResponse
from sqlalchemy.exc import SQLAlchemyError

from handlers.context import BotContext
from handlers.metrics import DUPLICATE_EVENTS
from storage.events import EVENT_ID_MAX, first_delivery

logger = logging.getLogger(__name__)


def dedupe_events(ctx: BotContext) -> Callable[..., BoltResponse | None]:
    """Drop an ``event_callback`` whose ``event_id`` was already taken in (storage.events)."""

    def dedupe(body: dict[str, Any], next: Callable[[], None]) -> BoltResponse | None:
        event_id = body.get("event_id")
        if (
            body.get("type") != "event_callback"
            or not isinstance(event_id, str)
            or not 0 < len(event_id) <= EVENT_ID_MAX
        ):
            next()
            return None
        try:
            with ctx.session_factory.begin() as session:
                first = first_delivery(session, event_id, now=ctx.now())
        except SQLAlchemyError as exc:
            # Not acked as done: Slack redelivers later (after 1 and 5 minutes).
            logger.error("an event was not taken in: database error %s", type(exc).__name__)
            return BoltResponse(status=503, body="database unavailable")
        if not first:
            DUPLICATE_EVENTS.inc()
            logger.info("an event was delivered again; already processed")
            return BoltResponse(status=200, body="")
        next()
        return None

    return dedupe
