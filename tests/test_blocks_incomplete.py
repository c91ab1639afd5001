"""The incomplete interview's DM, Home item and prefilled schedule modal: pure builders."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from handlers.blocks.incomplete import build_incomplete_dm, field_name, incomplete_home_item
from handlers.blocks.limits import message_problems, view_problems
from handlers.blocks.schedule_modal import MAX_SLOTS, build_schedule_modal
from handlers.blocks.schedule_prefill import Prefill, incomplete_of_metadata
from rubric import RubricRegistry
from storage.incomplete_view import IncompleteView

RUBRICS = list(RubricRegistry.load(None).all())


def item(row: dict[str, Any], missing: list[tuple[str, str]]) -> IncompleteView:
    return IncompleteView(
        id=7,
        source="calendar:team",
        external_id="cal:abc",
        row=row,
        missing=tuple(missing),
        recruiter=None,
        notified_at=None,
        last_error=None,
        created_at=datetime(2027, 1, 1, tzinfo=UTC),
    )


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}


def test_the_dm_names_exactly_what_is_missing() -> None:
    ada = item(
        {"candidate": "Ada <Lovelace>", "role": "MLE", "starts_at": "2027-03-01T09:00:00+00:00"},
        [("panel[1].interviewer", "no Slack user has the email eve@x.io"), ("job", "no mapping")],
    )
    text, blocks = build_incomplete_dm(ada, tz=ZoneInfo("Europe/Berlin"))
    assert message_problems(text, blocks) == []
    shown = json.dumps(blocks)
    assert "Interviewer 2" in shown and "eve@x.io" in shown and "Job" in shown
    assert "Ada &lt;Lovelace&gt;" in shown and "10:00" in shown  # Berlin time, escaped
    [button] = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert (button["action_id"], button["value"]) == ("incomplete_complete", "7")
    assert "Interviewer 2" in text


def test_huge_and_many_values_stay_within_slack_limits() -> None:
    huge = item(
        {"candidate": "x" * 5000, "role": "y" * 5000, "starts_at": "garbage"},
        [(f"panel[{i}].interviewer", "z" * 3000) for i in range(40)],
    )
    text, blocks = build_incomplete_dm(huge, tz=UTC)
    assert message_problems(text, blocks) == []
    home = incomplete_home_item(huge, tz=UTC)
    assert message_problems("home", [home]) == []
    assert field_name("hiring_channel") == "Hiring channel" and field_name("") == "Interview"


def test_the_modal_opens_with_what_the_source_gave() -> None:
    row = {
        "candidate": "Ada",
        "role": "Senior ML Engineer",
        "target_level": "Senior",
        "starts_at": "2027-03-01T10:00:00+01:00",
        "ends_at": "2027-03-01T10:50:00+01:00",
        "hiring_channel": "C0HIRING",
        "recruiter": "rec@example.com",  # not a Slack ID: left for the recruiter to pick
        "hiring_lead": "U0LEAD",
        "panel": [
            {"interviewer": "U0AAA", "focus": ["system_design", "nope"]},
            {"interviewer": "eve@x.io", "shadow": True},
        ],
    }
    view = build_schedule_modal(RUBRICS, prefill=Prefill(row, 7, "From calendar:team."))
    assert view_problems(view) == []
    assert incomplete_of_metadata(view) == 7
    fields = inputs(view)
    assert fields["candidate"]["initial_value"] == "Ada"
    assert fields["target_level"]["initial_option"]["value"] == "senior"
    assert fields["starts_at"]["initial_date_time"] == int(
        datetime(2027, 3, 1, 9, 0, tzinfo=UTC).timestamp()
    )
    assert fields["duration"]["initial_option"]["value"] == "50m"  # added: not a listed length
    assert fields["hiring_channel"]["initial_conversation"] == "C0HIRING"
    assert fields["hiring_lead"]["initial_user"] == "U0LEAD"
    assert "initial_user" not in fields["recruiter"]
    assert fields["panel_0"]["initial_user"] == "U0AAA"
    assert [o["value"] for o in fields["focus_0"]["initial_options"]] == ["system_design"]
    assert "initial_user" not in fields["panel_1"]
    assert [o["value"] for o in fields["shadow_1"]["initial_options"]] == ["shadow"]


def test_a_big_panel_gets_slots_up_to_the_limit() -> None:
    panel = [{"interviewer": f"U0P{i:03d}"} for i in range(60)]
    view = build_schedule_modal(RUBRICS, prefill=Prefill({"panel": panel}, 1, "n" * 5000))
    assert view_problems(view) == []
    assert sum(1 for key in inputs(view) if key.startswith("panel_")) == MAX_SLOTS


def test_forged_metadata_reads_as_no_incomplete() -> None:
    for metadata in (
        "",
        "{",
        "[]",
        '{"incomplete": "7"}',
        '{"incomplete": true}',
        '{"incomplete": -1}',
    ):
        assert incomplete_of_metadata({"private_metadata": metadata}) is None
    assert incomplete_of_metadata(None) is None
