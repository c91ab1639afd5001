"""The outgoing webhooks' two job kinds: fan the outbox out, then POST each delivery.

``outbox`` turns summary events into one delivery per receiver (storage.deliveries);
``delivery`` sends one delivery's stored body, signed with the v1 scheme
(sources.signatures) under INTERVIEW_BOT_OUTGOING_SECRET, and records the answer:
2xx delivered, 410 stop, anything else (or no answer) retried with backoff,
Retry-After honoured on 429 and 503. Bodies are never logged, and neither are
URL paths (a Zapier hook's path is its credential): logs name the host.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import httpx
from sqlalchemy.orm import Session, sessionmaker

from handlers.jobs import JobKind, Outcome
from handlers.metrics import OUTGOING_DELIVERIES, OUTGOING_QUEUED
from sources.signatures import sign_v1
from storage.deliveries import (
    Delivery,
    Receiver,
    claim_due_deliveries,
    fan_out_event,
    load_delivery,
    mark_delivered,
    pending_outbox,
    prune_deliveries,
    record_delivery_failure,
)
from storage.jobs import backoff

__all__ = [
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "DeliveryKind",
    "OutboxKind",
    "outgoing_kinds",
]

logger = logging.getLogger(__name__)

DELIVERY_HEADER = "X-Interview-Bot-Delivery"
EVENT_HEADER = "X-Interview-Bot-Event"
TIMEOUT = httpx.Timeout(10.0)  # connect, read, write and pool, each
_FAILING_MAX = 1000  # outbox events backing off in one process
USER_AGENT = "interview-bot-webhooks/1"


class OutboxKind:
    """Fan out summary events: one unit per outbox event, claimed by deleting it.

    A fan-out that raises (a record that cannot be exported, the database failing
    mid-way) is rolled back and the event kept; this process then leaves it alone
    for a backoff (storage.jobs.backoff: 30 s, doubling up to an hour) instead of
    retrying and logging it every sweep. The backoff is in memory: a restart, or
    another replica, tries it again at once, which is no worse than before.
    """

    name = "outbox"

    def __init__(
        self, session_factory: sessionmaker[Session], receivers: Sequence[Receiver]
    ) -> None:
        self.session_factory = session_factory
        self.receivers = tuple(receivers)
        self._failing: dict[int, tuple[int, datetime]] = {}  # event id: (failures, retry at)

    def claim(self, now: datetime, limit: int) -> Sequence[int]:
        # A plain read: the fan-out's DELETE is the claim, so a unit another
        # replica took meanwhile is skipped in run().
        waiting = [event for event, (_, due) in self._failing.items() if due > now]
        with self.session_factory.begin() as session:
            prune_deliveries(session, now=now)
            return pending_outbox(session, limit=limit, skip=waiting)

    def label(self, unit: int) -> str:
        return f"outbox-{unit}"

    def run(self, unit: int, now: datetime) -> Outcome:
        try:
            with self.session_factory.begin() as session:
                done = fan_out_event(session, unit, receivers=self.receivers, now=now)
        except Exception:
            self._back_off(unit, now)
            return "failed"
        self._failing.pop(unit, None)
        if done is None:
            return "deferred"  # another replica fanned it out
        if done.created:
            OUTGOING_QUEUED.labels(event=done.event).inc(done.created)
        return "done"

    def _back_off(self, unit: int, now: datetime) -> None:
        failures = self._failing.get(unit, (0, now))[0] + 1
        delay = backoff(failures)
        if len(self._failing) >= _FAILING_MAX:  # ids only grow: forgetting costs a retry
            self._failing.clear()
        self._failing[unit] = (failures, now + delay)
        # The traceback once; later failures of the same event say only when it is retried.
        logger.log(
            logging.ERROR if failures == 1 else logging.WARNING,
            "outbox event %d: fan-out failed (%d time(s)); retried in %ds",
            unit,
            failures,
            int(delay.total_seconds()),
            exc_info=failures == 1,
        )


class DeliveryKind:
    """POST one claimed delivery and record what the receiver answered."""

    name = "delivery"

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        secret: str,
        *,
        wall_clock: Callable[[], float] = time.time,
        timeout: httpx.Timeout = TIMEOUT,
    ) -> None:
        self.session_factory = session_factory
        self._secret = secret
        # The signature's timestamp is checked against the receiver's real clock.
        self.wall_clock = wall_clock
        self.timeout = timeout

    def claim(self, now: datetime, limit: int) -> Sequence[str]:
        with self.session_factory.begin() as session:
            return claim_due_deliveries(session, now=now, limit=limit)

    def label(self, unit: str) -> str:
        return unit

    def run(self, unit: str, now: datetime) -> Outcome:
        with self.session_factory() as session:
            delivery = load_delivery(session, unit)
        if delivery is None:
            return "done"  # finished meanwhile (or its interview was purged)
        status, retry_after, error = self._post(delivery)
        if status is not None and 200 <= status < 300:
            with self.session_factory.begin() as session:
                mark_delivered(session, unit, now=now)
            OUTGOING_DELIVERIES.labels(outcome="delivered").inc()
            logger.info(
                "delivered %s %s to %s (attempt %d)",
                delivery.event,
                delivery.id,
                _host(delivery.url),
                delivery.attempts + 1,
            )
            return "done"
        return self._failed(delivery, now, error, retry_after, gone=status == 410)

    def _post(self, delivery: Delivery) -> tuple[int | None, timedelta | None, str]:
        """(status or None, Retry-After, a short error code); the answer's body is not read."""
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            DELIVERY_HEADER: delivery.id,
            EVENT_HEADER: delivery.event,
            **sign_v1(self._secret, delivery.body, timestamp=int(self.wall_clock())),
        }
        try:
            with httpx.stream(
                "POST",
                delivery.url,
                content=delivery.body,
                headers=headers,
                timeout=self.timeout,
                follow_redirects=False,  # a redirect would re-send the body elsewhere
            ) as response:
                status = response.status_code
                wait = (
                    retry_after(response.headers.get("Retry-After"), now=self.wall_clock())
                    if status in (429, 503)
                    else None
                )
        except httpx.TimeoutException:
            return None, None, "timeout"
        except httpx.HTTPError as exc:
            return None, None, f"connection failed ({type(exc).__name__})"
        return status, wait, f"http {status}"

    def _failed(
        self,
        delivery: Delivery,
        now: datetime,
        error: str,
        wait: timedelta | None,
        *,
        gone: bool,
    ) -> Outcome:
        with self.session_factory.begin() as session:
            outcome = record_delivery_failure(
                session, delivery.id, now=now, error=error, retry_after=wait, final=gone
            )
        if outcome is None:
            return "done"
        label = "stopped" if gone else "gave_up" if outcome.gave_up else "retry"
        OUTGOING_DELIVERIES.labels(outcome=label).inc()
        log = logger.warning if outcome.gave_up else logger.info
        log(
            "%s %s %s to %s after attempt %d: %s%s",
            "gave up" if outcome.gave_up else "will retry",
            delivery.event,
            delivery.id,
            _host(delivery.url),
            outcome.attempts,
            error,
            ""
            if outcome.next_attempt_at is None
            else f", next at {outcome.next_attempt_at:%H:%M:%S}",
        )
        return "failed"


def retry_after(value: str | None, *, now: float) -> timedelta | None:
    """A Retry-After header (seconds or an HTTP date) as a delay; None if absent or bad."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit() and len(text) <= 9:
        return timedelta(seconds=int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(timedelta(0), when - datetime.fromtimestamp(now, UTC))


def _host(url: str) -> str:
    return urlsplit(url).hostname or "?"


def outgoing_kinds(
    session_factory: sessionmaker[Session],
    receivers: Sequence[Receiver],
    secret: str,
    *,
    wall_clock: Callable[[], float] = time.time,
) -> list[JobKind]:
    """The two kinds, fan-out first so one sweep posts a summary's deliveries."""
    return [
        OutboxKind(session_factory, receivers),
        DeliveryKind(session_factory, secret, wall_clock=wall_clock),
    ]
