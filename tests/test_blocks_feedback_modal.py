"""handlers.blocks.feedback_modal: layout, paging, prefill, submission parsing, validation."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from handlers.blocks.feedback_modal import (
    EVIDENCE_MAX_CHARS,
    FEEDBACK_CALLBACK,
    FEEDBACK_PAGE_CALLBACK,
    FOCUS_MARK,
    NOT_ASSESSED,
    PageAnswers,
    build_feedback_modal,
    parse_metadata,
    plan_pages,
    rating_order,
    read_submission,
    validate_answers,
)
from handlers.blocks.limits import check_view
from handlers.blocks.text import escape_mrkdwn
from rubric import Rubric, load_builtin
from storage.views import FormContext, InterviewView, OwnFeedbackView, RatingView, RequestView

MLE_SKILLS = (
    "fundamentals",
    "libraries_frameworks",
    "ml_workflows",
    "system_design",
    "engineering_practices",
    "prototyping",
    "inner_source",
    "design_thinking",
    "communication",
    "planning",
    "delivery",
    "agile",
    "team_first",
    "ownership",
    "inclusiveness",
    "learning",
)
STARTS = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def mle() -> Rubric:
    return load_builtin()


def make_ctx(
    rubric: Rubric,
    focus: Sequence[str] = ("system_design", "communication"),
    own: OwnFeedbackView | None = None,
    *,
    candidate: str = "Ada Lovelace",
    role: str = "mle-senior",
    target_level: str = "senior",
) -> FormContext:
    interview = InterviewView(
        interview_id=7,
        candidate=candidate,
        role=role,
        target_level=target_level,
        starts_at=STARTS,
        ends_at=STARTS + timedelta(hours=1),
        state="ended",
        hiring_channel="C0HIRING",
        recruiter="U0RECRUIT",
        hiring_lead="U0LEAD",
    )
    request = RequestView(
        public_id="req-8f3a",
        interviewer="U0AAA",
        focus_skills=tuple(focus),
        state="sent",
        due_at=STARTS + timedelta(hours=25),
        dm_channel="D0AAA",
        dm_ts="1.2",
        interview=interview,
    )
    return FormContext(
        request=request, rubric=rubric, own_feedback=own, editable=True, locked_reason=None
    )


def make_rubric(
    disciplines: int,
    skills_per: int,
    *,
    text: str = "Observed behaviour that is described at length. ",
    repeat: int = 40,
    levels: int = 3,
    recommendations: int = 4,
) -> Rubric:
    level_ids = [f"l{i}" for i in range(levels)]
    long = (text * repeat).strip()
    half = recommendations // 2
    return Rubric.model_validate(
        {
            "id": "generated",
            "name": "Generated rubric",
            "version": "1",
            "levels": [{"id": lid, "name": f"Level {lid} " + "n" * 20} for lid in level_ids],
            "recommendations": [
                {"id": f"r{i}", "name": f"Recommendation {i}", "hire": i >= half}
                for i in range(recommendations)
            ],
            "disciplines": [
                {
                    "id": f"d{d}",
                    "name": f"Discipline {d} " + long[:100],
                    "skills": [
                        {
                            "id": f"s{d}_{s}",
                            "name": f"Skill {d}.{s} " + long[:200],
                            "question": long[:900],
                            "levels": {
                                lid: {"short": ("Short " + long)[:75].strip(), "full": long}
                                for lid in level_ids
                            },
                        }
                        for s in range(skills_per)
                    ],
                }
                for d in range(disciplines)
            ],
        }
    )


def input_blocks(view: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    return (b for b in view["blocks"] if b["type"] == "input")


def block(view: Mapping[str, Any], block_id: str) -> dict[str, Any]:
    matches = [b for b in view["blocks"] if b.get("block_id") == block_id]
    assert len(matches) == 1, block_id
    found: dict[str, Any] = matches[0]
    return found


def skill_ids_in(view: Mapping[str, Any]) -> list[str]:
    return [
        b["block_id"].removeprefix("level:")
        for b in view["blocks"]
        if b.get("block_id", "").startswith("level:")
    ]


def slack_state(view: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """What Slack would send back in view.state.values if the user changed nothing."""
    values: dict[str, dict[str, Any]] = {}
    for b in input_blocks(view):
        element = b["element"]
        if element["type"] == "plain_text_input":
            state = {"type": element["type"], "value": element.get("initial_value")}
        else:
            state = {"type": element["type"], "selected_option": element.get("initial_option")}
        values[b["block_id"]] = {element["action_id"]: state}
    return values


def level_state(value: str | None) -> dict[str, Any]:
    option = (
        None if value is None else {"text": {"type": "plain_text", "text": "x"}, "value": value}
    )
    return {"level": {"type": "static_select", "selected_option": option}}


def text_state(action_id: str, value: str | None) -> dict[str, Any]:
    return {action_id: {"type": "plain_text_input", "value": value}}


# ---------------------------------------------------------------------------
# The MLE rubric: one page


def test_mle_is_one_page(mle: Rubric) -> None:
    pages = plan_pages(mle, ["system_design", "communication"])
    assert len(pages) == 1
    assert sorted(pages[0]) == sorted(MLE_SKILLS)


def test_mle_view(mle: Rubric) -> None:
    view = build_feedback_modal(make_ctx(mle))
    check_view(view)
    assert view["type"] == "modal"
    assert view["callback_id"] == FEEDBACK_CALLBACK
    assert view["title"]["text"] == "Interview feedback"
    assert view["submit"]["text"] == "Submit"
    assert view["close"]["text"] == "Cancel"
    assert skill_ids_in(view)[:2] == ["system_design", "communication"]
    assert sorted(skill_ids_in(view)) == sorted(MLE_SKILLS)
    # The rest follow in rubric order.
    rest = [s for s in MLE_SKILLS if s not in ("system_design", "communication")]
    assert skill_ids_in(view)[2:] == rest
    for skill in mle.skills:
        label = block(view, f"level:{skill.id}")["label"]
        assert label["type"] == "plain_text"
        focus = skill.id in ("system_design", "communication")
        assert label["text"] == skill.name + (FOCUS_MARK if focus else "")
    assert "recommend" in block(view, "recommendation")["label"]["text"].lower()
    assert "notes" in block(view, "notes")["label"]["text"]


def test_mle_options_carry_short_descriptors(mle: Rubric) -> None:
    view = build_feedback_modal(make_ctx(mle))
    for skill in mle.skills:
        element = block(view, f"level:{skill.id}")["element"]
        assert element["type"] == "static_select"
        assert element["action_id"] == "level"
        options = element["options"]
        assert [o["value"] for o in options] == [*mle.level_ids, NOT_ASSESSED]
        assert options[-1]["text"]["text"] == "Not assessed"
        for option, level in zip(options, mle.levels, strict=False):
            text = option["text"]["text"]
            assert len(text) <= 75
            assert text.startswith(f"{level.name} — ")
            short = skill.levels[level.id].short
            shown = text.removeprefix(f"{level.name} — ")
            assert shown == short or (shown.endswith("…") and short.startswith(shown[:-1]))


def test_mle_context_shows_question_and_full_descriptors(mle: Rubric) -> None:
    view = build_feedback_modal(make_ctx(mle))
    for skill in mle.skills:
        context = block(view, f"desc:{skill.id}")
        assert context["type"] == "context"
        (element,) = context["elements"]
        assert escape_mrkdwn(skill.question) in element["text"]
        for level in mle.levels:
            full = escape_mrkdwn(" ".join(skill.levels[level.id].full.split()))
            assert f"*{level.name}:* {full}" in element["text"]


def test_mle_evidence_inputs(mle: Rubric) -> None:
    view = build_feedback_modal(make_ctx(mle))
    for skill in mle.skills:
        evidence = block(view, f"evidence:{skill.id}")
        assert evidence["optional"] is True
        element = evidence["element"]
        assert element["type"] == "plain_text_input"
        assert element["action_id"] == "evidence"
        assert element["multiline"] is True
        assert element["max_length"] == EVIDENCE_MAX_CHARS
        assert element["placeholder"]["text"] == "What did you observe?"


def test_focus_skills_required_others_optional(mle: Rubric) -> None:
    view = build_feedback_modal(make_ctx(mle))
    assert block(view, "level:system_design")["optional"] is False
    assert block(view, "level:fundamentals")["optional"] is True
    assert block(view, "notes")["optional"] is True
    notes = block(view, "notes")["element"]
    assert (notes["action_id"], notes["multiline"], notes["max_length"]) == ("value", True, 3000)
    rec = block(view, "recommendation")["element"]
    assert rec["type"] == "radio_buttons"
    assert rec["action_id"] == "value"
    assert [o["value"] for o in rec["options"]] == [r.id for r in mle.recommendations]


def test_private_metadata_is_only_the_opaque_id(mle: Rubric) -> None:
    view = build_feedback_modal(make_ctx(mle))
    assert view["private_metadata"] == '{"r":"req-8f3a","p":0}'
    assert parse_metadata(view["private_metadata"]) == ("req-8f3a", 0)


def test_intro_names_candidate_role_level_and_date(mle: Rubric) -> None:
    view = build_feedback_modal(make_ctx(mle, candidate="Ada <Lovelace> & Co"))
    intro = view["blocks"][0]["text"]["text"]
    assert "Ada &lt;Lovelace&gt; &amp; Co" in intro
    assert "Senior ML Engineer" in intro
    assert "*Senior*" in intro
    assert f"<!date^{int(STARTS.timestamp())}^" in intro
    assert "Mon 1 Mar 2027, 09:00 UTC" in intro
    guidance = view["blocks"][1]["elements"][0]["text"]
    assert "Not assessed" in guidance
    assert "private" in guidance


def test_unknown_and_duplicate_focus_ids_are_ignored(mle: Rubric) -> None:
    order = rating_order(mle, ["learning", "nope", "learning", "agile"])
    assert order[:2] == ("learning", "agile")
    assert sorted(order) == sorted(MLE_SKILLS)


# ---------------------------------------------------------------------------
# Prefill


def own_feedback(ratings: Sequence[RatingView], rec: str | None = "yes") -> OwnFeedbackView:
    return OwnFeedbackView(
        recommendation=rec,
        notes="Strong on systems; ask about <planning> & delivery.",
        ratings=tuple(ratings),
        submitted_at=STARTS + timedelta(hours=2),
        updated_at=STARTS + timedelta(hours=3),
    )


def test_prefill_round_trips(mle: Rubric) -> None:
    ratings = [
        RatingView("system_design", "senior", "Designed a feature store with backfills."),
        RatingView("communication", None, ""),
        RatingView("fundamentals", "lead", "Explained bias/variance & <regularisation>."),
        RatingView("agile", None, "Did not come up."),
    ]
    own = own_feedback(ratings)
    view = build_feedback_modal(make_ctx(mle, own=own))
    check_view(view)
    answers = read_submission(slack_state(view), mle, MLE_SKILLS)
    assert answers.ratings == {r.skill_id: r for r in ratings}
    assert answers.recommendation == "yes"
    assert answers.notes == own.notes
    assert answers.evidence_without_level == {}
    assert (
        validate_answers(
            make_ctx(mle, own=own), MLE_SKILLS, answers, final=True, require_evidence=False
        )
        == {}
    )


def test_draft_wins_over_stored_feedback(mle: Rubric) -> None:
    own = own_feedback([RatingView("learning", "junior", "old")])
    draft = {"learning": RatingView("learning", "lead", "new")}
    view = build_feedback_modal(make_ctx(mle, own=own), draft=draft)
    element = block(view, "level:learning")["element"]
    assert element["initial_option"]["value"] == "lead"
    assert block(view, "evidence:learning")["element"]["initial_value"] == "new"


def test_prefill_skips_unknown_stored_values(mle: Rubric) -> None:
    own = own_feedback([RatingView("learning", "principal", "x" * 2000)], rec="maybe")
    view = build_feedback_modal(make_ctx(mle, own=own))
    check_view(view)
    assert "initial_option" not in block(view, "level:learning")["element"]
    assert len(block(view, "evidence:learning")["element"]["initial_value"]) == EVIDENCE_MAX_CHARS
    assert "initial_option" not in block(view, "recommendation")["element"]


# ---------------------------------------------------------------------------
# Paging


def test_thirty_skills_split_into_pages() -> None:
    rubric = make_rubric(3, 10)
    focus = ["s2_9", "s1_0", "s0_5"]
    pages = plan_pages(rubric, focus)
    assert 2 <= len(pages) <= 3
    flat = [skill for page in pages for skill in page]
    assert sorted(flat) == sorted(s.id for s in rubric.skills)
    assert len(flat) == len(set(flat))
    assert flat[:3] == focus
    assert flat == list(rating_order(rubric, focus))
    ctx = make_ctx(rubric, focus, target_level="l1", role="Some role")
    for number, page in enumerate(pages):
        view = build_feedback_modal(ctx, page=number, pages=pages)
        check_view(view)
        last = number == len(pages) - 1
        assert skill_ids_in(view) == list(page)
        assert view["callback_id"] == (FEEDBACK_CALLBACK if last else FEEDBACK_PAGE_CALLBACK)
        assert view["submit"]["text"] == ("Submit" if last else "Next")
        assert view["title"]["text"] == f"Feedback ({number + 1}/{len(pages)})"
        assert parse_metadata(view["private_metadata"]) == ("req-8f3a", number)
        has_final = any(b.get("block_id") == "recommendation" for b in view["blocks"])
        assert has_final == last


def test_paged_draft_prefill_passes_check_view() -> None:
    rubric = make_rubric(3, 10)
    pages = plan_pages(rubric, [])
    draft = {s.id: RatingView(s.id, "l2", "é" * EVIDENCE_MAX_CHARS) for s in rubric.skills}
    own = own_feedback([], rec="r3")
    for number in range(len(pages)):
        check_view(
            build_feedback_modal(make_ctx(rubric, [], own), page=number, pages=pages, draft=draft)
        )


def test_after_the_summary_the_notice_is_the_first_block_of_every_page() -> None:
    rubric = make_rubric(3, 10)
    pages = plan_pages(rubric, [])
    assert len(pages) >= 2
    ctx = dataclasses.replace(make_ctx(rubric, []), after_summary=True)
    for number in range(len(pages)):
        view = build_feedback_modal(ctx, page=number, pages=pages)
        check_view(view)
        first = view["blocks"][0]
        assert first["type"] == "section"
        text = first["text"]["text"]
        assert text.startswith(":hourglass: The summary is already posted in the hiring channel.")
        assert "shown in its thread as given after the summary" in text
        assert "does not change the panel's consensus" in text
        # No promise of privacy that no longer holds.
        assert "stay private" not in json.dumps(view)
    before = build_feedback_modal(make_ctx(rubric, []), page=0, pages=pages)
    assert "summary is already posted" not in json.dumps(before)
    assert "stay private until the panel summary is posted" in json.dumps(before)
    # Same pages either way: a form's plan does not move when the summary is posted.
    assert plan_pages(rubric, []) == pages


def test_an_edit_after_the_summary_is_told_the_earlier_version_counts(mle: Rubric) -> None:
    own = own_feedback([RatingView("system_design", "senior", "Designed a store.")])
    ctx = dataclasses.replace(make_ctx(mle, own=own), after_summary=True)
    view = build_feedback_modal(ctx)
    check_view(view)
    text = view["blocks"][0]["text"]["text"]
    assert "An edit you make now is shown in its thread as made after the summary" in text
    assert "the version from before the summary keeps counting" in text


def test_a_shadow_is_told_in_the_guidance(mle: Rubric) -> None:
    view = build_feedback_modal(dataclasses.replace(make_ctx(mle), shadow=True))
    check_view(view)
    guidance = view["blocks"][1]
    assert guidance["type"] == "context"
    assert "You are a *shadow* on this panel" in guidance["elements"][0]["text"]


def test_page_out_of_range(mle: Rubric) -> None:
    with pytest.raises(ValueError, match="page 1 out of range"):
        build_feedback_modal(make_ctx(mle), page=1)


def test_huge_rubric_is_refused_clearly() -> None:
    rubric = make_rubric(4, 50, repeat=2)
    with pytest.raises(ValueError, match=r"200 skills.*does not fit in 3 Slack modal pages"):
        plan_pages(rubric, [])


def test_reserved_level_id_is_refused() -> None:
    data = make_rubric(1, 1).model_dump(mode="json")
    data["levels"][0]["id"] = NOT_ASSESSED
    skill = data["disciplines"][0]["skills"][0]
    skill["levels"] = {NOT_ASSESSED if k == "l0" else k: v for k, v in skill["levels"].items()}
    with pytest.raises(ValueError, match="reserved"):
        plan_pages(Rubric.model_validate(data), [])


def test_many_recommendations_use_a_select() -> None:
    rubric = make_rubric(1, 2, recommendations=12)
    view = build_feedback_modal(make_ctx(rubric, [], target_level="l0"))
    check_view(view)
    assert block(view, "recommendation")["element"]["type"] == "static_select"


# ---------------------------------------------------------------------------
# private_metadata


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "garbage",
        "[]",
        "null",
        '{"r":"x"}',
        '{"p":0}',
        '{"r":"x","p":0,"extra":1}',
        '{"r":1,"p":0}',
        '{"r":"","p":0}',
        '{"r":"x","p":"0"}',
        '{"r":"x","p":true}',
        '{"r":"x","p":-1}',
        '{"r":"x","p":3}',
        '{"r":"x","p":0.0}',
        json.dumps({"r": "x" * 600, "p": 0}),
    ],
)
def test_parse_metadata_rejects_malformed(raw: str) -> None:
    with pytest.raises(ValueError, match="private_metadata"):
        parse_metadata(raw)


def test_parse_metadata_accepts_ours() -> None:
    assert parse_metadata('{"r":"abc","p":2}') == ("abc", 2)


# ---------------------------------------------------------------------------
# read_submission


def test_read_submission_shapes(mle: Rubric) -> None:
    values: dict[str, Any] = {
        "level:fundamentals": level_state("senior"),
        "evidence:fundamentals": text_state("evidence", "  Solid answer.  "),
        "level:agile": level_state(NOT_ASSESSED),
        "evidence:agile": text_state("evidence", None),
        "level:learning": level_state("wizard"),
        "level:planning": level_state(None),
        "evidence:planning": text_state("evidence", "Wrote evidence only"),
        "level:delivery": {"level": None},
        "evidence:delivery": "nonsense",
        "level:ownership": {"level": {"selected_option": "not-a-mapping"}},
        "recommendation": {"value": {"type": "radio_buttons", "selected_option": {"value": "no"}}},
        "notes": text_state("value", None),
    }
    answers = read_submission(values, mle, MLE_SKILLS)
    assert answers.ratings == {
        "fundamentals": RatingView("fundamentals", "senior", "Solid answer."),
        "agile": RatingView("agile", None, ""),
        "learning": RatingView("learning", "wizard", ""),
    }
    assert answers.evidence_without_level == {"planning": "Wrote evidence only"}
    assert answers.recommendation == "no"
    assert answers.notes == ""


@pytest.mark.parametrize("values", [{}, {"level:fundamentals": None}, {"recommendation": []}])
def test_read_submission_empty(mle: Rubric, values: dict[str, Any]) -> None:
    answers = read_submission(values, mle, MLE_SKILLS)
    assert answers == PageAnswers(ratings={}, recommendation=None, notes="")


# ---------------------------------------------------------------------------
# validate_answers


def answers(
    *ratings: RatingView, rec: str | None = "yes", orphans: dict[str, str] | None = None
) -> PageAnswers:
    return PageAnswers(
        ratings={r.skill_id: r for r in ratings},
        recommendation=rec,
        notes="",
        evidence_without_level=orphans or {},
    )


FOCUS_RATED = (
    RatingView("system_design", "senior", "e"),
    RatingView("communication", None, ""),
)


def test_valid_answers(mle: Rubric) -> None:
    ctx = make_ctx(mle)
    assert (
        validate_answers(ctx, MLE_SKILLS, answers(*FOCUS_RATED), final=True, require_evidence=True)
        == {}
    )


def test_missing_recommendation_on_final_page_only(mle: Rubric) -> None:
    ctx = make_ctx(mle)
    page = answers(*FOCUS_RATED, rec=None)
    assert validate_answers(ctx, MLE_SKILLS, page, final=True, require_evidence=False) == {
        "recommendation": "Choose a recommendation."
    }
    assert validate_answers(ctx, MLE_SKILLS, page, final=False, require_evidence=False) == {}


def test_unknown_recommendation(mle: Rubric) -> None:
    errors = validate_answers(
        make_ctx(mle),
        MLE_SKILLS,
        answers(*FOCUS_RATED, rec="maybe"),
        final=True,
        require_evidence=False,
    )
    assert list(errors) == ["recommendation"]


def test_unanswered_focus_skill(mle: Rubric) -> None:
    errors = validate_answers(
        make_ctx(mle), MLE_SKILLS, answers(FOCUS_RATED[0]), final=True, require_evidence=False
    )
    assert errors == {
        "level:communication": "This is one of your focus skills: choose a level or Not assessed."
    }


def test_focus_skill_on_another_page_is_not_reported(mle: Rubric) -> None:
    errors = validate_answers(
        make_ctx(mle), ["fundamentals"], answers(rec=None), final=False, require_evidence=False
    )
    assert errors == {}


def test_rating_without_evidence(mle: Rubric) -> None:
    page = answers(*FOCUS_RATED, RatingView("learning", "junior", "  "))
    ctx = make_ctx(mle)
    assert validate_answers(ctx, MLE_SKILLS, page, final=True, require_evidence=True) == {
        "evidence:learning": "Add the evidence behind this rating."
    }
    assert validate_answers(ctx, MLE_SKILLS, page, final=True, require_evidence=False) == {}


def test_not_assessed_needs_no_evidence(mle: Rubric) -> None:
    page = answers(*FOCUS_RATED, RatingView("learning", None, ""))
    assert (
        validate_answers(make_ctx(mle), MLE_SKILLS, page, final=True, require_evidence=True) == {}
    )


def test_evidence_without_level(mle: Rubric) -> None:
    page = answers(*FOCUS_RATED, orphans={"learning": "Talked about courses"})
    assert validate_answers(
        make_ctx(mle), MLE_SKILLS, page, final=True, require_evidence=False
    ) == {"level:learning": "Choose a level for the evidence you wrote, or clear the evidence."}


def test_unknown_level(mle: Rubric) -> None:
    page = answers(*FOCUS_RATED, RatingView("learning", "wizard", "e"))
    assert validate_answers(make_ctx(mle), MLE_SKILLS, page, final=True, require_evidence=True) == {
        "level:learning": "Unknown level."
    }


def test_submission_errors_round_trip(mle: Rubric) -> None:
    """From Slack's state to error block ids that exist in the view."""
    ctx = make_ctx(mle)
    view = build_feedback_modal(ctx)
    values = slack_state(view)
    values["level:fundamentals"] = level_state("senior")
    values["evidence:learning"] = text_state("evidence", "Reads papers weekly")
    page = read_submission(values, mle, MLE_SKILLS)
    errors = validate_answers(ctx, MLE_SKILLS, page, final=True, require_evidence=True)
    assert errors == {
        "level:system_design": "This is one of your focus skills: choose a level or Not assessed.",
        "level:communication": "This is one of your focus skills: choose a level or Not assessed.",
        "evidence:fundamentals": "Add the evidence behind this rating.",
        "level:learning": "Choose a level for the evidence you wrote, or clear the evidence.",
        "recommendation": "Choose a recommendation.",
    }
    block_ids = {b.get("block_id") for b in view["blocks"]}
    assert set(errors) <= block_ids


