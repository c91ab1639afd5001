"""Wiring of the interview sources: which webhook endpoints and which job kinds a bot has.

Built from the config and the environment's secrets: a source without its secret
(or without config) is simply absent, so its endpoint answers 404 and nothing
polls. Each source adds its endpoint and kinds here; the engine (handlers.jobs)
and the HTTP server (bot.server) know nothing of any particular source.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from slack_sdk import WebClient

from bot.config import Config
from handlers.context import BotContext
from handlers.deliveries import OutboxKind, outgoing_kinds
from handlers.jobs import JobKind
from handlers.timezones import TimeZones
from sources.webhooks import WebhookEndpoint
from storage.deliveries import Receiver
from storage.import_file import EmailResolver
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


@dataclass(frozen=True)
class _Shared:
    """What every source is built with, made once: the same intake for all of them."""

    ctx: BotContext
    timings: Timings
    resolve_email: EmailResolver
    on_cancelled: Callable[[Sequence[int]], None]  # after a commit: sent form DMs say so


def _shared(config: Config, ctx: BotContext, client: WebClient, timezones: TimeZones) -> _Shared:
    from bot.slack_client import email_resolver
    from handlers.cancellations import refresh_cancelled_forms

    return _Shared(
        ctx=ctx,
        timings=Timings(
            form_delay=config.feedback.form_delay, summary_deadline=config.summary.deadline
        ),
        resolve_email=email_resolver(client),
        on_cancelled=lambda ids: refresh_cancelled_forms(ctx, client, timezones, ids),
    )


def build_sources(
    config: Config, ctx: BotContext, client: WebClient, timezones: TimeZones
) -> Sources:
    """The configured sources' endpoints and job kinds."""
    found = Sources()
    shared = _shared(config, ctx, client, timezones)
    found.kinds.append(_incomplete_notices(ctx, client, timezones))  # every source's
    _add_generic_webhook(found, config, shared)  # INTERVIEW_BOT_WEBHOOK_SECRET
    lever = _lever_endpoint(config, shared)  # LEVER_SIGNATURE_TOKEN + API key
    if lever is not None:
        found.webhooks.append(lever)
    found.kinds.extend(_outgoing_kinds(config, ctx))
    found.kinds.extend(calendar_kinds(config, ctx, client, timezones))  # config calendars:
    _add_greenhouse(found, config, shared)  # GREENHOUSE_* secrets
    ashby = _ashby_endpoint(config, shared)  # ASHBY_WEBHOOK_SECRET (+ API key)
    if ashby is not None:
        found.webhooks.append(ashby)
    return found


def calendar_kinds(
    config: Config, ctx: BotContext, client: WebClient, timezones: TimeZones
) -> list[JobKind]:
    """Calendar feeds (config ``calendars:``): one ``feed_poll`` kind polls them all."""
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
    shared = _shared(config, ctx, client, timezones)
    kind = FeedPollKind(
        feeds=feeds,
        session_factory=ctx.session_factory,
        registry=ctx.registry,
        timings=shared.timings,
        mapping=config.file.mapping,
        resolve_email=shared.resolve_email,
        on_cancelled=shared.on_cancelled,
        default_tz=ctx.default_tz,
    )
    return [kind]


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


def _lever_endpoint(config: Config, shared: _Shared) -> WebhookEndpoint | None:
    from sources.lever import LeverEndpoint, LeverIntake, signature_tokens
    from sources.lever_api import LeverApi

    secrets, ctx = config.secrets, shared.ctx
    if secrets.lever_signature_token is None or secrets.lever_api_key is None:
        return None
    tokens = signature_tokens(secrets.lever_signature_token.get_secret_value())
    if not tokens:
        return None
    intake = LeverIntake(
        session_factory=ctx.session_factory,
        registry=ctx.registry,
        timings=shared.timings,
        mapping=config.file.mapping,
        clock=ctx.clock,
        resolve_email=shared.resolve_email,
        on_cancelled=shared.on_cancelled,
    )
    api = LeverApi(config.file.lever.api_url, secrets.lever_api_key.get_secret_value())
    return LeverEndpoint(tokens, api, intake)


