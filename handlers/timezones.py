"""Interviewers' time zones, from ``users.info``, cached per process.

Slack's ``tz`` is authoritative (DESIGN.md); a user whose lookup fails gets the
configured default. Entries live a day, so a user who travels is seen within one.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

logger = logging.getLogger(__name__)

TTL_SECONDS = 24 * 3600
RETRY_SECONDS = 300  # after a failed lookup, use the default this long, then ask again


class TimeZones:
    def __init__(self, default: tzinfo, ttl_seconds: float = TTL_SECONDS) -> None:
        self._default = default
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[tzinfo, float]] = {}
        self._lock = threading.Lock()

    def of(self, client: WebClient, user_id: str) -> tzinfo:
        with self._lock:
            hit = self._cache.get(user_id)
        if hit is not None and time.monotonic() < hit[1]:
            return hit[0]
        zone = self._lookup(client, user_id)
        lifetime = self._ttl if zone is not None else RETRY_SECONDS
        with self._lock:
            self._cache[user_id] = (zone or self._default, time.monotonic() + lifetime)
        return zone or self._default

    def _lookup(self, client: WebClient, user_id: str) -> tzinfo | None:
        try:
            response = client.users_info(user=user_id)
            name = (response.get("user") or {}).get("tz")
            return ZoneInfo(name) if isinstance(name, str) and name else self._default
        except SlackApiError as exc:
            logger.warning("users.info failed for %s: %s", user_id, exc.response.get("error"))
        except (ZoneInfoNotFoundError, ValueError):
            logger.warning("unknown time zone for %s; using the default", user_id)
        except OSError as exc:
            logger.warning("users.info unreachable for %s: %s", user_id, exc)
        return None
