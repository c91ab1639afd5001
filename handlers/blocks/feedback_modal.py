"""The feedback modal: a level and evidence per skill, a recommendation, notes.

An interviewer must be able to rate on a phone in a few minutes, so the focus
skills come first, every level option carries its short descriptor, and the
full descriptors sit right under each picker. A rubric too long for one view
(100 blocks, 250 kB) is split into pages (:func:`plan_pages`); Slack's view
stack allows at most three.

Pure functions of plain data (``storage.views``, ``rubric``): no Slack client,
no database. The only id that goes into the view is the request's opaque
``public_id`` (``private_metadata``); nothing identifies the candidate's other
interviewers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from handlers.blocks.form_dm import SHADOW_NOTE, after_summary_notice
from handlers.blocks.limits import (
    INPUT_LABEL_MAX,
    OPTION_TEXT_MAX,
    PRIVATE_METADATA_MAX,
    RADIO_OPTIONS_MAX,
    SELECT_OPTIONS_MAX,
    TEXT_OBJECT_MAX,
    VIEW_MAX_BLOCKS,
    VIEW_MAX_BYTES,
)
from handlers.blocks.text import escape_mrkdwn, format_when, mrkdwn, plain, truncate
from rubric.answers import Problem, rating_problems, recommendation_problem
from rubric.model import Rubric, Skill
from storage.views import FormContext, RatingView

FEEDBACK_CALLBACK = "feedback_submit"
"""callback_id of the final (or only) page."""
FEEDBACK_PAGE_CALLBACK = "feedback_page"
"""callback_id of an earlier page of a long rubric; its submission pushes the next page."""

NOT_ASSESSED = "not_assessed"
"""Option value of "Not assessed" in every level select."""

LEVEL_BLOCK_PREFIX = "level:"
DESC_BLOCK_PREFIX = "desc:"
EVIDENCE_BLOCK_PREFIX = "evidence:"
LEVEL_ACTION = "level"
EVIDENCE_ACTION = "evidence"
RECOMMENDATION_BLOCK = "recommendation"
NOTES_BLOCK = "notes"
VALUE_ACTION = "value"  # action_id of the recommendation and notes inputs

EVIDENCE_MAX_CHARS = 1500
NOTES_MAX_CHARS = 3000
MAX_PAGES = 3  # Slack's view stack: the root view and two pushes

TITLE = "Interview feedback"
# Shown on a field of the submitted modal (``response_action: errors``) when the
# database could not store the answers: Slack keeps the modal and its answers open.
SAVE_FAILED_ERROR = (
    "Your answers could not be saved just now (a temporary problem on our side). "
    "They are still here: please submit again."
)
FOCUS_MARK = " ★ focus"

_METADATA_MAX_CHARS = 512  # ours is ~40 characters; anything longer is not ours
_PUBLIC_ID_MAX_CHARS = 255
_INTRO_PART_MAX = 300  # candidate, role, level name, each
_QUESTION_MAX = 500
# Bytes reserved, when planning pages, for what plan_pages cannot see: the intro
# (candidate, role, ...), title, metadata and navigation text.
_SHELL_BYTES = 9_000  # 1 kB of it for the after-summary notice and the shadow note
# Bytes reserved for prefilled answers: up to 4 UTF-8 bytes per character.
_BYTES_PER_CHAR = 4
_SIZE_MARGIN = 10_000


def level_block_id(skill_id: str) -> str:
    return LEVEL_BLOCK_PREFIX + skill_id


def desc_block_id(skill_id: str) -> str:
    return DESC_BLOCK_PREFIX + skill_id


def evidence_block_id(skill_id: str) -> str:
    return EVIDENCE_BLOCK_PREFIX + skill_id


@dataclass(frozen=True)
class PageAnswers:
    """What an interviewer entered on one page of the modal."""

    ratings: dict[str, RatingView]
    """Only the skills answered (a level, possibly unknown, or Not assessed: level None)."""
    recommendation: str | None
    notes: str
    evidence_without_level: dict[str, str] = field(default_factory=dict)
    """Skills with evidence written but no level chosen (reported by validate_answers)."""


# ---------------------------------------------------------------------------
# Planning


def rating_order(rubric: Rubric, focus: Sequence[str]) -> tuple[str, ...]:
    """Skill ids in the order the form asks them: focus skills first, then by discipline."""
    focus_ids = _focus_ids(rubric, focus)
    rest = tuple(skill.id for skill in rubric.skills if skill.id not in focus_ids)
    return focus_ids + rest


def plan_pages(rubric: Rubric, focus: Sequence[str]) -> list[tuple[str, ...]]:
    """Skill ids per page, in rating order, each page fitting one modal view.

    Every page holds as many skills as fit in 100 blocks and 250 kB (with room
    for prefilled answers); the last page also holds the recommendation and notes.

    Raises:
        ValueError: if the rubric needs more than 3 pages (Slack's view stack),
            has more levels than a select menu can list, or uses the level id
            reserved for "Not assessed".
    """
    _check_rubric(rubric)
    order = rating_order(rubric, focus)
    focus_ids = frozenset(_focus_ids(rubric, focus))
    costs = [
        _skill_cost(rubric, rubric.skill(skill_id), skill_id in focus_ids) for skill_id in order
    ]
    group_of = [_group_key(rubric, skill_id, focus_ids) for skill_id in order]
    group_cost = {key: _group_cost(rubric, key) for key in dict.fromkeys(group_of)}
    final_cost = _final_cost(rubric)

    def fits(start: int, stop: int, *, final: bool) -> bool:
        blocks = _SHELL_BLOCK_COUNT + (_FINAL_BLOCK_COUNT if final else _NAV_BLOCK_COUNT)
        size = _SHELL_BYTES + (final_cost if final else 0)
        for key in dict.fromkeys(group_of[start:stop]):
            blocks += _GROUP_BLOCK_COUNT
            size += group_cost[key]
        for count, bytes_ in costs[start:stop]:
            blocks += count
            size += bytes_
        return blocks <= VIEW_MAX_BLOCKS and size <= VIEW_MAX_BYTES - _SIZE_MARGIN

    pages: list[tuple[str, ...]] = []
    start = 0
    while not fits(start, len(order), final=True):
        stop = start
        while stop < len(order) and fits(start, stop + 1, final=False):
            stop += 1
        if stop == start:
            raise ValueError(
                f"rubric {rubric.id!r}: skill {order[start]!r} is too large for a Slack modal "
                "even on a page of its own; shorten its texts"
            )
        pages.append(order[start:stop])
        start = stop
        if len(pages) >= MAX_PAGES:
            break
    pages.append(order[start:])
    if len(pages) > MAX_PAGES or not fits(start, len(order), final=True):
        raise ValueError(
            f"rubric {rubric.id!r} has {len(order)} skills: its feedback form does not fit in "
            f"{MAX_PAGES} Slack modal pages (Slack's view stack is the root view and 2 pushes, "
            f"each at most {VIEW_MAX_BLOCKS} blocks and {VIEW_MAX_BYTES // 1000} kB); "
            "split the rubric or shorten its texts"
        )
    return pages


# Block counts the renderer below produces; plan_pages relies on them.
# intro section, guidance context, and the after-summary notice: always reserved, so
# that a form's pages do not move when the summary is posted.
_SHELL_BLOCK_COUNT = 3
_NAV_BLOCK_COUNT = 1  # "page 1 of 2" context on an earlier page
_FINAL_BLOCK_COUNT = 4  # divider, header, recommendation, notes
_GROUP_BLOCK_COUNT = 2  # divider, header


def _check_rubric(rubric: Rubric) -> None:
    if NOT_ASSESSED in rubric.level_ids:
        raise ValueError(
            f"rubric {rubric.id!r}: level id {NOT_ASSESSED!r} is reserved for 'Not assessed'"
        )
    if len(rubric.levels) + 1 > SELECT_OPTIONS_MAX:
        raise ValueError(
            f"rubric {rubric.id!r} has {len(rubric.levels)} levels; a Slack select menu lists "
            f"at most {SELECT_OPTIONS_MAX - 1} plus 'Not assessed'"
        )


def _focus_ids(rubric: Rubric, focus: Sequence[str]) -> tuple[str, ...]:
    # Unknown ids are ignored (the import validates them); duplicates kept once.
    return tuple(skill_id for skill_id in dict.fromkeys(focus) if rubric.has_skill(skill_id))


def _group_key(rubric: Rubric, skill_id: str, focus_ids: frozenset[str]) -> str | None:
    """None for the focus group, else the discipline id."""
    return None if skill_id in focus_ids else rubric.discipline_of(skill_id).id


def _json_size(value: object) -> int:
    return len(json.dumps(value, ensure_ascii=False).encode("utf-8")) + 1  # + separator


def _skill_cost(rubric: Rubric, skill: Skill, focus: bool) -> tuple[int, int]:
    blocks = _skill_blocks(rubric, skill, focus=focus, prefill=None)
    options = blocks[0]["element"]["options"]
    prefill = max(_json_size(o) for o in options) + EVIDENCE_MAX_CHARS * _BYTES_PER_CHAR + 64
    return len(blocks), sum(_json_size(b) for b in blocks) + prefill


def _group_cost(rubric: Rubric, key: str | None) -> int:
    return sum(_json_size(b) for b in _group_blocks(rubric, key))


def _final_cost(rubric: Rubric) -> int:
    blocks = _final_blocks(rubric, recommendation=None, notes="")
    return sum(_json_size(b) for b in blocks) + NOTES_MAX_CHARS * _BYTES_PER_CHAR + 256


# ---------------------------------------------------------------------------
# Rendering


def build_feedback_modal(
    ctx: FormContext,
    *,
    page: int = 0,
    pages: Sequence[tuple[str, ...]] | None = None,
    draft: Mapping[str, RatingView] | None = None,
) -> dict[str, Any]:
    """The modal view for one page of the interviewer's feedback form.

    Args:
        ctx: the interviewer's form context (rubric snapshot, focus, own feedback).
        page: which page, from 0.
        pages: the plan from :func:`plan_pages` (computed when omitted).
        draft: answers from earlier pages of this session, by skill id; they win
            over the stored feedback when prefilling.

    Raises:
        ValueError: if ``page`` is not a page of the plan (or the rubric cannot be planned).
    """
    rubric = ctx.rubric
    plan = list(pages) if pages is not None else plan_pages(rubric, ctx.request.focus_skills)
    if not 0 <= page < len(plan):
        raise ValueError(f"page {page} out of range: the form has {len(plan)} page(s)")
    final = page == len(plan) - 1
    focus_ids = frozenset(_focus_ids(rubric, ctx.request.focus_skills))

    stored: dict[str, RatingView] = {}
    if ctx.own_feedback is not None:
        stored = {rating.skill_id: rating for rating in ctx.own_feedback.ratings}
    prefill = {**stored, **(draft or {})}

    blocks: list[dict[str, Any]] = [_intro_block(ctx), _guidance_block(ctx)]
    if ctx.after_summary:
        # First, on every page: what is given now is shown apart and never counted.
        blocks.insert(0, {"type": "section", "text": mrkdwn(after_summary_notice(ctx))})
    group: object = object()  # sentinel: no group yet
    for skill_id in plan[page]:
        key = _group_key(rubric, skill_id, focus_ids)
        if key != group:
            blocks += _group_blocks(rubric, key)
            group = key
        blocks += _skill_blocks(
            rubric,
            rubric.skill(skill_id),
            focus=skill_id in focus_ids,
            prefill=prefill.get(skill_id),
        )
    if final:
        own = ctx.own_feedback
        blocks += _final_blocks(
            rubric,
            recommendation=own.recommendation if own else None,
            notes=own.notes if own else "",
        )
    else:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    mrkdwn(
                        f"Page {page + 1} of {len(plan)}. Press *Next* to go on; nothing is "
                        "submitted until the last page."
                    )
                ],
            }
        )

    paged = len(plan) > 1
    return {
        "type": "modal",
        "callback_id": FEEDBACK_CALLBACK if final else FEEDBACK_PAGE_CALLBACK,
        "title": plain(f"Feedback ({page + 1}/{len(plan)})" if paged else TITLE),
        "submit": plain("Submit" if final else "Next"),
        "close": plain("Cancel"),
        "private_metadata": dump_metadata(ctx.request.public_id, page),
        "blocks": blocks,
    }


def _intro_block(ctx: FormContext) -> dict[str, Any]:
    interview = ctx.request.interview
    rubric = ctx.rubric
    role = rubric.role(interview.role)
    role_name = role.name if role is not None else interview.role
    level_name = (
        rubric.level(interview.target_level).name
        if interview.target_level in rubric.level_ids
        else interview.target_level
    )
    lines = [
        f"*Candidate:* {_safe(interview.candidate, _INTRO_PART_MAX)}",
        f"*Role:* {_safe(role_name, _INTRO_PART_MAX)}"
        f" · target level *{_safe(level_name, _INTRO_PART_MAX)}*",
        f"*Interview:* {_slack_date(interview.starts_at)}",
    ]
    return {"type": "section", "text": mrkdwn("\n".join(lines))}


def _slack_date(moment: datetime) -> str:
    # Slack renders <!date> in each reader's own time zone; the fallback is UTC.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    fallback = format_when(moment, UTC)
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def _guidance_block(ctx: FormContext) -> dict[str, Any]:
    text = "Rate what you observed. *Not assessed* is fine for skills you did not probe."
    if not ctx.after_summary:
        text += " Your ratings stay private until the panel summary is posted."
    if ctx.shadow:
        text += f" {SHADOW_NOTE}"
    return {"type": "context", "elements": [mrkdwn(text)]}


def _group_blocks(rubric: Rubric, key: str | None) -> list[dict[str, Any]]:
    if key is None:
        title = "★ Your focus skills"
    else:
        title = next(d.name for d in rubric.disciplines if d.id == key)
    return [{"type": "divider"}, {"type": "header", "text": plain(truncate(_one_line(title), 150))}]


def _skill_blocks(
    rubric: Rubric, skill: Skill, *, focus: bool, prefill: RatingView | None
) -> list[dict[str, Any]]:
    options = [_level_option(rubric, skill, level_id) for level_id in rubric.level_ids]
    options.append(_not_assessed_option())
    select: dict[str, Any] = {
        "type": "static_select",
        "action_id": LEVEL_ACTION,
        "placeholder": plain("Choose a level"),
        "options": options,
    }
    evidence: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": EVIDENCE_ACTION,
        "multiline": True,
        "max_length": EVIDENCE_MAX_CHARS,
        "placeholder": plain("What did you observe?"),
    }
    if prefill is not None:
        if prefill.level is None:
            select["initial_option"] = _not_assessed_option()
        elif prefill.level in rubric.level_ids:
            select["initial_option"] = _level_option(rubric, skill, prefill.level)
        if prefill.evidence:
            # Slack rejects an initial value longer than max_length.
            evidence["initial_value"] = truncate(prefill.evidence, EVIDENCE_MAX_CHARS)
    label = truncate(_one_line(skill.name), INPUT_LABEL_MAX - len(FOCUS_MARK))
    return [
        {
            "type": "input",
            "block_id": level_block_id(skill.id),
            "label": plain(label + FOCUS_MARK if focus else label),
            # Optional for Slack, so that validate_answers answers with a precise
            # message per block. Slack shows "(optional)" next to such a label;
            # focus skills must be answered, so they stay required and their
            # label does not claim otherwise (validate_answers checks them too).
            "optional": not focus,
            "element": select,
        },
        {
            "type": "context",
            "block_id": desc_block_id(skill.id),
            "elements": [mrkdwn(_descriptors_text(rubric, skill))],
        },
        {
            "type": "input",
            "block_id": evidence_block_id(skill.id),
            "label": plain("Evidence"),
            "optional": True,
            "element": evidence,
        },
    ]


def _level_option(rubric: Rubric, skill: Skill, level_id: str) -> dict[str, Any]:
    level = rubric.level(level_id)
    text = f"{_one_line(level.name)} — {skill.levels[level_id].short}"
    return {"text": plain(truncate(text, OPTION_TEXT_MAX)), "value": level_id}


def _not_assessed_option() -> dict[str, Any]:
    return {"text": plain("Not assessed"), "value": NOT_ASSESSED}


def _descriptors_text(rubric: Rubric, skill: Skill) -> str:
    """The question and every level's full descriptor, fitted into one text object."""
    question = "_" + truncate(escape_mrkdwn(_one_line(skill.question)), _QUESTION_MAX) + "_"
    prefixes = [
        f"*{truncate(escape_mrkdwn(_one_line(level.name)), 100)}:* " for level in rubric.levels
    ]
    bodies = [escape_mrkdwn(_one_line(skill.levels[level.id].full)) for level in rubric.levels]
    newlines = len(rubric.levels)
    budget = TEXT_OBJECT_MAX - len(question) - sum(map(len, prefixes)) - newlines
    bodies = _fair_truncate(bodies, budget)
    return "\n".join([question, *(p + b for p, b in zip(prefixes, bodies, strict=True))])


def _fair_truncate(texts: Sequence[str], budget: int) -> list[str]:
    """Cut the longest texts first so that together they fit in ``budget`` characters."""
    if sum(map(len, texts)) <= budget:
        return list(texts)
    allowance: dict[int, int] = {}
    remaining = max(budget, 0)
    by_length = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    for position, index in enumerate(by_length):
        share = remaining // (len(texts) - position)
        allowance[index] = min(len(texts[index]), share)
        remaining -= allowance[index]
    return [truncate(text, max(allowance[i], 1)) for i, text in enumerate(texts)]


def _final_blocks(
    rubric: Rubric, *, recommendation: str | None, notes: str
) -> list[dict[str, Any]]:
    options = [
        {"text": plain(truncate(_one_line(rec.name), OPTION_TEXT_MAX)), "value": rec.id}
        for rec in rubric.recommendations
    ]
    choice: dict[str, Any] = {"action_id": VALUE_ACTION, "options": options}
    if len(options) <= RADIO_OPTIONS_MAX:
        choice["type"] = "radio_buttons"
    else:  # more than radio buttons allow; a select reads back the same way
        choice["type"] = "static_select"
        choice["placeholder"] = plain("Choose a recommendation")
    initial = next((o for o in options if o["value"] == recommendation), None)
    if initial is not None:
        choice["initial_option"] = initial
    notes_input: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": VALUE_ACTION,
        "multiline": True,
        "max_length": NOTES_MAX_CHARS,
        "placeholder": plain("Anything the hiring panel should know"),
    }
    if notes:
        notes_input["initial_value"] = truncate(notes, NOTES_MAX_CHARS)
    return [
        {"type": "divider"},
        {"type": "header", "text": plain("Overall")},
        {
            "type": "input",
            "block_id": RECOMMENDATION_BLOCK,
            "label": plain("Your recommendation"),
            # Required: an optional input's label reads "(optional)" in Slack.
            # validate_answers checks it too, for replayed or crafted submissions.
            "optional": False,
            "element": choice,
        },
        {
            "type": "input",
            "block_id": NOTES_BLOCK,
            "label": plain("Additional notes"),
            "hint": plain("Shared with the hiring panel in the summary thread."),
            "optional": True,
            "element": notes_input,
        },
    ]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _safe(text: str, limit: int) -> str:
    return truncate(escape_mrkdwn(_one_line(text)), limit)


