"""Validate what we send to Slack before we send it.

slack_sdk's models catch some of Slack's Block Kit limits and miss others (see
``shared/SLACK.md``); Slack answers a violation with a bare ``invalid_blocks``
and the user sees nothing. :func:`check_message` and :func:`check_view` run
slack_sdk's own validation and then walk the plain dicts for the rest, and raise
one :class:`BlockKitError` listing every problem with its path, such as
``blocks[3].element.options[2].text: 81 chars > 75``.

Pure: no Slack client, no network.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MESSAGE_MAX_BLOCKS = 50
VIEW_MAX_BLOCKS = 100
VIEW_MAX_BYTES = 250_000
VIEW_TITLE_MAX = 24  # also submit and close
PRIVATE_METADATA_MAX = 3000
ID_MAX = 255  # block_id, action_id, callback_id, external_id
TEXT_OBJECT_MAX = 3000  # any text object, wherever it is
SECTION_TEXT_MAX = 3000
SECTION_FIELDS_MAX = 10
SECTION_FIELD_TEXT_MAX = 2000
HEADER_TEXT_MAX = 150
CONTEXT_ELEMENTS_MAX = 10
ACTIONS_ELEMENTS_MAX = 25
INPUT_LABEL_MAX = 2000
INPUT_HINT_MAX = 2000
PLACEHOLDER_MAX = 150
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
URL_MAX = 3000
ALT_TEXT_MAX = 2000
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
OPTION_DESCRIPTION_MAX = 75
SELECT_OPTIONS_MAX = 100
RADIO_OPTIONS_MAX = 10  # radio_buttons and checkboxes
OVERFLOW_OPTIONS_MAX = 5
TEXT_INPUT_MAX = 3000  # plain_text_input max_length / min_length
CONFIRM_TITLE_MAX = 100
CONFIRM_TEXT_MAX = 300
CONFIRM_BUTTON_MAX = 30

_TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})
_SELECTS = frozenset({"static_select", "multi_static_select"})
_CHOICES = frozenset({"radio_buttons", "checkboxes"})
_URL_KEYS = frozenset({"url", "image_url", "video_url", "thumbnail_url", "title_url"})

_Path = str


class BlockKitError(ValueError):
    """Slack would reject this payload; ``problems`` lists why, each with its path."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems: list[str] = list(problems)
        count = len(self.problems)
        summary = f"{count} Block Kit problem{'s' if count != 1 else ''}"
        super().__init__(summary + ":\n" + "\n".join(f"- {p}" for p in self.problems))


def check_message(text: str | None, blocks: Sequence[Mapping[str, Any]]) -> None:
    """Raise BlockKitError unless Slack would accept this message (``text`` is the fallback)."""
    problems = message_problems(text, blocks)
    if problems:
        raise BlockKitError(problems)


def check_view(view: Mapping[str, Any]) -> None:
    """Raise BlockKitError unless Slack would accept this modal or Home tab view."""
    problems = view_problems(view)
    if problems:
        raise BlockKitError(problems)


