"""handlers.blocks.limits: every Block Kit rule has a passing and a failing case."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from handlers.blocks.limits import (
    BlockKitError,
    check_message,
    check_view,
    message_problems,
    view_problems,
)
from handlers.blocks.text import mrkdwn, plain

Block = dict[str, Any]


def option(text: str, value: str = "v") -> dict[str, Any]:
    return {"text": plain(text), "value": value}


def options(count: int) -> list[dict[str, Any]]:
    return [option(f"Option {i}", f"v{i}") for i in range(count)]


def section(text: str = "Hello") -> Block:
    return {"type": "section", "text": mrkdwn(text)}


def input_block(element: dict[str, Any], **extra: Any) -> Block:
    return {"type": "input", "label": plain("Label"), "element": element, **extra}


def select(opts: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"type": "static_select", "action_id": "pick", "options": opts, **extra}


def radio(opts: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"type": "radio_buttons", "action_id": "pick", "options": opts, **extra}


def text_input(**extra: Any) -> dict[str, Any]:
    return {"type": "plain_text_input", "action_id": "txt", **extra}


def button(text: str = "Go", **extra: Any) -> dict[str, Any]:
    return {"type": "button", "action_id": "go", "text": plain(text), **extra}


def actions(*elements: dict[str, Any]) -> Block:
    return {"type": "actions", "elements": list(elements)}


def modal(blocks: list[Block], **extra: Any) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": "cb",
        "title": plain("Title"),
        "submit": plain("Submit"),
        "close": plain("Cancel"),
        "blocks": blocks,
    }
    view.update(extra)
    return view


# ---------------------------------------------------------------------------
# Block rules, checked in messages and in views alike.
# Each case: (name, a passing block list, a failing block list, expected problem).

BLOCK_CASES: list[tuple[str, list[Block], list[Block], str]] = [
    (
        "unknown block type",
        [section()],
        [{"type": "no_such_block"}],
        "blocks[0].type: unknown block type 'no_such_block'",
    ),
    (
        "radio options <= 10",
        [input_block(radio(options(10)))],
        [input_block(radio(options(11)))],
        "blocks[0].element.options: 11 options > 10",
    ),
    (
        "checkbox options <= 10",
        [input_block({"type": "checkboxes", "action_id": "c", "options": options(10)})],
        [input_block({"type": "checkboxes", "action_id": "c", "options": options(11)})],
        "blocks[0].element.options: 11 options > 10",
    ),
    (
        "option text <= 75",
        [input_block(radio([option("x" * 75)]))],
        [input_block(radio([option("a"), option("b", "b"), option("x" * 81, "c")]))],
        "blocks[0].element.options[2].text: 81 chars > 75",
    ),
    (
        "option value <= 150",
        [input_block(radio([option("a", "v" * 150)]))],
        [input_block(radio([option("a", "v" * 151)]))],
        "blocks[0].element.options[0].value: 151 chars > 150",
    ),
    (
        "select option text <= 75 (nested in an accessory)",
        [{"type": "section", "text": mrkdwn("x"), "accessory": select([option("y" * 75)])}],
        [{"type": "section", "text": mrkdwn("x"), "accessory": select([option("y" * 76)])}],
        "blocks[0].accessory.options[0].text: 76 chars > 75",
    ),
    (
        "option groups are walked",
        [
            input_block(
                {
                    "type": "static_select",
                    "action_id": "s",
                    "option_groups": [{"label": plain("G"), "options": [option("a")]}],
                }
            )
        ],
        [
            input_block(
                {
                    "type": "static_select",
                    "action_id": "s",
                    "option_groups": [{"label": plain("G"), "options": [option("a" * 80)]}],
                }
            )
        ],
        "blocks[0].element.option_groups[0].options[0].text: 80 chars > 75",
    ),
    (
        "options per select <= 100",
        [input_block(select(options(100)))],
        [input_block(select(options(101)))],
        "blocks[0].element.options: 101 options > 100",
    ),
    (
        "initial_option must be one of the options",
        [input_block(select(options(3), initial_option=option("Option 1", "v1")))],
        [input_block(select(options(3), initial_option=option("Option 1", "v9")))],
        "blocks[0].element.initial_option: does not exactly match any of the options",
    ),
    (
        "plain_text_input max_length >= 1",
        [input_block(text_input(max_length=1))],
        [input_block(text_input(max_length=0))],
        "blocks[0].element.max_length: 0 is not in 1..3000",
    ),
    (
        "plain_text_input max_length <= 3000",
        [input_block(text_input(max_length=3000))],
        [input_block(text_input(max_length=3001))],
        "blocks[0].element.max_length: 3001 is not in 1..3000",
    ),
    (
        "plain_text_input initial_value within max_length",
        [input_block(text_input(max_length=5, initial_value="12345"))],
        [input_block(text_input(max_length=5, initial_value="123456"))],
        "blocks[0].element.initial_value: 6 chars > 5",
    ),
    (
        "fields <= 10 items",
        [{"type": "section", "fields": [mrkdwn("f")] * 10}],
        [{"type": "section", "fields": [mrkdwn("f")] * 11}],
        "blocks[0].fields: 11 items > 10",
    ),
    (
        "each field <= 2000",
        [{"type": "section", "fields": [mrkdwn("f" * 2000)]}],
        [{"type": "section", "fields": [mrkdwn("f"), mrkdwn("f" * 2001)]}],
        "blocks[0].fields[1]: 2001 chars > 2000",
    ),
    (
        "section text <= 3000",
        [section("s" * 3000)],
        [section("s" * 3001)],
        "blocks[0].text: 3001 chars > 3000",
    ),
    (
        "any text object <= 3000 (context element)",
        [{"type": "context", "elements": [mrkdwn("c" * 3000)]}],
        [{"type": "context", "elements": [mrkdwn("c" * 3001)]}],
        "blocks[0].elements[0].text: 3001 chars > 3000",
    ),
    (
        "text objects are not empty",
        [{"type": "context", "elements": [mrkdwn("c")]}],
        [{"type": "context", "elements": [mrkdwn("")]}],
        "blocks[0].elements[0].text: a text object needs non-empty text",
    ),
    (
        "header <= 150",
        [{"type": "header", "text": plain("h" * 150)}],
        [{"type": "header", "text": plain("h" * 151)}],
        "blocks[0].text: 151 chars > 150",
    ),
    (
        "header is plain_text",
        [{"type": "header", "text": plain("h")}],
        [{"type": "header", "text": mrkdwn("h")}],
        "blocks[0].text.type: must be plain_text",
    ),
    (
        "context elements <= 10",
        [{"type": "context", "elements": [mrkdwn("c")] * 10}],
        [{"type": "context", "elements": [mrkdwn("c")] * 11}],
        "blocks[0].elements: 11 elements > 10",
    ),
    (
        "block_id <= 255",
        [{**section(), "block_id": "b" * 255}],
        [{**section(), "block_id": "b" * 256}],
        "blocks[0].block_id: 256 chars > 255",
    ),
    (
        "action_id <= 255",
        [actions(button(action_id="a" * 255))],
        [actions(button(action_id="a" * 256))],
        "blocks[0].elements[0].action_id: 256 chars > 255",
    ),
    (
        "block_ids unique",
        [{**section(), "block_id": "one"}, {**section(), "block_id": "two"}],
        [{**section(), "block_id": "one"}, {**section(), "block_id": "one"}],
        "blocks[1].block_id: duplicate 'one' (first at blocks[0])",
    ),
    (
        "button text <= 75",
        [actions(button("b" * 75))],
        [actions(button("b" * 76))],
        "blocks[0].elements[0].text: 76 chars > 75",
    ),
    (
        "button value <= 2000",
        [actions(button(value="v" * 2000))],
        [actions(button(value="v" * 2001))],
        "blocks[0].elements[0].value: 2001 chars > 2000",
    ),
    (
        "button url <= 3000",
        [actions(button(url="https://x.test/" + "u" * 2985))],
        [actions(button(url="https://x.test/" + "u" * 2986))],
        "blocks[0].elements[0].url: 3001 chars > 3000",
    ),
    (
        "image url <= 3000",
        [{"type": "image", "image_url": "https://x.test/" + "i" * 2985, "alt_text": "a"}],
        [{"type": "image", "image_url": "https://x.test/" + "i" * 2986, "alt_text": "a"}],
        "blocks[0].image_url: 3001 chars > 3000",
    ),
    (
        "input blocks have a label",
        [input_block(text_input())],
        [{"type": "input", "element": text_input()}],
        "blocks[0].label: an input block needs a label",
    ),
    (
        "input label <= 2000",
        [{**input_block(text_input()), "label": plain("l" * 2000)}],
        [{**input_block(text_input()), "label": plain("l" * 2001)}],
        "blocks[0].label: 2001 chars > 2000",
    ),
    (
        "placeholder <= 150",
        [input_block(text_input(placeholder=plain("p" * 150)))],
        [input_block(text_input(placeholder=plain("p" * 151)))],
        "blocks[0].element.placeholder: 151 chars > 150",
    ),
    (
        "slack_sdk's own validation is collected",
        [{"type": "section", "text": mrkdwn("x")}],
        [{"type": "section"}],
        "blocks[0]: slack_sdk: text or fields attribute must be specified",
    ),
]


@pytest.mark.parametrize(
    ("good", "bad", "expected"),
    [pytest.param(g, b, e, id=name) for name, g, b, e in BLOCK_CASES],
)
def test_block_rule_in_a_message(good: list[Block], bad: list[Block], expected: str) -> None:
    check_message("fallback", good)
    with pytest.raises(BlockKitError) as raised:
        check_message("fallback", bad)
    assert expected in raised.value.problems, raised.value.problems


@pytest.mark.parametrize(
    ("good", "bad", "expected"),
    [pytest.param(g, b, e, id=name) for name, g, b, e in BLOCK_CASES],
)
def test_block_rule_in_a_view(good: list[Block], bad: list[Block], expected: str) -> None:
    check_view(modal(good))
    with pytest.raises(BlockKitError) as raised:
        check_view(modal(bad))
    assert expected in raised.value.problems, raised.value.problems


# ---------------------------------------------------------------------------
# Message rules


@pytest.mark.parametrize("text", [None, "", "   "])
def test_message_needs_fallback_text(text: str | None) -> None:
    check_message("New feedback request", [section()])
    with pytest.raises(BlockKitError) as raised:
        check_message(text, [section()])
    assert raised.value.problems == [
        "text: a non-empty fallback text is required (notifications show it)"
    ]


def test_message_at_most_50_blocks() -> None:
    check_message("t", [section()] * 50)
    with pytest.raises(BlockKitError) as raised:
        check_message("t", [section()] * 51)
    assert "blocks: 51 blocks > 50" in raised.value.problems


def test_message_blocks_must_be_mappings() -> None:
    assert message_problems("t", ["not a block"]) == [  # type: ignore[list-item]
        "blocks[0]: a block must be a mapping, got str"
    ]


def test_error_lists_every_problem() -> None:
    blocks = [
        {"type": "header", "text": plain("h" * 151)},
        input_block(radio(options(11))),
        {"type": "mystery"},
    ]
    with pytest.raises(BlockKitError) as raised:
        check_message("", blocks)
    problems = raised.value.problems
    assert "text: a non-empty fallback text is required (notifications show it)" in problems
    assert "blocks[0].text: 151 chars > 150" in problems
    assert "blocks[1].element.options: 11 options > 10" in problems
    assert "blocks[2].type: unknown block type 'mystery'" in problems
    assert isinstance(raised.value, ValueError)
    assert "blocks[2].type" in str(raised.value)


def test_check_does_not_mutate_its_input() -> None:
    blocks = [input_block(select(options(3), initial_option=option("Option 1", "v1")))]
    before = copy.deepcopy(blocks)
    check_message("t", blocks)
    check_view(modal(blocks))
    assert blocks == before


# ---------------------------------------------------------------------------
# View rules


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(view: dict[str, Any]) -> None:
        view[key] = value

    return apply


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    def apply(view: dict[str, Any]) -> None:
        view.pop(key)

    return apply


def _without_submit_with_input(view: dict[str, Any]) -> None:
    view.pop("submit")
    view["blocks"] = [section(), input_block(text_input())]


VIEW_CASES: list[
    tuple[str, Callable[[dict[str, Any]], None], Callable[[dict[str, Any]], None], str]
] = [
    (
        "title <= 24",
        _set("title", plain("t" * 24)),
        _set("title", plain("t" * 25)),
        "title: 25 chars > 24",
    ),
    (
        "submit <= 24",
        _set("submit", plain("s" * 24)),
        _set("submit", plain("s" * 25)),
        "submit: 25 chars > 24",
    ),
    (
        "close <= 24",
        _set("close", plain("c" * 24)),
        _set("close", plain("c" * 25)),
        "close: 25 chars > 24",
    ),
    (
        "title plain_text",
        _set("title", plain("T")),
        _set("title", mrkdwn("T")),
        "title.type: must be plain_text",
    ),
    (
        "close plain_text",
        _set("close", plain("C")),
        _set("close", mrkdwn("C")),
        "close.type: must be plain_text",
    ),
    (
        "modal has a title",
        _set("title", plain("T")),
        _drop("title"),
        "title: a modal needs a title",
    ),
    (
        "private_metadata <= 3000",
        _set("private_metadata", "m" * 3000),
        _set("private_metadata", "m" * 3001),
        "private_metadata: 3001 chars > 3000",
    ),
    (
        "callback_id <= 255",
        _set("callback_id", "c" * 255),
        _set("callback_id", "c" * 256),
        "callback_id: 256 chars > 255",
    ),
    (
        "modal with an input needs submit",
        _set("blocks", [section(), input_block(text_input())]),
        _without_submit_with_input,
        "submit: a modal with input blocks (blocks[1]) needs submit",
    ),
    (
        "type is modal or home",
        _set("type", "modal"),
        _set("type", "workflow_step"),
        "type: must be 'modal' or 'home', got 'workflow_step'",
    ),
    (
        "at most 100 blocks",
        _set("blocks", [section()] * 100),
        _set("blocks", [section()] * 101),
        "blocks: 101 blocks > 100",
    ),
    (
        "at least one block",
        _set("blocks", [section()]),
        _set("blocks", []),
        "blocks: a view needs at least one block",
    ),
    (
        "JSON <= 250 kB",
        _set("blocks", [section("x" * 2400)] * 100),
        _set("blocks", [section("x" * 2600)] * 100),
        "view: 266348 bytes of JSON > 250000 (view_too_large)",
    ),
]


@pytest.mark.parametrize(
    ("make_good", "make_bad", "expected"),
    [pytest.param(g, b, e, id=name) for name, g, b, e in VIEW_CASES],
)
def test_view_rule(
    make_good: Callable[[dict[str, Any]], None],
    make_bad: Callable[[dict[str, Any]], None],
    expected: str,
) -> None:
    good = modal([section()])
    make_good(good)
    check_view(good)
    bad = modal([section()])
    make_bad(bad)
    with pytest.raises(BlockKitError) as raised:
        check_view(bad)
    assert expected in raised.value.problems, raised.value.problems


def test_home_tab() -> None:
    home = {"type": "home", "blocks": [section(), actions(button())]}
    check_view(home)
    with pytest.raises(BlockKitError) as raised:
        check_view({**home, "submit": plain("Save")})
    assert "submit: a Home tab cannot have submit or close" in raised.value.problems


def test_view_problems_empty_for_a_good_view() -> None:
    assert view_problems(modal([section(), input_block(text_input(max_length=100))])) == []
