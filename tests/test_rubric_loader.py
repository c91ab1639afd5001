"""Loading rubric YAML: every problem reported as ``file:line: path: message``."""

from __future__ import annotations

import textwrap
from importlib import resources
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rubric import Rubric, SourceErrors, load_builtin, load_rubric_file, load_rubric_text

# A small valid rubric. Broken variants below are written out in full, so the
# line numbers in the expected messages can be checked by eye.
VALID = textwrap.dedent(
    """\
    id: team
    name: Team rubric
    version: "1"
    levels:
      - {id: junior, name: Junior}
      - {id: senior, name: Senior}
    recommendations:
      - {id: "no", name: "No", hire: false}
      - {id: "yes", name: "Yes", hire: true}
    roles:
      - {id: dev, name: Developer, target_level: senior}
    disciplines:
      - id: tech
        name: Technical
        skills:
          - id: coding
            name: Coding
            question: Can they write code?
            levels:
              junior: {short: Writes code, full: Writes working code.}
              senior: {short: Designs code, full: Designs maintainable code.}
      - id: people
        name: People
        skills:
          - id: mentoring
            name: Mentoring
            question: Do they help others grow?
            levels:
              junior: {short: Asks for help, full: Asks for help when stuck.}
              senior: {short: Mentors juniors, full: Mentors junior engineers.}
    """
)


def errors_of(text: str, file: str = "team.yaml") -> list[str]:
    """The rendered errors of loading ``text``; fails if it loads."""
    with pytest.raises(SourceErrors) as caught:
        load_rubric_text(text, file)
    return [str(error) for error in caught.value.errors]


def test_valid_document_loads() -> None:
    rubric = load_rubric_text(VALID, "team.yaml")

    assert rubric.id == "team"
    assert [skill.id for skill in rubric.skills] == ["coding", "mentoring"]
    assert [rec.id for rec in rubric.recommendations] == ["no", "yes"]


def test_builtin_loads_from_package_data() -> None:
    text = (resources.files("rubric") / "data" / "mle.yaml").read_text(encoding="utf-8")

    assert load_builtin() == load_rubric_text(text, "mle.yaml")
    assert load_builtin("mle").id == "mle"


def test_unknown_builtin_is_a_source_error() -> None:
    with pytest.raises(SourceErrors) as caught:
        load_builtin("nope")
    assert str(caught.value) == "<built-in>/nope.yaml: no built-in rubric 'nope' (built-in: mle)"


def test_load_rubric_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "team.yaml"
    path.write_text(VALID.replace('version: "1"', "version: 2"), encoding="utf-8")

    with pytest.raises(SourceErrors) as caught:
        load_rubric_file(path)

    assert [str(e) for e in caught.value.errors] == [
        f'{path}:3: version: must be a string, quote it (e.g. version: "2026.1"), got the number 2'
    ]
    assert load_rubric_file(_write(tmp_path, "ok.yaml", VALID)).id == "team"


def test_unknown_key() -> None:
    text = textwrap.dedent(
        """\
        id: team
        name: Team rubric
        version: "1"
        levels:
          - {id: junior, name: Junior}
          - {id: senior, name: Senior, colour: blue}
        recommendations:
          - {id: "no", name: "No", hire: false}
          - {id: "yes", name: "Yes", hire: true}
        disciplines:
          - id: tech
            name: Technical
            skils: []
        """
    )
    assert errors_of(text) == [
        "team.yaml:6: levels[1].colour: unknown field",
        "team.yaml:11: disciplines[0].skills: field required",
        "team.yaml:13: disciplines[0].skils: unknown field",
    ]


