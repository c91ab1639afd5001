"""handlers.blocks.schedule_modal: the modal, its state as an import row, errors per block."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from handlers.blocks.limits import check_view
from handlers.blocks.schedule_modal import (
    MAX_SLOTS,
    SCHEDULE_CALLBACK,
    build_schedule_modal,
    errors_for_blocks,
    read_schedule_state,
)
from rubric import Rubric, RubricRegistry, SourceError, SourceErrors, load_builtin
from storage.import_file import InterviewRow, InterviewSpec, parse_interview

MLE: Rubric = load_builtin("mle")
START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
SUBMITTER = "U0SUBMIT"


def other_rubric(rubric_id: str = "data", name: str = "Data Scientist") -> Rubric:
    """A second rubric with its own skill ids (one, `communication`, shared with mle)."""
    data = MLE.model_dump(mode="json")
    data.update(id=rubric_id, name=name, roles=[])
    data["disciplines"] = [
        {
            "id": "analysis",
            "name": "Analysis",
            "skills": [
                {**MLE.skill("fundamentals").model_dump(mode="json"), "id": "statistics"},
                {**MLE.skill("communication").model_dump(mode="json")},
            ],
        }
    ]
    return Rubric.model_validate(data)


OTHER = other_rubric()
REGISTRY = RubricRegistry([MLE, OTHER])


def blocks_by_id(view: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if "block_id" in b}


def all_options(element: Mapping[str, Any]) -> list[dict[str, Any]]:
    if "options" in element:
        return list(element["options"])
    return [o for group in element["option_groups"] for o in group["options"]]


def state_values(view: Mapping[str, Any], picks: Mapping[str, Any]) -> dict[str, Any]:
    """``view.state.values`` as Slack sends it: every input block, empty ones as null.

    ``picks`` maps block ids to a text, user/channel id, unix time, option value or
    list of option values.
    """
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        kind = element["type"]
        pick = picks.get(block["block_id"])
        state: dict[str, Any] = {"type": kind}
        if kind == "plain_text_input":
            state["value"] = pick
        elif kind == "users_select":
            state["selected_user"] = pick
        elif kind == "conversations_select":
            state["selected_conversation"] = pick
        elif kind == "datetimepicker":
            state["selected_date_time"] = pick
        elif kind == "static_select":
            chosen = (
                pick if pick is not None else (element.get("initial_option") or {}).get("value")
            )
            matches = [o for o in all_options(element) if o["value"] == chosen]
            state["selected_option"] = matches[0] if matches else None
        elif kind in ("multi_static_select", "checkboxes"):
            by_value = {o["value"]: o for o in all_options(element)}
            state["selected_options"] = [by_value[v] for v in pick or []]
        else:  # pragma: no cover
            raise AssertionError(kind)
        values[block["block_id"]] = {element["action_id"]: state}
    return values


def validate(row: dict[str, Any], registry: RubricRegistry = REGISTRY) -> InterviewSpec:
    """Through the import pipeline, exactly as an import file's row."""
    return parse_interview(row, source="modal", registry=registry)


def import_errors(row: dict[str, Any], registry: RubricRegistry = REGISTRY) -> list[SourceError]:
    with pytest.raises(SourceErrors) as caught:
        validate(row, registry)
    return caught.value.errors


BASE_PICKS: dict[str, Any] = {
    "candidate": "Ada Lovelace",
    "role": "Senior ML Engineer",
    "starts_at": int(START.timestamp()),
    "hiring_channel": "C0HIRING",
    "hiring_lead": "U0LEAD",
    "panel_0": "U0AAA",
    "focus_0": ["system_design", "ml_workflows"],
}


# -- the modal -------------------------------------------------------------------------


