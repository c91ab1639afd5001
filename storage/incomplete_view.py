"""What an open incomplete interview looks like to Slack and ``sources status`` (no database).

Kept apart from storage.incomplete so the pure Block Kit builders can take it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["IncompleteView"]


@dataclass(frozen=True)
class IncompleteView:
    """One open incomplete interview, as Slack and ``sources status`` show it."""

    id: int
    source: str
    external_id: str
    row: Mapping[str, Any]
    missing: tuple[tuple[str, str], ...]  # (field, message)
    recruiter: str | None
    notified_at: datetime | None
    last_error: str | None
    created_at: datetime

    @property
    def candidate(self) -> str:
        value = self.row.get("candidate")
        return value if isinstance(value, str) and value.strip() else "(no candidate name)"
