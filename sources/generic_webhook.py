"""``POST /webhooks/interviews``: interviews from Zapier, n8n, GoodTime or a script (DESIGN).

Signed with the bot's v1 scheme (sources.signatures, ``INTERVIEW_BOT_WEBHOOK_SECRET``),
checked before the body is parsed. The body is ``{"interviews": [ROW, ...]}``, each
ROW an import-file row (storage.import_file) with a required ``external_id`` (used
as given, so a replay is idempotent), optional ``job``/``kit`` names for the config
mapping, and ``status: cancelled`` to cancel. All rows are taken in one transaction,
all or nothing: any invalid row answers 400 naming every (row, field) and changes
nothing. Rows a person must complete are stored as incomplete, not refused.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from sources.signatures import verify_v1
from sources.webhooks import WebhookReply, bad_request, unauthorized
from sources.wiring import SourceDeps
from storage.import_file import EmailResolver
from storage.intake import IntakeResult, RowError, SourceRow

__all__ = ["SOURCE", "GenericWebhook", "parse_body"]

logger = logging.getLogger(__name__)

SOURCE = "webhook"
PATH = "/webhooks/interviews"
_STATUSES = ("scheduled", "cancelled")


class _Rejected(Exception):
    """Some row is invalid: roll the whole request back."""

    def __init__(self, result: IntakeResult) -> None:
        super().__init__("rejected")
        self.result = result


def _error(index: int | None, field: str, message: str) -> dict[str, Any]:
    return {"index": index, "field": _printable(field), "message": _printable(message)}


def _printable(text: str) -> str:
    # A key can hold a lone surrogate (JSON "\udfff"), which no UTF-8 answer can carry.
    return text.encode("utf-8", "backslashreplace").decode("utf-8")[:500]


def parse_body(body: bytes) -> list[SourceRow] | WebhookReply:
    """The rows of a request body, or the 400 that says what is wrong with it."""
    try:
        data = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        return bad_request("the body is not UTF-8", errors=[_error(None, "", "not UTF-8")])
    except (ValueError, RecursionError) as exc:
        message = f"the body is not JSON: {exc}"[:200]
        return bad_request(message, errors=[_error(None, "", message)])
    if not isinstance(data, dict) or not isinstance(data.get("interviews"), list):
        message = 'expected a JSON object {"interviews": [...]}'
        return bad_request(message, errors=[_error(None, "interviews", message)])
    errors = [
        _error(None, str(key)[:100], 'unknown field (the body holds "interviews" only)')
        for key in data
        if key != "interviews"
    ]
    rows: list[SourceRow] = []
    for index, item in enumerate(data["interviews"]):
        row = _row(index, item, errors)
        if row is not None:
            rows.append(row)
    if errors:
        return bad_request("invalid interviews; nothing was changed", errors=errors)
    return rows


def _row(index: int, item: object, errors: list[dict[str, Any]]) -> SourceRow | None:
    if not isinstance(item, dict):
        errors.append(_error(index, "", "expected an object (one interview)"))
        return None
    external_id = item.get("external_id")
    if isinstance(external_id, int) and not isinstance(external_id, bool):
        external_id = str(external_id)
    if not isinstance(external_id, str) or not external_id.strip():
        errors.append(
            _error(
                index,
                "external_id",
                "required: the sender's id of the interview (a replay must name the same one)",
            )
        )
        return None
    status = item.get("status", "scheduled")
    if status not in _STATUSES:
        errors.append(_error(index, "status", f"expected one of {', '.join(_STATUSES)}"))
        return None
    fields = {k: v for k, v in item.items() if k not in ("status",)}
    fields["external_id"] = external_id.strip()
    return SourceRow(
        source=SOURCE,
        external_id=external_id.strip(),
        fields=fields,
        cancelled=status == "cancelled",
        where=f"webhook row {index}",
    )


@dataclass
class GenericWebhook:
    """The endpoint; registered by bot.sources only when its secret is set (else 404)."""

    secret: str = field(repr=False)
    deps: SourceDeps
    path: str = PATH

    def handle(self, body: bytes, headers: Mapping[str, str]) -> WebhookReply:
        if not verify_v1(self.secret, body, headers, now=self.deps.clock().timestamp()):
            return unauthorized()
        parsed = parse_body(body)
        if isinstance(parsed, WebhookReply):
            return parsed
        resolve = self.deps.prefetch(parsed)
        try:
            result = self._take_in(parsed, resolve)
        except _Rejected as rejected:
            errors = [_row_error(e) for e in rejected.result.errors]
            logger.info("webhook: %d interview(s) refused, %d error(s)", len(parsed), len(errors))
            return bad_request("invalid interviews; nothing was changed", errors=errors)
        except SQLAlchemyError as exc:
            logger.error("webhook: the database failed (%s); answered 503", type(exc).__name__)
            return WebhookReply(503, {"error": "the database is unavailable; retry later"})
        counts = result.counts()
        logger.info("webhook: %s", ", ".join(f"{k} {v}" for k, v in counts.items()))
        self.deps.cancelled(result.cancelled_interviews, SOURCE)
        return WebhookReply(200, counts)

    def _take_in(self, rows: Sequence[SourceRow], resolve: EmailResolver | None) -> IntakeResult:
        deps = self.deps
        with deps.session_factory.begin() as session:
            result = deps.intake.take(
                session, rows, now=deps.clock(), resolve_email=resolve, all_or_nothing=True
            )
            if result.errors:
                raise _Rejected(result)  # rolls back: nothing of the request is kept
        return result


def _row_error(error: RowError) -> dict[str, Any]:
    return _error(error.index, error.field, error.message)
