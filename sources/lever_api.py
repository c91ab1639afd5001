"""Lever's API (v1), read-only: the interview, its opportunity, posting and feedback form.

Basic auth with the API key as the user name and an empty password (Lever's
"Authentication"); every call has a timeout and a size limit. A 404 is an answer
(the interview was deleted); anything else that is not a 200 with a JSON object
under ``data`` (network error, 401, 429, 5xx, a huge or odd body) raises
:class:`LeverUnavailable`, which the endpoint answers 503 so that Lever retries.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["LeverApi", "LeverInterview", "LeverUnavailable"]

MAX_RESPONSE_BYTES = 2 * 1024 * 1024
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class LeverUnavailable(Exception):
    """Lever's API did not answer usably; nothing may change (the webhook answers 503)."""


@dataclass(frozen=True)
class LeverInterview:
    """What the mapping needs about one interview, fetched from Lever."""

    interview: dict[str, Any]
    opportunity: dict[str, Any]
    posting_title: str | None
    form_name: str | None


class LeverApi:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: httpx.Timeout = TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._client = httpx.Client(
            base_url=base_url.rstrip("/") + "/v1",
            auth=httpx.BasicAuth(api_key, ""),
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            headers={"Accept": "application/json"},
        )

    def close(self) -> None:
        self._client.close()

    def interview(self, opportunity_id: str, interview_id: str) -> LeverInterview | None:
        """The interview and what names it, or None when Lever no longer has it."""
        interview = self.get(f"/opportunities/{opportunity_id}/interviews/{interview_id}")
        if interview is None:
            return None
        opportunity = self.get(f"/opportunities/{opportunity_id}", params={"expand": "owner"})
        if opportunity is None:  # the candidate was deleted: so is the interview
            return None
        return LeverInterview(
            interview=interview,
            opportunity=opportunity,
            posting_title=self._name(_first_id(interview.get("postings")), "/postings/"),
            form_name=self._name(_id(interview.get("feedbackTemplate")), "/feedback_templates/"),
        )

    def _name(self, record_id: str | None, collection: str) -> str | None:
        if record_id is None:
            return None
        record = self.get(collection + record_id)
        text = record.get("text") if record else None
        return text if isinstance(text, str) and text.strip() else None

    def get(self, path: str, params: dict[str, str] | None = None) -> dict[str, Any] | None:
        """``data`` of a GET, None on 404; raises LeverUnavailable otherwise."""
        try:
            with self._client.stream("GET", path, params=params) as response:
                if response.status_code == 404:
                    return None
                if response.status_code != 200:
                    raise LeverUnavailable(f"GET {path}: HTTP {response.status_code}")
                body = _bounded(response)
        except httpx.HTTPError as exc:
            raise LeverUnavailable(f"GET {path}: {type(exc).__name__}") from None
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError):
            raise LeverUnavailable(f"GET {path}: not JSON") from None
        data = payload.get("data") if isinstance(payload, dict) else None
        if not isinstance(data, dict):
            raise LeverUnavailable(f"GET {path}: no data object")
        return data


def _bounded(response: httpx.Response) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_RESPONSE_BYTES:
            raise LeverUnavailable("response over the size limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _id(value: object) -> str | None:
    # Ids go into URL paths: only Lever's own id characters.
    if isinstance(value, str) and 0 < len(value) <= 64 and value.replace("-", "").isalnum():
        return value if value.isascii() else None
    return None


def _first_id(value: object) -> str | None:
    if isinstance(value, list) and value:
        return _id(value[0])
    return None
