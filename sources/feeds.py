"""Fetching a calendar feed: an http(s) URL (conditional, bounded) or a local file.

HTTP: ``If-None-Match`` / ``If-Modified-Since`` from the last success, so an
unchanged feed costs a 304 and no parsing; a timeout on connect and on each read;
the body streamed and refused once it passes the size limit (a ``Content-Length``
over it is refused before reading); a download is given up after a minute.
Redirects are followed by hand, at most a few, and only to http(s). The URL may
carry a secret (Google's secret address), so no message here ever includes it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx

from sources.ics_guard import FeedError

__all__ = ["Fetched", "fetch_feed"]

_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
_MAX_REDIRECTS = 3
_REDIRECTS = (301, 302, 303, 307, 308)
_DOWNLOAD_SECONDS = 60
_USER_AGENT = "interview-bot calendar feed"


@dataclass(frozen=True)
class Fetched:
    """A feed's body, or ``not_modified`` (a 304, nothing to parse), and its validators."""

    body: bytes | None
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.body is None


def fetch_feed(
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    max_bytes: int,
    timeout: httpx.Timeout = _TIMEOUT,
    transport: httpx.BaseTransport | None = None,
) -> Fetched:
    """Fetch ``url``. Raises FeedError with a message fit for ``sources status``."""
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("http", "https"):
        return _fetch_http(url, etag, last_modified, max_bytes, timeout, transport)
    return _read_file(url, max_bytes)


def _read_file(url: str, max_bytes: int) -> Fetched:
    path = Path(urlsplit(url).path if url.lower().startswith("file:") else url)
    try:
        with path.open("rb") as handle:
            body = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise FeedError(f"file not found: {path}") from None
    except OSError as exc:
        raise FeedError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(body) > max_bytes:
        raise FeedError(f"the feed is larger than {_mib(max_bytes)}")
    return Fetched(body)


def _fetch_http(
    url: str,
    etag: str | None,
    last_modified: str | None,
    max_bytes: int,
    timeout: httpx.Timeout,
    transport: httpx.BaseTransport | None,
) -> Fetched:
    # identity: the size limit then bounds what is held, not a decompressed bomb.
    headers = {
        "User-Agent": _USER_AGENT,
        "Accept": "text/calendar, */*;q=0.5",
        "Accept-Encoding": "identity",
    }
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    try:
        with httpx.Client(
            timeout=timeout, follow_redirects=False, transport=transport, trust_env=False
        ) as client:
            for _hop in range(_MAX_REDIRECTS + 1):
                with client.stream("GET", url, headers=headers) as response:
                    if response.status_code in _REDIRECTS:
                        url = _redirect_target(url, response)
                        continue
                    return _answer(response, max_bytes)
    except httpx.TimeoutException:
        raise FeedError("the feed did not answer in time") from None
    except httpx.HTTPError as exc:
        raise FeedError(f"cannot fetch the feed: {type(exc).__name__}") from None
    raise FeedError(f"more than {_MAX_REDIRECTS} redirects")


def _redirect_target(url: str, response: httpx.Response) -> str:
    location = str(response.headers.get("Location", ""))
    target = urljoin(url, location)
    if urlsplit(target).scheme.lower() not in ("http", "https") or not location:
        raise FeedError("the feed redirects to something that is not an http(s) URL")
    return target


def _answer(response: httpx.Response, max_bytes: int) -> Fetched:
    if response.status_code == 304:
        return Fetched(None)
    if response.status_code != 200:
        hint = (
            " (a secret address that was reset?)" if response.status_code in (401, 403, 404) else ""
        )
        raise FeedError(f"the feed answered HTTP {response.status_code}{hint}")
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise FeedError(f"the feed is larger than {_mib(max_bytes)}")
    chunks: list[bytes] = []
    size = 0
    # The read timeout bounds each wait; this bounds a host that drips bytes forever.
    give_up = time.monotonic() + _DOWNLOAD_SECONDS
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise FeedError(f"the feed is larger than {_mib(max_bytes)}")
        if time.monotonic() > give_up:
            raise FeedError(f"the feed took longer than {_DOWNLOAD_SECONDS} s to download")
        chunks.append(chunk)
    return Fetched(
        b"".join(chunks),
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
    )


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB"
