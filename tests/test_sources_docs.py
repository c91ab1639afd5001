"""docs/sources/webhook.md and mapping.md stay true: the signing snippet signs as the bot
verifies, and the example mapping loads."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bot.config import load_config_file
from sources.signatures import sign_v1, verify_v1

DOCS = Path(__file__).resolve().parent.parent / "docs" / "sources"


def block(name: str, language: str) -> str:
    text = (DOCS / name).read_text(encoding="utf-8")
    found = re.search(rf"^```{language}\n(.*?)^```", text, re.M | re.S)
    assert found, f"no {language} block in {name}"
    return found.group(1)


def test_the_python_snippet_signs_as_the_bot_verifies() -> None:
    scope: dict[str, Any] = {}
    exec(block("webhook.md", "python"), scope)
    body = b'{"interviews": []}'
    headers = scope["sign"]("s3cret", body, 1_772_355_600)
    assert headers == sign_v1("s3cret", body, timestamp=1_772_355_600)
    assert verify_v1("s3cret", body, headers, now=1_772_355_600 + 299)


def test_the_example_mapping_loads(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(block("mapping.md", "yaml"))
    mapping = load_config_file(path).mapping
    assert [job.job for job in mapping.jobs] == ["Senior ML Engineer", "ML Engineering Lead"]
    assert mapping.kits["System design onsite"] == ("system_design", "ml_workflows")
