"""A small client of Greenhouse's Harvest v3 API: OAuth client credentials, cursor pages.

As documented at harvestdocs.greenhouse.io (Harvest v1/v2 were retired on 2026-08-31):

- Token: ``POST https://auth.greenhouse.io/token`` with HTTP Basic
  ``client_id:client_secret`` and the form body ``grant_type=client_credentials``
  (optionally ``sub=<user id>``); every call then sends ``Authorization: Bearer <token>``.
  Tokens live an hour; this client keeps one until shortly before it expires and,
  on a 401, fetches a new one and retries that request once.
- Lists (``/v3/interviews``, ...) are cursor-paginated: the next page is the
  ``rel="next"`` URL of the ``Link`` header, followed exactly (a cursor URL takes
  no other parameters); no ``next`` link means the last page.
- A 429 carries ``Retry-After`` (seconds): the client does not sleep, it raises
  :class:`HarvestError` with ``retry_after`` so the poll is deferred that long.

Every call has explicit timeouts; base URLs come from config so tests point them
at a fake on loopback. Tokens and secrets are never logged.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

__all__ = ["HarvestClient", "HarvestError", "next_link"]

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
_EARLY = timedelta(seconds=60)  # refresh a token this long before it expires
_MAX_PAGES = 200  # 200 pages of up to 500: a runaway cursor cannot loop forever
_NEXT = re.compile(r'<([^>]*)>\s*;[^,]*\brel="?next"?', re.IGNORECASE)


class HarvestError(Exception):
    """A Harvest call failed; ``retry_after`` (seconds) when Greenhouse asked to wait."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def next_link(value: str | None) -> str | None:
    """The ``rel="next"`` URL of a Link header (RFC 8288), or None on the last page."""
    if not value:
        return None
    match = _NEXT.search(value)
    return match.group(1).strip() if match and match.group(1).strip() else None


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("Retry-After", "").strip()
    if raw.isdigit():
        return float(min(int(raw), 3600))
    return None


@dataclass
class _Token:
    value: str
    expires_at: datetime


@dataclass
class HarvestClient:
    """Harvest v3 over httpx; one instance per bot, safe to share between threads."""

    api_url: str
    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    user_id: str | None = None  # the token's ``sub``: whose permissions the calls use
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    transport: httpx.BaseTransport | None = None  # tests only
    _token: _Token | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    def __post_init__(self) -> None:
        self._http = httpx.Client(
            timeout=TIMEOUT,
            transport=self.transport,
            headers={"User-Agent": "interview-bot", "Accept": "application/json"},
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    # -- token -------------------------------------------------------------------------
    def token(self, *, renew: bool = False) -> str:
        with self._lock:
            now = self.clock()
            if not renew and self._token and now < self._token.expires_at - _EARLY:
                return self._token.value
            self._token = self._fetch_token(now)
            return self._token.value

    def _fetch_token(self, now: datetime) -> _Token:
        form = {"grant_type": "client_credentials"}
        if self.user_id:
            form["sub"] = self.user_id
        try:
            response = self._http.post(
                self.token_url, data=form, auth=(self.client_id, self.client_secret)
            )
        except httpx.HTTPError as exc:
            name = type(exc).__name__
            raise HarvestError(f"Greenhouse token endpoint unreachable: {name}") from None
        if response.status_code != 200:
            raise HarvestError(
                f"Greenhouse refused the client credentials (HTTP {response.status_code})",
                status=response.status_code,
                retry_after=_retry_after(response),
            )
        try:
            body = response.json()
            value = body["access_token"]
        except (ValueError, KeyError, TypeError):
            raise HarvestError("Greenhouse token response has no access_token") from None
        if not isinstance(value, str) or not value:
            raise HarvestError("Greenhouse token response has no access_token")
        return _Token(value, now + _lifetime(body, now))

    # -- calls -------------------------------------------------------------------------
    def get(self, path_or_url: str, params: Mapping[str, str] | None = None) -> httpx.Response:
        """One GET with the bearer token; on a 401 a new token and one retry."""
        url = path_or_url if "://" in path_or_url else self.api_url.rstrip("/") + path_or_url
        response = self._send(url, params, self.token())
        if response.status_code == 401:
            response = self._send(url, params, self.token(renew=True))
        if response.status_code == 429:
            raise HarvestError(
                "Greenhouse rate limit (HTTP 429)", status=429, retry_after=_retry_after(response)
            )
        if response.status_code != 200:
            raise HarvestError(
                f"Greenhouse answered HTTP {response.status_code} for {httpx.URL(url).path}",
                status=response.status_code,
            )
        return response

    def _send(self, url: str, params: Mapping[str, str] | None, token: str) -> httpx.Response:
        try:
            # httpx drops a URL's own query when given params, even empty ones: a
            # Link URL (its cursor) goes as it is.
            return self._http.get(
                url,
                params=dict(params) if params else None,
                headers={"Authorization": f"Bearer {token}"},
            )
        except httpx.HTTPError as exc:
            raise HarvestError(f"Greenhouse unreachable: {type(exc).__name__}") from None

    def pages(self, path: str, params: Mapping[str, str]) -> Iterator[list[dict[str, Any]]]:
        """Every page of a list endpoint: filters on the first request, then the Link URLs."""
        response = self.get(path, params)
        for _page in range(_MAX_PAGES):
            yield _records(response)
            following = next_link(response.headers.get("Link"))
            if following is None:
                return
            response = self.get(following)
        raise HarvestError(f"Greenhouse returned over {_MAX_PAGES} pages for {path}")

    def record(self, path: str) -> dict[str, Any]:
        """One object (``/v3/candidates/1``)."""
        body = _json(self.get(path))
        if not isinstance(body, dict):
            raise HarvestError(f"Greenhouse returned no object for {path}")
        return body


def _lifetime(body: Mapping[str, Any], now: datetime) -> timedelta:
    """How long a token lives: ``expires_in`` seconds or an ISO ``expires_at``; else 1 h."""
    expires_in = body.get("expires_in")
    if isinstance(expires_in, int | float) and expires_in > 0:
        return timedelta(seconds=min(float(expires_in), 86400.0))
    expires_at = body.get("expires_at")
    if isinstance(expires_at, str):
        try:
            moment = datetime.fromisoformat(expires_at.replace("Z", "+00:00"))
        except ValueError:
            moment = None
        if moment is not None and moment.tzinfo is not None:
            return max(timedelta(0), moment - now)
    return timedelta(hours=1)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise HarvestError("Greenhouse returned a body that is not JSON") from None


def _records(response: httpx.Response) -> list[dict[str, Any]]:
    body = _json(response)
    if isinstance(body, dict):  # tolerate an envelope: {"data": [...]}
        body = body.get("data")
    if not isinstance(body, list):
        raise HarvestError("Greenhouse returned a list page that is not a JSON array")
    return [item for item in body if isinstance(item, dict)]
