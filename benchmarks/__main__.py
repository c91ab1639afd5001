"""Run the benchmarks and write docs/PERFORMANCE.md.

    python -m benchmarks                      # every benchmark, full size, 3 runs
    python -m benchmarks --only sweep_history # one of them
    python -m benchmarks --size tiny --out /tmp/perf.md   # the smoke test's run

PostgreSQL is measured when ``BENCH_DATABASE_URL`` (or ``TEST_DATABASE_URL``) is set.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

from benchmarks.common import Context, Section, pg_url_from_env

BENCHMARKS = [
    "ack_latency",
    "throughput",
    "sweep_history",
    "summary_cost",
    "calibration_cost",
    "memory",
    "slack_calls",
]
DOC = Path(__file__).resolve().parent.parent / "docs" / "PERFORMANCE.md"
PACKAGES = ["slack-bolt", "slack-sdk", "SQLAlchemy", "waitress", "psycopg", "APScheduler"]


def machine(pg_url: str | None) -> list[str]:
    cpus = os.cpu_count()
    lines = [
        f"- Machine: {platform.machine()}, {cpus} CPUs, {platform.system()} {platform.release()}",
        f"- Python {platform.python_version()} ({platform.python_implementation()})",
        "- Packages: " + ", ".join(f"{name} {_version(name)}" for name in PACKAGES),
    ]
    sqlite = __import__("sqlite3").sqlite_version
    lines.append(f"- SQLite {sqlite}" + (f"; PostgreSQL {_pg_version(pg_url)}" if pg_url else ""))
    git = shutil.which("git")
    commit = ""
    if git:
        commit = subprocess.run(
            [git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
    lines.append(
        f"- Commit {commit or 'unknown'}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
    )
    return lines


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _pg_version(url: str | None) -> str:
    import sqlalchemy as sa

    from storage.engine import create_engine_for

    engine = create_engine_for(url or "")
    try:
        with engine.connect() as conn:
            return str(conn.execute(sa.text("SHOW server_version")).scalar())
    finally:
        engine.dispose()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Run the benchmarks; write docs/PERFORMANCE.md.")
    parser.add_argument("--size", choices=["tiny", "full"], default="full")
    parser.add_argument(
        "--runs", type=int, default=None, help="runs per figure (default 3; tiny 1)"
    )
    parser.add_argument("--only", action="append", choices=BENCHMARKS, help="run just these")
    parser.add_argument("--out", type=Path, default=DOC, help="where to write the report")
    args = parser.parse_args(argv)
    runs = args.runs or (1 if args.size == "tiny" else 3)
    pg_url = pg_url_from_env()
    sections: list[Section] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="interview-bot-bench-") as tmp:
        ctx = Context(size=args.size, runs=runs, workdir=Path(tmp), pg_url=pg_url)
        for name in args.only or BENCHMARKS:
            print(f"== {name}", flush=True)
            module = importlib.import_module(f"benchmarks.{name}")
            for section in module.run(ctx):
                sections.append(section)
                print(section.markdown(), flush=True)
    command = "python -m benchmarks" + (" " + " ".join(argv) if argv else "")
    header = [
        "# Performance",
        "",
        f"Written by `{command}` in {time.monotonic() - started:.0f} s. Every figure is the",
        f"median over {runs} run(s) with the min and max in brackets; a target compares",
        "medians, against a baseline measured in the same run where it names one.",
        "",
        *machine(pg_url),
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(header) + "\n" + "\n".join(s.markdown() for s in sections))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
