"""People's time zones, from ``users.info``: cached in the database and in memory.

Slack's ``tz`` is authoritative (DESIGN.md). The database cache is refreshed at
most daily, so a restart or another replica does not ask Slack again; a failed
lookup falls back to the configured default and is retried after a few minutes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker

from storage.users import cached_timezone, store_timezone

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
        self._lock = threading.Lock()

    def of(self, client: WebClient, user_id: str) -> tzinfo:
        with self._lock:
            hit = self._cache.get(user_id)
        if hit is not None and time.monotonic() < hit[1]:
            return hit[0]
        zone, ok = self._from_database(user_id)
        if not ok:
            zone, ok = self._lookup(client, user_id)
            if ok:
                self._to_database(user_id, zone)
        resolved = self._zone(zone) if ok else self._default
        with self._lock:
            lifetime = self._ttl if ok else RETRY_SECONDS
            self._cache[user_id] = (resolved, time.monotonic() + lifetime)
        return resolved

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

    def _to_database(self, user_id: str, zone: str | None) -> None:
        if self._sessions is None:
            return
        with self._sessions.begin() as session:
            store_timezone(session, user_id, zone, now=self._clock())

    def _lookup(self, client: WebClient, user_id: str) -> tuple[str | None, bool]:
        try:
            response = client.users_info(user=user_id)
            name = (response.get("user") or {}).get("tz")
            return (name if isinstance(name, str) and name else None), True
        except SlackApiError as exc:
            logger.warning("users.info failed for %s: %s", user_id, exc.response.get("error"))
        except OSError as exc:
            logger.warning("users.info unreachable for %s: %s", user_id, exc)
        return None, False
