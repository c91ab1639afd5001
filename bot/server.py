"""HTTP serving: Bolt's WSGI adapter behind waitress, plus ``GET /healthz`` and ``/metrics``."""

from __future__ import annotations

import contextvars
import io
import json
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from http import HTTPStatus
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import sqlalchemy as sa
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy.engine import Engine
from waitress import wasyncore
from waitress.server import create_server

from handlers.metrics import REGISTRY
from sources.webhooks import WebhookEndpoint, WebhookReply
from storage.import_file import EmailLookupUnavailable

if TYPE_CHECKING:
    from waitress.server import BaseWSGIServer, MultiSocketServer

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
WEBHOOKS_PREFIX = "/webhooks/"
METRICS_PATH = "/metrics"

StartResponse = Callable[..., Any]

# Slack's largest payloads (a view_submission of a full modal) stay far below this.
MAX_BODY_BYTES = 1024 * 1024


def body_problem(raw: bytes, content_type: str) -> str | None:
    """Why Bolt could not parse this body (None if it can), checked before Bolt sees it.

    Bolt parses the body before it checks the signature and answers HTTP 500 when
    parsing fails; these rules follow its ``parse_body`` so that a garbled request
    gets a 400 instead and never reaches a listener.
    """
    if not raw:
        return "empty body"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "body is not UTF-8"
    try:
        if content_type.split(";")[0].strip() == "application/json" or text.startswith("{"):
            parsed: Any = json.loads(text)
        elif "payload" in text:
            payload = dict(parse_qsl(text, keep_blank_values=True)).get("payload")
            parsed = json.loads(payload) if payload is not None else {}
        else:
            parsed = dict(parse_qsl(text, keep_blank_values=True))
    except ValueError:
        return "body is not valid JSON or form data"
    if not isinstance(parsed, dict):
        return "body is not a JSON object"
    return envelope_problem(parsed)


# Fields Bolt reads while routing: Slack sends each as a string or an object. Bolt
# looks for "id" in them, which raises on a number (a list merely finds nothing).
_ID_FIELDS = ("user", "team", "enterprise", "organization", "channel")


def envelope_problem(payload: dict[str, Any]) -> str | None:
    """Why Bolt's routing would crash on this payload's shape (None if it would not).

    Slack never sends these shapes; a forged or garbled request does, and Bolt
    answers it with HTTP 500 (an exception in its matchers) unless it is refused here.
    """
    nested = [payload]
    event = payload.get("event")
    if "event" in payload and not isinstance(event, dict):
        return "event is not an object"
    if isinstance(event, dict):
        nested.append(event)
        nested += [
            event[k] for k in ("message", "previous_message") if isinstance(event.get(k), dict)
        ]
    for part in nested:
        for name in _ID_FIELDS:
            value = part.get(name)
            if isinstance(value, bool | int | float):
                return f"{name} is a number, not a string or an object"
    kind = payload.get("type")
    if kind == "block_actions":
        actions = payload.get("actions")
        if not isinstance(actions, list) or not actions:
            return "block_actions without actions"
        if not all(isinstance(action, dict) for action in actions):
            return "an action is not an object"
    if kind in ("view_submission", "view_closed"):
        view = payload.get("view")
        if not isinstance(view, dict) or not isinstance(view.get("type"), str):
            return "view is not a view object"
    return None


