"""Config sections of the interview sources: mapping, calendars, the ATSs, outgoing webhooks.

Kept apart from bot.config so each source's settings sit together; FileConfig
includes them. Secrets and API keys are never here: they come from the environment
(bot.config.Secrets).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
)

from rubric.durations import format_duration, parse_duration
from storage.deliveries import OUTGOING_EVENTS
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
    """One ``outgoing_webhooks:`` entry: where the panel's result goes (storage.deliveries).

    Signed with INTERVIEW_BOT_OUTGOING_SECRET; docs/sources/outgoing-webhooks.md.
    """

    url: str = Field(min_length=1)
    events: tuple[str, ...] = OUTGOING_EVENTS
    include_notes: bool = False  # notes and evidence text; ratings are always sent

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        if parts.username or parts.password:
            # The URL is stored with every delivery: no credentials in it (use the signature).
            raise ValueError("must not hold a user name or password")
        return value.strip()

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [event for event in value if event not in OUTGOING_EVENTS]
        if unknown:
            known = ", ".join(OUTGOING_EVENTS)
            raise ValueError(f"unknown event {unknown[0]!r} (known: {known})")
        if not value:
            raise ValueError("must name at least one event")
        return tuple(dict.fromkeys(value))
