"""What every benchmark shares: sizes, statistics over runs, and its report section.

Each benchmark module has ``run(ctx: Context) -> list[Section]``; ``python -m
benchmarks`` runs them and writes docs/PERFORMANCE.md. Figures are reported as the
median with the min and max over ``ctx.runs`` runs; a target is a comparison of
medians (ratios against a baseline measured in the same run, side by side).
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Size = Literal["tiny", "full"]

PG_URL_ENV = "BENCH_DATABASE_URL"  # PostgreSQL for the benchmarks; falls back to TEST_DATABASE_URL


@dataclass(frozen=True)
class Context:
    size: Size  # "tiny": the smoke test's seconds-long run; "full": the documented one
    runs: int  # repetitions of each measurement (medians over these)
    workdir: Path  # scratch space (databases, logs), deleted afterwards
    pg_url: str | None  # a PostgreSQL URL, or None to measure SQLite only

    def pick(self, tiny: int, full: int) -> int:
        return tiny if self.size == "tiny" else full


def pg_url_from_env() -> str | None:
    return os.environ.get(PG_URL_ENV) or os.environ.get("TEST_DATABASE_URL") or None


@dataclass
class Figure:
    """One quantity measured once per run."""

    values: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.values.append(value)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def show(self, digits: int = 1, unit: str = "") -> str:
        """``median (min-max)``, or the single value when there was one run."""
        if not self.values:
            return "n/a"
        fmt = f"{{:.{digits}f}}"
        median = fmt.format(self.median) + unit
        if len(self.values) == 1:
            return median
        low, high = fmt.format(min(self.values)), fmt.format(max(self.values))
        return f"{median} ({low}-{high})"


def percentile(samples: Sequence[float], p: float) -> float:
    """The p-th percentile (0-100) of samples, nearest-rank."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Target:
    description: str  # "p99 at most 1.5x the bare app's"
    met: bool
    detail: str  # the figures it was judged on


@dataclass
class Section:
    title: str
    command: str  # how to reproduce just this section
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"## {self.title}", "", f"`{self.command}`", ""]
        if self.rows:
            lines.append("| " + " | ".join(self.columns) + " |")
            lines.append("|" + " --- |" * len(self.columns))
            lines += ["| " + " | ".join(row) + " |" for row in self.rows]
            lines.append("")
        for target in self.targets:
            mark = "met" if target.met else "MISSED"
            lines.append(f"- **Target {mark}:** {target.description}. {target.detail}")
        if self.targets:
            lines.append("")
        lines += [f"{note}\n" for note in self.notes]
        return "\n".join(lines).rstrip() + "\n"


def table_row(cells: Iterable[object]) -> list[str]:
    return [str(c) for c in cells]
