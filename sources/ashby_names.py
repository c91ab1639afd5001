"""Ashby rows without the candidate's or the job's name: known, or waiting for a person.

The names come from Ashby's API (sources.ashby_api). Without ASHBY_API_KEY, or
when the API refuses a record, a row has no ``candidate`` or ``job``. Then:

* an interview already made from that event keeps what it has (its candidate,
  role, rubric, channel and people): the update moves or re-staffs it;
* a new event is stored as incomplete (storage.incomplete), naming what is
  missing, and its recruiter is asked to complete it. Nothing is guessed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from storage.import_file import SLACK_USER_ID
from storage.incomplete import upsert_incomplete
from storage.intake import SourceRow
from storage.mapping import SourceMapping, resolve_row
from storage.models import Interview

__all__ = ["NAMES", "split_unnamed", "store_unnamed"]

NAMES = {
    "candidate": "the candidate's name: Ashby's API did not give it "
    "(set ASHBY_API_KEY with Candidates read access)",
    "job": "the job: Ashby's API did not give it (set ASHBY_API_KEY with Candidates read access)",
}


def _unnamed(row: SourceRow) -> list[str]:
    return [key for key in NAMES if not row.cancelled and not row.fields.get(key)]


def split_unnamed(
    session: Session, rows: Sequence[SourceRow]
) -> tuple[list[SourceRow], list[SourceRow]]:
    """(rows for the intake, rows to store as incomplete), names filled where known."""
    lacking = [row.external_id for row in rows if _unnamed(row)]
    known: dict[str, Interview] = {}
    if lacking:
        found = session.scalars(sa.select(Interview).where(Interview.external_id.in_(lacking)))
        known = {str(i.external_id): i for i in found}
    ready: list[SourceRow] = []
    waiting: list[SourceRow] = []
    for row in rows:
        missing = _unnamed(row)
        interview = known.get(row.external_id)
        if not missing:
            ready.append(row)
        elif interview is not None:
            ready.append(replace(row, fields={**_kept(interview, missing), **row.fields}))
        else:
            waiting.append(row)
    return ready, waiting


def _kept(interview: Interview, missing: Sequence[str]) -> dict[str, Any]:
    kept: dict[str, Any] = {}
    if "candidate" in missing:
        kept["candidate"] = interview.candidate
    if "job" in missing:  # what the job's mapping gave it once
        kept.update(
            role=interview.role,
            rubric=interview.rubric_id,
            target_level=interview.target_level,
            hiring_channel=interview.hiring_channel,
            recruiter=interview.recruiter,
            hiring_lead=interview.hiring_lead,
        )
    return kept


def store_unnamed(
    session: Session, rows: Sequence[SourceRow], *, mapping: SourceMapping, now: datetime
) -> int:
    """Store rows without names as incomplete; how many changed (a replay changes none)."""
    changed = 0
    for row in rows:
        data, _ = resolve_row(mapping, row.fields)
        recruiter = data.get("recruiter")
        missing = [{"field": key, "message": NAMES[key]} for key in _unnamed(row)]
        changed += upsert_incomplete(
            session,
            source=row.source,
            external_id=row.external_id,
            row={**data, "external_id": row.external_id},
            missing=missing,
            recruiter=recruiter
            if isinstance(recruiter, str) and SLACK_USER_ID.match(recruiter)
            else None,
            now=now,
        )
    return changed
