"""Greenhouse scheduled interviews as intake rows (pure: no I/O).

One Harvest v3 interview (``GET /v3/interviews``) is one interview of the bot,
keyed ``greenhouse:<interview id>``: its candidate and job names come from the
application (resolved by the poll), the interview's name (the job interview on
the interview plan) is the kit the shared mapping turns into focus skills, and
the panel is its interviewers by email (Slack resolves them; an unknown email
makes the interview incomplete, never guessed). A cancelled or removed status
cancels; new times reschedule (the import path moves the due times).

Shapes are read leniently: v3 names times ``starts_at``/``ends_at``; the retired
v1 shape (``start.date_time``, ``interview.name``) is read too, so fixtures of
either version map the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from storage.intake import SourceRow

__all__ = [
    "CANCELLED_STATUSES",
    "SOURCE",
    "Names",
    "external_id",
    "interview_id",
    "interview_row",
    "is_cancelled",
    "kit_name",
    "updated_at",
]

SOURCE = "greenhouse"
CANCELLED_STATUSES = frozenset({"cancelled", "canceled", "removed", "deleted"})


@dataclass(frozen=True)
class Names:
    """What the poll resolved for one interview (None: not known)."""

    candidate: str | None = None
    job: str | None = None
    interview: str | None = None  # the job interview's (kit's) name


def external_id(greenhouse_id: int | str) -> str:
    return f"{SOURCE}:{greenhouse_id}"


def interview_id(item: Mapping[str, Any]) -> str | None:
    raw = item.get("id")
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int) or (isinstance(raw, str) and raw.strip().isdigit()):
        return str(raw).strip()
    return None


def updated_at(item: Mapping[str, Any]) -> str | None:
    raw = item.get("updated_at")
    return raw if isinstance(raw, str) and raw.strip() else None


def _time(item: Mapping[str, Any], v3: str, v1: str) -> Any:
    if item.get(v3) is not None:
        return item.get(v3)
    nested = item.get(v1)
    if isinstance(nested, Mapping):
        return nested.get("date_time") or nested.get("date")
    return None


def kit_name(item: Mapping[str, Any]) -> str | None:
    """The interview's own name when the row carries it (v1 ``interview.name``)."""
    for key in ("job_interview", "interview"):
        nested = item.get(key)
        if isinstance(nested, Mapping) and isinstance(nested.get("name"), str):
            return str(nested["name"]).strip() or None
    name = item.get("name")
    return name.strip() or None if isinstance(name, str) else None


def _panel(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    panel: list[dict[str, Any]] = []
    seen: set[str] = set()
    interviewers = item.get("interviewers")
    for person in interviewers if isinstance(interviewers, list) else []:
        if not isinstance(person, Mapping):
            continue
        email = person.get("email")
        if not isinstance(email, str) or "@" not in email:
            continue
        key = email.strip().lower()
        if key in seen:
            continue
        seen.add(key)
        panel.append({"interviewer": email.strip()})
    return panel


def is_cancelled(item: Mapping[str, Any]) -> bool:
    status = item.get("status")
    return isinstance(status, str) and status.strip().lower() in CANCELLED_STATUSES


def interview_row(item: Mapping[str, Any], names: Names) -> SourceRow | None:
    """The intake row of one Harvest interview, or None when it has no usable id."""
    gid = interview_id(item)
    if gid is None:
        return None
    where = f"greenhouse interview {gid}"
    if is_cancelled(item):
        return SourceRow(SOURCE, external_id(gid), {}, cancelled=True, where=where)
    fields: dict[str, Any] = {
        "starts_at": _time(item, "starts_at", "start"),
        "ends_at": _time(item, "ends_at", "end"),
        "panel": _panel(item),
    }
    if names.candidate:
        fields["candidate"] = names.candidate
    if names.job:
        fields["job"] = names.job
    kit = names.interview or kit_name(item)
    if kit:
        fields["kit"] = kit
    return SourceRow(SOURCE, external_id(gid), fields, where=where)