def test_modal_with_one_rubric() -> None:
    view = build_schedule_modal([MLE])
    check_view(view)
    assert view["callback_id"] == SCHEDULE_CALLBACK == "schedule_submit"
    blocks = blocks_by_id(view)
    assert "rubric" not in blocks  # fixed, shown as text
    assert any(
        "Machine Learning Engineer" in str(b) for b in view["blocks"] if b["type"] == "context"
    )
    expected = ["candidate", "role", "target_level", "starts_at", "duration", "hiring_channel"]
    expected += ["hiring_lead", "recruiter"]
    expected += [f"{kind}_{i}" for i in range(6) for kind in ("panel", "focus", "shadow")]
    assert list(blocks) == expected

    assert blocks["candidate"]["element"]["type"] == "plain_text_input"
    role = blocks["role"]
    assert role["element"]["type"] == "plain_text_input"
    for name in ("Junior ML Engineer", "Senior ML Engineer", "Lead ML Engineer"):
        assert name in role["hint"]["text"]
    level = blocks["target_level"]
    assert level["optional"] is True
    assert [o["value"] for o in all_options(level["element"])] == ["junior", "senior", "lead"]
    starts = blocks["starts_at"]["element"]
    assert starts["type"] == "datetimepicker" and starts["action_id"] == "value"
    duration = blocks["duration"]["element"]
    assert [o["value"] for o in duration["options"]] == ["30m", "45m", "60m", "90m", "120m", "180m"]
    assert duration["initial_option"]["value"] == "60m"
    channel = blocks["hiring_channel"]["element"]
    assert channel["type"] == "conversations_select"
    assert channel["filter"] == {"include": ["public", "private"], "exclude_bot_users": True}
    assert blocks["hiring_lead"]["element"]["type"] == "users_select"
    assert blocks["hiring_lead"]["optional"] is False
    assert blocks["recruiter"]["optional"] is True

    assert blocks["panel_0"]["optional"] is False
    assert all(blocks[f"panel_{i}"]["optional"] for i in range(1, 6))
    assert all(blocks[f"focus_{i}"]["optional"] for i in range(6))
    focus = blocks["focus_0"]["element"]
    assert focus["type"] == "multi_static_select"
    assert [g["label"]["text"] for g in focus["option_groups"]] == [d.name for d in MLE.disciplines]
    assert [o["value"] for o in all_options(focus)] == [s.id for s in MLE.skills]


def test_modal_with_two_rubrics() -> None:
    view = build_schedule_modal([OTHER, MLE], default_rubric="mle", slots=3)
    check_view(view)
    blocks = blocks_by_id(view)
    rubric = blocks["rubric"]["element"]
    assert rubric["type"] == "static_select"
    assert [o["value"] for o in rubric["options"]] == ["mle", "data"]
    assert rubric["initial_option"]["value"] == "mle"
    focus = blocks["focus_2"]["element"]
    values = [o["value"] for o in all_options(focus)]
    assert values[:2] == ["mle:fundamentals", "mle:libraries_frameworks"]
    assert "data:statistics" in values and "data:communication" in values
    labels = [g["label"]["text"] for g in focus["option_groups"]]
    assert labels[0] == "Machine Learning Engineer · Core technical"
    assert labels[-1] == "Data Scientist · Analysis"
    assert "Data Scientist: none listed" in blocks["role"]["hint"]["text"]


def test_many_rubrics_keep_within_100_options_and_short_labels() -> None:
    rubrics = [MLE] + [
        other_rubric(f"r{i}", "A rubric with a really rather long name, " + "x" * 60)
        for i in range(60)
    ]
    view = build_schedule_modal(rubrics)
    check_view(view)
    focus = blocks_by_id(view)["focus_0"]["element"]
    assert len(all_options(focus)) == 100
    assert all(len(g["label"]["text"]) <= 75 for g in focus["option_groups"])
    # The default rubric comes first, all of it.
    assert [o["value"] for o in all_options(focus)][:16] == [f"mle:{s.id}" for s in MLE.skills]


