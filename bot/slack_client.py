"""The one Slack Web API client of a bot process."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.web import SlackResponse

from bot.config import Config
from handlers.metrics import SLACK_API_ERRORS
from storage.import_file import EmailLookupUnavailable, EmailResolver

logger = logging.getLogger(__name__)

# slack_sdk logs every request and response body at DEBUG: the feedback modal, the
# summary thread, i.e. interviewers' notes and evidence. Its logger stays at INFO
# even when the bot logs at DEBUG.
_sdk_logger = logging.getLogger("bot.slack_client.sdk")
_sdk_logger.setLevel(logging.INFO)


class CountingWebClient(WebClient):
    """A WebClient that counts the calls Slack answers with an error, by method and error."""

    def api_call(self, api_method: str, **kwargs: Any) -> SlackResponse:
        try:
            return super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            response = exc.response
            error = str(
                (response.get("error") if response is not None else None)
                or f"http_{getattr(response, 'status_code', 'unknown')}"
            )
            SLACK_API_ERRORS.labels(method=api_method, error=error).inc()
            raise


def counting(client: WebClient) -> CountingWebClient:
    """``client`` (token, URL, retries, logger) as a ``CountingWebClient``.

    Bolt hands each listener a plain ``WebClient`` it builds per request; the
    request middleware in ``bot.app`` swaps it for this so listener calls count too.
    """
    if isinstance(client, CountingWebClient):
        return client
    return CountingWebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        ssl=client.ssl,
        proxy=client.proxy,
        headers=dict(client.headers),
        team_id=client.default_params.get("team_id"),
        logger=client.logger,
        retry_handlers=list(client.retry_handlers),
    )


def create_web_client(config: Config, *, timeout: int = 10) -> WebClient:
    """A WebClient on ``SLACK_API_URL`` that retries connection errors, 429 and 5xx.

    ``RateLimitErrorRetryHandler`` sleeps for the ``Retry-After`` Slack sends.
    """
    token = config.secrets.bot_token.get_secret_value() if config.secrets.bot_token else None
    return CountingWebClient(
        token=token,
        logger=_sdk_logger,
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
            raise EmailLookupUnavailable(f"Slack could not look up an email: {error}") from None
        except OSError as exc:  # connection refused, DNS, timeout: after the retries
            raise EmailLookupUnavailable(
                f"Slack is unreachable for an email lookup: {type(exc).__name__}"
            ) from None
        user = response.get("user") or {}
        user_id = user.get("id")
        if not isinstance(user_id, str):
            raise LookupError(f"Slack returned no user for {email}")
        return user_id

    return resolve