# ---------------------------------------------------------------------------
# Property: any rubric of up to 40 skills renders views Slack accepts

_ALPHABET = "abcdefghijklmnopqrstuvwxyz ABCXYZ0123456789&<>*_~`:.,;!?-—é★😀"


def _text(min_size: int, max_size: int) -> st.SearchStrategy[str]:
    return st.text(_ALPHABET, min_size=min_size, max_size=max_size).map(lambda s: "x" + s)


@st.composite
def rubrics(draw: st.DrawFn) -> Rubric:
    n_skills = draw(st.integers(1, 40))
    n_levels = draw(st.integers(2, 6))
    n_disciplines = draw(st.integers(1, min(5, n_skills)))
    level_ids = [f"l{i}" for i in range(n_levels)]
    sizes = [n_skills // n_disciplines] * n_disciplines
    sizes[0] += n_skills - sum(sizes)
    full = _text(0, 1500)
    disciplines = []
    for d, size in enumerate(sizes):
        skills = []
        for s in range(size):
            skills.append(
                {
                    "id": f"s{d}_{s}",
                    "name": draw(_text(0, 300)),
                    "question": draw(_text(0, 1000)),
                    "levels": {
                        lid: {"short": draw(_text(0, 74)), "full": draw(full)} for lid in level_ids
                    },
                }
            )
        disciplines.append({"id": f"d{d}", "name": draw(_text(0, 200)), "skills": skills})
    return Rubric.model_validate(
        {
            "id": "random",
            "name": "Random",
            "version": "1",
            "levels": [{"id": lid, "name": draw(_text(0, 120))} for lid in level_ids],
            "recommendations": [
                {"id": "no", "name": draw(_text(0, 100)), "hire": False},
                {"id": "yes", "name": draw(_text(0, 100)), "hire": True},
            ],
            "disciplines": disciplines,
        }
    )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(rubric=rubrics(), data=st.data())
def test_every_page_of_any_rubric_passes_check_view(rubric: Rubric, data: st.DataObject) -> None:
    skill_ids = [s.id for s in rubric.skills]
    focus = data.draw(st.lists(st.sampled_from(skill_ids), max_size=5))
    prefill = data.draw(st.booleans())
    own = None
    if prefill:
        ratings = [RatingView(s, rubric.level_ids[-1], "ü&<" * 600) for s in skill_ids]
        own = OwnFeedbackView("yes", "ñ" * 3000, tuple(ratings), STARTS, STARTS)
    ctx = make_ctx(rubric, focus, own, candidate="C&<>" * 200, role="R" * 500, target_level="l0")
    # The after-summary notice and the shadow note are reserved room: any page fits with them.
    ctx = dataclasses.replace(ctx, after_summary=data.draw(st.booleans()), shadow=True)
    pages = plan_pages(rubric, focus)
    assert 1 <= len(pages) <= 3
    assert sorted(s for page in pages for s in page) == sorted(skill_ids)
    for number in range(len(pages)):
        check_view(build_feedback_modal(ctx, page=number, pages=pages))