def _add_greenhouse(found: Sources, config: Config, shared: _Shared) -> None:
    """Greenhouse: the Harvest poll with the client credentials, the deletion webhook with
    its secret key (docs/sources/greenhouse.md); each absent without its secrets."""
    from handlers.greenhouse import GreenhousePollKind
    from sources.greenhouse import GreenhousePoller
    from sources.greenhouse_api import HarvestClient
    from sources.greenhouse_webhook import GreenhouseWebhook

    secrets, settings, ctx = config.secrets, config.file.greenhouse, shared.ctx
    timings, refresh = shared.timings, shared.on_cancelled
    client_id, client_secret = secrets.greenhouse_client_id, secrets.greenhouse_client_secret
    if client_id and client_secret and client_secret.get_secret_value():
        api = HarvestClient(
            api_url=settings.api_url,
            token_url=settings.token_url,
            client_id=client_id.get_secret_value(),
            client_secret=client_secret.get_secret_value(),
            user_id=None if settings.user_id is None else str(settings.user_id),
            clock=ctx.clock,
        )
        poller = GreenhousePoller(
            session_factory=ctx.session_factory,
            api=api,
            registry=ctx.registry,
            timings=timings,
            mapping=config.file.mapping,
            interval=settings.poll_interval,
            resolve_email=shared.resolve_email,
            on_cancelled=refresh,
        )
        found.kinds.append(GreenhousePollKind(poller))
    webhook_secret = secrets.greenhouse_webhook_secret
    if webhook_secret is not None and webhook_secret.get_secret_value():  # empty: anyone signs
        found.webhooks.append(
            GreenhouseWebhook(
                secret=webhook_secret.get_secret_value(),
                session_factory=ctx.session_factory,
                registry=ctx.registry,
                timings=timings,
                mapping=config.file.mapping,
                clock=ctx.clock,
                on_cancelled=refresh,
            )
        )


def _ashby_endpoint(config: Config, shared: _Shared) -> WebhookEndpoint | None:
    """Ashby's webhooks (docs/sources/ashby.md); without ASHBY_API_KEY names stay unknown."""
    from sources.ashby import AshbyEndpoint
    from sources.ashby_api import AshbyApi

    ctx = shared.ctx
    secrets, settings = config.secrets, config.file.ashby
    secret = secrets.ashby_webhook_secret.get_secret_value() if secrets.ashby_webhook_secret else ""
    if not secret:
        return None  # unset (or empty: an empty key would let anyone sign)
    key = secrets.ashby_api_key.get_secret_value() if secrets.ashby_api_key else ""
    return AshbyEndpoint(
        secret=secret,
        session_factory=ctx.session_factory,
        registry=ctx.registry,
        timings=shared.timings,
        mapping=config.file.mapping,
        clock=ctx.clock,
        api=AshbyApi(settings.api_url, key) if key else None,
        resolve_email=shared.resolve_email,
        on_cancelled=shared.on_cancelled,
        default_tz=ctx.default_tz,
    )


def _incomplete_notices(ctx: BotContext, client: WebClient, timezones: TimeZones) -> JobKind:
    """Interviews any source could not complete: their recruiter is told (handlers.incomplete)."""
    from handlers.incomplete import IncompleteNotices

    return IncompleteNotices(ctx, client, timezones)


def _add_generic_webhook(found: Sources, config: Config, shared: _Shared) -> None:
    """``POST /webhooks/interviews`` (docs/sources/webhook.md); absent (404) without its secret."""
    from sources.generic_webhook import GenericWebhook

    secret, ctx = config.secrets.webhook_secret, shared.ctx
    if secret is None:
        return
    found.webhooks.append(
        GenericWebhook(
            secret=secret.get_secret_value(),
            session_factory=ctx.session_factory,
            registry=ctx.registry,
            timings=shared.timings,
            mapping=config.file.mapping,
            clock=ctx.clock,
            resolve_email=shared.resolve_email,
            on_cancelled=shared.on_cancelled,
            default_tz=config.default_timezone,
        )
    )
