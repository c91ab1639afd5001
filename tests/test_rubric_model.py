"""The rubric model: the built-in MLE rubric, lookups, invariants and the digest."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from rubric import (
    SHORT_MAX_CHARS,
    Role,
    Rubric,
    UnknownIdError,
    load_builtin,
    load_rubric_text,
    rubric_digest,
)

MLE_SKILLS = {
    "core_technical": ["fundamentals", "libraries_frameworks", "ml_workflows", "system_design"],
    "best_practices": ["engineering_practices", "prototyping", "inner_source"],
    "project_management": ["design_thinking", "communication", "planning", "delivery", "agile"],
    "culture_fit": ["team_first", "ownership", "inclusiveness", "learning"],
}

# Storage snapshots rubrics by digest, so any edit of mle.yaml must come with a new
# version. Update both together.
MLE_VERSION = "2026.1"
MLE_DIGEST = "479b8ba144a4b96eef6ff135fe42434838b27d835125acfc948e66eb5e618cfc"


@pytest.fixture(scope="module")
def mle() -> Rubric:
    return load_builtin()


# -- the built-in MLE rubric ----------------------------------------------------------


def test_mle_has_the_contracted_disciplines_and_skills(mle: Rubric) -> None:
    assert mle.id == "mle"
    assert mle.name == "Machine Learning Engineer"
    assert {d.id: [s.id for s in d.skills] for d in mle.disciplines} == MLE_SKILLS
    assert [d.id for d in mle.disciplines] == list(MLE_SKILLS)
    assert [s.id for s in mle.skills] == [s for skills in MLE_SKILLS.values() for s in skills]
    assert len(mle.skills) == 16


def test_mle_levels_are_ordered_and_every_skill_describes_each(mle: Rubric) -> None:
    assert mle.level_ids == ("junior", "senior", "lead")
    assert mle.level_index("junior") < mle.level_index("senior") < mle.level_index("lead")
    for skill in mle.skills:
        assert list(skill.levels) == ["junior", "senior", "lead"], skill.id


def test_mle_descriptors_fit_a_slack_select_menu(mle: Rubric) -> None:
    for skill in mle.skills:
        shorts = [skill.levels[level].short for level in mle.level_ids]
        assert len(set(shorts)) == len(shorts), skill.id
        for short in shorts:
            assert 0 < len(short) <= SHORT_MAX_CHARS, short
            assert "\n" not in short
        for level in mle.level_ids:
            full = skill.levels[level].full
            assert full.endswith("."), (skill.id, level)
            assert len(full) > len(skill.levels[level].short) / 2
        assert skill.question.endswith("?"), skill.id


def test_mle_fixes_the_articles_typos(mle: Rubric) -> None:
    text = " ".join(d.full for s in mle.skills for d in s.levels.values())
    assert "principals" not in text
    assert "principles" in mle.skill("engineering_practices").levels["junior"].full


def test_mle_recommendations_and_roles(mle: Rubric) -> None:
    assert [(r.id, r.hire) for r in mle.recommendations] == [
        ("strong_no", False),
        ("no", False),
        ("yes", True),
        ("strong_yes", True),
    ]
    assert [(r.id, r.target_level) for r in mle.roles] == [
        ("mle-junior", "junior"),
        ("mle-senior", "senior"),
        ("mle-lead", "lead"),
    ]


def test_mle_digest_is_pinned_to_its_version(mle: Rubric) -> None:
    assert (mle.version, rubric_digest(mle)) == (MLE_VERSION, MLE_DIGEST), (
        "mle.yaml changed: bump its version and update MLE_VERSION and MLE_DIGEST"
    )


# -- lookups --------------------------------------------------------------------------


def test_skill_lookups(mle: Rubric) -> None:
    assert mle.skill("planning").name == "Planning"
    assert mle.has_skill("planning")
    assert not mle.has_skill("juggling")
    assert mle.discipline_of("planning").id == "project_management"
    assert mle.discipline_of("learning").id == "culture_fit"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda r: r.skill("juggling"), "rubric 'mle' has no skill 'juggling' (known: "),
        (lambda r: r.discipline_of("juggling"), "rubric 'mle' has no skill 'juggling' (known: "),
        (
            lambda r: r.level("expert"),
            "rubric 'mle' has no level 'expert' (known: junior, senior, lead)",
        ),
        (
            lambda r: r.level_index("expert"),
            "rubric 'mle' has no level 'expert' (known: junior, senior, lead)",
        ),
        (
            lambda r: r.recommendation("maybe"),
            "rubric 'mle' has no recommendation 'maybe' (known: strong_no, no, yes, strong_yes)",
        ),
    ],
)
def test_failed_lookups_raise_key_errors_that_list_what_exists(
    mle: Rubric, call: Any, message: str
) -> None:
    with pytest.raises(UnknownIdError) as caught:
        call(mle)
    assert isinstance(caught.value, KeyError)
    assert str(caught.value).startswith(message)


def test_level_and_recommendation_lookups(mle: Rubric) -> None:
    assert mle.level("lead").name == "Lead"
    assert mle.level_index("lead") == 2
    assert mle.recommendation("no").hire is False
    assert mle.recommendation("strong_yes").hire is True


@pytest.mark.parametrize(
    "query", ["mle-senior", "Senior ML Engineer", "  senior   ml ENGINEER ", "MLE-SENIOR"]
)
def test_role_matches_id_or_name_ignoring_case_and_spacing(mle: Rubric, query: str) -> None:
    role = mle.role(query)
    assert role is not None
    assert role.id == "mle-senior"


def test_unknown_role_is_none(mle: Rubric) -> None:
    assert mle.role("Data Scientist") is None


# -- immutability and identity ---------------------------------------------------------


def test_rubric_is_frozen_and_hashable(mle: Rubric) -> None:
    with pytest.raises(ValidationError):
        mle.id = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        mle.skills[0].name = "other"  # type: ignore[misc]
    assert hash(mle) == hash(load_builtin())
    assert {mle: 1}[load_builtin()] == 1


def test_digest_is_stable_and_survives_a_json_round_trip(mle: Rubric) -> None:
    digest = rubric_digest(mle)
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert rubric_digest(load_builtin()) == digest

    snapshot = json.loads(json.dumps(mle.model_dump(mode="json")))
    restored = Rubric.model_validate(snapshot)

    assert restored == mle
    assert rubric_digest(restored) == digest


def test_digest_changes_with_any_content(mle: Rubric) -> None:
    data = mle.model_dump(mode="json")
    data["disciplines"][3]["skills"][3]["levels"]["lead"]["full"] += " Really."
    assert rubric_digest(Rubric.model_validate(data)) != rubric_digest(mle)


def test_snapshot_validation_enforces_the_same_invariants(mle: Rubric) -> None:
    data = mle.model_dump(mode="json")
    del data["disciplines"][0]["skills"][3]["levels"]["lead"]
    data["roles"][0]["target_level"] = "principal"

    with pytest.raises(ValidationError) as caught:
        Rubric.model_validate(data)

    assert sorted(e["loc"] for e in caught.value.errors()) == [
        ("disciplines", 0, "skills", 3, "levels", "lead"),
        ("roles", 0, "target_level"),
    ]


def test_constructing_from_model_instances_enforces_the_invariants(mle: Rubric) -> None:
    with pytest.raises(ValidationError) as caught:
        Rubric(
            id="copy",
            name="Copy",
            version="1",
            levels=mle.levels,
            recommendations=mle.recommendations,
            roles=(Role(id="boss", name="Boss", target_level="principal"),),
            disciplines=(*mle.disciplines, mle.disciplines[3]),
        )

    assert [(e["loc"], e["msg"]) for e in caught.value.errors()] == [
        (
            ("disciplines", 4, "id"),
            "duplicate discipline id 'culture_fit' (first defined at disciplines[3])",
        ),
        *[
            (
                ("disciplines", 4, "skills", i, "id"),
                f"duplicate skill id {skill.id!r} (first defined at disciplines[3].skills[{i}])",
            )
            for i, skill in enumerate(mle.disciplines[3].skills)
        ],
        (
            ("roles", 0, "target_level"),
            "unknown level 'principal' (levels are junior, senior, lead)",
        ),
    ]


def test_validating_json_enforces_the_invariants(mle: Rubric) -> None:
    data = mle.model_dump(mode="json")
    data["levels"][2]["id"] = "senior"

    with pytest.raises(ValidationError) as caught:
        Rubric.model_validate_json(json.dumps(data))

    assert caught.value.errors()[0]["loc"] == ("levels", 2, "id")
    assert (
        caught.value.errors()[0]["msg"]
        == "duplicate level id 'senior' (first defined at levels[1])"
    )


def test_text_is_stripped_and_equal_after_stripping(mle: Rubric) -> None:
    data = mle.model_dump(mode="json")
    data["name"] = "  Machine Learning Engineer\n"
    assert Rubric.model_validate(data) == mle


# -- property: any valid rubric round-trips -------------------------------------------

_IDS = st.from_regex(r"[a-z][a-z0-9_-]{0,10}", fullmatch=True)
_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")),
    min_size=1,
    max_size=40,
).filter(lambda s: s.strip() != "")
_SHORT = _TEXT.filter(lambda s: len(s.strip()) <= SHORT_MAX_CHARS)


@st.composite
def rubric_documents(draw: st.DrawFn) -> dict[str, Any]:
    """Valid rubric documents, as plain data."""
    level_ids = draw(st.lists(_IDS, min_size=2, max_size=5, unique=True))
    n_no = draw(st.integers(1, 3))
    rec_ids = draw(st.lists(_IDS, min_size=n_no + 1, max_size=n_no + 3, unique=True))
    skill_ids = draw(st.lists(_IDS, min_size=1, max_size=8, unique=True))
    discipline_ids = draw(st.lists(_IDS, min_size=1, max_size=len(skill_ids), unique=True))
    role_ids = draw(st.lists(_IDS, max_size=3, unique=True))

    def skill(skill_id: str) -> dict[str, Any]:
        return {
            "id": skill_id,
            "name": draw(_TEXT),
            "question": draw(_TEXT),
            "levels": {lid: {"short": draw(_SHORT), "full": draw(_TEXT)} for lid in level_ids},
        }

    # Deal the skills out to the disciplines, at least one each.
    groups: list[list[str]] = [[sid] for sid in skill_ids[: len(discipline_ids)]]
    for sid in skill_ids[len(discipline_ids) :]:
        groups[draw(st.integers(0, len(groups) - 1))].append(sid)
    return {
        "id": draw(_IDS),
        "name": draw(_TEXT),
        "version": draw(_TEXT),
        "description": draw(st.none() | _TEXT),
        "levels": [{"id": lid, "name": draw(_TEXT)} for lid in level_ids],
        "recommendations": [
            {"id": rid, "name": draw(_TEXT), "hire": i >= n_no} for i, rid in enumerate(rec_ids)
        ],
        "roles": [
            {"id": rid, "name": draw(_TEXT), "target_level": draw(st.sampled_from(level_ids))}
            for rid in role_ids
        ],
        "disciplines": [
            {
                "id": did,
                "name": draw(_TEXT),
                "description": draw(st.none() | _TEXT),
                "skills": [skill(sid) for sid in group],
            }
            for did, group in zip(discipline_ids, groups, strict=True)
        ],
    }


@settings(max_examples=75, deadline=None)
@given(rubric_documents())
def test_any_rubric_round_trips_through_json_and_yaml_with_the_same_digest(
    document: dict[str, Any],
) -> None:
    rubric = Rubric.model_validate(document)
    digest = rubric_digest(rubric)

    from_json = Rubric.model_validate(json.loads(json.dumps(rubric.model_dump(mode="json"))))
    as_yaml = yaml.safe_dump(rubric.model_dump(mode="json"), allow_unicode=True, sort_keys=False)
    from_yaml = load_rubric_text(as_yaml, "generated.yaml")

    assert from_json == rubric
    assert from_yaml == rubric
    assert rubric_digest(from_json) == rubric_digest(from_yaml) == digest