# ---------------------------------------------------------------------------
# private_metadata


def dump_metadata(public_id: str, page: int) -> str:
    """The view's ``private_metadata``: the request's opaque id and the page, nothing else."""
    return json.dumps({"r": public_id, "p": page}, separators=(",", ":"))


def parse_metadata(private_metadata: str) -> tuple[str, int]:
    """``(public_id, page)`` from a feedback view's ``private_metadata``.

    Raises:
        ValueError: if it is not exactly what :func:`build_feedback_modal` wrote.
    """
    if not isinstance(private_metadata, str):
        raise ValueError("private_metadata must be a string")
    if len(private_metadata) > min(_METADATA_MAX_CHARS, PRIVATE_METADATA_MAX):
        raise ValueError(f"private_metadata too long ({len(private_metadata)} chars)")
    try:
        data = json.loads(private_metadata)
    except ValueError as exc:
        raise ValueError(f"private_metadata is not JSON: {exc}") from None
    if not isinstance(data, dict) or set(data) != {"r", "p"}:
        raise ValueError("private_metadata must be an object with exactly the keys 'r' and 'p'")
    public_id, page = data["r"], data["p"]
    if not isinstance(public_id, str) or not public_id.strip():
        raise ValueError("private_metadata 'r' must be a non-empty string")
    if len(public_id) > _PUBLIC_ID_MAX_CHARS:
        raise ValueError("private_metadata 'r' is too long")
    if not isinstance(page, int) or isinstance(page, bool) or not 0 <= page < MAX_PAGES:
        raise ValueError(f"private_metadata 'p' must be a page number 0..{MAX_PAGES - 1}")
    return public_id, page


