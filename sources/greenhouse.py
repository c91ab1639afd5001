"""Greenhouse polling: scheduled interviews from Harvest v3, through the shared intake.

One poll (run by the job engine, one replica at a time: the ``source_states`` row
``greenhouse`` is claimed with a lease) reads every interview updated since the
stored cursor (``GET /v3/interviews?updated_at=gte|<cursor>``, all cursor pages),
resolves each one's candidate, job and interview name (one list call per kind
per poll, cached for the poll), maps them to intake rows (sources.greenhouse_rows)
and takes them in with ``storage.intake.intake_rows`` in ONE transaction that also
records the success and the new cursor. A failure anywhere (HTTP 429/5xx, a bad
token, a malformed page) happens before that transaction: nothing is written but
the failure and its backoff, and the cursor stays, so the next poll reads the
same interviews again. Replays change nothing (the upsert is keyed by
``greenhouse:<id>``).

The cursor is inclusive (``gte``): an interview updated in the very second of the
last poll is read again and found unchanged, never missed.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from sources.greenhouse_api import HarvestClient, HarvestError
from sources.greenhouse_rows import (
    SOURCE,
    Names,
    interview_row,
    is_cancelled,
    kit_name,
    updated_at,
)
from sources.wiring import SourceDeps
from storage.import_file import EmailLookupUnavailable
from storage.intake import IntakeResult, SourceRow
from storage.models import SourceState
from storage.source_state import PollStats, get_state, record_failure, record_success

__all__ = ["STATE_NAME", "GreenhousePoller", "PollOutcome"]

logger = logging.getLogger(__name__)

STATE_NAME = SOURCE  # the source_states row
PER_PAGE = 100
FIRST_LOOKBACK = timedelta(days=1)  # the first poll: interviews from a day ago on
_IDS_PER_CALL = 50  # Harvest v3 takes at most 50 ids per filter


@dataclass(frozen=True)
class PollOutcome:
    outcome: str  # "done" | "failed"
    result: IntakeResult | None = None
    error: str | None = None
    retry_in: timedelta | None = None


def _parse_time(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else None


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def next_cursor(items: Iterable[Mapping[str, Any]], current: str | None) -> str | None:
    """The latest ``updated_at`` seen (never moving back), as an ISO UTC string."""
    latest = _parse_time(current) if current else None
    for item in items:
        raw = updated_at(item)
        moment = _parse_time(raw) if raw else None
        if moment is not None and (latest is None or moment > latest):
            latest = moment
    return _stamp(latest) if latest else current


def _int_id(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


def _person_name(candidate: Mapping[str, Any]) -> str | None:
    parts = [candidate.get("first_name"), candidate.get("last_name")]
    name = " ".join(p.strip() for p in parts if isinstance(p, str) and p.strip())
    if not name and isinstance(candidate.get("name"), str):
        name = str(candidate["name"]).strip()
    return name or None


def _job_of(application: Mapping[str, Any]) -> int | None:
    job = _int_id(application.get("job_id"))
    jobs = application.get("jobs")  # the v1 shape: [{"id": ..., "name": ...}]
    if job is None and isinstance(jobs, list) and jobs and isinstance(jobs[0], Mapping):
        job = _int_id(jobs[0].get("id"))
    return job


@dataclass
class _Lookup:
    """One poll's cache of Harvest objects by id (``/v3/<kind>?ids=...``)."""

    api: HarvestClient
    cache: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)

    def load(self, kind: str, ids: Iterable[int | None]) -> dict[int, dict[str, Any]]:
        known = self.cache.setdefault(kind, {})
        wanted = sorted({i for i in ids if i is not None and i not in known})
        for start in range(0, len(wanted), _IDS_PER_CALL):
            chunk = wanted[start : start + _IDS_PER_CALL]
            params = {"ids": ",".join(map(str, chunk)), "per_page": str(len(chunk))}
            for page in self.api.pages(f"/v3/{kind}", params):
                for record in page:
                    rid = _int_id(record.get("id"))
                    if rid is not None:
                        known[rid] = record
        return known


