"""Keep docs/RELIABILITY.md in step with the code and with the tests' figures.

    python scripts/reliability_report.py               # rewrite the matrix table
    python scripts/reliability_report.py --check       # fail if the matrix table is stale
    python scripts/reliability_report.py --figures DIR # print the figures a test run left in DIR

The matrix is rendered from ``storage.access.MATRIX``. The figures are the JSON files
the tests write when ``RELIABILITY_REPORT_DIR`` is set (tests/reliability.py); CI
sets it and prints them after the test run, so every run shows its own figures.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from storage.access import MATRIX, Role, TargetKind

DOC = Path(__file__).resolve().parent.parent / "docs" / "RELIABILITY.md"
START, END = "<!-- matrix:start -->", "<!-- matrix:end -->"

_COLUMNS = [
    Role.RECRUITING_TEAM,
    Role.RECRUITER,
    Role.HIRING_LEAD,
    Role.INTERVIEWER,
    Role.PANEL_MEMBER,
]
_TARGETS = {
    TargetKind.NONE: "-",
    TargetKind.REQUEST: "a feedback request",
    TargetKind.INTERVIEW: "an interview",
}


def render_matrix() -> str:
    header = (
        "| action | on | "
        + " | ".join(r.value for r in _COLUMNS)
        + " | anyone else | the target's state |"
    )
    rule = "|" + " --- |" * (len(_COLUMNS) + 4)
    rows = [header, rule]
    for spec in MATRIX.values():
        anyone = Role.ANYONE in spec.roles
        # Calibration readers are a list of their own (access.calibration); by default
        # the recruiting team and anyone who recruits for or leads an interview.
        reader = Role.CALIBRATION_READER in spec.roles
        cells = [
            "yes" if anyone or role in spec.roles else "by default" if reader else "no"
            for role in _COLUMNS[:3]
        ] + ["yes" if anyone or role in spec.roles else "no" for role in _COLUMNS[3:]]
        if spec.target is TargetKind.NONE:
            live = spec.when or "-"
        else:
            live = "refused if cancelled or archived" if spec.live_only else ""
            live = "; ".join(part for part in (live, spec.when) if part) or "any"
        rows.append(
            f"| {spec.what} | {_TARGETS[spec.target]} | "
            + " | ".join(cells)
            + f" | {'yes' if anyone else 'no'} | {live} |"
        )
    return "\n".join(rows)


def _replace(doc: str, table: str) -> str:
    head, _, rest = doc.partition(START)
    _, _, tail = rest.partition(END)
    return f"{head}{START}\n{table}\n{END}{tail}"


def collect(directory: Path) -> dict[str, dict[str, object]]:
    """The figures a test run left in ``directory``, by group.

    ``<group>.<process>.json`` files (tests/reliability.py, one per pytest-xdist
    worker) are counters and are added up; any other ``<name>.json`` is one
    test's figures as it wrote them.
    """
    groups: dict[str, dict[str, object]] = {}
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        name, _, worker = path.stem.partition(".")
        if not worker:
            groups[name] = data
            continue
        merged = groups.setdefault(name, {})
        for key, value in data.items():
            previous = merged.get(key, 0)
            merged[key] = (previous if isinstance(previous, int) else 0) + int(value)
    return groups


def figures(directory: Path) -> str:
    """A Markdown table of a run's figures (nested ones, like per-target counts, left out)."""
    lines = ["| group | figure | value |", "| --- | --- | --- |"]
    for group, data in collect(directory).items():
        for key, value in sorted(data.items()):
            if not isinstance(value, dict | list):
                lines.append(f"| {group} | {key} | {value} |")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the matrix is stale")
    parser.add_argument("--figures", type=Path, metavar="DIR", help="print a run's figures")
    args = parser.parse_args(argv)
    if args.figures is not None:
        print(figures(args.figures) or f"no figures in {args.figures}")
        return 0
    doc = DOC.read_text(encoding="utf-8")
    fresh = _replace(doc, render_matrix())
    if args.check:
        if fresh != doc:
            print("docs/RELIABILITY.md: the matrix is stale; run scripts/reliability_report.py")
            return 1
        return 0
    DOC.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
