"""The job kind ``greenhouse_poll``: poll Greenhouse's Harvest API, one replica at a time.

The unit is the ``source_states`` row ``greenhouse``, claimed with a lease
(storage.source_state.claim_polls), so however many replicas sweep, one polls;
a poll whose replica died is retried when the lease ends. The poll itself
(sources.greenhouse) records its success or failure and the next due time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from handlers.jobs import Outcome
from sources.greenhouse import STATE_NAME, GreenhousePoller
from storage.source_state import claim_polls

__all__ = ["GreenhousePollKind"]


@dataclass
class GreenhousePollKind:
    poller: GreenhousePoller
    name: str = "greenhouse_poll"

    def claim(self, now: datetime, limit: int) -> Sequence[str]:
        with self.poller.deps.session_factory.begin() as session:
            return claim_polls(session, [STATE_NAME], now=now, limit=limit)

    def label(self, unit: str) -> str:
        return unit

    def run(self, unit: str, now: datetime) -> Outcome:
        return self.poller.poll(now).outcome
