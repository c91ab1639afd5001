"""From Lever's interview (as its API returns it) to the shared intake's row. Pure.

* ``external_id`` ``lever:<interview id>``; the source is ``lever``.
* ``candidate``: the opportunity's ``name``; ``job``: the title (``text``) of the
  interview's posting, resolved by the shared mapping (config ``mapping.jobs``);
  ``kit``: the name of the interview's feedback form, else its subject
  (``mapping.kits``).
* ``starts_at``: ``date`` (ms since the epoch, UTC); ``duration``: ``duration`` minutes.
* ``panel``: the interviewers by email (resolved to Slack users by the intake; an
  email unknown to Slack makes the interview incomplete, never guessed).
* ``recruiter``: the opportunity's owner's email when Lever names one (else the mapping's).
* A ``canceledAt`` interview, or one Lever no longer has, is a cancelled row.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sources.lever_api import LeverInterview
from storage.intake import SourceRow

__all__ = ["SOURCE", "cancelled_row", "interview_fields", "interview_row"]

SOURCE = "lever"
_TEXT_MAX = 200  # storage.import_file's Text
_MS_MAX = 253402300799999  # 9999-12-31T23:59:59.999Z


def interview_row(interview_id: str, found: LeverInterview) -> SourceRow:
    """The row for an interview Lever has (cancelled when Lever marks it canceled)."""
    where = f"lever interview {interview_id}"
    if found.interview.get("canceledAt") is not None:
        return cancelled_row(interview_id)
    return SourceRow(
        source=SOURCE,
        external_id=f"lever:{interview_id}",
        fields=interview_fields(found),
        where=where,
    )


def cancelled_row(interview_id: str) -> SourceRow:
    """The row that cancels an interview Lever deleted or canceled."""
    return SourceRow(
        source=SOURCE,
        external_id=f"lever:{interview_id}",
        fields={},
        cancelled=True,
        where=f"lever interview {interview_id}",
    )


def interview_fields(found: LeverInterview) -> dict[str, Any]:
    """Import-row keys (plus ``job`` and ``kit``) for the intake; what Lever lacks is left out.

    A value of the wrong type is passed on as it is, so the intake's validation
    names it (an invalid row), instead of being silently dropped here.
    """
    interview, opportunity = found.interview, found.opportunity
    fields: dict[str, Any] = {}
    name = opportunity.get("name")
    if name is not None:
        fields["candidate"] = _clip(name)
    if "date" in interview:
        fields["starts_at"] = _instant(interview["date"])
    if "duration" in interview:
        fields["duration"] = _minutes(interview["duration"])
    fields["panel"] = _panel(interview.get("interviewers"))
    owner = _email(opportunity.get("owner"))
    if owner is not None:
        fields["recruiter"] = owner
    if found.posting_title:
        fields["job"] = _clip(found.posting_title)
    kit = found.form_name or interview.get("subject")
    if isinstance(kit, str) and kit.strip():
        fields["kit"] = _clip(kit)
    return fields


def _clip(value: object) -> object:
    # A longer name is still the same person or job; the import's columns hold 200.
    return value.strip()[:_TEXT_MAX] if isinstance(value, str) else value


def _instant(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MS_MAX:
        return datetime.fromtimestamp(value / 1000, tz=UTC).isoformat()
    return value  # not a timestamp: the intake says so


def _minutes(value: object) -> object:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 24 * 60:
        return f"{value}m"
    return value


def _email(value: object) -> str | None:
    if isinstance(value, dict):
        email = value.get("email")
        if isinstance(email, str) and "@" in email and len(email) <= _TEXT_MAX:
            return email.strip()
    return None


def _panel(value: object) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        return []
    panel: list[dict[str, Any]] = []
    seen: set[str] = set()
    for interviewer in value:
        email = _email(interviewer)
        if email is None:
            # Lever lists every interviewer with an email; one without cannot be asked.
            panel.append({"interviewer": _clip(_name_of(interviewer))})
            continue
        if email.casefold() not in seen:
            seen.add(email.casefold())
            panel.append({"interviewer": email})
    return panel


def _name_of(value: object) -> object:
    return value.get("name", "") if isinstance(value, dict) else value
