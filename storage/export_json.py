"""The JSON shape of one interview's record, shared by ``interview-bot export`` and webhooks.

:func:`export_document` builds the plain data (keys in a fixed order) from
:func:`storage.export.interview_record`; bot.export prints it and the outgoing
webhooks (storage.deliveries) send it, so a receiver gets exactly what an export
file holds. ``include_notes=False`` drops the free text interviewers wrote (notes
and evidence, in the feedback and in its history) and keeps the ratings and
recommendations: what a receiver that must not hold the text still needs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from storage.export import FeedbackRecord, InterviewRecord, PanelRecord, RatingRecord

__all__ = ["export_document", "export_json", "iso"]


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC to the second, ``Z`` for the zone; None stays None."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def export_json(record: InterviewRecord, *, exported_at: datetime) -> str:
    """One JSON document; keys in a fixed order, two-space indent (the export file)."""
    document = export_document(record, exported_at=exported_at)
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def export_document(
    record: InterviewRecord, *, exported_at: datetime, include_notes: bool = True
) -> dict[str, Any]:
    """The record as plain JSON data; without notes and evidence unless ``include_notes``."""
    summary = (
        None
        if record.summary_ts is None
        else {
            "channel": record.summary_channel,
            "ts": record.summary_ts,
            "posted_at": iso(record.summary_posted_at),
            "updated_at": iso(record.summary_updated_at),
        }
    )
    return {
        "exported_at": iso(exported_at),
        "interview": {
            "id": record.interview_id,
            "external_id": record.external_id,
            "candidate": record.candidate,
            "role": record.role,
            "rubric": {"id": record.rubric_id, "version": record.rubric_version},
            "target_level": record.target_level,
            "starts_at": iso(record.starts_at),
            "ends_at": iso(record.ends_at),
            "state": record.state,
            "hiring_channel": record.hiring_channel,
            "recruiter": record.recruiter,
            "hiring_lead": record.hiring_lead,
            "created_at": iso(record.created_at),
            "updated_at": iso(record.updated_at),
            "summary": summary,
        },
        "panel": [_panel_json(member, include_notes) for member in record.panel],
        "audit": [
            {
                "at": iso(event.at),
                "actor": event.actor,
                "action": event.action,
                "entity": event.entity,
                "entity_id": event.entity_id,
                "detail": event.detail,
            }
            for event in record.audit
        ],
    }


def _panel_json(member: PanelRecord, include_notes: bool) -> dict[str, Any]:
    feedback = member.feedback
    return {
        "interviewer": member.interviewer,
        "position": member.position,
        "focus_skills": list(member.focus_skills),
        "state": member.state,
        "reminders": member.reminders,
        "form_sent": member.form_sent,
        "last_error": member.last_error,
        "shadow": member.shadow,
        "feedback": None if feedback is None else _feedback_json(feedback, include_notes),
        "history": [
            {
                "seq": v.seq,
                "at": iso(v.at),
                "actor": v.actor,
                "recommendation": v.recommendation,
                **_text("notes", v.notes, include_notes),
                "ratings": [_rating_json(r, include_notes, named=False) for r in v.ratings],
            }
            for v in member.history
        ],
    }


def _feedback_json(feedback: FeedbackRecord, include_notes: bool) -> dict[str, Any]:
    return {
        "recommendation": feedback.recommendation,
        **_text("notes", feedback.notes, include_notes),
        "submitted_at": iso(feedback.submitted_at),
        "updated_at": iso(feedback.updated_at),
        "ratings": [_rating_json(r, include_notes, named=True) for r in feedback.ratings],
    }


def _rating_json(rating: RatingRecord, include_notes: bool, *, named: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"skill_id": rating.skill_id}
    if named:
        out["skill_name"] = rating.skill_name
    out["level"] = rating.level
    return out | _text("evidence", rating.evidence, include_notes)


def _text(key: str, value: str, include: bool) -> dict[str, str]:
    # Left out entirely (not emptied): an empty string would read as "wrote nothing".
    return {key: value} if include else {}