def test_slot_count_is_bounded_by_the_100_block_limit() -> None:
    view = build_schedule_modal([MLE, OTHER], slots=MAX_SLOTS)
    check_view(view)
    assert len(view["blocks"]) <= 100
    with pytest.raises(ValueError):
        build_schedule_modal([MLE], slots=MAX_SLOTS + 1)
    with pytest.raises(ValueError):
        build_schedule_modal([MLE], slots=0)
    with pytest.raises(ValueError):
        build_schedule_modal([])


# -- reading the state back ------------------------------------------------------------


def test_read_state_gives_an_import_row_that_validates() -> None:
    view = build_schedule_modal([MLE])
    picks = {**BASE_PICKS, "panel_2": "U0BBB", "focus_2": ["communication"]}
    row, field_to_block = read_schedule_state(state_values(view, picks), submitter=SUBMITTER)
    assert row == {
        "candidate": "Ada Lovelace",
        "role": "Senior ML Engineer",
        "rubric": "mle",
        "starts_at": START,
        "duration": "60m",
        "hiring_channel": "C0HIRING",
        "recruiter": SUBMITTER,
        "hiring_lead": "U0LEAD",
        "panel": [
            {"interviewer": "U0AAA", "focus": ["system_design", "ml_workflows"]},
            {"interviewer": "U0BBB", "focus": ["communication"]},
        ],
    }
    assert row["starts_at"].tzinfo is UTC
    InterviewRow.model_validate(row)
    spec = validate(row)
    assert spec.starts_at == START and spec.ends_at == START + timedelta(hours=1)
    assert spec.target_level == "senior"  # from the role
    assert spec.recruiter == SUBMITTER
    assert [(m.interviewer, m.focus) for m in spec.panel] == [
        ("U0AAA", ("system_design", "ml_workflows")),
        ("U0BBB", ("communication",)),
    ]
    assert field_to_block["panel[1].interviewer"] == "panel_2"
    assert field_to_block["panel[1].focus"] == "focus_2"
    assert field_to_block["starts_at"] == "starts_at"
    assert field_to_block["rubric"] == "role"  # no rubric block in a one-rubric modal


def test_read_state_from_a_literal_slack_payload() -> None:
    # As Slack sends view.state.values (action ids need not be ours).
    option = {"text": {"type": "plain_text", "text": "x", "emoji": True}}
    values = {
        "candidate": {"a1": {"type": "plain_text_input", "value": "Grace Hopper"}},
        "role": {"a2": {"type": "plain_text_input", "value": "Compiler whisperer"}},
        "rubric": {"a3": {"type": "static_select", "selected_option": {**option, "value": "data"}}},
        "target_level": {
            "a4": {"type": "static_select", "selected_option": {**option, "value": "lead"}}
        },
        "starts_at": {"a5": {"type": "datetimepicker", "selected_date_time": 1803978000}},
        "duration": {
            "a6": {"type": "static_select", "selected_option": {**option, "value": "90m"}}
        },
        "hiring_channel": {
            "a7": {"type": "conversations_select", "selected_conversation": "G0PRIVATE"}
        },
        "hiring_lead": {"a8": {"type": "users_select", "selected_user": "U0LEAD"}},
        "recruiter": {"a9": {"type": "users_select", "selected_user": "U0RECRUIT"}},
        "panel_0": {"b0": {"type": "users_select", "selected_user": "W0ENTERPRISE"}},
        "focus_0": {
            "c0": {
                "type": "multi_static_select",
                "selected_options": [
                    {**option, "value": "data:statistics"},
                    {**option, "value": "data:communication"},
                ],
            }
        },
        "panel_1": {"b1": {"type": "users_select", "selected_user": None}},
        "focus_1": {"c1": {"type": "multi_static_select", "selected_options": []}},
    }
    row, field_to_block = read_schedule_state(values, submitter=SUBMITTER)
    assert row["rubric"] == "data"
    assert row["target_level"] == "lead"
    assert row["starts_at"] == datetime.fromtimestamp(1803978000, tz=UTC)
    assert row["duration"] == "90m"
    assert row["recruiter"] == "U0RECRUIT"
    assert row["panel"] == [
        {"interviewer": "W0ENTERPRISE", "focus": ["statistics", "communication"]}
    ]
    assert field_to_block["rubric"] == "rubric"
    spec = validate(row)
    assert spec.rubric_id == "data" and spec.target_level == "lead"
    assert spec.ends_at - spec.starts_at == timedelta(minutes=90)


