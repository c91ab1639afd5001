"""The "Schedule an interview" modal, reading its state back as an import row, and
turning import validation errors into ``response_action: errors`` on the right block.

The modal produces exactly the row an import file holds (``storage.import_file``),
so a scheduled interview goes through the same validation as an imported one:

    row, field_to_block = read_schedule_state(view["state"]["values"], submitter=user_id)
    # validate ``row`` through the import pipeline; on SourceErrors:
    ack(response_action="errors", errors=errors_for_blocks(exc.errors, field_to_block))
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from handlers.blocks.form_dm import Block, context
from handlers.blocks.text import escape_mrkdwn, plain, truncate
from rubric import Rubric, SourceError

if TYPE_CHECKING:
    from handlers.blocks.schedule_prefill import Prefill

SCHEDULE_CALLBACK = "schedule_submit"
ACTION_ID = "value"  # every input's element; read_schedule_state accepts any action id

# Block ids (also the keys of view.state.values).
CANDIDATE_BLOCK = "candidate"
ROLE_BLOCK = "role"
RUBRIC_BLOCK = "rubric"
TARGET_LEVEL_BLOCK = "target_level"
STARTS_AT_BLOCK = "starts_at"
DURATION_BLOCK = "duration"
HIRING_CHANNEL_BLOCK = "hiring_channel"
RECRUITER_BLOCK = "recruiter"
HIRING_LEAD_BLOCK = "hiring_lead"
PANEL_BLOCK_PREFIX = "panel_"
FOCUS_BLOCK_PREFIX = "focus_"
SHADOW_BLOCK_PREFIX = "shadow_"
SHADOW_VALUE = "shadow"
SHADOW_OPTION_TEXT = "Shadow (trainee: rates, never counted)"
SHADOW_OPTION_DESCRIPTION = "Shown apart in the thread; never counted, never waited for."
FALLBACK_BLOCK = CANDIDATE_BLOCK

DURATIONS: tuple[tuple[str, str], ...] = (
    ("30m", "30 minutes"),
    ("45m", "45 minutes"),
    ("60m", "1 hour"),
    ("90m", "1 hour 30 minutes"),
    ("120m", "2 hours"),
    ("180m", "3 hours"),
)
DEFAULT_DURATION = "60m"

TEXT_MAX = 200  # storage.import_file caps candidate and role at 200 characters
OPTION_TEXT_MAX = 75
GROUP_LABEL_MAX = 75
HINT_MAX = 2000
SELECT_OPTIONS_MAX = 100
VIEW_BLOCKS_MAX = 100
ERROR_MESSAGE_MAX = 500

_FIXED_BLOCKS = 11  # the inputs, the rubric line and the panel heading, without panel slots
_SLOT_BLOCKS = 3  # interviewer, focus skills, shadow
MAX_SLOTS = (VIEW_BLOCKS_MAX - _FIXED_BLOCKS) // _SLOT_BLOCKS

_SLOT_BLOCK = re.compile(
    rf"^(?:{PANEL_BLOCK_PREFIX}|{FOCUS_BLOCK_PREFIX}|{SHADOW_BLOCK_PREFIX})(\d+)$"
)
_PANEL_REF = re.compile(r"panel\[(\d+)\]")


def panel_block(slot: int) -> str:
    return f"{PANEL_BLOCK_PREFIX}{slot}"


def focus_block(slot: int) -> str:
    return f"{FOCUS_BLOCK_PREFIX}{slot}"


def shadow_block(slot: int) -> str:
    return f"{SHADOW_BLOCK_PREFIX}{slot}"


# -- the modal --------------------------------------------------------------------------


def build_schedule_modal(
    rubrics: Sequence[Rubric],
    *,
    default_rubric: str = "mle",
    slots: int = 6,
    prefill: Prefill | None = None,
) -> dict[str, Any]:
    """The modal ``/interview schedule`` opens.

    Args:
        rubrics: the rubrics to choose from; a rubric select appears only if there
            are several (else the one rubric is fixed and shown as a line of text).
        default_rubric: preselected, and listed first.
        slots: panel slots (interviewer, focus skills, shadow or not); the first is
            required.
        prefill: what a source gave for an incomplete interview: the inputs start
            with it (handlers.blocks.schedule_prefill), with room for its whole panel.

    Raises:
        ValueError: no rubrics, or a slot count outside 1..MAX_SLOTS.
    """
    if not rubrics:
        raise ValueError("at least one rubric is needed")
    if not 1 <= slots <= MAX_SLOTS:
        raise ValueError(f"slots must be in 1..{MAX_SLOTS} (got {slots})")
    if prefill is not None:
        slots = min(MAX_SLOTS, max(slots, prefill.slots))
    ordered = sorted(rubrics, key=lambda r: r.id != default_rubric)[:SELECT_OPTIONS_MAX]
    several = len(ordered) > 1

    blocks: list[Block] = [
        _input(
            CANDIDATE_BLOCK,
            "Candidate",
            {"type": "plain_text_input", "max_length": TEXT_MAX, "placeholder": plain("Full name")},
        ),
        _input(
            ROLE_BLOCK,
            "Role",
            {"type": "plain_text_input", "max_length": TEXT_MAX},
            hint=_roles_hint(ordered),
        ),
    ]
    if several:
        options = [_option(rubric.name, rubric.id) for rubric in ordered]
        blocks.append(
            _input(
                RUBRIC_BLOCK,
                "Rubric",
                {"type": "static_select", "options": options, "initial_option": options[0]},
            )
        )
    else:
        rubric = ordered[0]
        blocks.append(
            context(f"Rubric: *{escape_mrkdwn(rubric.name)}* (`{escape_mrkdwn(rubric.id)}`)")
        )
    blocks += [
        _input(
            TARGET_LEVEL_BLOCK,
            "Target level",
            {
                "type": "static_select",
                "options": _level_options(ordered),
                "placeholder": plain("The role's level"),
            },
            optional=True,
            hint="Leave empty for a listed role: its level is used.",
        ),
        _input(
            STARTS_AT_BLOCK,
            "Starts at",
            {"type": "datetimepicker"},
            hint="In your time zone.",
        ),
        _duration_input(),
        _input(
            HIRING_CHANNEL_BLOCK,
            "Hiring channel",
            {
                "type": "conversations_select",
                "filter": {"include": ["public", "private"], "exclude_bot_users": True},
                "placeholder": plain("Where the panel's summary is posted"),
            },
            hint="Invite the bot to a private channel before scheduling.",
        ),
        _input(
            HIRING_LEAD_BLOCK,
            "Hiring lead",
            {"type": "users_select", "placeholder": plain("Runs the debrief")},
        ),
        _input(
            RECRUITER_BLOCK,
            "Recruiter",
            {"type": "users_select", "placeholder": plain("You, if left empty")},
            optional=True,
            hint="Gets the digests of missing feedback. Leave empty if that is you.",
        ),
        {"type": "divider"},
        {"type": "header", "text": plain("Panel")},
    ]
    groups = _focus_groups(ordered, prefixed=several)
    for slot in range(slots):
        blocks.append(
            _input(
                panel_block(slot),
                f"Interviewer {slot + 1}",
                {"type": "users_select", "placeholder": plain("Pick an interviewer")},
                optional=slot > 0,
            )
        )
        blocks.append(
            _input(
                focus_block(slot),
                f"Focus skills of interviewer {slot + 1}",
                {
                    "type": "multi_static_select",
                    "option_groups": groups,
                    "placeholder": plain("Skills to focus on"),
                },
                optional=True,
            )
        )
        blocks.append(_shadow_input(slot))
    view = {
        "type": "modal",
        "callback_id": SCHEDULE_CALLBACK,
        "title": plain("Schedule an interview"),
        "submit": plain("Schedule"),
        "close": plain("Cancel"),
        "blocks": blocks,
    }
    if prefill is not None:
        from handlers.blocks.schedule_prefill import apply_prefill  # it reads these blocks

        apply_prefill(view, prefill.row, incomplete_id=prefill.incomplete_id, note=prefill.note)
    return view


def _input(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool = False,
    hint: str | None = None,
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": {**element, "action_id": ACTION_ID},
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(truncate(hint, HINT_MAX))
    return block


def _shadow_input(slot: int) -> Block:
    option = {
        "text": plain(SHADOW_OPTION_TEXT),
        "value": SHADOW_VALUE,
        "description": plain(SHADOW_OPTION_DESCRIPTION),
    }
    return _input(
        shadow_block(slot),
        f"Interviewer {slot + 1} as a shadow?",
        {"type": "checkboxes", "options": [option]},
        optional=True,
    )


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(truncate(text, OPTION_TEXT_MAX)), "value": value}


def _duration_input() -> Block:
    options = [_option(text, value) for value, text in DURATIONS]
    initial = next(o for o in options if o["value"] == DEFAULT_DURATION)
    return _input(
        DURATION_BLOCK,
        "Duration",
        {"type": "static_select", "options": options, "initial_option": initial},
    )


def _roles_hint(rubrics: Sequence[Rubric]) -> str:
    def names(rubric: Rubric) -> str:
        return ", ".join(role.name for role in rubric.roles) or "none listed"

    if len(rubrics) == 1:
        listed = names(rubrics[0])
    else:
        listed = "; ".join(f"{rubric.name}: {names(rubric)}" for rubric in rubrics)
    return f"Roles: {listed}. For any other role, pick a target level."


def _level_options(rubrics: Sequence[Rubric]) -> list[dict[str, Any]]:
    # One option per level id across all rubrics (import rows name levels by id).
    seen: dict[str, str] = {}
    for rubric in rubrics:
        for level in rubric.levels:
            seen.setdefault(level.id, level.name)
    return [_option(name, level_id) for level_id, name in seen.items()][:SELECT_OPTIONS_MAX]


def _focus_groups(rubrics: Sequence[Rubric], *, prefixed: bool) -> list[dict[str, Any]]:
    """Skills grouped by discipline; with several rubrics, per rubric too, values
    ``rubric_id:skill_id``. At most 100 options in all: skills past that are left out
    (the default rubric comes first, so its skills are always offered)."""
    groups: list[dict[str, Any]] = []
    budget = SELECT_OPTIONS_MAX
    for rubric in rubrics:
        for discipline in rubric.disciplines:
            if budget <= 0:
                return groups
            skills = discipline.skills[:budget]
            budget -= len(skills)
            label = f"{rubric.name} · {discipline.name}" if prefixed else discipline.name
            groups.append(
                {
                    "label": plain(truncate(label, GROUP_LABEL_MAX)),
                    "options": [
                        _option(skill.name, f"{rubric.id}:{skill.id}" if prefixed else skill.id)
                        for skill in skills
                    ],
                }
            )
    return groups


# -- reading a submission -------------------------------------------------------------


def read_schedule_state(
    values: Mapping[str, Any], *, submitter: str, default_rubric: str = "mle"
) -> tuple[dict[str, Any], dict[str, str]]:
    """Read a submitted schedule modal as an import row.

    Args:
        values: ``view["state"]["values"]`` of a submission.
        submitter: the submitting user's ID, the recruiter when none is picked.
        default_rubric: the rubric when the modal offered no choice (a single rubric).

    Returns:
        ``(row, field_to_block)``: ``row`` has the shape of one entry of an import
        file's ``interviews:`` list (``starts_at`` an aware UTC datetime, ``duration``
        like ``"60m"``; fields left empty are absent, so validation says "field
        required"); ``field_to_block`` maps row field paths (``candidate``,
        ``panel[1].interviewer``, ``panel[1].focus``, ...) to the block that holds
        them. Empty panel slots are skipped, so ``panel[1]`` may live in slot 3.
        A slot whose shadow box is ticked has ``shadow: true``; a panel of
        shadows only has its ``panel`` error shown on the first slot's box.
        Values of the wrong shape (a forged payload) read as empty.
    """
    if not isinstance(values, Mapping):
        values = {}
    has_rubric_block = RUBRIC_BLOCK in values
    row: dict[str, Any] = {}
    _put(row, "candidate", _text(values, CANDIDATE_BLOCK))
    _put(row, "role", _text(values, ROLE_BLOCK))
    row["rubric"] = _selected(values, RUBRIC_BLOCK) or default_rubric
    _put(row, "target_level", _selected(values, TARGET_LEVEL_BLOCK))
    _put(row, "starts_at", _date_time(values, STARTS_AT_BLOCK))
    _put(row, "duration", _selected(values, DURATION_BLOCK))
    _put(row, "hiring_channel", _field(values, HIRING_CHANNEL_BLOCK, "selected_conversation"))
    row["recruiter"] = _field(values, RECRUITER_BLOCK, "selected_user") or submitter
    _put(row, "hiring_lead", _field(values, HIRING_LEAD_BLOCK, "selected_user"))

    slots = sorted({int(m.group(1)) for key in values if (m := _SLOT_BLOCK.match(str(key)))})
    field_to_block: dict[str, str] = {
        "external_id": CANDIDATE_BLOCK,
        "candidate": CANDIDATE_BLOCK,
        "role": ROLE_BLOCK,
        # Without a rubric select, the role is what picked the (fixed) rubric's meaning.
        "rubric": RUBRIC_BLOCK if has_rubric_block else ROLE_BLOCK,
        "target_level": TARGET_LEVEL_BLOCK,
        "starts_at": STARTS_AT_BLOCK,
        "ends_at": DURATION_BLOCK,
        "duration": DURATION_BLOCK,
        "hiring_channel": HIRING_CHANNEL_BLOCK,
        "recruiter": RECRUITER_BLOCK,
        "hiring_lead": HIRING_LEAD_BLOCK,
        "panel": panel_block(slots[0] if slots else 0),
    }
    panel: list[dict[str, Any]] = []
    for slot in slots:
        interviewer = _field(values, panel_block(slot), "selected_user")
        focus = [_skill_id(v) for v in _selected_many(values, focus_block(slot))]
        shadow = SHADOW_VALUE in _selected_many(values, shadow_block(slot))
        if interviewer is None and not focus and not shadow:
            continue
        member: dict[str, Any] = {}
        # Focus skills (or the shadow box) without an interviewer stay in, so
        # validation asks for the person.
        _put(member, "interviewer", interviewer)
        member["focus"] = focus
        if shadow:
            member["shadow"] = True
        index = len(panel)
        panel.append(member)
        field_to_block[f"panel[{index}]"] = panel_block(slot)
        field_to_block[f"panel[{index}].interviewer"] = panel_block(slot)
        field_to_block[f"panel[{index}].focus"] = focus_block(slot)
        field_to_block[f"panel[{index}].shadow"] = shadow_block(slot)
    if panel and all(member.get("shadow") for member in panel):
        # "at least one must not be a shadow": said on the first box to untick.
        field_to_block["panel"] = field_to_block["panel[0].shadow"]
    row["panel"] = panel
    return row, field_to_block


def errors_for_blocks(
    source_errors: Sequence[SourceError], field_to_block: Mapping[str, str]
) -> dict[str, str]:
    """``response_action: errors`` for import validation errors of a modal row.

    Each error goes to the block of the longest field path that contains it
    (``panel[1].focus[0]`` -> the ``panel[1].focus`` block); an error no block holds
    goes to the candidate block, with its path. Several errors on one block are
    joined with "; ". References like ``panel[0]`` in messages become "interviewer 1".
    """
    slot_names = {
        path: f"interviewer {int(block[len(PANEL_BLOCK_PREFIX) :]) + 1}"
        for path, block in field_to_block.items()
        if _PANEL_REF.fullmatch(path) and block.startswith(PANEL_BLOCK_PREFIX)
    }

    def humane(message: str) -> str:
        return _PANEL_REF.sub(lambda m: slot_names.get(m.group(0), m.group(0)), message)

    messages: dict[str, list[str]] = {}
    for error in source_errors:
        block = _block_for(error.path, field_to_block)
        message = humane(error.message)
        if block is None:
            block = FALLBACK_BLOCK
            if error.path:
                message = f"{humane(error.path)}: {message}"
        found = messages.setdefault(block, [])
        if message not in found:
            found.append(message)
    return {
        block: truncate("; ".join(found), ERROR_MESSAGE_MAX) for block, found in messages.items()
    }


def _block_for(path: str, field_to_block: Mapping[str, str]) -> str | None:
    best: str | None = None
    for prefix in field_to_block:
        if (path == prefix or path.startswith((f"{prefix}.", f"{prefix}["))) and (
            best is None or len(prefix) > len(best)
        ):
            best = prefix
    return field_to_block[best] if best is not None else None


# -- view.state.values ------------------------------------------------------------------


def _element(values: Mapping[str, Any], block_id: str) -> Mapping[str, Any]:
    block = values.get(block_id)
    if not isinstance(block, Mapping) or not block:
        return {}
    element = block.get(ACTION_ID)
    if element is None:  # one element per input block, whatever its action id
        element = next(iter(block.values()))
    return element if isinstance(element, Mapping) else {}


def _field(values: Mapping[str, Any], block_id: str, key: str) -> str | None:
    value = _element(values, block_id).get(key)
    return value if isinstance(value, str) and value else None


def _text(values: Mapping[str, Any], block_id: str) -> str | None:
    value = _field(values, block_id, "value")
    return value if value is not None and value.strip() else None


def _selected(values: Mapping[str, Any], block_id: str) -> str | None:
    option = _element(values, block_id).get("selected_option")
    value = option.get("value") if isinstance(option, Mapping) else None
    return value if isinstance(value, str) and value else None


def _selected_many(values: Mapping[str, Any], block_id: str) -> list[str]:
    options = _element(values, block_id).get("selected_options")
    if not isinstance(options, list):
        return []
    return [
        o["value"] for o in options if isinstance(o, Mapping) and isinstance(o.get("value"), str)
    ]


def _date_time(values: Mapping[str, Any], block_id: str) -> datetime | None:
    stamp = _element(values, block_id).get("selected_date_time")
    if isinstance(stamp, bool) or not isinstance(stamp, int | float):
        return None
    try:
        return datetime.fromtimestamp(stamp, tz=UTC)
    except (OverflowError, OSError, ValueError):  # NaN, or beyond what datetime holds
        return None


def _skill_id(value: str) -> str:
    # "rubric_id:skill_id" when the modal offered several rubrics; ids never hold ":".
    return value.rpartition(":")[2]


def _put(target: dict[str, Any], key: str, value: object) -> None:
    if value is not None:
        target[key] = value
