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
from handlers.jobs import JobKind
from handlers.timezones import TimeZones
from sources.webhooks import WebhookEndpoint

__all__ = ["Sources", "build_sources"]


@dataclass
class Sources:
    webhooks: list[WebhookEndpoint] = field(default_factory=list)
    kinds: list[JobKind] = field(default_factory=list)


def build_sources(
    config: Config, ctx: BotContext, client: WebClient, timezones: TimeZones
) -> Sources:
    """The configured sources' endpoints and job kinds."""
    found = Sources()
    return found