def test_errors_land_on_the_focus_block_of_the_right_slot() -> None:
    # Rubric "data" picked, but slot 3's focus is an mle skill "data" lacks.
    view = build_schedule_modal([MLE, OTHER])
    picks = {
        **BASE_PICKS,
        "rubric": "data",
        "target_level": "senior",
        "focus_0": ["data:statistics"],
        "panel_3": "U0BBB",
        "focus_3": ["mle:system_design", "data:communication"],
    }
    row, field_to_block = read_schedule_state(state_values(view, picks), submitter=SUBMITTER)
    assert row["panel"][1] == {"interviewer": "U0BBB", "focus": ["system_design", "communication"]}
    errors = import_errors(row)
    assert [e.path for e in errors] == ["panel[1].focus[0]"]
    assert errors_for_blocks(errors, field_to_block) == {
        "focus_3": "unknown skill 'system_design' in rubric 'data'"
    }


def test_duplicate_interviewer_points_at_the_later_slot_in_the_users_terms() -> None:
    view = build_schedule_modal([MLE])
    picks = {**BASE_PICKS, "panel_4": "U0AAA"}
    row, field_to_block = read_schedule_state(state_values(view, picks), submitter=SUBMITTER)
    blocks = errors_for_blocks(import_errors(row), field_to_block)
    assert blocks == {"panel_4": "U0AAA is on the panel twice (also interviewer 1)"}


def test_focus_without_interviewer_asks_for_the_interviewer() -> None:
    view = build_schedule_modal([MLE])
    picks = {**BASE_PICKS, "focus_2": ["planning"]}
    row, field_to_block = read_schedule_state(state_values(view, picks), submitter=SUBMITTER)
    assert row["panel"][1] == {"focus": ["planning"]}
    assert errors_for_blocks(import_errors(row), field_to_block) == {"panel_2": "field required"}


def test_unknown_role_without_level_and_bad_channel() -> None:
    view = build_schedule_modal([MLE])
    picks = {**BASE_PICKS, "role": "Wizard", "hiring_channel": "D0DIRECT"}
    row, field_to_block = read_schedule_state(state_values(view, picks), submitter=SUBMITTER)
    errors = errors_for_blocks(import_errors(row), field_to_block)
    assert set(errors) == {"hiring_channel"}  # field errors first; the role is checked after
    row["hiring_channel"] = "C0HIRING"
    errors = errors_for_blocks(import_errors(row), field_to_block)
    assert list(errors) == ["role"]
    assert "unknown role 'Wizard'" in errors["role"]


def test_errors_for_blocks_matching_rules() -> None:
    field_to_block = {
        "candidate": "candidate",
        "panel": "panel_0",
        "panel[1]": "panel_1",
        "panel[1].focus": "focus_1",
        "panel[10]": "panel_12",
        "panel[10].focus": "focus_12",
    }

    def err(path: str, message: str = "bad") -> SourceError:
        return SourceError("modal", None, path, message)

    assert errors_for_blocks([err("panel[10].focus[0]")], field_to_block) == {"focus_12": "bad"}
    assert errors_for_blocks([err("panel[1].focus[3]")], field_to_block) == {"focus_1": "bad"}
    assert errors_for_blocks([err("panel[1].interviewer")], field_to_block) == {"panel_1": "bad"}
    assert errors_for_blocks([err("panel")], field_to_block) == {"panel_0": "bad"}
    # Nothing holds it: the candidate block, with the path so it still makes sense.
    assert errors_for_blocks([err("")], field_to_block) == {"candidate": "bad"}
    assert errors_for_blocks([err("mystery")], field_to_block) == {"candidate": "mystery: bad"}
    # Several on one block are joined, duplicates once.
    joined = errors_for_blocks(
        [err("panel[1].focus[0]", "a"), err("panel[1].focus[2]", "b"), err("panel[1].focus", "a")],
        field_to_block,
    )
    assert joined == {"focus_1": "a; b"}


