"""Ashby's webhook payloads, read strictly, and the import rows they become (pure).

Shapes from Ashby's API reference: every payload is ``{"webhookActionId", "action",
"data"}`` (docs "Common Payload Data"); ``interviewScheduleCreate`` and
``interviewScheduleUpdate`` carry ``data.interviewSchedule`` with ``id``, ``status``,
``applicationId`` and ``interviewEvents``, each event an ``interviewEvent.list`` item
(``id``, ``interviewId``, ``startTime``, ``endTime``, ``interviewers`` as user objects
with ``email`` and ``trainingRole``; the deprecated ``interviewerUserIds`` as well).

One interview per interview event, ``external_id`` ``ashby:<event id>``. The
candidate's and the job's names are not in the payload: they come from Ashby's API
(sources.ashby_api) as :class:`Details`; what is still unknown stays out of the row,
so the intake stores the interview as incomplete instead of guessing.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from storage.intake import SourceRow

__all__ = [
    "ACTIONS",
    "SOURCE",
    "AshbyEvent",
    "AshbyInterviewer",
    "AshbySchedule",
    "Details",
    "PayloadError",
    "delivery_id",
    "interview_ids",
    "parse_action",
    "parse_schedule",
    "schedule_rows",
    "schedule_source",
    "user_ids_without_email",
    "version_of",
]

SOURCE = "ashby"
ACTIONS = ("interviewScheduleCreate", "interviewScheduleUpdate")
CANCELLED = "Cancelled"  # interviewSchedule.status
SHADOW = "Shadow"  # interviewers[].trainingRole; "Reverse-Shadow" leads, so is no shadow
# Ashby ids are UUIDs; anything id-like up to 58 characters keeps "ashby:<id>" in a
# 64-character source column and "ashby:<id>" external ids short.
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,57}$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,255}$")
MAX_EVENTS = 50  # a schedule is one loop of interviews, not a feed


class PayloadError(ValueError):
    """A payload the endpoint answers 400 for; the message says what is wrong."""


@dataclass(frozen=True)
class AshbyInterviewer:
    user_id: str
    email: str | None  # None when the payload has only the (deprecated) user id
    shadow: bool = False


@dataclass(frozen=True)
class AshbyEvent:
    id: str
    interview_id: str | None
    starts_at: datetime
    ends_at: datetime
    interviewers: tuple[AshbyInterviewer, ...]


@dataclass(frozen=True)
class AshbySchedule:
    id: str
    status: str
    application_id: str
    candidate_id: str | None
    events: tuple[AshbyEvent, ...]
    updated_at: datetime | None = None  # orders deliveries of the same schedule

    @property
    def cancelled(self) -> bool:
        return self.status == CANCELLED


@dataclass(frozen=True)
class Details:
    """What Ashby's API told about a schedule; None / absent where it could not."""

    candidate: str | None = None
    job: str | None = None
    kits: Mapping[str, str] = field(default_factory=dict)  # interview id -> interview title
    emails: Mapping[str, str] = field(default_factory=dict)  # user id -> email


def parse_action(body: bytes) -> tuple[str, Mapping[str, Any]]:
    """The payload's action and the whole document, or a PayloadError."""
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        raise PayloadError("the body is not JSON") from None
    if not isinstance(doc, dict):
        raise PayloadError("the body is not a JSON object")
    action = doc.get("action")
    if not isinstance(action, str) or not action:
        raise PayloadError("`action` is missing or not a string")
    return action, doc


def delivery_id(doc: Mapping[str, Any], body: bytes, action: str) -> str:
    """The redelivery key: ``webhookActionId`` (same across retries), else a hash of the body.

    Keyed with the action too: Ashby sends interviewScheduleUpdate along with
    interviewScheduleCreate, and the reference does not say they have distinct ids.
    """
    given = doc.get("webhookActionId")
    if isinstance(given, str) and _ID.match(given):
        return f"{action}:{given}"[:128]
    return f"{action}:sha256:{hashlib.sha256(body).hexdigest()}"[:128]


def parse_schedule(doc: Mapping[str, Any]) -> AshbySchedule:
    """``data.interviewSchedule`` of an interviewSchedule* payload, checked field by field."""
    data = doc.get("data")
    if not isinstance(data, dict):
        raise PayloadError("`data` is missing or not an object")
    raw = data.get("interviewSchedule")
    if not isinstance(raw, dict):
        raise PayloadError("`data.interviewSchedule` is missing or not an object")
    where = "data.interviewSchedule"
    schedule_id = _id(raw, "id", where)
    status = raw.get("status")
    if not isinstance(status, str) or not status:
        raise PayloadError(f"`{where}.status` is missing or not a string")
    application_id = _id(raw, "applicationId", where)
    candidate_id = _optional_id(raw, "candidateId", where)
    updated_at = None if raw.get("updatedAt") is None else _timestamp(raw, "updatedAt", where)
    events_raw = raw.get("interviewEvents", [])
    if events_raw is None:
        events_raw = []
    if not isinstance(events_raw, list):
        raise PayloadError(f"`{where}.interviewEvents` is not a list")
    if len(events_raw) > MAX_EVENTS:
        raise PayloadError(f"`{where}.interviewEvents` has over {MAX_EVENTS} events")
    events = tuple(
        _event(item, f"{where}.interviewEvents[{i}]") for i, item in enumerate(events_raw)
    )
    ids = [event.id for event in events]
    if len(set(ids)) != len(ids):
        raise PayloadError(f"`{where}.interviewEvents` lists an event id twice")
    return AshbySchedule(schedule_id, status, application_id, candidate_id, events, updated_at)


