"""The interview sources' tables: incomplete interviews, polls, vendor event ids, deliveries.

Declared on :class:`storage.models.Base` (and re-exported by :mod:`storage.models`),
created by migration 0007; the drift test covers them with the rest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, utcnow
from storage.types import UTCDateTime

__all__ = [
    "IncompleteInterview",
    "OutboxEvent",
    "OutgoingDelivery",
    "SourceState",
    "WebhookEvent",
]


class IncompleteInterview(Base):
    """An interview a source could not complete (storage.intake): stored, never sent, never guessed.

    ``row`` holds the import-row keys the source did give; ``missing`` a list of
    ``{"field", "message"}`` saying what a person must supply. The recruiter is
    told in Slack (due at ``notify_due_at``, a unit of the job engine); completing
    it in the schedule modal makes it an ordinary interview (``resolved_interview_id``).
    """

    __tablename__ = "incomplete_interviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(sa.String(64))
    external_id: Mapped[str] = mapped_column(sa.String(128), unique=True)
    row: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    missing: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    # Who is asked to complete it: the row's recruiter if known, else access.recruiters.
    recruiter: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    notify_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    notify_attempts: Mapped[int] = mapped_column(default=0)
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # [[channel, ts], ...] of the DMs sent: once it is completed, they say so (no button).
    notified_dms: Mapped[list[list[str]]] = mapped_column(sa.JSON, default=list)
    last_error: Mapped[str | None] = mapped_column(sa.String(255))
    resolved_interview_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("interviews.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SourceState(Base):
    """One polled source's schedule and health (a calendar feed, Greenhouse's Harvest API).

    ``next_poll_at`` is the job engine's due column (claimed with a lease, so one
    replica polls at a time); the rest is what ``interview-bot sources status``
    and the metrics show, and what the next poll needs (ETag, cursor).
    """

    __tablename__ = "source_states"

    name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    next_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(default=0)  # consecutive failures, for backoff
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.String(255))
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    etag: Mapped[str | None] = mapped_column(sa.String(255))
    last_modified: Mapped[str | None] = mapped_column(sa.String(64))
    cursor: Mapped[str | None] = mapped_column(sa.String(64))  # e.g. Greenhouse updated_after
    # Counters since the source was added: events_seen, created, updated, cancelled, incomplete.
    stats: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WebhookEvent(Base):
    """A vendor event id already taken in (storage.webhook_events): a redelivery is dropped."""

    __tablename__ = "webhook_events"

    source: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.String(128), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class OutgoingDelivery(Base):
    """One signed outgoing webhook delivery (storage.deliveries), sent at least once.

    ``id`` is the delivery id the receiver de-duplicates on; ``body`` the exact JSON
    that is signed and sent on every attempt. ``next_attempt_at`` is the job
    engine's due column: NULL once delivered or given up.
    """

    __tablename__ = "outgoing_deliveries"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    url: Mapped[str] = mapped_column(sa.Text)
    event: Mapped[str] = mapped_column(sa.String(32))
    interview_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("interviews.id", ondelete="CASCADE"), index=True
    )
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(sa.String(255))


class OutboxEvent(Base):
    """An event for the outgoing webhooks, written in the transaction that caused it.

    ``summary.posted`` and ``summary.updated`` are recorded with the summary's own
    transition (storage.summaries), so none is lost between the transition and a
    crash; the job engine turns each into one :class:`OutgoingDelivery` per
    configured receiver (storage.deliveries) and deletes it.
    """

    __tablename__ = "outbox_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(sa.String(32))
    interview_id: Mapped[int] = mapped_column(
        sa.ForeignKey("interviews.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
