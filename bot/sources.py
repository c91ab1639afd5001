"""Wiring of the interview sources: which webhook endpoints and which job kinds a bot has.

Built from the config and the environment's secrets: a source without its secret
(or without config) is simply absent, so its endpoint answers 404 and nothing
polls. Each source adds its endpoint and kinds here; the engine (handlers.jobs)
and the HTTP server (bot.server) know nothing of any particular source.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from slack_sdk import WebClient

from bot.config import Config
from handlers.context import BotContext
from handlers.deliveries import outgoing_kinds
from handlers.jobs import JobKind
from handlers.timezones import TimeZones
from sources.webhooks import WebhookEndpoint
from storage.deliveries import Receiver

__all__ = ["OUTGOING_UNSIGNED", "Sources", "build_sources", "calendar_kinds"]

OUTGOING_UNSIGNED = (
    "outgoing_webhooks is configured but INTERVIEW_BOT_OUTGOING_SECRET is not set "
    "(the secret that signs every delivery; see docs/sources/outgoing-webhooks.md)"
)


@dataclass
class Sources:
    webhooks: list[WebhookEndpoint] = field(default_factory=list)
    kinds: list[JobKind] = field(default_factory=list)


def build_sources(
    config: Config, ctx: BotContext, client: WebClient, timezones: TimeZones
) -> Sources:
    """The configured sources' endpoints and job kinds."""
    found = Sources()
    found.kinds.append(_incomplete_notices(ctx, client, timezones))  # every source's
    _add_generic_webhook(found, config, ctx, client, timezones)  # INTERVIEW_BOT_WEBHOOK_SECRET
    found.kinds.extend(_outgoing_kinds(config, ctx))
    found.kinds.extend(calendar_kinds(config, ctx, client, timezones))  # config calendars:
    return found


def calendar_kinds(
    config: Config, ctx: BotContext, client: WebClient, timezones: TimeZones
) -> list[JobKind]:
    """Calendar feeds (config ``calendars:``): one ``feed_poll`` kind polls them all."""
    from bot.slack_client import email_resolver
    from handlers.cancellations import refresh_cancelled_forms
    from handlers.feeds import CalendarFeed, FeedPollKind
    from sources.ics import FeedRules
    from storage.interviews import Timings

    entries = config.file.calendars
    if not entries:
        return []
    names = [entry.feed_name for entry in entries]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"calendars: two feeds are named {', '.join(twice)}; give each a name")
    jobs = {
        job.job.strip().casefold(): frozenset(
            key for key, value in job.model_dump().items() if value is not None and key != "job"
        )
        for job in config.file.mapping.jobs
    }
    feeds = [
        CalendarFeed(
            rules=FeedRules(
                name=entry.feed_name,
                title_pattern=re.compile(entry.title_pattern),
                defaults=dict(entry.defaults),
                kits=dict(entry.kits),
                ignore=tuple(entry.ignore),
                jobs=jobs,
            ),
            url=entry.url,
            interval=entry.poll_interval,
        )
        for entry in entries
    ]
    kind = FeedPollKind(
        feeds=feeds,
        session_factory=ctx.session_factory,
        registry=ctx.registry,
        timings=Timings(
            form_delay=config.feedback.form_delay, summary_deadline=config.summary.deadline
        ),
        mapping=config.file.mapping,
        resolve_email=email_resolver(client),
        on_cancelled=lambda ids: refresh_cancelled_forms(ctx, client, timezones, ids),
        default_tz=ctx.default_tz,
    )
    return [kind]


def _outgoing_kinds(config: Config, ctx: BotContext) -> list[JobKind]:
    """Outgoing webhooks (config ``outgoing_webhooks``): fan-out and delivery kinds."""
    targets = config.file.outgoing_webhooks
    if not targets:
        return []
    secret = config.secrets.outgoing_secret
    if secret is None:  # check_secrets refuses this at start-up; never send unsigned
        raise ValueError(OUTGOING_UNSIGNED)
    receivers = [Receiver(t.url, tuple(t.events), t.include_notes) for t in targets]
    return outgoing_kinds(ctx.session_factory, receivers, secret.get_secret_value())


def _incomplete_notices(ctx: BotContext, client: WebClient, timezones: TimeZones) -> JobKind:
    """Interviews any source could not complete: their recruiter is told (handlers.incomplete)."""
    from handlers.incomplete import IncompleteNotices

    return IncompleteNotices(ctx, client, timezones)


def _add_generic_webhook(
    found: Sources, config: Config, ctx: BotContext, client: WebClient, timezones: TimeZones
) -> None:
    """``POST /webhooks/interviews`` (docs/sources/webhook.md); absent (404) without its secret."""
    from bot.slack_client import email_resolver
    from handlers.cancellations import refresh_cancelled_forms
    from sources.generic_webhook import GenericWebhook
    from storage.interviews import Timings

    secret = config.secrets.webhook_secret
    if secret is None:
        return
    found.webhooks.append(
        GenericWebhook(
            secret=secret.get_secret_value(),
            session_factory=ctx.session_factory,
            registry=ctx.registry,
            timings=Timings(
                form_delay=config.feedback.form_delay, summary_deadline=config.summary.deadline
            ),
            mapping=config.file.mapping,
            clock=ctx.clock,
            resolve_email=email_resolver(client),
            on_cancelled=lambda ids: refresh_cancelled_forms(ctx, client, timezones, ids),
            default_tz=config.default_timezone,
        )
    )
