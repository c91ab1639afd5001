"""``interview-bot report calibration`` formats: the team's calibration as JSON or CSV.

The same data as ``/interview calibration``: per rubric version, every skill's
figures and the interviewers' spread, never a figure about a named interviewer
(each sees their own in App Home). docs/calibration.md explains every field.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.export import cell, iso
from rubric.calibration import Calibration, SkillCalibration, VersionCalibration

# One row per (rubric version, skill), then one "interviewers" row per version with the
# spread; the skill columns are empty on that row and the spread columns on the others.
CSV_COLUMNS = (
    "row",
    "rubric_id",
    "rubric_version",
    "latest_version",
    "first_interview",
    "last_interview",
    "interviews",
    "min_ratings",
    "skill_id",
    "skill_name",
    "rated_interviews",
    "ratings",
    "pairable_ratings",
    "alpha",
    "alpha_reading",
    "needs_discussion_share",
    "unassessed_share",
    "needs_clarification",
    "interviewers_with_figures",
    "deviation_stdev",
    "deviation_lowest",
    "deviation_highest",
    "lenient",
    "severe",
)


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _skill(report: VersionCalibration, skill: SkillCalibration, weak: set[str]) -> dict[str, Any]:
    rubric = report.rubric
    return {
        "skill_id": skill.skill_id,
        "skill_name": rubric.skill(skill.skill_id).name,
        "rated_interviews": skill.rated_panels,
        "ratings": skill.ratings,
        "pairable_ratings": skill.pairable,
        "alpha": _round(skill.agreement.alpha),
        "alpha_reading": skill.agreement.reading,
        "needs_discussion_share": _round(skill.needs_discussion_share),
        "unassessed_share": _round(skill.unassessed_share),
        "needs_clarification": skill.skill_id in weak,
    }


def _weak(cal: Calibration) -> set[str]:
    """Every skill whose alpha is below .667 (the Slack report names the lowest three)."""
    return {s.skill_id for s in cal.needing_clarification(limit=len(cal.skills))}


def _spread(cal: Calibration) -> dict[str, Any]:
    spread = cal.spread
    return {
        "interviewers_with_figures": spread.interviewers,
        "deviation_stdev": _round(spread.stdev),
        "deviation_lowest": _round(spread.lowest),
        "deviation_highest": _round(spread.highest),
        "lenient": spread.lenient,
        "severe": spread.severe,
    }


def _version(report: VersionCalibration) -> dict[str, Any]:
    cal = report.calibration
    return {
        "rubric_id": report.rubric.id,
        "rubric_version": report.rubric.version,
        "latest_version": report.latest,
        "first_interview": iso(report.first_interview),
        "last_interview": iso(report.last_interview),
        "interviews": cal.panels,
        "min_ratings": cal.min_ratings,
    }


def calibration_json(
    reports: Sequence[VersionCalibration],
    *,
    since: datetime,
    until: datetime,
    generated_at: datetime,
) -> str:
    """One JSON document: the period, then each rubric version with its skills and spread."""
    versions = []
    for report in reports:
        weak = _weak(report.calibration)
        versions.append(
            {
                **_version(report),
                "skills": [_skill(report, s, weak) for s in report.calibration.skills],
                "interviewers": _spread(report.calibration),
            }
        )
    document = {
        "generated_at": iso(generated_at),
        "since": iso(since),
        "until": iso(until),
        "rubric_versions": versions,
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def calibration_csv(reports: Sequence[VersionCalibration]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for report in reports:
        version = _version(report)
        weak = _weak(report.calibration)
        rows = [
            {"row": "skill", **version, **_skill(report, s, weak)}
            for s in report.calibration.skills
        ]
        rows.append({"row": "interviewers", **version, **_spread(report.calibration)})
        for row in rows:
            writer.writerow([_csv_value(row.get(column)) for column in CSV_COLUMNS])
    return buffer.getvalue()


def _csv_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)  # our own numbers: a minus sign is not a formula
    return cell(value)
