"""Config sections of the interview sources: mapping, calendars, the ATSs, outgoing webhooks.

Kept apart from bot.config so each source's settings sit together; FileConfig
includes them. Secrets and API keys are never here: they come from the environment
(bot.config.Secrets).
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from pathlib import PurePath
from typing import Any
from urllib.parse import urlsplit

from pydantic import (
    Field,
    field_serializer,
    field_validator,
)

from bot.config_types import Duration
from bot.config_types import Section as _Section
from storage.deliveries import OUTGOING_EVENTS
from storage.import_file import EMAIL, SLACK_CHANNEL_ID, SLACK_USER_ID
from storage.mapping import DEFAULT_KEYS, SourceMapping

_FEED_NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")

__all__ = [
    "AshbyConfig",
    "CalendarFeedConfig",
    "GreenhouseConfig",
    "LeverConfig",
    "OutgoingWebhookConfig",
    "SourceMapping",
]


def http_url(value: str) -> str:
    """An http(s) URL with a host and no user name or password; secrets never go in URLs."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise ValueError("must not hold a user name or password")
    return value.strip()


class CalendarFeedConfig(_Section):
    """One ``calendars:`` entry (DESIGN "Where interviews come from"; docs/sources/calendars.md).

    The url may hold a secret (Google's secret iCal address): it is never logged
    nor shown; ``sources status`` and the metrics name the feed by ``name``.
    """

    name: str | None = None  # shown by `sources status`; default: derived from the url
    url: str = Field(min_length=1)  # http(s) URL or a local file path
    poll_interval: Duration = timedelta(minutes=5)
    title_pattern: str = Field(min_length=1)  # regex with (?P<candidate>...), role, kit
    defaults: dict[str, Any] = Field(default_factory=dict)
    kits: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    ignore: tuple[str, ...] = ()  # glob patterns of attendee emails that are not interviewers

    @field_validator("name")
    @classmethod
    def _name_shape(cls, value: str | None) -> str | None:
        if value is not None and not _FEED_NAME.match(value):
            raise ValueError(
                "use 1 to 40 letters, digits, '-' or '_' (it names the feed in ids and metrics)"
            )
        return value

    @field_validator("url")
    @classmethod
    def _url_scheme(cls, value: str) -> str:
        value = value.strip()
        scheme = urlsplit(value).scheme.lower()
        if scheme in ("http", "https") and not urlsplit(value).hostname:
            raise ValueError("the URL has no host")
        if len(scheme) > 1 and scheme not in ("http", "https", "file"):
            raise ValueError(f"expected an http(s) URL or a file path, got a {scheme}: URL")
        return value

    @field_serializer("url", when_used="json")
    def _hide_secret_path(self, value: str) -> str:
        # `config show`: a feed's path is its secret (private-<token>), so only the host shows.
        parts = urlsplit(value)
        if parts.scheme.lower() in ("http", "https"):
            return f"{parts.scheme}://{parts.hostname}/... (hidden)"
        return value

    @field_validator("poll_interval")
    @classmethod
    def _not_too_often(cls, value: timedelta) -> timedelta:
        if value < timedelta(minutes=1):
            raise ValueError("poll at most once a minute (e.g. 5m)")
        return value

    @field_validator("title_pattern")
    @classmethod
    def _pattern_groups(cls, value: str) -> str:
        try:
            pattern = re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        groups = set(pattern.groupindex)
        if "candidate" not in groups:
            raise ValueError("needs a named group (?P<candidate>...) for the candidate's name")
        unknown = sorted(groups - {"candidate", "role", "kit"})
        if unknown:
            raise ValueError(
                f"unknown named group(s) {', '.join(unknown)} (known: candidate, role, kit)"
            )
        return value

    @field_validator("defaults")
    @classmethod
    def _default_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(str(key) for key in value if key not in DEFAULT_KEYS)
        if unknown:
            raise ValueError(
                f"unknown key(s) {', '.join(unknown)} (known: {', '.join(DEFAULT_KEYS)})"
            )
        channel = value.get("hiring_channel")
        if channel is not None and not (
            isinstance(channel, str) and SLACK_CHANNEL_ID.match(channel)
        ):
            raise ValueError(f"hiring_channel: expected a Slack channel ID (C...), got {channel!r}")
        for key in ("recruiter", "hiring_lead"):
            person = value.get(key)
            if person is not None and not (
                isinstance(person, str) and (SLACK_USER_ID.match(person) or EMAIL.match(person))
            ):
                raise ValueError(
                    f"{key}: expected a Slack user ID (U...) or an email, got {person!r}"
                )
        return value

    @field_validator("ignore")
    @classmethod
    def _ignore_globs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not pattern.strip() for pattern in value):
            raise ValueError("an empty pattern would match nothing; remove it")
        return tuple(pattern.strip().lower() for pattern in value)

    @property
    def feed_name(self) -> str:
        """``name``, or one derived from the url: the file's stem or the host, plus a hash."""
        if self.name:
            return self.name
        parts = urlsplit(self.url)
        if parts.scheme.lower() in ("http", "https"):
            stem = (parts.hostname or "feed").split(".")[0]
        else:
            stem = PurePath(parts.path if parts.scheme == "file" else self.url).stem
        slug = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-")[:24] or "feed"
        digest = hashlib.sha256(self.url.encode()).hexdigest()[:8]
        return f"{slug}-{digest}"


class AshbyConfig(_Section):
    """Ashby: webhooks at POST /webhooks/ashby (docs/sources/ashby.md).

    The webhook's secret token (ASHBY_WEBHOOK_SECRET) and the API key
    (ASHBY_API_KEY) come from the environment; this section says where the API is.
    """

    api_url: str = "https://api.ashbyhq.com"

    @field_validator("api_url")
    @classmethod
    def _ashby_url(cls, value: str) -> str:
        return http_url(value).rstrip("/")  # the key goes in the Authorization header


class GreenhouseConfig(_Section):
    """Greenhouse: Harvest v3 polling and the deletion webhook (docs/sources/greenhouse.md).

    The OAuth client credentials (GREENHOUSE_CLIENT_ID, GREENHOUSE_CLIENT_SECRET)
    and the webhook's secret key (GREENHOUSE_WEBHOOK_SECRET) come from the
    environment; this section says where and how often.
    """

    api_url: str = "https://harvest.greenhouse.io"
    token_url: str = "https://auth.greenhouse.io/token"  # noqa: S105 (a URL, not a secret)
    poll_interval: Duration = timedelta(minutes=5)
    # The token's ``sub``: the Greenhouse user id whose permissions the calls use
    # (default: the credentials' own service account).
    user_id: int | None = Field(default=None, gt=0)

    @field_validator("api_url", "token_url")
    @classmethod
    def _greenhouse_url(cls, value: str) -> str:
        return http_url(value).rstrip("/")

    @field_validator("poll_interval")
    @classmethod
    def _not_too_often(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=30):
            raise ValueError("must be at least 30s (Harvest rate-limits every credential)")
        return value


class LeverConfig(_Section):
    """Lever: POST /webhooks/lever (LEVER_SIGNATURE_TOKEN, LEVER_API_KEY); docs/sources/lever.md."""

    # Lever's API host, without /v1 (the sandbox: https://api.sandbox.lever.co).
    api_url: str = "https://api.lever.co"

    @field_validator("api_url")
    @classmethod
    def _lever_url(cls, value: str) -> str:
        url = http_url(value)
        if urlsplit(url).query:
            raise ValueError("must not hold a query (the API key is a secret)")
        return url.rstrip("/")


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
        # Stored with every delivery: no credentials in it (the signature authenticates).
        return http_url(value)

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