class BotWsgiApp:
    """Routes Slack requests to Bolt; answers health checks and Prometheus scrapes."""

    def __init__(
        self,
        app: App,
        engine: Engine,
        webhooks: Sequence[WebhookEndpoint] = (),
    ) -> None:
        self.slack = SlackRequestHandler(app, path=EVENTS_PATH)
        self.engine = engine
        self.ready = threading.Event()
        # POST /webhooks/<name>: only the sources configured (their secret set).
        self.webhooks = {endpoint.path: endpoint for endpoint in webhooks}

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
        path = str(environ.get("PATH_INFO") or "")
        if path.startswith(WEBHOOKS_PREFIX):
            return self._webhook(path, environ, start_response)
        if environ.get("REQUEST_METHOD") == "POST":
            refused = self._read_body(environ)
            if refused is not None:
                status, reason = refused
                logger.info("refused a request to %s: %s", environ.get("PATH_INFO"), reason)
                body = reason.encode()
                start_response(
                    status,
                    [
                        ("Content-Type", "text/plain; charset=utf-8"),
                        ("Content-Length", str(len(body))),
                    ],
                )
                return [body]
        return self.slack(environ, start_response)

    def _webhook(
        self, path: str, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        endpoint = self.webhooks.get(path)
        if endpoint is None or environ.get("REQUEST_METHOD") != "POST":
            reply = WebhookReply(404, {"error": "not found"})
        else:
            raw = _bounded_body(environ)
            if raw is None:
                reply = WebhookReply(413, {"error": "body over 1 MiB"})
            else:
                reply = _answer(endpoint, raw, _headers(environ))
        body = reply.encoded()
        start_response(
            f"{reply.status} {HTTPStatus(reply.status).phrase}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body]

    @staticmethod
    def _read_body(environ: dict[str, Any]) -> tuple[str, str] | None:
        """Read and check the body, then hand Bolt a fresh stream of the same bytes."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return "400 Bad Request", "bad Content-Length"
        if length > MAX_BODY_BYTES:
            return "413 Payload Too Large", "body too large"
        raw = environ["wsgi.input"].read(length) if length > 0 else b""
        environ["wsgi.input"] = io.BytesIO(raw)
        problem = body_problem(raw, str(environ.get("CONTENT_TYPE") or ""))
        if problem is not None:
            return "400 Bad Request", problem
        return None


def _answer(endpoint: WebhookEndpoint, raw: bytes, headers: dict[str, str]) -> WebhookReply:
    """The endpoint's answer; Slack unable to look up an interviewer is a 503 for every source.

    Nothing was written (the lookups run before the transaction), and the sender
    retries: better than storing every interviewer as unknown during a Slack outage.
    """
    try:
        return endpoint.handle(raw, headers)
    except EmailLookupUnavailable as exc:
        logger.warning("webhook %s: %s; answered 503", endpoint.path, exc)
        return WebhookReply(
            503, {"error": "Slack cannot look up the interviewers now; retry later"}
        )


def _bounded_body(environ: dict[str, Any]) -> bytes | None:
    """The raw body, or None if it is over MAX_BODY_BYTES (refused before reading it)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        length = -1
    stream = environ["wsgi.input"]
    if length > MAX_BODY_BYTES:
        return None
    if length >= 0:
        return bytes(stream.read(length)) if length else b""
    # No length given: read at most one byte past the limit, never the whole stream.
    raw = bytes(stream.read(MAX_BODY_BYTES + 1))
    return None if len(raw) > MAX_BODY_BYTES else raw


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    """The request headers as ``Header-Name: value`` (WSGI keeps them as HTTP_HEADER_NAME)."""
    headers = {
        key[5:].replace("_", "-").title(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = str(environ["CONTENT_TYPE"])
    return headers


def stop_http_server(server: BaseWSGIServer | MultiSocketServer, thread: threading.Thread) -> None:
    """Stop a server whose ``run()`` loop is on ``thread``, from another thread.

    The sockets are closed inside the loop's own thread (through waitress's
    trigger), so the loop never polls a closed descriptor; then in-flight
    requests get a few seconds to finish.
    """
    socket_map = getattr(server, "_map", None)
    if socket_map is None:
        socket_map = getattr(server, "map", {})
    trigger = getattr(server, "trigger", None)
    pulled = False
    if trigger is not None and thread.is_alive():
        try:
            trigger.pull_trigger(lambda: wasyncore.close_all(socket_map))
            pulled = True
        except OSError:
            # The trigger's pipe is already closed: the loop is ending on its own
            # (seen under load in CI as EBADF). Close what is left from here.
            logger.debug("waitress trigger already closed; closing the sockets directly")
    if not pulled:
        wasyncore.close_all(socket_map)
    if trigger is not None:
        thread.join(timeout=10)
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
