"""The baseline: a Bolt ``App`` that only ``ack()``s what the benchmarks send.

    python -m benchmarks.bare_app --port 0

Listeners for the feedback modal's submission, the DM's "Give feedback" button and
``/interview``, behind waitress with ``bot.server.make_http_server``'s settings and
the same WSGI adapter; no database, no other middleware. Reads ``SLACK_BOT_TOKEN``,
``SLACK_SIGNING_SECRET`` and ``SLACK_API_URL`` (Bolt calls ``auth.test`` once).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from types import FrameType

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient
from waitress.server import create_server

from bot.server import EVENTS_PATH
from handlers.blocks.feedback_modal import FEEDBACK_CALLBACK
from handlers.blocks.form_dm import OPEN_ACTION


def build_app(*, process_before_response: bool = False) -> App:
    client = WebClient(
        token=os.environ["SLACK_BOT_TOKEN"],
        base_url=os.environ.get("SLACK_API_URL", "https://slack.com/api/"),
    )
    app = App(
        client=client,
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        token_verification_enabled=False,
        process_before_response=process_before_response,
    )

    def just_ack(ack: Ack) -> None:
        ack()

    app.view(FEEDBACK_CALLBACK)(just_ack)
    app.action(OPEN_ACTION)(just_ack)
    app.command("/interview")(just_ack)
    return app


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--in-thread",
        action="store_true",
        help="process_before_response=True: the listener runs in the request's thread",
    )
    args = parser.parse_args(argv)
    server = create_server(
        SlackRequestHandler(build_app(process_before_response=args.in_thread), path=EVENTS_PATH),
        host=args.host,
        port=args.port,
        threads=args.threads,
        ident="bare-bolt",
        channel_timeout=30,  # as bot.server.make_http_server
        clear_untrusted_proxy_headers=True,
    )

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    port = getattr(server, "effective_port", args.port)
    print(f"bare app listening on http://{args.host}:{port}", flush=True)
    with contextlib.suppress(SystemExit):
        server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
