"""The operator docs stay true to the code.

- every config key in docs/configuration.md's key table is a field of
  ``bot.config.FileConfig`` (nested sections walked recursively), and every
  field is documented;
- every ``interview-bot ...`` command line in a code block of the docs parses
  with ``bot.cli.build_parser()``;
- the full example config in docs/configuration.md loads with
  ``bot.config.load_config_file`` and sets every key.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from pydantic import BaseModel

from bot.cli import build_parser
from bot.config import FileConfig, load_config_file

DOCS = Path(__file__).resolve().parent.parent / "docs"
DOC_NAMES = ("configuration.md", "operations.md", "rubrics.md")

# Fences may be indented (a code block inside a list item).
_FENCE = re.compile(r"^[ \t]*```([\w-]*)[^\n]*\n(.*?)^[ \t]*```[ \t]*$", re.MULTILINE | re.DOTALL)
_KEY_ROW = re.compile(r"^\|\s*`([a-z_]+(?:\.[a-z_]+)*)`\s*\|", re.MULTILINE)
_COMMAND = re.compile(r"(?:^|[\s/])(interview-bot\s.*)$")


def _read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _section(text: str, heading: str) -> str:
    """The body of a ``## heading`` section, up to the next level-2 heading."""
    match = re.search(rf"^## {re.escape(heading)}[ \t]*\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"docs/configuration.md has no '## {heading}' section"
    return match.group(1)


def _code_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced code block."""
    return [(m.group(1), m.group(2)) for m in _FENCE.finditer(text)]


def file_config_keys(model: type[BaseModel] = FileConfig, prefix: str = "") -> set[str]:
    """Dotted paths of every leaf field, recursing into nested sections."""
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys |= file_config_keys(annotation, f"{path}.")
        else:
            keys.add(path)
    return keys


def documented_keys() -> set[str]:
    return set(_KEY_ROW.findall(_section(_read("configuration.md"), "Keys")))


def example_config() -> str:
    blocks = [
        body
        for lang, body in _code_blocks(_section(_read("configuration.md"), "A full example"))
        if lang == "yaml"
    ]
    assert len(blocks) == 1, "expected one yaml block under '## A full example'"
    return blocks[0]


def command_lines() -> list[tuple[str, str]]:
    """(doc name, command line) for every ``interview-bot ...`` line in a code block."""
    found: list[tuple[str, str]] = []
    for name in DOC_NAMES:
        for _lang, body in _code_blocks(_read(name)):
            for line in body.splitlines():
                match = _COMMAND.search(line.strip().removeprefix("$ "))
                if match:
                    found.append((name, match.group(1)))
    return found


def test_the_walk_sees_nested_sections() -> None:
    keys = file_config_keys()
    assert {"feedback.form_delay", "reminders.quiet_hours", "rubrics_dir", "timezone"} <= keys
    assert "feedback" not in keys


def test_every_documented_key_exists() -> None:
    unknown = documented_keys() - file_config_keys()
    assert not unknown, f"docs/configuration.md documents keys FileConfig lacks: {sorted(unknown)}"


def test_every_key_is_documented() -> None:
    missing = file_config_keys() - documented_keys()
    assert not missing, f"docs/configuration.md does not document: {sorted(missing)}"


def test_the_docs_show_commands() -> None:
    names = {name for name, _ in command_lines()}
    assert names == set(DOC_NAMES), "each doc shows at least one interview-bot command"


@pytest.mark.parametrize(("doc", "line"), command_lines())
def test_command_parses(doc: str, line: str) -> None:
    argv = shlex.split(line, comments=True)
    assert argv[0] == "interview-bot"
    try:
        build_parser().parse_args(argv[1:])
    except SystemExit as exc:  # argparse exits on a bad invocation
        pytest.fail(f"docs/{doc}: `{line}` does not parse (exit {exc.code})")


def test_example_config_loads(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(example_config(), encoding="utf-8")
    config = load_config_file(path)
    assert config.rubrics_dir == tmp_path / "rubrics"
    assert config.timezone == "Europe/Berlin"


def test_example_config_sets_every_key() -> None:
    text = example_config()
    for key in sorted(file_config_keys()):
        *sections, leaf = key.split(".")
        pattern = "".join(rf"^{'  ' * i}{s}:.*\n(?:^ .*\n)*?" for i, s in enumerate(sections))
        pattern += rf"^{'  ' * len(sections)}{leaf}:"
        assert re.search(pattern, text, re.M), f"the full example does not set {key}"
