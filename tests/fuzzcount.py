"""A pytest plugin that counts the fuzz cases each fuzz target actually ran.

``tests.fuzz_strategies.fuzz`` calls :func:`record_case` once per hypothesis
example; the count is kept per pytest item (a target: one fuzz test on one
backend). The terminal summary gets one line per target and a total
("fuzzing: N cases over M targets in S s"); with ``RELIABILITY_REPORT_DIR`` set,
the same figures are written there as ``fuzzing.json`` for docs/RELIABILITY.md.
"""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPORT_FILE = "fuzzing.json"


@dataclass
class _Target:
    cases: int = 0
    seconds: float = 0.0
    outcome: str = "not run"


_targets: dict[str, _Target] = {}  # as reported (in the controller, under pytest-xdist)
_counts: dict[str, int] = {}  # cases run in this process, by nodeid
_current: list[str] = []  # the nodeid of the test running now (empty between tests)
_PROPERTY = "fuzz_cases"


def record_case() -> None:
    """Count one executed fuzz case for the running test (outside pytest: a no-op)."""
    if _current:
        _counts[_current[-1]] = _counts.get(_current[-1], 0) + 1


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    _current.append(item.nodeid)
    try:
        yield
    finally:
        _current.pop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, None, None]:
    """Carry the count on the report: under pytest-xdist it is made in a worker process."""
    outcome = yield
    if call.when == "call" and item.nodeid in _counts:
        report = outcome.get_result()  # type: ignore[attr-defined]
        report.user_properties.append((_PROPERTY, _counts.pop(item.nodeid)))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call":
        return
    cases = [value for name, value in report.user_properties if name == _PROPERTY]
    if not cases:
        return
    outcome = report.outcome + (" (xfail)" if hasattr(report, "wasxfail") else "")
    _targets[report.nodeid] = _Target(int(cases[0]), report.duration, outcome)


def summary() -> dict[str, Any]:
    targets = {
        nodeid: {"cases": t.cases, "seconds": round(t.seconds, 2), "outcome": t.outcome}
        for nodeid, t in sorted(_targets.items())
    }
    return {
        "cases": sum(t.cases for t in _targets.values()),
        "targets": len(_targets),
        "seconds": round(sum(t.seconds for t in _targets.values()), 2),
        "settings": {
            "scale": os.environ.get("FUZZ_SCALE", "1"),
            "derandomize": os.environ.get("FUZZ_RANDOM", "") == "",
            "postgresql": bool(os.environ.get("TEST_DATABASE_URL")),
            "python": platform.python_version(),
        },
        "by_target": targets,
    }


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _targets:
        return
    data = summary()
    terminalreporter.section("fuzzing")
    for nodeid, target in data["by_target"].items():
        terminalreporter.write_line(
            f"{target['cases']:>6} cases {target['seconds']:>7.2f} s  {nodeid}  [{target['outcome']}]"
        )
    terminalreporter.write_line(
        f"fuzzing: {data['cases']} cases over {data['targets']} targets in {data['seconds']:.1f} s"
    )
    folder = os.environ.get("RELIABILITY_REPORT_DIR")
    if folder:
        path = Path(folder)
        path.mkdir(parents=True, exist_ok=True)
        (path / REPORT_FILE).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        terminalreporter.write_line(f"fuzzing: figures written to {path / REPORT_FILE}")
