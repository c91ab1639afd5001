"""The job kind ``feed_poll``: poll each configured calendar feed, one replica at a time.

A unit is a feed's ``source_states`` row (``calendar:<name>``), claimed with a
lease (storage.source_state.claim_polls) and due again one poll interval after a
success, or after a backoff within that interval after a failure. One poll:

1. fetch (sources.feeds; conditional on the last ETag / Last-Modified, except
   for a full refresh every ``FULL_REFRESH``, since time moves a series' window
   even when the feed does not change);
2. parse (sources.ics), outside any transaction;
3. in one transaction: take the rows in (storage.intake, emails through
   ``users.lookupByEmail``), cancel what left the feed before it ended
   (cancel_missing) and record the success with its counters;
4. after the commit, update the sent form DMs of the cancelled interviews.

A fetch or parse failure changes nothing but the feed's state (last error, backoff).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from handlers.jobs import Outcome
from handlers.metrics import observe_source_poll
from sources.feeds import Fetched, fetch_feed
from sources.ics import FeedError, FeedRules, Limits, ParsedFeed, parse_feed
from sources.wiring import SourceDeps
from storage.import_file import EmailLookupUnavailable, EmailResolver
from storage.intake import IntakeResult, cancel_missing
from storage.source_state import (
    PollStats,
    StateView,
    claim_polls,
    get_state,
    record_failure,
    record_success,
)

__all__ = ["FULL_REFRESH", "CalendarFeed", "EmailCache", "FeedPollKind", "PollReport"]

logger = logging.getLogger(__name__)

FULL_REFRESH = timedelta(hours=1)
POLL_LEASE = timedelta(minutes=5)  # longer than a slow download, a parse and the lookups
# Every poll takes every event in again: without a cache each poll would look every
# interviewer up again (users.lookupByEmail is rate limited, ~50 a minute).
EMAIL_TTL = timedelta(hours=1)
_EMAIL_CACHE_MAX = 10_000


@dataclass
class EmailCache:
    """Slack user ids found by email, kept an hour; misses are never kept (asked again)."""

    resolve: EmailResolver
    found: dict[str, tuple[str, datetime]] = field(default_factory=dict)

    def resolver(self, now: datetime) -> EmailResolver:
        def cached(email: str) -> str:
            hit = self.found.get(email)
            if hit is not None and now - hit[1] < EMAIL_TTL:
                return hit[0]
            # EmailLookupUnavailable (Slack down or erroring) propagates: the poll fails
            # and retries rather than marking every new interviewer as missing.
            user_id = self.resolve(email)
            if len(self.found) >= _EMAIL_CACHE_MAX:
                self.found.clear()
            self.found[email] = (user_id, now)
            return user_id

        return cached


@dataclass(frozen=True)
class CalendarFeed:
    """One configured feed: where it is, how to read it, how often."""

    rules: FeedRules
    url: str
    interval: timedelta

    @property
    def source(self) -> str:
        return self.rules.source


@dataclass(frozen=True)
class PollReport:
    """What one poll did (the demo and the tests print it)."""

    outcome: Outcome
    changed: bool = False
    result: IntakeResult | None = None
    cancelled_missing: tuple[int, ...] = ()
    error: str | None = None


@dataclass
class FeedPollKind:
    """The job engine's kind for every configured calendar feed."""

    feeds: Sequence[CalendarFeed]
    deps: SourceDeps
    limits: Limits = field(default_factory=Limits)
    fetch: Callable[..., Fetched] = fetch_feed
    name: str = "feed_poll"
    _emails: EmailCache | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.deps.resolve_email is not None:
            self._emails = EmailCache(self.deps.resolve_email)

    def claim(self, now: datetime, limit: int) -> Sequence[str]:
        with self.deps.session_factory.begin() as session:
            return claim_polls(
                session, [f.source for f in self.feeds], now=now, lease=POLL_LEASE, limit=limit
            )

    def label(self, unit: str) -> str:
        return unit

    def run(self, unit: str, now: datetime) -> Outcome:
        return self.poll(unit, now).outcome

    def poll(self, source: str, now: datetime) -> PollReport:
        """Poll one feed (already claimed) and record the outcome."""
        feed = next((f for f in self.feeds if f.source == source), None)
        if feed is None:  # a feed removed from the config: its row stays for the status
            return PollReport("done")
        with self.deps.session_factory() as session:
            state = get_state(session, source)
        try:
            fetched = self._fetch(feed, state, now)
            parsed = None if fetched.body is None else self._parse(feed, fetched.body, now)
        except FeedError as exc:
            return self._failed(feed, now, str(exc))
        if fetched.not_modified or parsed is None:
            # Nothing read: what the last full read found wrong with some events stays.
            kept = state.last_error if state is not None and state.attempts == 0 else None
            with self.deps.session_factory.begin() as session:
                record_success(
                    session, source, now=now, interval=feed.interval, stats=None, problem=kept
                )
            observe_source_poll(source, at=now, outcome="unchanged")
            return PollReport("done")
        try:
            return self._take_in(feed, fetched, parsed, now)
        except EmailLookupUnavailable as exc:  # rolled back: nothing taken in
            return self._failed(feed, now, f"Slack could not look up an attendee: {exc}")

    def _fetch(self, feed: CalendarFeed, state: StateView | None, now: datetime) -> Fetched:
        conditional = state is not None and _recent(state.cursor, now)
        return self.fetch(
            feed.url,
            etag=state.etag if conditional and state else None,
            last_modified=state.last_modified if conditional and state else None,
            max_bytes=self.limits.max_bytes,
        )

    def _parse(self, feed: CalendarFeed, body: bytes, now: datetime) -> ParsedFeed:
        return parse_feed(
            body,
            feed.rules,
            now=now,
            lookback=self.deps.intake.timings.summary_deadline,
            default_tz=self.deps.intake.default_tz,
            limits=self.limits,
        )

    def _take_in(
        self, feed: CalendarFeed, fetched: Fetched, parsed: ParsedFeed, now: datetime
    ) -> PollReport:
        rows = parsed.rows
        with self.deps.session_factory.begin() as session:
            resolve = self._emails.resolver(now) if self._emails else None
            result = self.deps.intake.take(session, rows, now=now, resolve_email=resolve)
            gone = cancel_missing(
                session,
                source=feed.source,
                seen_external_ids={row.external_id for row in rows},
                now=now,
            )
            stats = PollStats(
                events_seen=parsed.events_seen,
                created=result.created,
                updated=result.updated,
                cancelled=result.cancelled + len(gone),
                incomplete=result.incomplete,
            )
            record_success(
                session,
                feed.source,
                now=now,
                interval=feed.interval,
                stats=stats,
                etag=fetched.etag,
                last_modified=fetched.last_modified,
                cursor=now.isoformat(),
                problem=_problem(rows, result),
            )
        self.deps.cancelled(tuple(result.cancelled_interviews) + gone, feed.source)
        counts = stats.as_dict()
        changed = any(counts[key] for key in ("created", "updated", "cancelled", "incomplete"))
        observe_source_poll(
            feed.source,
            at=now,
            outcome="changed" if changed else "unchanged",
            counts=counts,
            events_seen=parsed.events_seen,
        )
        logger.info(
            "feed %s: %d events, %d interview rows: %d created, %d updated, %d cancelled, "
            "%d incomplete, %d invalid",
            feed.source,
            parsed.events_seen,
            len(rows),
            stats.created,
            stats.updated,
            stats.cancelled,
            stats.incomplete,
            len({error.index for error in result.errors}),
        )
        return PollReport("done", changed, result, gone)

    def _failed(self, feed: CalendarFeed, now: datetime, error: str) -> PollReport:
        with self.deps.session_factory.begin() as session:
            delay = record_failure(
                session, feed.source, now=now, error=error, interval=feed.interval
            )
        observe_source_poll(feed.source, at=now, outcome="failed")
        logger.warning("feed %s failed (retry in %s): %s", feed.source, delay, error)
        return PollReport("failed", error=error)


def _recent(cursor: str | None, now: datetime) -> bool:
    """Whether the last full read (``cursor``) is recent enough to ask for a 304."""
    if not cursor:
        return False
    try:
        last = datetime.fromisoformat(cursor)
    except ValueError:
        return False
    return last.tzinfo is not None and now - last < FULL_REFRESH


def _problem(rows: Sequence[object], result: IntakeResult) -> str | None:
    """The status line for rows the intake refused (the poll itself went through)."""
    if not result.errors:
        return None
    bad = sorted({error.index for error in result.errors})
    first = result.errors[0]
    where = getattr(rows[first.index], "where", "") or f"row {first.index}"
    return f"{len(bad)} event(s) not taken in; {where}: {first.field}: {first.message}"
