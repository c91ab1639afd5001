"""The audit trail: who did what to which entity, and when."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.models import AuditEvent, utcnow

__all__ = ["audit_events_for", "record_audit"]


def record_audit(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | int,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Add an audit event to ``session`` and flush; the caller commits.

    The event therefore lives and dies with the change it describes (the flush
    writes that change too, so the event never gets ahead of it).

    Args:
        actor: a Slack user id, ``"cli"`` or ``"system"``.
        action: what happened, as ``<entity>.<verb>`` (``"interview.created"``).
        entity: the kind of thing it happened to (``"interview"``).
        entity_id: that thing's id.
        detail: identifiers and state names only; never feedback text,
            notes, evidence or tokens.
        at: when it happened (aware); defaults to now.
    """
    event = AuditEvent(
        at=at if at is not None else utcnow(),
        actor=actor,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        detail=detail,
    )
    session.add(event)
    session.flush()
    return event


def audit_events_for(session: Session, *, entity: str, entity_id: str | int) -> list[AuditEvent]:
    """Return the audit events of one entity, oldest first."""
    stmt = (
        sa.select(AuditEvent)
        .where(AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id))
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    return list(session.scalars(stmt))
