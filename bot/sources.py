"""Wiring of the interview sources: which webhook endpoints and which job kinds a bot has.

Built from the config and the environment's secrets: a source without its secret
(or without config) is simply absent, so its endpoint answers 404 and nothing
polls. Each source adds its endpoint and kinds here; the engine (handlers.jobs)
and the HTTP server (bot.server) know nothing of any particular source.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from slack_sdk import WebClient

from bot.config import Config
from handlers.context import BotContext
from handlers.deliveries import OutboxKind, outgoing_kinds
from handlers.jobs import JobKind
from handlers.timezones import TimeZones
from sources.webhooks import WebhookEndpoint
from sources.wiring import SourceDeps
from storage.deliveries import Receiver
from storage.intake import Intake
from storage.interviews import Timings

__all__ = ["OUTGOING_UNSIGNED", "Sources", "build_sources", "calendar_kinds"]

OUTGOING_UNSIGNED = (
    "outgoing_webhooks is configured but INTERVIEW_BOT_OUTGOING_SECRET is not set "
    "(the secret that signs every delivery; see docs/sources/outgoing-webhooks.md)"
)


@dataclass
class Sources:
    webhooks: list[WebhookEndpoint] = field(default_factory=list)
    kinds: list[JobKind] = field(default_factory=list)
    # The vendor API clients' connection pools, closed by Bot.close() after the sweep stopped.
    closers: list[Callable[[], None]] = field(default_factory=list)


def _deps(config: Config, ctx: BotContext, client: WebClient, timezones: TimeZones) -> SourceDeps:
    """What every source is built with, made once: the same intake for all of them."""
    from bot.slack_client import email_resolver
    from handlers.cancellations import refresh_cancelled_forms

    timings = Timings(
        form_delay=config.feedback.form_delay, summary_deadline=config.summary.deadline
    )
    return SourceDeps(
        session_factory=ctx.session_factory,
        intake=Intake(ctx.registry, timings, config.file.mapping, ctx.default_tz),
        clock=ctx.clock,
        resolve_email=email_resolver(client),
        on_cancelled=lambda ids: refresh_cancelled_forms(ctx, client, timezones, ids),
    )


def build_sources(
    config: Config, ctx: BotContext, client: WebClient, timezones: TimeZones
) -> Sources:
    """The configured sources' endpoints and job kinds."""
    found = Sources()
    deps = _deps(config, ctx, client, timezones)
    found.kinds.append(_incomplete_notices(ctx, client, timezones))  # every source's
    _add_generic_webhook(found, config, deps)  # INTERVIEW_BOT_WEBHOOK_SECRET
    _add_lever(found, config, deps)  # LEVER_SIGNATURE_TOKEN + API key
    found.kinds.extend(_outgoing_kinds(config, ctx))
    found.kinds.extend(_calendar_kinds(config, deps))  # config calendars:
    _add_greenhouse(found, config, deps)  # GREENHOUSE_* secrets
    _add_ashby(found, config, deps)  # ASHBY_WEBHOOK_SECRET (+ API key)
    return found


def calendar_kinds(
    config: Config, ctx: BotContext, client: WebClient, timezones: TimeZones
) -> list[JobKind]:
    """Calendar feeds (config ``calendars:``): one ``feed_poll`` kind polls them all."""
    return _calendar_kinds(config, _deps(config, ctx, client, timezones))


def _calendar_kinds(config: Config, deps: SourceDeps) -> list[JobKind]:
    from handlers.feeds import CalendarFeed, FeedPollKind
    from sources.ics import FeedRules

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
    return [FeedPollKind(feeds=feeds, deps=deps)]


def _outgoing_kinds(config: Config, ctx: BotContext) -> list[JobKind]:
    """Outgoing webhooks (config ``outgoing_webhooks``): fan-out and delivery kinds."""
    targets = config.file.outgoing_webhooks
    if not targets:
        # Summaries still write outbox events: drained (to no receiver) so it never grows.
        return [OutboxKind(ctx.session_factory, ())]
    secret = config.secrets.outgoing_secret
    if secret is None:  # check_secrets refuses this at start-up; never send unsigned
        raise ValueError(OUTGOING_UNSIGNED)
    receivers = [Receiver(t.url, tuple(t.events), t.include_notes) for t in targets]
    return outgoing_kinds(ctx.session_factory, receivers, secret.get_secret_value())


