"""The composition root: one Bolt app, its context, the sweep, wired from the config."""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Config
from bot.slack_client import counting
from bot.sources import OUTGOING_UNSIGNED, build_sources
from handlers.context import BotContext, CalibrationSettings, ReminderSettings, utc_now
from handlers.listeners import register_listeners
from handlers.logcontext import start_log_context
from handlers.summary import SummaryWorker
from handlers.sweep import Sweeper
from handlers.timezones import TimeZones
from rubric import RubricRegistry
from sources.webhooks import WebhookEndpoint
from storage.policy import FeedbackPolicy

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

_SAFE_ID = re.compile(r"[^A-Za-z0-9._:-]")


class ContextThreadPoolExecutor(ThreadPoolExecutor):
    """Runs each task in a copy of the submitter's context, so log fields follow it."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        context = contextvars.copy_context()
        return super().submit(context.run, fn, *args, **kwargs)  # type: ignore[arg-type]


def request_id_of(body: dict[str, Any]) -> str:
    """An id for one Slack request: its event_id, trigger_id, view id or action_ts, else new."""
    view: Any = body.get("view")
    view = view if isinstance(view, dict) else {}
    actions: Any = body.get("actions")
    first: Any = actions[0] if isinstance(actions, list) and actions else {}
    first = first if isinstance(first, dict) else {}
    for candidate in (
        body.get("event_id"),
        body.get("trigger_id"),
        view.get("id"),
        first.get("action_ts"),
    ):
        if isinstance(candidate, str) and candidate:
            return _SAFE_ID.sub("", candidate)[:64] or uuid.uuid4().hex
    return uuid.uuid4().hex


def _request_context(body: dict[str, Any], context: BoltContext, next: Callable[[], Any]) -> Any:
    """Bolt global middleware: a request_id on every later log line; Slack errors counted.

    Bolt runs middleware one after another, not nested around the listener, so the
    field is set for the rest of the request's context (``BotWsgiApp`` gives each
    request a fresh one; the listener executor copies it into the listener's thread).
    """
    start_log_context(request_id=request_id_of(body))
    if context.client is not None:
        context["client"] = counting(context.client)  # Bolt's per-request plain WebClient
    return next()


class SecretsError(Exception):
    """A Slack credential is missing or malformed; names the variable."""


@dataclass
class Bot:
    app: App
    ctx: BotContext
    client: WebClient
    timezones: TimeZones
    sweeper: Sweeper
    # POST /webhooks/<name> endpoints of the configured sources (bot.sources).
    webhooks: list[WebhookEndpoint] = field(default_factory=list)
    # The sources' vendor API clients (connection pools): closed once nothing polls.
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        """Stop the sweep and let the work after acks finish (once serving has stopped)."""
        self.sweeper.stop()
        for close in self.closers:
            try:
                close()
            except Exception:  # one pool failing to close must not keep the others open
                logger.exception("closing a source's API client failed")
        # Bolt runs listeners after their ack on this pool; its idle workers would linger.
        self.app.listener_runner.listener_executor.shutdown(wait=True)
        self.ctx.after_ack.shutdown(wait=True)


def policy_from(config: Config) -> FeedbackPolicy:
    return FeedbackPolicy(
        form_delay=config.feedback.form_delay,
        due_after=config.feedback.due_after,
        summary_deadline=config.summary.deadline,
        editable_until=config.feedback.editable_until,
        require_evidence=config.feedback.require_evidence,
        digest_interval=config.reminders.digest_interval,
    )


def check_secrets(config: Config, *, socket_mode: bool = False) -> None:
    """Fail fast, naming the variable, before anything is served."""
    secrets = config.secrets
    token = secrets.bot_token.get_secret_value() if secrets.bot_token else ""
    if not token:
        raise SecretsError("SLACK_BOT_TOKEN is not set (a bot token, xoxb-...)")
    if not token.startswith("xoxb-"):
        raise SecretsError("SLACK_BOT_TOKEN is malformed: a bot token starts with xoxb-")
    signing = secrets.signing_secret.get_secret_value() if secrets.signing_secret else ""
    if not signing:
        raise SecretsError("SLACK_SIGNING_SECRET is not set (Basic Information > App Credentials)")
    if any(c.isspace() for c in signing) or len(signing) < 16:
        raise SecretsError("SLACK_SIGNING_SECRET is malformed")
    if socket_mode:
        app_token = secrets.app_token.get_secret_value() if secrets.app_token else ""
        if not app_token:
            raise SecretsError("SLACK_APP_TOKEN is not set (Socket Mode needs an xapp- token)")
        if not app_token.startswith("xapp-"):
            raise SecretsError("SLACK_APP_TOKEN is malformed: an app-level token starts with xapp-")
    if config.file.outgoing_webhooks and not secrets.outgoing_secret:
        raise SecretsError(OUTGOING_UNSIGNED)


def build_bot(
    config: Config,
    session_factory: sessionmaker[Session],
    client: WebClient,
    *,
    registry: RubricRegistry | None = None,
    clock: Callable[[], datetime] = utc_now,
) -> Bot:
    """Everything a bot process runs, with no side effects until served."""
    ctx = BotContext(
        session_factory=session_factory,
        policy=policy_from(config),
        registry=registry or RubricRegistry.load(config.rubrics_dir),
        default_tz=config.default_timezone or UTC,
        recruiters=frozenset(config.access.recruiters),
        calibration_readers=frozenset(config.access.calibration),
        calibration=CalibrationSettings(
            min_ratings=config.calibration.min_ratings, period=config.calibration.period
        ),
        clock=clock,
        reminders=ReminderSettings(
            interval=config.reminders.interval,
            max_nudges=config.reminders.max,
            quiet_hours=config.reminders.quiet_hours,
        ),
        # Copies the request's context, so the work keeps its request_id in the logs.
        after_ack=ContextThreadPoolExecutor(max_workers=4, thread_name_prefix="after-ack"),
    )
    signing = config.secrets.signing_secret
    app = App(
        client=client,
        signing_secret=signing.get_secret_value() if signing else None,
        # Verified lazily by Bolt's auth middleware on the first request, not at start-up.
        token_verification_enabled=False,
        logger=logging.getLogger("slack_bolt"),
        # Listeners run in the request's thread and their return is the answer: no
        # hand-off to a pool of five and no 10 ms polling for the ack, so an ack waits
        # only for its own work. What follows an ack goes to ctx.later (after_ack).
        process_before_response=True,
        # Only for Bolt's lazy listeners (none); the copied context keeps request_id.
        listener_executor=ContextThreadPoolExecutor(max_workers=2),
    )
    app.use(_request_context)
    timezones = TimeZones(ctx.default_tz, session_factory=session_factory, clock=clock)
    register_listeners(app, ctx, timezones, candidate_display=config.summary.candidate_display)
    summaries = SummaryWorker(
        ctx, client, candidate_display=config.summary.candidate_display, timezones=timezones
    )
    sources = build_sources(config, ctx, client, timezones)
    sweeper = Sweeper(
        ctx,
        client,
        timezones,
        summaries,
        retention=config.retention.period,
        kinds=sources.kinds,
    )
    return Bot(app, ctx, client, timezones, sweeper, sources.webhooks, sources.closers)


def create_app(
    config: Config,
    session_factory: sessionmaker[Session],
    client: WebClient,
    *,
    clock: Callable[[], datetime] = utc_now,
) -> App:
    """The Bolt app with every listener registered (signature verification always on)."""
    return build_bot(config, session_factory, client, clock=clock).app
