"""Helpers for the generic webhook's tests: signed POSTs, and modal answers from a prefill."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from sources.signatures import sign_v1
from tests.harness import ServedBot

WEBHOOK_SECRET = "whsec-test-0123456789"
WEBHOOK_PATH = "/webhooks/interviews"


def post_webhook(
    bot: ServedBot,
    payload: Any,
    *,
    secret: str | None = WEBHOOK_SECRET,
    age: int = 0,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """POST to the served bot; signed at the bot's clock minus ``age`` seconds."""
    body = raw if raw is not None else json.dumps(payload).encode()
    sent = {"Content-Type": "application/json", **(headers or {})}
    if secret is not None:
        sent.update(sign_v1(secret, body, timestamp=int(bot.clock().timestamp()) - age))
    request = urllib.request.Request(bot.url + WEBHOOK_PATH, data=body, headers=sent, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read()
    return status, json.loads(text) if text else None


def values_from_view(view: dict[str, Any], **picks: dict[str, Any]) -> dict[str, Any]:
    """``view.state.values`` as Slack sends it when the user keeps every initial value.

    ``picks`` sets a block's element state outright, e.g.
    ``panel_0={"selected_user": "U0AAA"}``.
    """
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        if block.get("type") != "input":
            continue
        element = block["element"]
        kind = element["type"]
        state: dict[str, Any] = {"type": kind}
        if "initial_value" in element:
            state["value"] = element["initial_value"]
        if "initial_option" in element:
            state["selected_option"] = element["initial_option"]
        if "initial_options" in element:
            state["selected_options"] = element["initial_options"]
        if "initial_date_time" in element:
            state["selected_date_time"] = element["initial_date_time"]
        if "initial_user" in element:
            state["selected_user"] = element["initial_user"]
        if "initial_conversation" in element:
            state["selected_conversation"] = element["initial_conversation"]
        state.update(picks.get(block["block_id"], {}))
        values[block["block_id"]] = {element["action_id"]: state}
    return values