def test_duplicate_skill_id_across_disciplines_names_the_first() -> None:
    text = VALID.replace("- id: mentoring", "- id: coding")

    assert errors_of(text) == [
        "team.yaml:25: disciplines[1].skills[0].id: duplicate skill id 'coding' "
        "(first defined at disciplines[0].skills[0])"
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "- {id: senior, name: Senior}\n",
            "- {id: senior, name: Senior}\n  - {id: junior, name: Again}\n",
            "team.yaml:7: levels[2].id: duplicate level id 'junior' (first defined at levels[0])",
        ),
        (
            "- id: people",
            "- id: tech",
            "team.yaml:22: disciplines[1].id: duplicate discipline id 'tech' "
            "(first defined at disciplines[0])",
        ),
        (
            '- {id: "yes", name: "Yes", hire: true}',
            '- {id: "no", name: "Yes", hire: true}',
            "team.yaml:9: recommendations[1].id: duplicate recommendation id 'no' "
            "(first defined at recommendations[0])",
        ),
    ],
)
def test_duplicate_ids(old: str, new: str, expected: str) -> None:
    assert old in VALID
    assert errors_of(VALID.replace(old, new, 1)) == [expected]


def test_skill_missing_a_level_descriptor() -> None:
    text = textwrap.dedent(
        """\
        id: team
        name: Team rubric
        version: "1"
        levels:
          - {id: junior, name: Junior}
          - {id: senior, name: Senior}
          - {id: lead, name: Lead}
        recommendations:
          - {id: "no", name: "No", hire: false}
          - {id: "yes", name: "Yes", hire: true}
        disciplines:
          - id: tech
            name: Technical
            skills:
              - id: coding
                name: Coding
                question: Can they write code?
                levels:
                  junior: {short: Writes code, full: Writes working code.}
                  senior: {short: Designs code, full: Designs maintainable code.}
        """
    )
    assert errors_of(text) == ["team.yaml:18: disciplines[0].skills[0].levels.lead: field required"]


def test_unknown_level_key() -> None:
    text = textwrap.dedent(
        """\
        id: team
        name: Team rubric
        version: "1"
        levels:
          - {id: junior, name: Junior}
          - {id: senior, name: Senior}
        recommendations:
          - {id: "no", name: "No", hire: false}
          - {id: "yes", name: "Yes", hire: true}
        disciplines:
          - id: tech
            name: Technical
            skills:
              - id: coding
                name: Coding
                question: Can they write code?
                levels:
                  junior: {short: Writes code, full: Writes working code.}
                  senior: {short: Designs code, full: Designs maintainable code.}
                  expert: {short: Writes compilers, full: Writes compilers.}
        """
    )
    assert errors_of(text) == [
        "team.yaml:20: disciplines[0].skills[0].levels.expert: unknown level "
        "(levels are junior, senior)"
    ]


def test_short_descriptor_over_75_characters() -> None:
    long = "Designs code " + "x" * 78
    text = VALID.replace("senior: {short: Designs code,", f"senior: {{short: {long},")

    assert errors_of(text) == [
        "team.yaml:21: disciplines[0].skills[0].levels.senior.short: at most 75 characters (got 91)"
    ]


def test_short_descriptor_of_exactly_75_characters_is_fine() -> None:
    text = VALID.replace("senior: {short: Designs code,", f"senior: {{short: {'x' * 75},")
    assert load_rubric_text(text, "team.yaml").skill("coding").levels["senior"].short == "x" * 75


@pytest.mark.parametrize("text", ["", "\n\n", "# nothing here yet\n", "---\n", "~\n"])
def test_empty_file(text: str) -> None:
    assert errors_of(text) == ["team.yaml:1: rubric is empty"]


@pytest.mark.parametrize(
    ("text", "line"),
    [("- id: team\n- name: Team\n", 1), ("# a rubric\n\njust text\n", 3), ("42\n", 1)],
)
def test_not_a_mapping(text: str, line: int) -> None:
    assert errors_of(text) == [f"team.yaml:{line}: expected a mapping at the top level"]


def test_invalid_yaml_syntax_reports_the_line() -> None:
    text = textwrap.dedent(
        """\
        id: team
        name: Team rubric
        levels:
          - {id: junior, name: Junior
          - {id: senior, name: Senior}
        """
    )
    (error,) = errors_of(text)
    assert error.startswith("team.yaml:5: invalid YAML: ")


