"""De-duplication of vendor webhook redeliveries by (source, event id), in the database.

Vendors (Ashby, Greenhouse, Lever) redeliver an event when our answer was slow
or lost; the generic webhook's senders may retry too. The first delivery inserts
its id; every later one finds it and is dropped. Replicas share the table, so
exactly one of them takes an event in. Ids are kept a day (vendors retry within
hours), then pruned on the way.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from storage.events import insert_once
from storage.models import WebhookEvent

__all__ = ["KEEP_WEBHOOK_EVENTS", "WEBHOOK_EVENT_ID_MAX", "first_delivery"]

WEBHOOK_EVENT_ID_MAX = 128
KEEP_WEBHOOK_EVENTS = timedelta(days=1)


def first_delivery(
    session: Session,
    source: str,
    event_id: str,
    now: datetime,
    *,
    keep: timedelta = KEEP_WEBHOOK_EVENTS,
) -> bool:
    """Record ``(source, event_id)``; True the first time, False for a redelivery.

    Call it in the transaction that takes the event in: if that rolls back, so does
    the record, and the vendor's retry is processed. Raises ValueError for an id
    that is empty or longer than 128 characters (answer such a payload 400).
    """
    if not event_id or len(event_id) > WEBHOOK_EVENT_ID_MAX:
        raise ValueError(f"event id must be 1 to {WEBHOOK_EVENT_ID_MAX} characters")
    if not source or len(source) > 64:
        raise ValueError("source must be 1 to 64 characters")
    return insert_once(
        session,
        WebhookEvent,
        {"source": source, "event_id": event_id},
        received_at=now,
        keep=keep,
    )
