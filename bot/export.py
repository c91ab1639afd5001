"""``interview-bot export`` formats: one interview's record as JSON or CSV.

The data comes from :func:`storage.export.interview_record`, the JSON shape from
:mod:`storage.export_json` (shared with the outgoing webhooks); docs/operations.md
documents both formats. Times are ISO 8601 in UTC (``2027-03-01T10:00:00Z``).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from storage.export import InterviewRecord
from storage.export_json import export_json, iso

__all__ = ["CSV_COLUMNS", "cell", "export_csv", "export_json", "iso"]

# One row per (interviewer, rated skill); an interviewer without feedback (or
# without ratings) gets one row whose feedback or rating columns are empty.
CSV_COLUMNS = (
    "interview_id",
    "external_id",
    "candidate",
    "role",
    "rubric_id",
    "rubric_version",
    "target_level",
    "starts_at",
    "ends_at",
    "interview_state",
    "hiring_channel",
    "recruiter",
    "hiring_lead",
    "summary_posted_at",
    "interviewer",
    "focus_skills",
    "request_state",
    "reminders",
    "recommendation",
    "notes",
    "submitted_at",
    "feedback_updated_at",
    "skill_id",
    "skill_name",
    "level",
    "evidence",
)

# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def export_csv(record: InterviewRecord) -> str:
    """:data:`CSV_COLUMNS` with a header row; the audit trail is in the JSON export only."""
    interview = {
        "interview_id": record.interview_id,
        "external_id": record.external_id,
        "candidate": record.candidate,
        "role": record.role,
        "rubric_id": record.rubric_id,
        "rubric_version": record.rubric_version,
        "target_level": record.target_level,
        "starts_at": iso(record.starts_at),
        "ends_at": iso(record.ends_at),
        "interview_state": record.state,
        "hiring_channel": record.hiring_channel,
        "recruiter": record.recruiter,
        "hiring_lead": record.hiring_lead,
        "summary_posted_at": iso(record.summary_posted_at),
    }
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for member in record.panel:
        row: dict[str, Any] = {
            **interview,
            "interviewer": member.interviewer,
            "focus_skills": "+".join(member.focus_skills),  # as in import files
            "request_state": member.state,
            "reminders": member.reminders,
        }
        feedback = member.feedback
        if feedback is not None:
            row |= {
                "recommendation": feedback.recommendation,
                "notes": feedback.notes,
                "submitted_at": iso(feedback.submitted_at),
                "feedback_updated_at": iso(feedback.updated_at),
            }
        ratings = feedback.ratings if feedback is not None else ()
        for rating in ratings or [None]:
            if rating is not None:
                row |= {
                    "skill_id": rating.skill_id,
                    "skill_name": rating.skill_name,
                    "level": rating.level,  # empty: Not assessed
                    "evidence": rating.evidence,
                }
            writer.writerow([cell(row.get(column)) for column in CSV_COLUMNS])
    return buffer.getvalue()


def cell(value: object) -> str:
    if value is None:
        return ""
    text = str(value)
    # Neutralise spreadsheet formulas (CSV injection): the cell then shows as text.
    return "'" + text if text.startswith(_FORMULA_START) else text
