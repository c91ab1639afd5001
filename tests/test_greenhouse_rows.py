"""Greenhouse interviews as intake rows: the documented shapes (tests/fixtures/greenhouse)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sources.greenhouse import next_cursor
from sources.greenhouse_rows import Names, interview_row
from storage.mapping import JobMapping, SourceMapping, resolve_row

FIXTURES = Path(__file__).parent / "fixtures" / "greenhouse"
NAMES = Names(candidate="Jane Doe", job="Senior ML Engineer", interview="Technical Interview")
MAPPING = SourceMapping(
    jobs=(
        JobMapping(
            job="senior ml engineer",
            rubric="mle",
            target_level="senior",
            hiring_channel="C0HIRING",
            recruiter="U0RECRUIT",
            hiring_lead="U0LEAD",
        ),
    ),
    kits={"technical interview": ("system_design", "fundamentals")},
)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def test_a_scheduled_interview_is_a_row_with_its_panel_by_email() -> None:
    [scheduled, _cancelled] = fixture("interviews.json")
    row = interview_row(scheduled, NAMES)
    assert row is not None
    assert (row.source, row.external_id, row.cancelled) == (
        "greenhouse",
        "greenhouse:9800001",
        False,
    )
    assert row.where == "greenhouse interview 9800001"
    assert dict(row.fields) == {
        "candidate": "Jane Doe",
        "job": "Senior ML Engineer",
        "kit": "Technical Interview",
        "starts_at": "2027-03-01T10:00:00.000Z",
        "ends_at": "2027-03-01T11:00:00.000Z",
        "panel": [{"interviewer": "ada@example.com"}, {"interviewer": "grace@example.com"}],
    }


def test_the_shared_mapping_turns_job_and_kit_into_rubric_role_and_focus() -> None:
    [scheduled, _] = fixture("interviews.json")
    row = interview_row(scheduled, NAMES)
    assert row is not None
    data, missing = resolve_row(MAPPING, row.fields)
    assert missing == []
    assert data["rubric"] == "mle" and data["role"] == "Senior ML Engineer"
    assert data["hiring_channel"] == "C0HIRING" and data["recruiter"] == "U0RECRUIT"
    assert [m["focus"] for m in data["panel"]] == [["system_design", "fundamentals"]] * 2


def test_an_unmapped_job_is_missing_not_guessed() -> None:
    [scheduled, _] = fixture("interviews.json")
    row = interview_row(scheduled, Names(candidate="Jane Doe", job="Barista"))
    assert row is not None
    _data, missing = resolve_row(MAPPING, row.fields)
    assert [m.field for m in missing] == ["job"]


def test_a_cancelled_status_is_a_cancelling_row() -> None:
    [_, cancelled] = fixture("interviews.json")
    row = interview_row(cancelled, NAMES)
    assert row is not None
    assert (row.external_id, row.cancelled, dict(row.fields)) == ("greenhouse:9800002", True, {})
    removed = dict(cancelled, status="Removed")
    assert interview_row(removed, NAMES).cancelled  # type: ignore[union-attr]


def test_the_retired_v1_shape_maps_the_same_way() -> None:
    item = fixture("interview_v1.json")
    row = interview_row(item, Names(candidate="Jane Doe", job="Senior ML Engineer"))
    assert row is not None
    assert row.fields["starts_at"] == "2027-03-03T09:00:00.000Z"
    assert row.fields["ends_at"] == "2027-03-03T10:00:00.000Z"
    assert row.fields["kit"] == "Onsite: Systems Design"  # the row's own interview name
    assert row.fields["panel"] == [{"interviewer": "ada@example.com"}]


def test_interviewers_without_an_email_and_repeats_are_left_out() -> None:
    [scheduled, _] = fixture("interviews.json")
    scheduled["interviewers"] = [
        {"user_id": 1, "email": "Ada@Example.com"},
        {"user_id": 1, "email": "ada@example.com"},
        {"user_id": 2, "email": None},
        "not an object",
    ]
    row = interview_row(scheduled, NAMES)
    assert row is not None and row.fields["panel"] == [{"interviewer": "Ada@Example.com"}]


def test_an_interview_without_a_usable_id_is_no_row() -> None:
    for bad in ({}, {"id": None}, {"id": True}, {"id": "x1"}, {"id": 1.5}):
        assert interview_row(bad, NAMES) is None


def test_the_cursor_is_the_latest_update_and_never_moves_back() -> None:
    items = fixture("interviews.json")
    assert next_cursor(items, None) == "2027-02-26T08:00:00.000Z"
    assert next_cursor(items, "2027-03-01T00:00:00.000Z") == "2027-03-01T00:00:00.000Z"
    assert next_cursor([], "2027-03-01T00:00:00.000Z") == "2027-03-01T00:00:00.000Z"
    assert next_cursor([{"updated_at": "garbage"}], None) is None
    # Offsets are normalised to UTC.
    assert next_cursor([{"updated_at": "2027-02-26T09:00:00+01:00"}], None) == (
        "2027-02-26T08:00:00.000Z"
    )
