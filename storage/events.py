"""De-duplication of Slack events by ``event_id``, in the database so it survives restarts.

Slack redelivers an event (``X-Slack-Retry-Num``) when its ack did not arrive in
3 seconds; the bot may have taken the first delivery in anyway. The first
delivery inserts the id; every later one finds it and is dropped. Several
replicas share the table, so only one of them processes the event.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import SlackEvent, WebhookEvent

__all__ = ["EVENT_ID_MAX", "KEEP_EVENTS", "first_delivery", "insert_once"]

EVENT_ID_MAX = 64
# Slack retries within minutes; a day leaves a wide margin and a small table.
KEEP_EVENTS = timedelta(days=1)


def first_delivery(
    session: Session, event_id: str, *, now: datetime, keep: timedelta = KEEP_EVENTS
) -> bool:
    """Record ``event_id``; True the first time it is seen, False for a redelivery.

    Ids older than ``keep`` are pruned on the way (an indexed range delete).
    """
    if not event_id or len(event_id) > EVENT_ID_MAX:
        raise ValueError("event_id must be 1 to 64 characters")
    return insert_once(session, SlackEvent, {"event_id": event_id}, received_at=now, keep=keep)


def insert_once(
    session: Session,
    model: type[SlackEvent] | type[WebhookEvent],
    key: dict[str, str],
    *,
    received_at: datetime,
    keep: timedelta,
) -> bool:
    """Insert the id row ``key`` unless it exists; True if this call inserted it.

    Rows older than ``keep`` are pruned first (an indexed range delete). One
    statement decides, so two replicas racing on the same id cannot both win.
    """
    session.execute(sa.delete(model).where(model.received_at < received_at - keep))
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    columns = [getattr(model, name) for name in key]
    # RETURNING, not rowcount: drivers report -1 rows for an INSERT ... ON CONFLICT.
    inserted = session.execute(
        insert(model)
        .values(**key, received_at=received_at)
        .on_conflict_do_nothing(index_elements=columns)
        .returning(columns[0])
    ).scalar_one_or_none()
    return inserted is not None