def test_duplicate_yaml_key() -> None:
    text = VALID.replace("name: Team rubric\n", "name: Team rubric\nname: Other name\n")

    assert errors_of(text) == ["team.yaml:3: name: duplicate key (first defined on line 2)"]


def test_role_with_unknown_target_level() -> None:
    text = VALID.replace("target_level: senior", "target_level: principal")

    assert errors_of(text) == [
        "team.yaml:11: roles[0].target_level: unknown level 'principal' (levels are junior, senior)"
    ]


@pytest.mark.parametrize(
    ("value", "got"),
    [("1.0", "the number 1.0"), ("2026", "the number 2026"), ("", "nothing")],
)
def test_version_must_be_quoted(value: str, got: str) -> None:
    text = VALID.replace('version: "1"', f"version: {value}".rstrip())

    assert errors_of(text) == [
        f'team.yaml:3: version: must be a string, quote it (e.g. version: "2026.1"), got {got}'
    ]


def test_unquoted_yes_and_no_get_a_hint() -> None:
    text = VALID.replace('{id: "no", name: "No"', "{id: no, name: No")

    assert errors_of(text) == [
        "team.yaml:8: recommendations[0].id: expected text, got the boolean false "
        "(YAML reads unquoted yes/no/on/off as booleans); quote it",
        "team.yaml:8: recommendations[0].name: expected text, got the boolean false "
        "(YAML reads unquoted yes/no/on/off as booleans); quote it",
    ]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "id: team",
            "id: Team",
            "team.yaml:1: id: invalid id 'Team': use 1-64 lowercase "
            "letters, digits, '_' or '-', starting with a letter",
        ),
        ("name: Team rubric", "name: '   '", "team.yaml:2: name: must not be blank"),
        (
            '- {id: "yes", name: "Yes", hire: true}',
            '- {id: "yes", name: "Yes", hire: false}',
            "team.yaml:7: recommendations: needs at least one recommendation with hire: true "
            "and one with hire: false",
        ),
        (
            '- {id: "no", name: "No", hire: false}\n  - {id: "yes", name: "Yes", hire: true}',
            '- {id: "yes", name: "Yes", hire: true}\n  - {id: "no", name: "No", hire: false}',
            "team.yaml:9: recommendations[1].hire: recommendations go from most negative to most "
            "positive: a hire: false recommendation cannot follow 'yes' (hire: true)",
        ),
        (
            "{short: Writes code,",
            '{short: "Writes\\ncode",',
            "team.yaml:20: disciplines[0].skills[0].levels.junior.short: must be a single line",
        ),
    ],
)
def test_field_rules(old: str, new: str, expected: str) -> None:
    assert old in VALID
    assert errors_of(VALID.replace(old, new, 1)) == [expected]


def test_too_few_levels() -> None:
    text = VALID.replace("  - {id: senior, name: Senior}\n", "")

    assert "team.yaml:4: levels: at least 2 levels required (got 1)" in errors_of(text)


def test_multiple_errors_are_reported_together_in_line_order() -> None:
    text = textwrap.dedent(
        """\
        id: team
        name: Team rubric
        version: 1.0
        levels:
          - {id: junior, name: Junior}
          - {id: senior, name: Senior}
        recommendations:
          - {id: "no", name: "No", hire: false}
          - {id: "yes", name: "Yes", hire: true}
        roles:
          - {id: dev, name: Developer, target_level: lead}
        disciplines:
          - id: tech
            name: Technical
            skills:
              - id: coding
                name: Coding
                question: Can they write code?
                hint: unknown
                levels:
                  junior: {short: Writes code, full: Writes working code.}
          - id: people
            name: People
            skills:
              - id: coding
                name: Coding again
                question: Do they help others grow?
                levels:
                  junior: {short: Asks for help, full: Asks for help when stuck.}
                  senior: {short: Mentors juniors, full: "  "}
        """
    )
    assert errors_of(text) == [
        'team.yaml:3: version: must be a string, quote it (e.g. version: "2026.1"), '
        "got the number 1.0",
        "team.yaml:11: roles[0].target_level: unknown level 'lead' (levels are junior, senior)",
        "team.yaml:19: disciplines[0].skills[0].hint: unknown field",
        "team.yaml:20: disciplines[0].skills[0].levels.senior: field required",
        "team.yaml:25: disciplines[1].skills[0].id: duplicate skill id 'coding' "
        "(first defined at disciplines[0].skills[0])",
        "team.yaml:30: disciplines[1].skills[0].levels.senior.full: must not be blank",
    ]