def resolve_names(api: HarvestClient, items: Sequence[Mapping[str, Any]]) -> list[Names]:
    """Each interview's candidate, job and interview names (None where Harvest has none)."""
    lookup = _Lookup(api)
    apps = lookup.load("applications", (_int_id(i.get("application_id")) for i in items))
    candidates = lookup.load("candidates", (_int_id(a.get("candidate_id")) for a in apps.values()))
    jobs = lookup.load("jobs", (_job_of(a) for a in apps.values()))
    kits = lookup.load(
        "job_interviews",
        (_int_id(i.get("job_interview_id")) for i in items if kit_name(i) is None),
    )
    names: list[Names] = []
    for item in items:
        app = apps.get(_int_id(item.get("application_id")) or -1, {})
        candidate = candidates.get(_int_id(app.get("candidate_id")) or -1)
        job = jobs.get(_job_of(app) or -1)
        kit = kits.get(_int_id(item.get("job_interview_id")) or -1)
        names.append(
            Names(
                candidate=_person_name(candidate) if candidate else None,
                job=str(job["name"]).strip() if job and isinstance(job.get("name"), str) else None,
                interview=kit_name(item)
                or (str(kit["name"]).strip() if kit and isinstance(kit.get("name"), str) else None),
            )
        )
    return names


def _long_over(item: Mapping[str, Any], now: datetime) -> bool:
    if is_cancelled(item):
        return False
    ends = item.get("ends_at")
    if ends is None and isinstance(item.get("end"), Mapping):
        ends = item["end"].get("date_time")
    moment = _parse_time(ends) if isinstance(ends, str) else None
    return moment is not None and moment < now - FIRST_LOOKBACK


@dataclass
class GreenhousePoller:
    """Everything one poll needs; ``poll`` is called by handlers.greenhouse's job kind."""

    deps: SourceDeps
    api: HarvestClient
    interval: timedelta

    def poll(self, now: datetime) -> PollOutcome:
        with self.deps.session_factory() as session:
            state = get_state(session, STATE_NAME)
        cursor = state.cursor if state else None
        try:
            items = self._fetch(cursor, now)
            rows = self._rows(items, now)
        except HarvestError as exc:
            return self._failed(now, str(exc), exc.retry_after)
        try:
            return self._take_in(items, rows, cursor, now)
        except EmailLookupUnavailable as exc:  # rolled back: Slack, not the emails, failed
            return self._failed(now, str(exc), None)

    def _take_in(
        self, items: Sequence[Any], rows: Sequence[SourceRow], cursor: str | None, now: datetime
    ) -> PollOutcome:
        deps = self.deps
        with deps.session_factory.begin() as session:
            result = deps.intake.take(session, rows, now=now, resolve_email=deps.resolve_email)
            record_success(
                session,
                STATE_NAME,
                now=now,
                interval=self.interval,
                stats=PollStats(
                    events_seen=len(items),
                    created=result.created,
                    updated=result.updated,
                    cancelled=result.cancelled,
                    incomplete=result.incomplete,
                ),
                cursor=next_cursor(items, cursor),
            )
        for error in result.errors:
            where = rows[error.index].where if 0 <= error.index < len(rows) else "?"
            logger.warning("greenhouse: %s invalid: %s: %s", where, error.field, error.message)
        deps.cancelled(result.cancelled_interviews, SOURCE)
        return PollOutcome("done", result)

    def _fetch(self, cursor: str | None, now: datetime) -> list[dict[str, Any]]:
        params = {"per_page": str(PER_PAGE)}
        if cursor:
            params["updated_at"] = f"gte|{cursor}"
        else:
            params["starts_at"] = f"gte|{_stamp(now - FIRST_LOOKBACK)}"
        items: list[dict[str, Any]] = []
        for page in self.api.pages("/v3/interviews", params):
            items.extend(page)
        return items

    def _rows(self, items: Sequence[Mapping[str, Any]], now: datetime) -> list[SourceRow]:
        # An interview that ended long ago and changed now (a scorecard, a note) is
        # not news: taking it in would send forms for a past interview.
        items = [item for item in items if not _long_over(item, now)]
        names = resolve_names(self.api, items)
        rows = [interview_row(item, name) for item, name in zip(items, names, strict=True)]
        return [row for row in rows if row is not None]

    def _failed(self, now: datetime, error: str, retry_after: float | None) -> PollOutcome:
        with self.deps.session_factory.begin() as session:
            delay = record_failure(
                session, STATE_NAME, now=now, error=error, interval=self.interval
            )
            if retry_after is not None and timedelta(seconds=retry_after) > delay:
                # Greenhouse said how long to wait: never poll before that.
                delay = timedelta(seconds=retry_after)
                session.execute(
                    sa.update(SourceState)
                    .where(SourceState.name == STATE_NAME)
                    .values(next_poll_at=now + delay)
                )
        seconds = int(delay.total_seconds())
        logger.warning("greenhouse poll failed, retry in %ss: %s", seconds, error)
        return PollOutcome("failed", error=error, retry_in=delay)
