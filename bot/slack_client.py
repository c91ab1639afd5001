"""The one Slack Web API client of a bot process."""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.config import Config
from storage.import_file import EmailResolver

logger = logging.getLogger(__name__)


def create_web_client(config: Config, *, timeout: int = 10) -> WebClient:
    """A WebClient on ``SLACK_API_URL`` that retries connection errors, 429 and 5xx.

    ``RateLimitErrorRetryHandler`` sleeps for the ``Retry-After`` Slack sends.
    """
    token = config.secrets.bot_token.get_secret_value() if config.secrets.bot_token else None
    return WebClient(
        token=token,
        base_url=config.slack_api_url,
        timeout=timeout,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def email_resolver(client: WebClient) -> EmailResolver:
    """Resolve emails with ``users.lookupByEmail`` (scope ``users:read.email``)."""

    def resolve(email: str) -> str:
        try:
            response = client.users_lookupByEmail(email=email)
        except SlackApiError as exc:
            error = exc.response.get("error", "unknown_error") if exc.response else "unknown_error"
            if error == "users_not_found":
                raise LookupError(f"no Slack user has the email {email}") from None
            raise LookupError(f"Slack could not look up {email}: {error}") from None
        except OSError as exc:  # connection refused, DNS, timeout: after the retries
            raise LookupError(f"Slack is unreachable, cannot look up {email}: {exc}") from None
        user = response.get("user") or {}
        user_id = user.get("id")
        if not isinstance(user_id, str):
            raise LookupError(f"Slack returned no user for {email}")
        return user_id

    return resolve
