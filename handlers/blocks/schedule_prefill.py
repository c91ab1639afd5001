"""The schedule modal prefilled with what a source gave (an incomplete interview).

Each known value becomes its input's initial value; what is missing (or not a
Slack ID, e.g. an email Slack does not know) is left empty for the recruiter to
pick. Slack refuses an ``initial_option`` that is not one of the options, so only
listed values are set; a duration that is not offered is added as an option.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from handlers.blocks.form_dm import Block, context
from handlers.blocks.text import escape_mrkdwn, plain, truncate

__all__ = ["METADATA_KEY", "Prefill", "apply_prefill", "incomplete_of_metadata"]

METADATA_KEY = "incomplete"
_USER = re.compile(r"^[UW][A-Z0-9]{2,31}$")
_CHANNEL = re.compile(r"^[CG][A-Z0-9]{2,31}$")
NOTE_MAX = 2000


@dataclass(frozen=True)
class Prefill:
    """What the schedule modal opens with: a source's row, for an incomplete interview."""

    row: Mapping[str, Any]
    incomplete_id: int
    note: str  # shown at the top: where it came from and what is missing

    @property
    def slots(self) -> int:
        panel = self.row.get("panel")
        return len(panel) if isinstance(panel, list) else 0


def incomplete_of_metadata(view: object) -> int | None:
    """The incomplete interview a submitted schedule modal completes (private_metadata)."""
    raw = view.get("private_metadata") if isinstance(view, Mapping) else None
    if not isinstance(raw, str) or not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    value = data.get(METADATA_KEY) if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
        return None
    return value


def apply_prefill(
    view: dict[str, Any], row: Mapping[str, Any], *, incomplete_id: int, note: str
) -> dict[str, Any]:
    """Set the inputs of a built schedule modal from ``row`` (import-row keys); returns ``view``."""
    blocks: list[Block] = view["blocks"]
    by_id = {b.get("block_id"): b for b in blocks if b.get("type") == "input"}

    def element(block_id: str) -> dict[str, Any] | None:
        block = by_id.get(block_id)
        return block["element"] if block is not None else None

    _text(element("candidate"), row.get("candidate"))
    _text(element("role"), row.get("role"))
    _option(element("rubric"), row.get("rubric"))
    _option(element("target_level"), row.get("target_level"))
    starts = _moment(row.get("starts_at"))
    picker = element("starts_at")
    if starts is not None and picker is not None:
        picker["initial_date_time"] = int(starts.timestamp())
        _duration(element("duration"), starts, _moment(row.get("ends_at")), row.get("duration"))
    _id(element("hiring_channel"), row.get("hiring_channel"), "initial_conversation", _CHANNEL)
    _id(element("hiring_lead"), row.get("hiring_lead"), "initial_user", _USER)
    _id(element("recruiter"), row.get("recruiter"), "initial_user", _USER)
    panel = row.get("panel")
    for slot, member in enumerate(panel if isinstance(panel, list) else []):
        if not isinstance(member, Mapping):
            continue
        _id(element(f"panel_{slot}"), member.get("interviewer"), "initial_user", _USER)
        _options(element(f"focus_{slot}"), member.get("focus"))
        if member.get("shadow") is True:
            _options(element(f"shadow_{slot}"), ["shadow"])
    blocks.insert(0, context(escape_mrkdwn(truncate(note, NOTE_MAX))))
    view["private_metadata"] = json.dumps({METADATA_KEY: incomplete_id})
    view["title"] = plain("Complete the interview")
    return view


def _text(element: dict[str, Any] | None, value: object) -> None:
    if element is not None and isinstance(value, str) and value.strip():
        element["initial_value"] = value.strip()[: int(element.get("max_length", 3000))]


def _id(element: dict[str, Any] | None, value: object, key: str, shape: re.Pattern[str]) -> None:
    if element is not None and isinstance(value, str) and shape.match(value.strip()):
        element[key] = value.strip()


def _all_options(element: Mapping[str, Any]) -> list[dict[str, Any]]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options += group.get("options") or []
    return options


def _option(element: dict[str, Any] | None, value: object) -> None:
    if element is None or not isinstance(value, str):
        return
    wanted = value.strip().lower()
    found = next((o for o in _all_options(element) if str(o["value"]).lower() == wanted), None)
    if found is not None:
        element["initial_option"] = found


def _options(element: dict[str, Any] | None, values: object) -> None:
    if element is None or not isinstance(values, list):
        return
    options = _all_options(element)
    chosen = []
    for value in values:
        # With several rubrics the option values are "rubric:skill".
        found = next((o for o in options if str(o["value"]).rpartition(":")[2] == value), None)
        if found is not None and found not in chosen:
            chosen.append(found)
    if chosen:
        element["initial_options"] = chosen


def _moment(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else None
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _duration(
    element: dict[str, Any] | None, starts: datetime, ends: datetime | None, given: object
) -> None:
    if element is None:
        return
    minutes: int | None = None
    if ends is not None and ends > starts:
        minutes = int((ends - starts).total_seconds() // 60)
    elif isinstance(given, str):
        match = re.fullmatch(r"\s*(\d{1,4})\s*([mh])\s*", given)
        if match:
            minutes = int(match.group(1)) * (60 if match.group(2) == "h" else 1)
    if not minutes or minutes > 24 * 60:
        return
    value = f"{minutes}m"
    options: list[dict[str, Any]] = element["options"]
    found = next((o for o in options if o["value"] == value), None)
    if found is None:
        found = {"text": plain(f"{minutes} minutes"), "value": value}
        options.append(found)
    element["initial_option"] = found
