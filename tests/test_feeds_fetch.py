"""sources.feeds: fetching a calendar feed over HTTP from a loopback server, or a file.

The server plays a calendar host: it answers with an ETag and Last-Modified,
honours If-None-Match / If-Modified-Since with a 304, and can be told to hang,
send more than the limit (with or without a Content-Length), redirect, or fail.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from sources.feeds import fetch_feed
from sources.ics_guard import FeedError

BODY = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"
ETAG = '"v1"'
MODIFIED = "Mon, 01 Mar 2027 11:00:00 GMT"
LIMIT = 1024


@dataclass
class Host:
    """What the fake calendar host answers, and what it was asked."""

    mode: str = "ok"
    location: str = ""
    requests: list[dict[str, str]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)


def _handler(host: Host) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            host.requests.append({k: v for k, v in self.headers.items()})
            mode = host.mode
            if mode == "hang":
                host.release.wait(10)
                return
            if mode == "redirect":
                self.send_response(302)
                self.send_header("Location", host.location)
                self.end_headers()
                return
            if mode == "gone":
                self.send_error(404)
                return
            if self.headers.get("If-None-Match") == ETAG or (
                self.headers.get("If-Modified-Since") == MODIFIED
                and "If-None-Match" not in self.headers
            ):
                self.send_response(304)
                self.end_headers()
                return
            body = BODY if mode == "ok" else b"x" * (LIMIT + 1)
            self.send_response(200)
            self.send_header("Content-Type", "text/calendar")
            if mode != "big-chunked":
                self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", ETAG)
            self.send_header("Last-Modified", MODIFIED)
            self.end_headers()
            if mode == "big-chunked":  # no length: the client must count while reading
                for start in range(0, len(body), 100):
                    self.wfile.write(body[start : start + 100])
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


@pytest.fixture
def host() -> Iterator[tuple[Host, str]]:
    state = Host()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_port}/calendar/private-s3cret/basic.ics"
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()


def test_first_fetch_keeps_the_validators_and_the_next_is_a_304(host: tuple[Host, str]) -> None:
    state, url = host
    first = fetch_feed(url, max_bytes=LIMIT)
    assert first.body == BODY and first.etag == ETAG and first.last_modified == MODIFIED
    again = fetch_feed(url, etag=first.etag, last_modified=first.last_modified, max_bytes=LIMIT)
    assert again.not_modified
    assert state.requests[1]["If-None-Match"] == ETAG
    assert state.requests[1]["If-Modified-Since"] == MODIFIED


def test_last_modified_alone_gives_a_304(host: tuple[Host, str]) -> None:
    _state, url = host
    assert fetch_feed(url, last_modified=MODIFIED, max_bytes=LIMIT).not_modified


def test_a_host_that_hangs_times_out(host: tuple[Host, str]) -> None:
    state, url = host
    state.mode = "hang"
    with pytest.raises(FeedError, match="did not answer in time"):
        fetch_feed(url, max_bytes=LIMIT, timeout=httpx.Timeout(0.2))


@pytest.mark.parametrize("mode", ["big", "big-chunked"])
def test_a_body_over_the_limit_is_refused(host: tuple[Host, str], mode: str) -> None:
    state, url = host
    state.mode = mode
    with pytest.raises(FeedError, match="larger than"):
        fetch_feed(url, max_bytes=LIMIT)


def test_errors_never_show_the_secret_address(host: tuple[Host, str]) -> None:
    state, url = host
    state.mode = "gone"
    with pytest.raises(FeedError) as caught:
        fetch_feed(url, max_bytes=LIMIT)
    assert "HTTP 404" in str(caught.value) and "s3cret" not in str(caught.value)
    with pytest.raises(FeedError) as refused:
        fetch_feed("http://127.0.0.1:1/private-s3cret.ics", max_bytes=LIMIT)
    assert "s3cret" not in str(refused.value)


def test_redirects_only_to_http(host: tuple[Host, str], tmp_path: Path) -> None:
    state, url = host
    state.mode = "redirect"
    for target in (f"file://{tmp_path}/x.ics", "ftp://example.com/x.ics"):
        state.location = target
        with pytest.raises(FeedError, match="not an http"):
            fetch_feed(url, max_bytes=LIMIT)
    state.location = url
    with pytest.raises(FeedError, match="redirects"):
        fetch_feed(url, max_bytes=LIMIT)  # to itself, forever


def test_a_local_file_is_read_and_bounded(tmp_path: Path) -> None:
    path = tmp_path / "feed.ics"
    path.write_bytes(BODY)
    assert fetch_feed(str(path), max_bytes=LIMIT).body == BODY
    assert fetch_feed(f"file://{path}", max_bytes=LIMIT).body == BODY
    path.write_bytes(b"x" * (LIMIT + 1))
    with pytest.raises(FeedError, match="larger than"):
        fetch_feed(str(path), max_bytes=LIMIT)
    with pytest.raises(FeedError, match="file not found"):
        fetch_feed(str(tmp_path / "missing.ics"), max_bytes=LIMIT)
