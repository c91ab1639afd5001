"""Figures for docs/RELIABILITY.md, recorded by the tests that produce them.

``record(group, key, n)`` adds ``n`` to a counter. With ``RELIABILITY_REPORT_DIR``
set, each group is also written to ``<dir>/<group>.<process>.json`` as it changes
(one file per pytest-xdist worker), so a CI run leaves the figures behind;
``scripts/reliability_report.py --figures DIR`` adds them up.
"""

from __future__ import annotations

import json
import os
import threading
from collections import defaultdict
from pathlib import Path

_lock = threading.Lock()
_figures: dict[str, dict[str, int]] = defaultdict(dict)


def record(group: str, key: str, n: int = 1) -> None:
    with _lock:
        figures = _figures[group]
        figures[key] = figures.get(key, 0) + n
        directory = os.environ.get("RELIABILITY_REPORT_DIR")
        if directory:
            worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
            path = Path(directory) / f"{group}.{worker}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")


def figures(group: str) -> dict[str, int]:
    with _lock:
        return dict(_figures[group])
