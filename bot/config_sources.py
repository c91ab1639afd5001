"""Config sections of the interview sources: mapping, calendars, the ATSs, outgoing webhooks.

Kept apart from bot.config so each source's settings sit together; FileConfig
includes them. Secrets and API keys are never here: they come from the environment
(bot.config.Secrets).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from rubric.durations import format_duration, parse_duration
from storage.mapping import SourceMapping

__all__ = [
    "AshbyConfig",
    "CalendarFeedConfig",
    "GreenhouseConfig",
    "LeverConfig",
    "OutgoingWebhookConfig",
    "SourceMapping",
]

Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CalendarFeedConfig(_Section):
    """One ``calendars:`` entry (DESIGN "Where interviews come from")."""

    name: str | None = None  # shown by `sources status`; default: derived from the url
    url: str = Field(min_length=1)  # http(s) URL or a local file path
    poll_interval: Duration = timedelta(minutes=5)
    title_pattern: str = Field(min_length=1)  # regex with (?P<candidate>...), role, kit
    defaults: dict[str, Any] = Field(default_factory=dict)
    kits: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    ignore: tuple[str, ...] = ()  # glob patterns of attendee emails that are not interviewers


class AshbyConfig(_Section):
    """Ashby: webhooks at POST /webhooks/ashby (ASHBY_WEBHOOK_SECRET, ASHBY_API_KEY)."""

    api_url: str = "https://api.ashbyhq.com"


class GreenhouseConfig(_Section):
    """Greenhouse: Harvest API polling (client credentials from the environment)."""

    api_url: str = "https://harvest.greenhouse.io"
    poll_interval: Duration = timedelta(minutes=5)


class LeverConfig(_Section):
    """Lever: webhooks at POST /webhooks/lever (LEVER_API_KEY, signature tokens)."""

    api_url: str = "https://api.lever.co"


class OutgoingWebhookConfig(_Section):
    """One ``outgoing_webhooks:`` entry: where the panel's result goes."""

    url: str = Field(min_length=1)
    events: tuple[str, ...] = ("summary.posted", "summary.updated")
    include_notes: bool = False
