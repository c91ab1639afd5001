"""HTTP serving: Bolt's WSGI adapter behind waitress, plus ``GET /healthz`` and ``/metrics``."""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy.engine import Engine
from waitress import wasyncore
from waitress.server import create_server

from handlers.metrics import REGISTRY

if TYPE_CHECKING:
    from waitress.server import BaseWSGIServer, MultiSocketServer

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"

StartResponse = Callable[..., Any]


class BotWsgiApp:
    """Routes Slack requests to Bolt; answers health checks and Prometheus scrapes."""

    def __init__(self, app: App, engine: Engine) -> None:
        self.slack = SlackRequestHandler(app, path=EVENTS_PATH)
        self.engine = engine
        self.ready = threading.Event()

    def healthy(self) -> tuple[bool, str]:
        if not self.ready.is_set():
            return False, "starting"
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except Exception as exc:  # any failure means "not ready"; the log says which
            logger.warning("health check: database unreachable: %s", type(exc).__name__)
            return False, "database unreachable"
        return True, "ok"

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        # A fresh context per request: the request_id the Bolt middleware sets ends here.
        return contextvars.copy_context().run(self._route, environ, start_response)

    def _route(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH and environ.get("REQUEST_METHOD") in (
            "GET",
            "HEAD",
        ):
            ok, detail = self.healthy()
            body = detail.encode()
            start_response(
                "200 OK" if ok else "503 Service Unavailable",
                [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))],
            )
            return [body]
        if environ.get("PATH_INFO") == METRICS_PATH and environ.get("REQUEST_METHOD") in (
            "GET",
            "HEAD",
        ):
            body = generate_latest(REGISTRY)
            start_response(
                "200 OK",
                [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))],
            )
            return [body]
        return self.slack(environ, start_response)


def stop_http_server(server: BaseWSGIServer | MultiSocketServer, thread: threading.Thread) -> None:
    """Stop a server whose ``run()`` loop is on ``thread``, from another thread.

    The sockets are closed inside the loop's own thread (through waitress's
    trigger), so the loop never polls a closed descriptor; then in-flight
    requests get a few seconds to finish.
    """
    socket_map = getattr(server, "_map", None) or getattr(server, "map", {})
    trigger = getattr(server, "trigger", None)
    if trigger is not None and thread.is_alive():
        trigger.pull_trigger(lambda: wasyncore.close_all(socket_map))
        thread.join(timeout=10)
    else:
        wasyncore.close_all(socket_map)
    server.task_dispatcher.shutdown(timeout=5)


def make_http_server(
    wsgi_app: BotWsgiApp, *, host: str, port: int, threads: int = 8
) -> BaseWSGIServer | MultiSocketServer:
    """A production WSGI server (waitress); port 0 picks a free port."""
    return create_server(
        wsgi_app,
        host=host,
        port=port,
        threads=threads,
        ident="interview-bot",
        # Slack retries after 3 s anyway; do not let slow clients hold threads.
        channel_timeout=30,
        clear_untrusted_proxy_headers=True,
    )