# ---------------------------------------------------------------------------
# Submission


def read_submission(
    values: Mapping[str, Any], rubric: Rubric, skill_ids: Sequence[str]
) -> PageAnswers:
    """The answers on one page, from Slack's ``view.state.values``.

    Defensive about shape: a missing block, a null value or an unexpected type
    counts as unanswered. An option value that is no level of the rubric is kept
    as given, for :func:`validate_answers` to report.
    """
    ratings: dict[str, RatingView] = {}
    orphans: dict[str, str] = {}
    for skill_id in skill_ids:
        level = _selected_value(values, level_block_id(skill_id), LEVEL_ACTION)
        evidence = _text_value(values, evidence_block_id(skill_id), EVIDENCE_ACTION)
        if level is None:
            if evidence:
                orphans[skill_id] = evidence
            continue
        ratings[skill_id] = RatingView(
            skill_id=skill_id, level=None if level == NOT_ASSESSED else level, evidence=evidence
        )
    return PageAnswers(
        ratings=ratings,
        recommendation=_selected_value(values, RECOMMENDATION_BLOCK, VALUE_ACTION),
        notes=_text_value(values, NOTES_BLOCK, VALUE_ACTION),
        evidence_without_level=orphans,
    )


def _state(values: Mapping[str, Any], block_id: str, action_id: str) -> Mapping[str, Any]:
    block = values.get(block_id) if isinstance(values, Mapping) else None
    state = block.get(action_id) if isinstance(block, Mapping) else None
    return state if isinstance(state, Mapping) else {}


