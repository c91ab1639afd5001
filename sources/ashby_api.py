"""Ashby's API, for what a schedule webhook lacks: the candidate's and the job's names.

RPC style (reference "Introduction"): ``POST <api_url>/<category>.<method>`` with a
JSON body, Basic auth with the API key as the user name and an empty password
("Authentication"). Answers are ``{"success": true, "results": {...}}``; what would
be a 4xx is HTTP 200 with ``success: false`` and ``errorInfo`` ("Responses &
Errors"); a missing key is 401, a wrong or deactivated one 403.

Two kinds of failure, told apart because the endpoint answers them differently:
:class:`AshbyUnavailable` (no answer, a timeout, 429, 5xx: Ashby is asked to retry the
webhook, nothing is written) and an answer that refuses (401/403, ``success: false``:
retrying will not help, so the name stays unknown and the interview incomplete).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

import httpx

from sources.ashby_payload import AshbySchedule, Details, interview_ids, user_ids_without_email

__all__ = ["AshbyApi", "AshbyRefused", "AshbyUnavailable", "fetch_details"]

logger = logging.getLogger(__name__)

# Per-call limits; a webhook asks at most a handful (application, interviews, users).
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
MAX_LOOKUPS = 20  # distinct interview and user ids looked up for one schedule
BUDGET_SECONDS = 30.0  # all calls for one webhook; past it, 503 and Ashby retries later


class AshbyUnavailable(Exception):
    """Ashby did not answer usably (network, timeout, 429, 5xx, not JSON): retry later."""


class AshbyRefused(Exception):
    """Ashby answered and refused (401, 403, success: false): the name stays unknown."""


class AshbyApi:
    """A small client of the endpoints a schedule needs (application, candidate, job...)."""

    def __init__(
        self,
        api_url: str,
        api_key: str,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._client = httpx.Client(
            base_url=api_url.rstrip("/"),
            auth=httpx.BasicAuth(api_key, ""),
            timeout=timeout,
            transport=transport,
            headers={"Accept": "application/json; version=1"},
            follow_redirects=False,
        )

    def close(self) -> None:
        self._client.close()

    def call(self, method: str, params: Mapping[str, Any]) -> Mapping[str, Any]:
        """``results`` of ``POST /<method>``, or AshbyUnavailable / AshbyRefused."""
        try:
            response = self._client.post(f"/{method}", json=dict(params))
        except httpx.HTTPError as exc:
            raise AshbyUnavailable(f"{method}: {type(exc).__name__}") from None
        if response.status_code in (401, 403):
            raise AshbyRefused(f"{method}: HTTP {response.status_code} (check ASHBY_API_KEY)")
        if response.status_code != 200:
            raise AshbyUnavailable(f"{method}: HTTP {response.status_code}")
        try:
            doc = response.json()
        except ValueError:
            raise AshbyUnavailable(f"{method}: the answer is not JSON") from None
        if not isinstance(doc, dict):
            raise AshbyUnavailable(f"{method}: the answer is not a JSON object")
        if doc.get("success") is not True:
            info = doc.get("errorInfo")
            code = info.get("code") if isinstance(info, dict) else None
            raise AshbyRefused(f"{method}: {code if isinstance(code, str) else 'success false'}")
        results = doc.get("results")
        if not isinstance(results, dict):
            raise AshbyUnavailable(f"{method}: no results object")
        return results


class _Budgeted:
    """The calls of one webhook, refused once they took longer than the budget."""

    def __init__(self, api: AshbyApi, seconds: float) -> None:
        self._api = api
        self._deadline = time.monotonic() + seconds

    def call(self, method: str, params: Mapping[str, Any]) -> Mapping[str, Any]:
        if time.monotonic() > self._deadline:
            raise AshbyUnavailable(f"{method}: Ashby's API took over the time budget")
        return self._api.call(method, params)


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()[:200]
    return None


def _names(api: _Budgeted, schedule: AshbySchedule) -> tuple[str | None, str | None]:
    """The candidate's name and the job's title: application.info, then candidate/job.info."""
    try:
        application = api.call("application.info", {"applicationId": schedule.application_id})
    except AshbyRefused as exc:
        logger.warning("ashby: no application details for schedule %s: %s", schedule.id, exc)
        application = {}
    candidate = application.get("candidate")
    job = application.get("job")
    name = _text(candidate.get("name")) if isinstance(candidate, dict) else None
    title = _text(job.get("title")) if isinstance(job, dict) else None
    candidate_id = candidate.get("id") if isinstance(candidate, dict) else schedule.candidate_id
    if name is None and isinstance(candidate_id, str):
        name = _text(_refusable(api, "candidate.info", {"id": candidate_id}).get("name"))
    job_id = job.get("id") if isinstance(job, dict) else None
    if title is None and isinstance(job_id, str):
        title = _text(_refusable(api, "job.info", {"id": job_id}).get("title"))
    return name, title


def _refusable(api: _Budgeted, method: str, params: Mapping[str, Any]) -> Mapping[str, Any]:
    try:
        return api.call(method, params)
    except AshbyRefused as exc:
        logger.warning("ashby: %s", exc)
        return {}


def _lookups(
    api: _Budgeted, method: str, key: str, ids: Iterable[str], field: str
) -> dict[str, str]:
    found: dict[str, str] = {}
    for index, value in enumerate(ids):
        if index >= MAX_LOOKUPS:
            break
        text = _text(_refusable(api, method, {key: value}).get(field))
        if text is not None:
            found[value] = text
    return found


def fetch_details(
    api: AshbyApi | None, schedule: AshbySchedule, *, budget: float = BUDGET_SECONDS
) -> Details:
    """Everything the rows need from the API; an empty Details without an API key.

    Raises AshbyUnavailable as soon as one call cannot be answered: the webhook is
    then refused with 503 before anything is written, and Ashby retries it.
    """
    if api is None or schedule.cancelled:  # a cancellation needs no names
        return Details()
    calls = _Budgeted(api, budget)
    candidate, job = _names(calls, schedule)
    kits = _lookups(calls, "interview.info", "id", interview_ids(schedule), "title")
    emails = _lookups(calls, "user.info", "userId", user_ids_without_email(schedule), "email")
    return Details(candidate=candidate, job=job, kits=kits, emails=emails)