def message_problems(text: str | None, blocks: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every reason Slack would reject this message; empty when it is fine."""
    checker = _Checker()
    if not isinstance(text, str) or not text.strip():
        checker.add("text", "a non-empty fallback text is required (notifications show it)")
    if not isinstance(blocks, Sequence) or isinstance(blocks, str | bytes):
        checker.add("blocks", "must be a list of blocks")
        return checker.problems
    if len(blocks) > MESSAGE_MAX_BLOCKS:
        checker.add("blocks", f"{len(blocks)} blocks > {MESSAGE_MAX_BLOCKS}")
    checker.check_blocks(blocks)
    return checker.problems


def view_problems(view: Mapping[str, Any]) -> list[str]:
    """Every reason Slack would reject this view; empty when it is fine."""
    checker = _Checker()
    if not isinstance(view, Mapping):
        checker.add("view", "must be a mapping")
        return checker.problems
    view_type = view.get("type")
    if view_type not in ("modal", "home"):
        checker.add("type", f"must be 'modal' or 'home', got {view_type!r}")
    blocks = view.get("blocks")
    if not isinstance(blocks, Sequence) or isinstance(blocks, str | bytes):
        checker.add("blocks", "must be a list of blocks")
        blocks = []
    elif not blocks:
        checker.add("blocks", "a view needs at least one block")
    elif len(blocks) > VIEW_MAX_BLOCKS:
        checker.add("blocks", f"{len(blocks)} blocks > {VIEW_MAX_BLOCKS}")

    for key in ("title", "submit", "close"):
        value = view.get(key)
        if value is None:
            if key == "title" and view_type == "modal":
                checker.add("title", "a modal needs a title")
            continue
        if view_type == "home":
            if key != "title":
                checker.add(key, "a Home tab cannot have submit or close")
            continue
        checker.text_object(value, key, VIEW_TITLE_MAX, plain_only=True)
    if view_type == "modal" and view.get("submit") is None:
        inputs = [
            i for i, b in enumerate(blocks) if isinstance(b, Mapping) and b.get("type") == "input"
        ]
        if inputs:
            checker.add("submit", f"a modal with input blocks (blocks[{inputs[0]}]) needs submit")

    metadata = view.get("private_metadata")
    if metadata is not None:
        if not isinstance(metadata, str):
            checker.add("private_metadata", "must be a string")
        elif len(metadata) > PRIVATE_METADATA_MAX:
            checker.add("private_metadata", f"{len(metadata)} chars > {PRIVATE_METADATA_MAX}")
    for key in ("callback_id", "external_id"):
        checker.identifier(view.get(key), key)

    try:
        size = len(json.dumps(view, ensure_ascii=False).encode("utf-8"))
    except (TypeError, ValueError) as exc:
        checker.add("view", f"not JSON-serialisable ({exc})")
    else:
        if size > VIEW_MAX_BYTES:
            checker.add("view", f"{size} bytes of JSON > {VIEW_MAX_BYTES} (view_too_large)")

    # slack_sdk's view-level validators; its block validators run per block below,
    # so that each of their complaints carries the block's path.
    try:
        View(**_sdk_copy(view)).validate_json()
    except SlackObjectFormationError as exc:
        checker.add("view", f"slack_sdk: {exc}")
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        checker.add("view", f"slack_sdk could not read it ({type(exc).__name__}: {exc})")
    checker.check_blocks(blocks)
    if not checker.problems:
        # Belt and braces: the whole view through slack_sdk, as the docs recommend.
        try:
            View(**_sdk_copy(view)).to_dict()
        except (SlackObjectFormationError, TypeError, ValueError, KeyError, AttributeError) as exc:
            checker.add("view", f"slack_sdk: {exc}")
    return checker.problems


def _sdk_copy(value: Mapping[str, Any]) -> dict[str, Any]:
    # slack_sdk's constructors keep (and some parse into) the nested dicts they get.
    return copy.deepcopy(dict(value))


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self._block_ids: dict[str, _Path] = {}

    def add(self, path: _Path, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    # -- blocks ---------------------------------------------------------------

    def check_blocks(self, blocks: Sequence[Any]) -> None:
        for index, block in enumerate(blocks):
            path = f"blocks[{index}]"
            if not isinstance(block, Mapping):
                self.add(path, f"a block must be a mapping, got {type(block).__name__}")
                continue
            self._sdk_block(block, path)
            self._block(block, path)
            self._walk(block, path)

    def _sdk_block(self, block: Mapping[str, Any], path: _Path) -> None:
        try:
            parsed = Block.parse(_sdk_copy(block))
            if parsed is None:
                self.add(f"{path}.type", f"unknown block type {block.get('type')!r}")
                return
            parsed.to_dict()
        except SlackObjectFormationError as exc:
            self.add(path, f"slack_sdk: {exc}")
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            self.add(path, f"slack_sdk could not read it ({type(exc).__name__}: {exc})")

    def _block(self, block: Mapping[str, Any], path: _Path) -> None:
        block_id = block.get("block_id")
        if block_id is not None:
            self.identifier(block_id, f"{path}.block_id")
            if isinstance(block_id, str):
                first = self._block_ids.setdefault(block_id, path)
                if first != path:
                    self.add(f"{path}.block_id", f"duplicate {block_id!r} (first at {first})")
        kind = block.get("type")
        if kind == "section":
            if "text" in block:
                self.text_object(block["text"], f"{path}.text", SECTION_TEXT_MAX)
            fields = block.get("fields")
            if fields is not None:
                if not isinstance(fields, Sequence) or isinstance(fields, str):
                    self.add(f"{path}.fields", "must be a list of text objects")
                else:
                    if len(fields) > SECTION_FIELDS_MAX:
                        self.add(f"{path}.fields", f"{len(fields)} items > {SECTION_FIELDS_MAX}")
                    for i, field in enumerate(fields):
                        self.text_object(field, f"{path}.fields[{i}]", SECTION_FIELD_TEXT_MAX)
        elif kind == "header":
            self.text_object(block.get("text"), f"{path}.text", HEADER_TEXT_MAX, plain_only=True)
        elif kind == "context":
            self._count(block.get("elements"), f"{path}.elements", CONTEXT_ELEMENTS_MAX, "elements")
        elif kind == "actions":
            self._count(block.get("elements"), f"{path}.elements", ACTIONS_ELEMENTS_MAX, "elements")
        elif kind == "input":
            if block.get("label") is None:
                self.add(f"{path}.label", "an input block needs a label")
            else:
                self.text_object(block["label"], f"{path}.label", INPUT_LABEL_MAX, plain_only=True)
            if block.get("hint") is not None:
                self.text_object(block["hint"], f"{path}.hint", INPUT_HINT_MAX, plain_only=True)
            if not isinstance(block.get("element"), Mapping):
                self.add(f"{path}.element", "an input block needs an element")

    # -- anything nested ------------------------------------------------------

    def _walk(self, node: Any, path: _Path) -> None:
        if isinstance(node, Mapping):
            self._node(node, path)
            for key, value in node.items():
                child = f"{path}.{key}"
                if key in ("options", "initial_options") and isinstance(value, Sequence):
                    for i, option in enumerate(value):
                        self._option(option, f"{child}[{i}]")
                elif key == "initial_option":
                    self._option(value, child)
                elif key in _URL_KEYS and isinstance(value, str) and len(value) > URL_MAX:
                    self.add(child, f"{len(value)} chars > {URL_MAX}")
                self._walk(value, child)
        elif isinstance(node, Sequence) and not isinstance(node, str | bytes):
            for i, item in enumerate(node):
                self._walk(item, f"{path}[{i}]")

    def _node(self, node: Mapping[str, Any], path: _Path) -> None:
        kind = node.get("type")
        if "action_id" in node:
            self.identifier(node["action_id"], f"{path}.action_id")
        if kind in _TEXT_TYPES:
            text = node.get("text")
            if not isinstance(text, str) or not text:
                self.add(f"{path}.text", "a text object needs non-empty text")
            elif len(text) > TEXT_OBJECT_MAX:
                self.add(f"{path}.text", f"{len(text)} chars > {TEXT_OBJECT_MAX}")
            return
        if "placeholder" in node:
            self.text_object(
                node["placeholder"], f"{path}.placeholder", PLACEHOLDER_MAX, plain_only=True
            )
        # Only interactive elements carry a confirm dialog; the dialog itself has a
        # "confirm" key too (its button text), which must not be read as another dialog.
        if "action_id" in node and isinstance(node.get("confirm"), Mapping):
            self._confirm(node["confirm"], f"{path}.confirm")
        if kind == "button":
            self.text_object(node.get("text"), f"{path}.text", BUTTON_TEXT_MAX, plain_only=True)
            self._string(node.get("value"), f"{path}.value", BUTTON_VALUE_MAX)
            self._string(node.get("accessibility_label"), f"{path}.accessibility_label", 75)
        elif kind == "image":
            self._string(node.get("alt_text"), f"{path}.alt_text", ALT_TEXT_MAX)
        elif kind in _SELECTS:
            self._select(node, path)
        elif kind in _CHOICES:
            options = node.get("options")
            if not isinstance(options, Sequence) or not options:
                self.add(f"{path}.options", f"{kind} needs at least one option")
            else:
                self._count(options, f"{path}.options", RADIO_OPTIONS_MAX, "options")
            self._initial_in_options(node, options, path)
        elif kind == "overflow":
            self._count(node.get("options"), f"{path}.options", OVERFLOW_OPTIONS_MAX, "options")
        elif kind == "plain_text_input":
            self._text_input(node, path)

    def _select(self, node: Mapping[str, Any], path: _Path) -> None:
        options = node.get("options")
        groups = node.get("option_groups")
        self._count(options, f"{path}.options", SELECT_OPTIONS_MAX, "options")
        self._count(groups, f"{path}.option_groups", SELECT_OPTIONS_MAX, "option groups")
        every: list[Any] = list(options) if isinstance(options, Sequence) else []
        if isinstance(groups, Sequence):
            for i, group in enumerate(groups):
                if not isinstance(group, Mapping):
                    continue
                group_path = f"{path}.option_groups[{i}]"
                self.text_object(group.get("label"), f"{group_path}.label", 75, plain_only=True)
                group_options = group.get("options")
                self._count(group_options, f"{group_path}.options", SELECT_OPTIONS_MAX, "options")
                if isinstance(group_options, Sequence):
                    every.extend(group_options)
        if options is None and groups is None:
            self.add(f"{path}.options", "a static select needs options or option_groups")
        else:
            self._initial_in_options(node, every, path)

    def _initial_in_options(self, node: Mapping[str, Any], options: Any, path: _Path) -> None:
        # Slack rejects an initial option that is not exactly one of the options.
        known = (
            [o for o in options if isinstance(o, Mapping)]
            if isinstance(options, Sequence) and not isinstance(options, str)
            else []
        )
        initial = node.get("initial_option")
        chosen = [initial] if initial is not None else []
        key = "initial_option"
        if node.get("initial_options") is not None:
            chosen = list(node["initial_options"])
            key = "initial_options"
        for i, option in enumerate(chosen):
            if isinstance(option, Mapping) and not any(_same_option(option, o) for o in known):
                where = f"{path}.{key}" if key == "initial_option" else f"{path}.{key}[{i}]"
                self.add(where, "does not exactly match any of the options")

    def _option(self, option: Any, path: _Path) -> None:
        if not isinstance(option, Mapping):
            self.add(path, "an option must be a mapping")
            return
        if option.get("text") is None:
            self.add(f"{path}.text", "an option needs text")
        else:
            self.text_object(option["text"], f"{path}.text", OPTION_TEXT_MAX)
        value = option.get("value")
        if value is None:
            self.add(f"{path}.value", "an option needs a value")
        else:
            self._string(value, f"{path}.value", OPTION_VALUE_MAX)
        if option.get("description") is not None:
            self.text_object(option["description"], f"{path}.description", OPTION_DESCRIPTION_MAX)

    def _text_input(self, node: Mapping[str, Any], path: _Path) -> None:
        limit = TEXT_INPUT_MAX
        max_length = node.get("max_length")
        if max_length is not None:
            if not _is_int(max_length) or not 1 <= max_length <= TEXT_INPUT_MAX:
                self.add(f"{path}.max_length", f"{max_length!r} is not in 1..{TEXT_INPUT_MAX}")
            else:
                limit = max_length
        min_length = node.get("min_length")
        if min_length is not None:
            if not _is_int(min_length) or not 0 <= min_length <= TEXT_INPUT_MAX:
                self.add(f"{path}.min_length", f"{min_length!r} is not in 0..{TEXT_INPUT_MAX}")
            elif _is_int(max_length) and min_length > max_length:
                self.add(f"{path}.min_length", f"{min_length} > max_length {max_length}")
        self._string(node.get("initial_value"), f"{path}.initial_value", limit)

    def _confirm(self, confirm: Mapping[str, Any], path: _Path) -> None:
        for key, limit in (
            ("title", CONFIRM_TITLE_MAX),
            ("text", CONFIRM_TEXT_MAX),
            ("confirm", CONFIRM_BUTTON_MAX),
            ("deny", CONFIRM_BUTTON_MAX),
        ):
            if confirm.get(key) is not None:
                self.text_object(confirm[key], f"{path}.{key}", limit, plain_only=key != "text")

    # -- primitives -----------------------------------------------------------

    def text_object(self, value: Any, path: _Path, limit: int, *, plain_only: bool = False) -> None:
        if not isinstance(value, Mapping):
            self.add(path, "must be a text object ({'type': 'plain_text', 'text': ...})")
            return
        kind = value.get("type")
        if kind not in _TEXT_TYPES:
            self.add(f"{path}.type", f"must be plain_text or mrkdwn, got {kind!r}")
        elif plain_only and kind != "plain_text":
            self.add(f"{path}.type", "must be plain_text")
        text = value.get("text")
        # Emptiness is reported by _walk, which sees every text object.
        if isinstance(text, str) and len(text) > limit:
            self.add(path, f"{len(text)} chars > {limit}")

    def identifier(self, value: Any, path: _Path) -> None:
        if value is None:
            return
        if not isinstance(value, str) or not value:
            self.add(path, "must be a non-empty string")
        elif len(value) > ID_MAX:
            self.add(path, f"{len(value)} chars > {ID_MAX}")

    def _string(self, value: Any, path: _Path, limit: int) -> None:
        if value is None:
            return
        if not isinstance(value, str):
            self.add(path, f"must be a string, got {type(value).__name__}")
        elif len(value) > limit:
            self.add(path, f"{len(value)} chars > {limit}")

    def _count(self, items: Any, path: _Path, limit: int, noun: str) -> None:
        if items is None:
            return
        if not isinstance(items, Sequence) or isinstance(items, str | bytes):
            self.add(path, "must be a list")
        elif len(items) > limit:
            self.add(path, f"{len(items)} {noun} > {limit}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _same_option(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    def text(value: Any) -> Any:
        return (value.get("type"), value.get("text")) if isinstance(value, Mapping) else value

    return (
        a.get("value") == b.get("value")
        and text(a.get("text")) == text(b.get("text"))
        and text(a.get("description")) == text(b.get("description"))
    )
