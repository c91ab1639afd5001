"""Outgoing webhook deliveries: the outbox fanned out per receiver, sent at least once.

``storage.summaries`` writes an :class:`~storage.models.OutboxEvent` in the
transaction that posts or updates a summary. :func:`fan_out_event` turns one
into one :class:`~storage.models.OutgoingDelivery` per receiver that wants the
event and deletes it, in one transaction: the DELETE is the claim (only the
transaction whose DELETE removed the row inserts deliveries; on PostgreSQL the
read skips rows another replica holds), so the fan-out happens once however many
replicas sweep. Each delivery stores its exact body, so every retry sends the
same bytes under the same delivery id. The engine (storage.jobs) claims due
deliveries; a failure backs off and, after :data:`MAX_ATTEMPTS` attempts or
:data:`GIVE_UP_AFTER`, is given up (kept, with its last error, until pruned).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.export import interview_record
from storage.export_json import export_document, iso
from storage.jobs import DEFAULT_LEASE, backoff, claim_due
from storage.locking import rowcount
from storage.models import OutboxEvent, OutgoingDelivery

__all__ = [
    "GIVE_UP_AFTER",
    "KEEP_FINISHED",
    "MAX_ATTEMPTS",
    "OUTGOING_EVENTS",
    "Delivery",
    "FailureOutcome",
    "FanOut",
    "Receiver",
    "claim_due_deliveries",
    "fan_out",
    "fan_out_event",
    "load_delivery",
    "mark_delivered",
    "pending_outbox",
    "prune_deliveries",
    "record_delivery_failure",
]

OUTGOING_EVENTS = ("summary.posted", "summary.updated")

MAX_ATTEMPTS = 30  # with the engine's backoff (30 s doubling, 1 h cap) about a day
GIVE_UP_AFTER = timedelta(hours=24)
MAX_RETRY_AFTER = timedelta(hours=6)  # a receiver's Retry-After is honoured up to this
KEEP_FINISHED = timedelta(days=7)  # after GIVE_UP_AFTER: rows kept for `last_error` and support


@dataclass(frozen=True)
class Receiver:
    """One configured receiver (config ``outgoing_webhooks:``)."""

    url: str
    events: tuple[str, ...] = OUTGOING_EVENTS
    include_notes: bool = False


@dataclass(frozen=True)
class Delivery:
    """What one attempt needs: the stored body is sent as is, every time."""

    id: str
    url: str
    event: str
    interview_id: int | None
    body: bytes
    attempts: int  # attempts made before this one


@dataclass(frozen=True)
class FanOut:
    """One outbox event fanned out: its name and how many deliveries it made."""

    event: str
    created: int


@dataclass(frozen=True)
class FailureOutcome:
    gave_up: bool
    attempts: int
    next_attempt_at: datetime | None


def pending_outbox(session: Session, *, limit: int, skip: Collection[int] = ()) -> list[int]:
    """Ids of outbox events not yet fanned out, oldest first (a plain read, no claim).

    ``skip``: events whose fan-out failed and waits out its backoff; left out here, so
    they never crowd the newer events out of ``limit``.
    """
    query = sa.select(OutboxEvent.id).order_by(OutboxEvent.id).limit(limit)
    if skip:
        query = query.where(OutboxEvent.id.not_in(sorted(skip)))
    return list(session.scalars(query))


def fan_out_event(
    session: Session, event_id: int, *, receivers: Sequence[Receiver], now: datetime
) -> FanOut | None:
    """Turn one outbox event into its deliveries and delete it; None if another took it.

    ``created`` is 0 when no receiver wants the event (it is deleted all the same).
    """
    if session.get_bind().dialect.name == "postgresql":
        held = session.scalar(
            sa.select(OutboxEvent.id)
            .where(OutboxEvent.id == event_id)
            .with_for_update(skip_locked=True)
        )
        if held is None:
            return None
    event = session.get(OutboxEvent, event_id)
    if event is None:
        return None
    name, interview_id, occurred_at = event.event, event.interview_id, event.created_at
    deleted = session.execute(
        sa.delete(OutboxEvent)
        .where(OutboxEvent.id == event_id)
        .execution_options(synchronize_session=False)
    )
    session.expunge(event)
    if rowcount(deleted) != 1:
        return None  # pragma: no cover - the row is locked (or SQLite is serial)
    wanted = [r for r in receivers if name in r.events]
    record = interview_record(session, interview_id) if wanted else None
    if record is None:
        return FanOut(name, 0)
    documents = {
        include: export_document(record, exported_at=now, include_notes=include)
        for include in {r.include_notes for r in wanted}
    }
    for receiver in wanted:
        session.add(
            _delivery(
                receiver, name, interview_id, occurred_at, documents[receiver.include_notes], now
            )
        )
    session.flush()
    return FanOut(name, len(wanted))


def _delivery(
    receiver: Receiver,
    event: str,
    interview_id: int,
    occurred_at: datetime,
    record: dict[str, Any],
    now: datetime,
) -> OutgoingDelivery:
    """One receiver's delivery, its body fixed now: every attempt sends these bytes."""
    delivery_id = str(uuid.uuid4())
    body = {
        "event": event,
        "delivery_id": delivery_id,
        "interview_id": interview_id,
        "occurred_at": iso(occurred_at),
        "record": record,
    }
    return OutgoingDelivery(
        id=delivery_id,
        url=receiver.url,
        event=event,
        interview_id=interview_id,
        body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        created_at=now,
        next_attempt_at=now,
        attempts=0,
    )