def _selected_value(values: Mapping[str, Any], block_id: str, action_id: str) -> str | None:
    selected = _state(values, block_id, action_id).get("selected_option")
    value = selected.get("value") if isinstance(selected, Mapping) else None
    return value if isinstance(value, str) and value else None


def _text_value(values: Mapping[str, Any], block_id: str, action_id: str) -> str:
    value = _state(values, block_id, action_id).get("value")
    return value.strip() if isinstance(value, str) else ""


def validate_answers(
    ctx: FormContext,
    skill_ids: Sequence[str],
    answers: PageAnswers,
    *,
    final: bool,
    require_evidence: bool,
) -> dict[str, str]:
    """Errors for Slack's ``response_action: errors``, by block id; empty when all is well.

    Only blocks of the submitted page (``skill_ids``, and on the final page the
    recommendation) are named, as Slack rejects errors for blocks it cannot find.
    """
    rubric = ctx.rubric
    focus = frozenset(ctx.request.focus_skills)
    errors: dict[str, str] = {}
    # The rubric's rule (rubric.answers), the one storage refuses by too.
    bad_levels = {
        p.skill_id
        for p in rating_problems(rubric, [(r.skill_id, r.level) for r in answers.ratings.values()])
        if p.problem is Problem.UNKNOWN_LEVEL
    }
    for skill_id in skill_ids:
        rating = answers.ratings.get(skill_id)
        evidence = rating.evidence if rating else answers.evidence_without_level.get(skill_id, "")
        # Slack enforces max_length in its client; a replayed or crafted payload does not.
        if problem := _text_problem(evidence, EVIDENCE_MAX_CHARS):
            errors[evidence_block_id(skill_id)] = problem
        if rating is not None and rating.level is not None:
            if skill_id in bad_levels:
                errors[level_block_id(skill_id)] = "Unknown level."
            elif require_evidence and not rating.evidence.strip():
                errors[evidence_block_id(skill_id)] = "Add the evidence behind this rating."
        elif rating is None:
            if answers.evidence_without_level.get(skill_id, "").strip():
                errors[level_block_id(skill_id)] = (
                    "Choose a level for the evidence you wrote, or clear the evidence."
                )
            elif skill_id in focus:
                errors[level_block_id(skill_id)] = (
                    "This is one of your focus skills: choose a level or Not assessed."
                )
    if final:
        if problem := _text_problem(answers.notes, NOTES_MAX_CHARS):
            errors[NOTES_BLOCK] = problem
        wrong = recommendation_problem(rubric, answers.recommendation)
        if wrong is not None:
            errors[RECOMMENDATION_BLOCK] = (
                "Choose a recommendation."
                if wrong.problem is Problem.NO_RECOMMENDATION
                else "Choose one of the recommendations listed."
            )
    return errors


def _text_problem(text: str, limit: int) -> str | None:
    """Why ``text`` cannot be stored as it is, if it cannot."""
    if len(text) > limit:
        return f"At most {limit} characters, please (this has {len(text)})."
    for char in text:
        if char == "\x00" or "\ud800" <= char <= "\udfff":
            return f"Remove the character U+{ord(char):04X}: it cannot be stored."
    return None


def answered_skills(answers: Iterable[PageAnswers]) -> dict[str, RatingView]:
    """All ratings of several pages, later pages winning (for the final save)."""
    merged: dict[str, RatingView] = {}
    for page in answers:
        merged.update(page.ratings)
    return merged
