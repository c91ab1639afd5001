"""People's time zones and display names, from ``users.info``: cached in the database.

Slack's ``tz`` is authoritative (DESIGN.md). The database cache is refreshed at
most daily, so a restart or another replica does not ask Slack again; a failed
lookup falls back to the configured default and is retried after a few minutes.
Every lookup also stores the user's display name (:meth:`TimeZones.names` reads
them, for the summary and its heatmap).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker

from storage.users import cached_timezone, display_name_of, display_names, store_timezone

logger = logging.getLogger(__name__)

TTL_SECONDS = 24 * 3600
RETRY_SECONDS = 300  # after a failed lookup, use the default this long, then ask again


def _utc_now() -> datetime:
    return datetime.now(UTC)


class TimeZones:
    def __init__(
        self,
        default: tzinfo,
        *,
        session_factory: sessionmaker[Session] | None = None,
        clock: Callable[[], datetime] = _utc_now,
        ttl_seconds: float = TTL_SECONDS,
    ) -> None:
        self._default = default
        self._sessions = session_factory
        self._clock = clock
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[tzinfo, float]] = {}
        self._named: dict[str, float] = {}  # user -> when a name lookup may be tried again
        self._lock = threading.Lock()

    def of(self, client: WebClient, user_id: str) -> tzinfo:
        with self._lock:
            hit = self._cache.get(user_id)
        if hit is not None and time.monotonic() < hit[1]:
            return hit[0]
        zone, ok = self._from_database(user_id)
        if not ok:
            zone, ok = self._lookup_and_store(client, user_id)
        resolved = self._zone(zone) if ok else self._default
        with self._lock:
            lifetime = self._ttl if ok else RETRY_SECONDS
            self._cache[user_id] = (resolved, time.monotonic() + lifetime)
        return resolved

    def names(self, client: WebClient, user_ids: Sequence[str]) -> dict[str, str]:
        """Display names of ``user_ids`` (best effort; users without one are absent).

        One query for the cached names; users with none cached are looked up with
        ``users.info`` (storing their time zone too), each at most once a
        ``RETRY_SECONDS`` in this process, so a user Slack gives no name for costs
        no call per summary.
        """
        if self._sessions is None:
            return {}
        with self._sessions.begin() as session:
            found = display_names(session, user_ids)
        now = time.monotonic()
        for user_id in dict.fromkeys(user_ids):
            with self._lock:
                if user_id in found or self._named.get(user_id, 0.0) > now:
                    continue
                self._named[user_id] = now + RETRY_SECONDS
            _zone, ok = self._lookup_and_store(client, user_id)
            if ok:
                with self._sessions.begin() as session:
                    found.update(display_names(session, [user_id]))
        return found

    def _lookup_and_store(self, client: WebClient, user_id: str) -> tuple[str | None, bool]:
        zone, name, ok = self._lookup(client, user_id)
        if ok and self._sessions is not None:
            with self._sessions.begin() as session:
                store_timezone(session, user_id, zone, now=self._clock(), display_name=name)
        return zone, ok

    def _zone(self, name: str | None) -> tzinfo:
        if not name:
            return self._default
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            logger.warning("unknown time zone %r; using the default", name)
            return self._default

    def _from_database(self, user_id: str) -> tuple[str | None, bool]:
        if self._sessions is None:
            return None, False
        with self._sessions.begin() as session:
            fresh, zone = cached_timezone(session, user_id, now=self._clock())
        return zone, fresh

    def _lookup(self, client: WebClient, user_id: str) -> tuple[str | None, str | None, bool]:
        """``(tz, display name, ok)`` from ``users.info``."""
        try:
            response = client.users_info(user=user_id)
            user = response.get("user") or {}
            zone = user.get("tz")
            tz = zone if isinstance(zone, str) and zone else None
            return tz, display_name_of(user), True
        except SlackApiError as exc:
            logger.warning("users.info failed for %s: %s", user_id, exc.response.get("error"))
        except OSError as exc:
            logger.warning("users.info unreachable for %s: %s", user_id, exc)
        return None, None, False