def fan_out(
    session: Session, *, receivers: Sequence[Receiver], now: datetime, limit: int = 50
) -> int:
    """Fan out up to ``limit`` outbox events; returns the number of deliveries created."""
    created = 0
    for event_id in pending_outbox(session, limit=limit):
        done = fan_out_event(session, event_id, receivers=receivers, now=now)
        created += done.created if done is not None else 0
    return created


def claim_due_deliveries(
    session: Session, *, now: datetime, limit: int = 50, lease: timedelta = DEFAULT_LEASE
) -> list[str]:
    """Claim due deliveries (the engine's lease on ``next_attempt_at``); commit before sending."""
    claimed = claim_due(
        session,
        OutgoingDelivery.id,
        OutgoingDelivery.next_attempt_at,
        now=now,
        lease=lease,
        limit=limit,
        where=[OutgoingDelivery.delivered_at.is_(None)],
    )
    return [str(c.key) for c in claimed]


def load_delivery(session: Session, delivery_id: str) -> Delivery | None:
    """The delivery to attempt, or None if it was delivered, given up or deleted meanwhile."""
    row = session.get(OutgoingDelivery, delivery_id)
    if row is None or row.delivered_at is not None or row.next_attempt_at is None:
        return None
    return Delivery(
        id=row.id,
        url=row.url,
        event=row.event,
        interview_id=row.interview_id,
        body=row.body.encode("utf-8"),
        attempts=row.attempts,
    )


def mark_delivered(session: Session, delivery_id: str, *, now: datetime) -> bool:
    """Record a 2xx answer; False if the row was already finished (or is gone)."""
    result = session.execute(
        sa.update(OutgoingDelivery)
        .where(OutgoingDelivery.id == delivery_id, OutgoingDelivery.delivered_at.is_(None))
        .values(
            delivered_at=now,
            next_attempt_at=None,
            attempts=OutgoingDelivery.attempts + 1,
            last_error=None,
        )
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def record_delivery_failure(
    session: Session,
    delivery_id: str,
    *,
    now: datetime,
    error: str,
    retry_after: timedelta | None = None,
    final: bool = False,
) -> FailureOutcome | None:
    """Record a failed attempt: due again after the backoff, or given up.

    Given up when ``final`` (the receiver answered 410 Gone), after
    :data:`MAX_ATTEMPTS` attempts, or when the next attempt would fall after
    :data:`GIVE_UP_AFTER` from the delivery's creation. ``retry_after`` (a
    receiver's Retry-After) postpones the next attempt beyond the backoff.
    ``error`` is a short code (``http 500``, ``timeout``), never a body.
    """
    row = session.get(OutgoingDelivery, delivery_id, with_for_update=True)
    if row is None or row.delivered_at is not None:
        return None
    attempts = row.attempts + 1
    delay = backoff(attempts)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    due: datetime | None = now + delay
    if (
        final
        or attempts >= MAX_ATTEMPTS
        or (due is not None and due - row.created_at > GIVE_UP_AFTER)
    ):
        due = None
    row.attempts = attempts
    row.next_attempt_at = due
    row.last_error = (error if due is not None else f"gave up: {error}")[:255]
    session.flush()
    return FailureOutcome(gave_up=due is None, attempts=attempts, next_attempt_at=due)


def prune_deliveries(session: Session, *, now: datetime, keep: timedelta = KEEP_FINISHED) -> int:
    """Delete deliveries created more than a day (:data:`GIVE_UP_AFTER`) and ``keep`` ago.

    By then each is delivered or given up, or pending for a receiver no longer
    configured (nothing sends it): kept ``keep`` for support, then gone.
    """
    cutoff = now - GIVE_UP_AFTER - keep
    result = session.execute(
        sa.delete(OutgoingDelivery)
        .where(OutgoingDelivery.created_at < cutoff)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result)