def _add_lever(found: Sources, config: Config, deps: SourceDeps) -> None:
    from sources.lever import LeverEndpoint, signature_tokens
    from sources.lever_api import LeverApi

    secrets = config.secrets
    if secrets.lever_signature_token is None or secrets.lever_api_key is None:
        return
    tokens = signature_tokens(secrets.lever_signature_token.get_secret_value())
    if not tokens:
        return
    api = LeverApi(config.file.lever.api_url, secrets.lever_api_key.get_secret_value())
    found.closers.append(api.close)
    found.webhooks.append(LeverEndpoint(tokens, api, deps))


def _add_greenhouse(found: Sources, config: Config, deps: SourceDeps) -> None:
    """Greenhouse: the Harvest poll with the client credentials, the deletion webhook with
    its secret key (docs/sources/greenhouse.md); each absent without its secrets."""
    from handlers.greenhouse import GreenhousePollKind
    from sources.greenhouse import GreenhousePoller
    from sources.greenhouse_api import HarvestClient
    from sources.greenhouse_webhook import GreenhouseWebhook

    secrets, settings = config.secrets, config.file.greenhouse
    client_id, client_secret = secrets.greenhouse_client_id, secrets.greenhouse_client_secret
    if client_id and client_secret and client_secret.get_secret_value():
        api = HarvestClient(
            api_url=settings.api_url,
            token_url=settings.token_url,
            client_id=client_id.get_secret_value(),
            client_secret=client_secret.get_secret_value(),
            user_id=None if settings.user_id is None else str(settings.user_id),
            clock=deps.clock,
        )
        found.closers.append(api.close)
        poller = GreenhousePoller(deps=deps, api=api, interval=settings.poll_interval)
        found.kinds.append(GreenhousePollKind(poller))
    webhook_secret = secrets.greenhouse_webhook_secret
    if webhook_secret is not None and webhook_secret.get_secret_value():  # empty: anyone signs
        found.webhooks.append(GreenhouseWebhook(webhook_secret.get_secret_value(), deps))


def _add_ashby(found: Sources, config: Config, deps: SourceDeps) -> None:
    """Ashby's webhooks (docs/sources/ashby.md); without ASHBY_API_KEY names stay unknown."""
    from sources.ashby import AshbyEndpoint
    from sources.ashby_api import AshbyApi

    secrets, settings = config.secrets, config.file.ashby
    secret = secrets.ashby_webhook_secret.get_secret_value() if secrets.ashby_webhook_secret else ""
    if not secret:
        return  # unset (or empty: an empty key would let anyone sign)
    key = secrets.ashby_api_key.get_secret_value() if secrets.ashby_api_key else ""
    api = AshbyApi(settings.api_url, key) if key else None
    if api is not None:
        found.closers.append(api.close)
    found.webhooks.append(AshbyEndpoint(secret, deps, api))


def _incomplete_notices(ctx: BotContext, client: WebClient, timezones: TimeZones) -> JobKind:
    """Interviews any source could not complete: their recruiter is told (handlers.incomplete)."""
    from handlers.incomplete import IncompleteNotices

    return IncompleteNotices(ctx, client, timezones)


def _add_generic_webhook(found: Sources, config: Config, deps: SourceDeps) -> None:
    """``POST /webhooks/interviews`` (docs/sources/webhook.md); absent (404) without its secret."""
    from sources.generic_webhook import GenericWebhook

    secret = config.secrets.webhook_secret
    if secret is None:
        return
    # The config's zone as given: without default_timezone a time with no offset is refused.
    intake = replace(deps.intake, default_tz=config.default_timezone)
    found.webhooks.append(GenericWebhook(secret.get_secret_value(), replace(deps, intake=intake)))