def test_empty_panel_maps_to_the_first_slot() -> None:
    view = build_schedule_modal([MLE])
    picks = {k: v for k, v in BASE_PICKS.items() if k not in ("panel_0", "focus_0")}
    row, field_to_block = read_schedule_state(state_values(view, picks), submitter=SUBMITTER)
    assert row["panel"] == []
    errors = errors_for_blocks(import_errors(row), field_to_block)
    assert list(errors) == ["panel_0"]
    assert "panel is empty" in errors["panel_0"]


# -- shadow interviewers ------------------------------------------------------------------


def test_each_slot_has_a_shadow_box_and_it_reaches_the_import_row() -> None:
    view = build_schedule_modal([MLE])
    check_view(view)
    box = blocks_by_id(view)["shadow_1"]
    assert box["optional"] is True
    assert box["label"]["text"] == "Interviewer 2 as a shadow?"
    [option] = box["element"]["options"]
    assert box["element"]["type"] == "checkboxes"
    assert option["text"]["text"] == "Shadow (trainee: rates, never counted)"
    picks = {**BASE_PICKS, "panel_1": "U0TRAINEE", "shadow_1": ["shadow"]}
    row, field_to_block = read_schedule_state(state_values(view, picks), submitter=SUBMITTER)
    assert row["panel"] == [
        {"interviewer": "U0AAA", "focus": ["system_design", "ml_workflows"]},
        {"interviewer": "U0TRAINEE", "focus": [], "shadow": True},
    ]
    assert field_to_block["panel[1].shadow"] == "shadow_1"
    spec = validate(row)
    assert [(m.interviewer, m.shadow) for m in spec.panel] == [
        ("U0AAA", False),
        ("U0TRAINEE", True),
    ]


def test_a_panel_of_shadows_only_is_refused_on_the_first_box() -> None:
    view = build_schedule_modal([MLE])
    picks = {**BASE_PICKS, "shadow_0": ["shadow"], "panel_3": "U0BBB", "shadow_3": ["shadow"]}
    row, field_to_block = read_schedule_state(state_values(view, picks), submitter=SUBMITTER)
    assert [m.get("shadow") for m in row["panel"]] == [True, True]
    errors = errors_for_blocks(import_errors(row), field_to_block)
    assert list(errors) == ["shadow_0"]
    assert "at least one must not be" in errors["shadow_0"]
    # One non-shadow is enough.
    picks.pop("shadow_3")
    row, _ = read_schedule_state(state_values(view, picks), submitter=SUBMITTER)
    assert [m.shadow for m in validate(row).panel] == [True, False]


def test_a_ticked_box_without_an_interviewer_asks_for_the_person() -> None:
    view = build_schedule_modal([MLE])
    picks = {**BASE_PICKS, "shadow_2": ["shadow"]}
    row, field_to_block = read_schedule_state(state_values(view, picks), submitter=SUBMITTER)
    errors = errors_for_blocks(import_errors(row), field_to_block)
    assert list(errors) == ["panel_2"]


def test_max_slots_with_shadow_boxes_fit_the_view() -> None:
    view = build_schedule_modal([MLE, OTHER], slots=MAX_SLOTS)
    check_view(view)
    assert MAX_SLOTS >= 10
    assert sum(1 for b in view["blocks"] if b.get("block_id", "").startswith("shadow_")) == (
        MAX_SLOTS
    )
