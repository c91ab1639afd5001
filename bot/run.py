"""Long-running modes: ``serve`` (HTTP or Socket Mode, with the sweep) and ``worker``."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

from sqlalchemy.engine import Engine

from bot.app import SecretsError, build_bot, check_secrets
from bot.config import Config
from bot.scheduler import start_scheduler, stop_scheduler
from bot.server import BotWsgiApp, make_http_server
from bot.slack_client import create_web_client
from storage.engine import make_session_factory

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_USAGE = 2


def _stop_on_signals(stop: Callable[[], None]) -> None:
    def handler(signum: int, _frame: FrameType | None) -> None:
        logger.info("received %s; stopping", signal.Signals(signum).name)
        stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def run_serve(
    config: Config,
    *,
    open_database: Callable[[Config], Engine],
    socket_mode: bool,
    host: str,
    port: int,
    threads: int,
    scheduler: bool,
) -> int:
    try:
        check_secrets(config, socket_mode=socket_mode)
    except SecretsError as exc:
        print(f"interview-bot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    engine = open_database(config)
    bot = build_bot(config, make_session_factory(engine), create_web_client(config))
    sweep = start_scheduler(bot.sweeper, config.scheduler.sweep_interval) if scheduler else None
    try:
        if socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            assert config.secrets.app_token is not None  # checked above
            handler = SocketModeHandler(bot.app, config.secrets.app_token.get_secret_value())
            stopped = threading.Event()
            _stop_on_signals(stopped.set)
            handler.connect()  # type: ignore[no-untyped-call]
            logger.info("serving Slack over Socket Mode")
            stopped.wait()
            handler.close()  # type: ignore[no-untyped-call]
        else:
            wsgi = BotWsgiApp(bot.app, engine, bot.webhooks)
            server = make_http_server(wsgi, host=host, port=port, threads=threads)

            def stop_http() -> None:
                # Raised in the main thread, inside waitress's loop: it closes the
                # listening socket and lets in-flight requests finish.
                raise SystemExit(0)

            _stop_on_signals(stop_http)
            bound = getattr(server, "effective_port", port)
            print(
                f"interview-bot listening on http://{host}:{bound} "
                "(POST /slack/events, GET /healthz, GET /metrics)",
                flush=True,
            )
            wsgi.ready.set()
            server.run()
    finally:
        if sweep is not None:
            stop_scheduler(sweep, bot.sweeper)
        bot.close()  # the work after in-flight acks finishes before the engine goes
        engine.dispose()
        logger.info("stopped")
    return EXIT_OK


def run_worker(config: Config, *, open_database: Callable[[Config], Engine]) -> int:
    try:
        check_secrets(config)
    except SecretsError as exc:
        print(f"interview-bot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    engine = open_database(config)
    bot = build_bot(config, make_session_factory(engine), create_web_client(config))
    stopped = threading.Event()
    _stop_on_signals(stopped.set)
    sweep = start_scheduler(bot.sweeper, config.scheduler.sweep_interval)
    print("interview-bot worker running the sweep", flush=True)
    try:
        stopped.wait()
    finally:
        stop_scheduler(sweep, bot.sweeper)
        engine.dispose()
    return EXIT_OK
