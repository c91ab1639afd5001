"""The example summary committed under docs/ is what the code renders today."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from handlers.blocks.limits import check_message

REPO = Path(__file__).resolve().parent.parent


def test_committed_example_matches_the_builders(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "example_summary.py"), str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for name in ("example-summary.json", "example-summary.txt"):
        committed = (REPO / "docs" / name).read_text(encoding="utf-8")
        assert committed == (tmp_path / name).read_text(encoding="utf-8"), (
            f"docs/{name} is stale: run python scripts/example_summary.py"
        )
    assert (REPO / "docs" / "example-heatmap.png").read_bytes().startswith(b"\x89PNG")
    example = json.loads((REPO / "docs" / "example-summary.json").read_text(encoding="utf-8"))
    check_message(example["text"], example["blocks"])
    for reply in example["thread"]:
        check_message(reply["text"], reply["blocks"])


def test_readme_shows_the_plain_text_rendering() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    text = (REPO / "docs" / "example-summary.txt").read_text(encoding="utf-8").rstrip("\n")
    assert text in readme
