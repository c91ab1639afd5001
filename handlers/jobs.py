"""The job engine's worker half: one protocol for every kind of background work.

A kind finds and claims its due units (:func:`storage.jobs.claim_due`, committed
before any slow call), then runs each one: load what it needs, do the work (a
Slack or HTTP call, outside any transaction), and record done, deferred or failed
(with :func:`storage.jobs.backoff`) in a transaction of its own. The worker below
drives any number of kinds the same way, stops between units when asked, and
counts what it did, so a new kind (a feed poll, an outgoing delivery) is one
class, not a new copy of the loop.

The sweep's own kinds run through it too, in this order: form DMs
(:class:`handlers.sweep.FormKind`), summaries (:class:`handlers.summary.SummaryWorker`,
several rounds: a post makes its thread due at once), nudges, escalations
(they arm the recruiter's digest), digests (:mod:`handlers.reminders`), then
the kinds the sources register.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from slack_sdk.errors import SlackApiError

from handlers.logcontext import log_context
from handlers.metrics import SWEEP_CLAIMED

__all__ = ["JobKind", "JobReport", "Outcome", "failure_code", "run_kinds"]

logger = logging.getLogger(__name__)

Outcome = str
"""What running a unit came to: ``"done"``, ``"deferred"`` or ``"failed"``.

It may name a detail after a colon (``"done:post"``, ``"failed:permanent"``):
the report counts it under the detail and under the outcome before the colon.
"""


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
        base = outcome.partition(":")[0]
        for counted in {base, outcome}:
            per_kind[counted] = per_kind.get(counted, 0) + 1

    def of(self, kind: str, outcome: Outcome) -> int:
        return self.counts.get(kind, {}).get(outcome, 0)

    def total(self, kinds: Iterable[str], outcome: Outcome) -> int:
        return sum(self.of(kind, outcome) for kind in kinds)


def failure_code(exc: BaseException) -> str:
    """What a failed Slack or network call is recorded and logged as: a code, never a text."""
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or f"http_{exc.response.status_code}")
    return f"unreachable: {type(exc).__name__}"


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

    A kind may say how it is drained, by two optional attributes: ``rounds``
    (its own bound; None: until a batch comes back short) and ``refills``
    (True: a done unit can make the next due at once, as a summary's post does
    its thread, so it is claimed again until a claim comes back empty).
    """
    report = report or JobReport()
    for kind in kinds:
        bound = getattr(kind, "rounds", rounds)
        refills = bool(getattr(kind, "refills", False))
        for _round in itertools.count() if bound is None else range(bound):
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
            if not units or (len(units) < batch and not refills):
                break
    return report
