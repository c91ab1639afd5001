"""The rubric registry: the built-in rubric plus a team's ``rubrics_dir``."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rubric import Rubric, RubricRegistry, SourceErrors, UnknownRubricError, load_builtin


def rubric_yaml(rubric_id: str, name: str = "Team rubric") -> str:
    """A valid rubric document whose first line is its ``id``."""
    data = load_builtin().model_dump(mode="json") | {"id": rubric_id, "name": name}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def load_errors(rubrics_dir: Path | None) -> list[str]:
    with pytest.raises(SourceErrors) as caught:
        RubricRegistry.load(rubrics_dir)
    return [str(error) for error in caught.value.errors]


def test_without_a_directory_only_the_builtin_is_known() -> None:
    registry = RubricRegistry.load(None)

    assert registry.ids() == ["mle"]
    assert registry.get("mle") == load_builtin()
    assert "mle" in registry
    assert len(registry) == 1


def test_loads_yaml_and_yml_files_not_recursively(tmp_path: Path) -> None:
    (tmp_path / "data.yaml").write_text(rubric_yaml("data"), encoding="utf-8")
    (tmp_path / "backend.yml").write_text(rubric_yaml("backend"), encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not a rubric", encoding="utf-8")
    (tmp_path / ".#data.yaml").write_text("editor lock file", encoding="utf-8")
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "ignored.yaml").write_text("not: [valid", encoding="utf-8")

    registry = RubricRegistry.load(tmp_path)

    assert registry.ids() == ["backend", "data", "mle"]
    assert [r.id for r in registry] == ["backend", "data", "mle"]
    assert [r.id for r in registry.all()] == ["backend", "data", "mle"]
    assert isinstance(registry.get("data"), Rubric)
    assert registry.get("data").name == "Team rubric"


def test_an_empty_directory_is_fine(tmp_path: Path) -> None:
    assert RubricRegistry.load(tmp_path).ids() == ["mle"]


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "rubrics"
    assert load_errors(missing) == [f"{missing}: rubrics directory not found"]


def test_a_file_instead_of_a_directory_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "rubrics.yaml"
    path.write_text(rubric_yaml("team"), encoding="utf-8")
    assert load_errors(path) == [f"{path}: not a directory"]


def test_clash_with_the_builtin_names_both_files(tmp_path: Path) -> None:
    (tmp_path / "ours.yaml").write_text(rubric_yaml("mle", "Our MLE"), encoding="utf-8")

    assert load_errors(tmp_path) == [
        f"{tmp_path / 'ours.yaml'}:1: id: rubric id 'mle' is already defined in <built-in>/mle.yaml"
    ]


def test_id_defined_in_two_files_names_both(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(rubric_yaml("team"), encoding="utf-8")
    (tmp_path / "b.yml").write_text("# the same again\n" + rubric_yaml("team"), encoding="utf-8")

    assert load_errors(tmp_path) == [
        f"{tmp_path / 'b.yml'}:2: id: rubric id 'team' is already defined in "
        f"{tmp_path / 'a.yaml'}:1"
    ]


def test_errors_from_every_file_are_collected(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("", encoding="utf-8")
    (tmp_path / "b.yaml").write_text(rubric_yaml("b").replace("version:", "versoin:"), "utf-8")
    (tmp_path / "c.yaml").write_text(rubric_yaml("c"), encoding="utf-8")
    (tmp_path / "d.yaml").write_bytes(b"id: d\nname: \xff\n")

    errors = load_errors(tmp_path)

    b_line = rubric_yaml("b").splitlines().index("version: '2026.1'") + 1
    b = tmp_path / "b.yaml"
    assert errors == [
        f"{tmp_path / 'a.yaml'}:1: rubric is empty",
        f"{b}:1: version: field required",
        f"{b}:{b_line}: versoin: unknown field",
        f"{tmp_path / 'd.yaml'}:2: not UTF-8 text (byte 0xff cannot be decoded)",
    ]


def test_unknown_id_lists_the_known_ones(tmp_path: Path) -> None:
    (tmp_path / "team.yaml").write_text(rubric_yaml("team"), encoding="utf-8")
    registry = RubricRegistry.load(tmp_path)

    with pytest.raises(UnknownRubricError) as caught:
        registry.get("sales")

    assert isinstance(caught.value, KeyError)
    assert str(caught.value) == "unknown rubric 'sales' (known rubrics: mle, team)"
    assert "sales" not in registry


def test_constructor_rejects_duplicate_ids() -> None:
    with pytest.raises(ValueError, match="rubric id 'mle' is defined twice"):
        RubricRegistry([load_builtin(), load_builtin()])
