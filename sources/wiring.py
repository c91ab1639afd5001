"""What every source is built with, made once by the composition root (bot.sources)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from storage.import_file import EmailResolver
from storage.intake import Intake, SourceRow

__all__ = ["SourceDeps"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SourceDeps:
    """The database, the shared intake, the clock and the two Slack-side callbacks."""

    session_factory: sessionmaker[Session] = field(repr=False)
    intake: Intake
    clock: Callable[[], datetime]
    resolve_email: EmailResolver | None = None  # Slack's users.lookupByEmail
    # After a commit: the Slack side updates the cancelled interviews' sent form DMs.
    on_cancelled: Callable[[Sequence[int]], None] | None = None

    def prefetch(self, rows: Sequence[SourceRow]) -> EmailResolver | None:
        """The rows' emails looked up now, before a transaction holds any lock."""
        return self.intake.prefetch(rows, self.resolve_email)

    def cancelled(self, interview_ids: Sequence[int], source: str) -> None:
        """Tell the Slack side, best effort: the cancellation is committed whatever happens."""
        if not interview_ids or self.on_cancelled is None:
            return
        try:
            self.on_cancelled(interview_ids)
        except Exception:
            logger.exception("%s: updating the cancelled interviews' form DMs failed", source)
