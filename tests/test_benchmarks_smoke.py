"""The benchmarks still run: ``python -m benchmarks --size tiny`` end to end, in seconds.

Not a performance test (the figures of a tiny run mean nothing); it keeps the
benchmark command from rotting between the runs that write docs/PERFORMANCE.md.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from benchmarks.__main__ import BENCHMARKS

REPO = Path(__file__).resolve().parent.parent


def test_every_benchmark_runs_at_a_tiny_size(tmp_path: Path) -> None:
    out = tmp_path / "PERFORMANCE.md"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--size", "tiny", "--out", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    report = out.read_text(encoding="utf-8")
    assert report.startswith("# Performance")
    for name in BENCHMARKS:
        assert f"== {name}" in done.stdout
    assert report.count("\n## ") >= len(BENCHMARKS)
    assert "Traceback" not in done.stderr