def _id(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not _ID.match(value):
        raise PayloadError(f"`{where}.{key}` is missing or not an Ashby id")
    return value


def _optional_id(raw: Mapping[str, Any], key: str, where: str) -> str | None:
    return None if raw.get(key) is None else _id(raw, key, where)


def _event(raw: object, where: str) -> AshbyEvent:
    if not isinstance(raw, dict):
        raise PayloadError(f"`{where}` is not an object")
    event_id = _id(raw, "id", where)
    interview_id = _optional_id(raw, "interviewId", where)
    starts_at = _timestamp(raw, "startTime", where)
    ends_at = _timestamp(raw, "endTime", where)
    if ends_at <= starts_at:
        raise PayloadError(f"`{where}.endTime` is not after its startTime")
    return AshbyEvent(event_id, interview_id, starts_at, ends_at, _interviewers(raw, where))


def _timestamp(raw: Mapping[str, Any], key: str, where: str) -> datetime:
    value = raw.get(key)
    if not isinstance(value, str) or len(value) > 40:
        raise PayloadError(f"`{where}.{key}` is missing or not a timestamp")
    try:
        # Ashby writes "2027-03-01T10:00:00.000Z"; fromisoformat reads the Z from 3.11 on.
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise PayloadError(f"`{where}.{key}` is not an ISO 8601 timestamp: {value!r}") from None
    if moment.tzinfo is None:
        raise PayloadError(f"`{where}.{key}` has no time zone offset: {value!r}")
    if not 1970 <= moment.year < 9000:
        raise PayloadError(f"`{where}.{key}` is out of range: {value!r}")
    return moment


def _interviewers(raw: Mapping[str, Any], where: str) -> tuple[AshbyInterviewer, ...]:
    """``interviewers`` (user objects) first; the deprecated ``interviewerUserIds`` otherwise."""
    people = raw.get("interviewers")
    found: dict[str, AshbyInterviewer] = {}
    if people is not None:
        if not isinstance(people, list):
            raise PayloadError(f"`{where}.interviewers` is not a list")
        for i, person in enumerate(people):
            here = f"{where}.interviewers[{i}]"
            if not isinstance(person, dict):
                raise PayloadError(f"`{here}` is not an object")
            user_id = _id(person, "id", here)
            email = person.get("email")
            if email is not None and (not isinstance(email, str) or not _is_email(email)):
                raise PayloadError(f"`{here}.email` is not an email address")
            role = person.get("trainingRole")
            if role is not None and not isinstance(role, str):
                raise PayloadError(f"`{here}.trainingRole` is not a string")
            found.setdefault(user_id, AshbyInterviewer(user_id, email, role == SHADOW))
    ids = raw.get("interviewerUserIds")
    if ids is not None:
        if not isinstance(ids, list) or not all(isinstance(v, str) and _ID.match(v) for v in ids):
            raise PayloadError(f"`{where}.interviewerUserIds` is not a list of Ashby ids")
        for user_id in ids:
            found.setdefault(user_id, AshbyInterviewer(user_id, None))
    return tuple(found.values())


def _is_email(text: str) -> bool:
    return bool(_EMAIL.match(text)) and text.isprintable() and _encodable(text)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: JSON allows it, no database column does
        return False
    return True


def schedule_source(schedule: AshbySchedule) -> str:
    """The source that owns a schedule's interviews, so a removed event can be told apart."""
    return f"{SOURCE}:{schedule.id}"


def version_of(schedule: AshbySchedule) -> str | None:
    """``updatedAt`` as a fixed-width UTC string, so versions sort as text."""
    if schedule.updated_at is None:
        return None
    return schedule.updated_at.astimezone(UTC).isoformat(timespec="microseconds")


def user_ids_without_email(schedule: AshbySchedule) -> list[str]:
    seen: dict[str, None] = {}
    for event in schedule.events:
        for person in event.interviewers:
            if person.email is None:
                seen.setdefault(person.user_id)
    return list(seen)


def interview_ids(schedule: AshbySchedule) -> list[str]:
    return list(dict.fromkeys(e.interview_id for e in schedule.events if e.interview_id))


def schedule_rows(schedule: AshbySchedule, details: Details) -> list[SourceRow]:
    """One import row per interview event; a cancelled schedule's rows cancel."""
    return [_row(schedule, event, details) for event in schedule.events]


def _row(schedule: AshbySchedule, event: AshbyEvent, details: Details) -> SourceRow:
    fields: dict[str, Any] = {
        "starts_at": event.starts_at.isoformat(),
        "ends_at": event.ends_at.isoformat(),
    }
    if details.candidate:
        fields["candidate"] = details.candidate
    if details.job:
        fields["job"] = details.job
    kit = details.kits.get(event.interview_id or "")
    if kit:
        fields["kit"] = kit
    panel = _panel(event.interviewers, details.emails)
    if panel is not None:
        fields["panel"] = panel
    return SourceRow(
        source=schedule_source(schedule),
        external_id=f"{SOURCE}:{event.id}",
        fields=fields,
        cancelled=schedule.cancelled,
        where=f"ashby interview event {event.id}",
    )


def _panel(
    people: Sequence[AshbyInterviewer], emails: Mapping[str, str]
) -> list[dict[str, Any]] | None:
    """The panel by email; None (left out, so incomplete) if anyone's email is unknown."""
    panel: list[dict[str, Any]] = []
    for person in people:
        email = person.email or emails.get(person.user_id)
        if not email:
            return None
        panel.append({"interviewer": email, "shadow": person.shadow})
    return panel or None
