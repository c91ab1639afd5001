"""The job engine's worker half: one protocol for every kind of background work.

A kind finds and claims its due units (:func:`storage.jobs.claim_due`, committed
before any slow call), then runs each one: load what it needs, do the work (a
Slack or HTTP call, outside any transaction), and record done, deferred or failed
(with :func:`storage.jobs.backoff`) in a transaction of its own. The worker below
drives any number of kinds the same way, stops between units when asked, and
counts what it did, so a new kind (a feed poll, an outgoing delivery) is one
class, not a new copy of the loop.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from handlers.logcontext import log_context
from handlers.metrics import SWEEP_CLAIMED

__all__ = ["JobKind", "JobReport", "Outcome", "run_kinds"]

logger = logging.getLogger(__name__)

Outcome = str
"""What running a unit came to: ``"done"``, ``"deferred"`` or ``"failed"``."""


class JobKind(Protocol):
    """One kind of background work."""

    name: str  # short and stable: metric labels and log context use it

    def claim(self, now: datetime, limit: int) -> Sequence[Any]:
        """Claim up to ``limit`` due units in a committed transaction of its own."""
        ...

    def label(self, unit: Any) -> str:
        """What the log context calls this unit (ids only, never personal data)."""
        ...

    def run(self, unit: Any, now: datetime) -> Outcome:
        """Do one claimed unit and record its outcome; never raise for an expected failure."""
        ...


@dataclass
class JobReport:
    """Units per kind and outcome, for one run of the worker."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    def add(self, kind: str, outcome: Outcome) -> None:
        per_kind = self.counts.setdefault(kind, {})
        per_kind[outcome] = per_kind.get(outcome, 0) + 1

    def of(self, kind: str, outcome: Outcome) -> int:
        return self.counts.get(kind, {}).get(outcome, 0)


def run_kinds(
    kinds: Sequence[JobKind],
    *,
    now: Any,
    stopping: threading.Event,
    batch: int = 50,
    rounds: int = 10,
    report: JobReport | None = None,
) -> JobReport:
    """Run every kind until nothing of it is due (at most ``rounds`` batches each).

    ``now`` is the bot's clock (a callable). A unit that fails keeps its row due
    at its backoff, so this loop never spins on it. Stops between units once
    ``stopping`` is set: the unclaimed rest comes back when its lease ends.
    """
    report = report or JobReport()
    for kind in kinds:
        for _round in range(rounds):
            if stopping.is_set():
                return report
            units = kind.claim(now(), batch)
            SWEEP_CLAIMED.labels(kind=kind.name).inc(len(units))
            for unit in units:
                if stopping.is_set():
                    return report
                with log_context(job=f"{kind.name}:{kind.label(unit)}"):
                    try:
                        outcome = kind.run(unit, now())
                    except Exception:  # one bad unit never stops the others
                        logger.exception("%s unit failed unexpectedly", kind.name)
                        outcome = "failed"
                report.add(kind.name, outcome)
            if len(units) < batch:
                break
    return report