def test_file_not_found(tmp_path: Path) -> None:
    path = tmp_path / "missing.yaml"
    with pytest.raises(SourceErrors) as caught:
        load_rubric_file(path)
    assert str(caught.value) == f"{path}: file not found"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(SourceErrors) as caught:
        load_rubric_file(tmp_path)
    assert str(caught.value) == f"{tmp_path}: is a directory, not a file"


def test_not_utf8_reports_the_line(tmp_path: Path) -> None:
    path = tmp_path / "team.yaml"
    path.write_bytes(VALID.replace("Team rubric", "Caf\xe9").encode("latin-1"))

    with pytest.raises(SourceErrors) as caught:
        load_rubric_file(path)
    assert str(caught.value) == f"{path}:2: not UTF-8 text (byte 0xe9 cannot be decoded)"


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "team.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + VALID.encode("utf-8"))
    assert load_rubric_file(path).id == "team"


def test_control_character_is_a_located_error() -> None:
    # PyYAML rejects it while constructing the loader, before parsing starts.
    text = VALID.replace("Team rubric", "Team\x07rubric")
    assert errors_of(text) == [
        "team.yaml:2: invalid YAML: unacceptable character #x0007 "
        "(special characters are not allowed)"
    ]


def test_recursive_alias_is_a_located_error_not_a_crash() -> None:
    text = VALID.replace("roles:\n  - {id: dev", "roles: &roles\n  - *roles\n  - {id: dev")
    (error,) = errors_of(text)
    assert error.startswith("team.yaml:10: roles[0]: ")


def _write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


# -- robustness --------------------------------------------------------------------------

_MLE_LINES = (resources.files("rubric") / "data" / "mle.yaml").read_text("utf-8").splitlines()
_NOISE = st.sampled_from(
    [
        "",
        " ",
        "-",
        ":",
        "- ",
        "{",
        "}",
        "[",
        "]",
        "'",
        '"',
        "&a",
        "*a",
        "~",
        "yes",
        "1.0",
        "id: x",
        "levels: {}",
        "\t",
        "#",
        "\x00",
        "é",
        "junior:",
        "  - id: s",
    ]
)


@st.composite
def mutated_builtin(draw: st.DrawFn) -> str:
    """The built-in rubric's text after a few random line-level edits."""
    lines = list(_MLE_LINES)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["delete", "duplicate", "replace", "insert", "splice"]))
        if edit == "delete":
            del lines[i]
        elif edit == "duplicate":
            lines.insert(i, lines[i])
        elif edit == "replace":
            lines[i] = draw(_NOISE)
        elif edit == "insert":
            lines.insert(i, draw(_NOISE))
        else:
            cut = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:cut] + draw(_NOISE) + lines[i][cut:]
    return "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_builtin())
def test_mutations_of_a_valid_document_only_ever_raise_source_errors(text: str) -> None:
    caught: SourceErrors | None = None
    try:
        assert isinstance(load_rubric_text(text, "mle.yaml"), Rubric)
    except SourceErrors as exc:
        caught = exc
    if caught is None:
        return
    assert caught.errors
    line_count = text.count("\n") + 1
    for error in caught.errors:
        assert error.file == "mle.yaml"
        assert error.message
        assert error.line is None or 1 <= error.line <= line_count
        assert str(error).startswith("mle.yaml")
