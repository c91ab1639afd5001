"""Lists of people: ``access.recruiters`` and ``access.calibration`` (user IDs, or groups ``S...``).

Group membership comes from ``usergroups.users.list`` (scope ``usergroups:read``),
cached for a few minutes. A lookup that fails denies access: fail closed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

logger = logging.getLogger(__name__)

GROUP_TTL_SECONDS = 300


class Recruiters:
    def __init__(self, entries: Iterable[str], ttl_seconds: float = GROUP_TTL_SECONDS) -> None:
        entries = list(entries)
        self.users = frozenset(e for e in entries if not e.startswith("S"))
        self.groups = tuple(e for e in entries if e.startswith("S"))
        self._ttl = ttl_seconds
        self._members: dict[str, tuple[frozenset[str], float]] = {}
        self._lock = threading.Lock()

    @property
    def configured(self) -> bool:
        return bool(self.users or self.groups)

    def includes(self, client: WebClient, user: str) -> bool:
        if user in self.users:
            return True
        return any(user in self._group(client, group) for group in self.groups)

    def _group(self, client: WebClient, group: str) -> frozenset[str]:
        with self._lock:
            hit = self._members.get(group)
        if hit is not None and time.monotonic() < hit[1]:
            return hit[0]
        try:
            response = client.usergroups_users_list(usergroup=group)
            members = frozenset(str(u) for u in response.get("users") or [])
        except SlackApiError as exc:
            logger.warning("usergroups.users.list %s failed: %s", group, exc.response.get("error"))
            return frozenset()
        except OSError as exc:
            logger.warning("usergroups.users.list %s unreachable: %s", group, exc)
            return frozenset()
        with self._lock:
            self._members[group] = (members, time.monotonic() + self._ttl)
        return members
