"""The debrief guide, pure: agenda order, speaking order, coverage, what is not counted, limits."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.blocks.debrief import REMINDER, DebriefGuide, debrief_guide, speaking_order
from handlers.blocks.debrief_render import (
    render_guide_blocks,
    render_guide_message,
    render_guide_text,
    render_guide_view,
)
from handlers.blocks.limits import check_message, check_view
from handlers.blocks.summary import spread_words
from rubric import load_builtin
from storage.views import (
    FeedbackEdit,
    InterviewView,
    PanelistFeedback,
    RatingView,
    Standing,
    SummaryData,
)

MLE = load_builtin()
WHEN = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
J, S, L = "junior", "senior", "lead"


def feedback(
    who: str,
    levels: Mapping[str, str | None],
    *,
    rec: str | None = "yes",
    focus: tuple[str, ...] = (),
    standing: Standing = Standing.COUNTED,
    evidence: str | None = None,
    edited: bool = False,
) -> PanelistFeedback:
    ratings = tuple(
        RatingView(skill, level, f"{who} on {skill}" if evidence is None else evidence)
        for skill, level in levels.items()
    )
    edit = FeedbackEdit("strong_yes", "later", ratings, WHEN) if edited else None
    return PanelistFeedback(
        interviewer=who,
        focus_skills=focus,
        recommendation=rec,
        notes="",
        ratings=ratings,
        submitted_at=WHEN,
        updated_at=WHEN,
        standing=standing,
        edit_after_summary=edit,
    )


def summary(
    *fbs: PanelistFeedback,
    expected: tuple[str, ...] | None = None,
    target: str = "senior",
) -> SummaryData:
    counted = tuple(f.interviewer for f in fbs if f.standing is not Standing.SHADOW)
    expected = counted if expected is None else expected
    submitted = {f.interviewer for f in fbs}
    return SummaryData(
        interview=InterviewView(
            interview_id=7,
            candidate="Ada Lovelace",
            role="Senior ML Engineer",
            target_level=target,
            starts_at=WHEN,
            ends_at=WHEN,
            state="summarised",
            hiring_channel="C0HIRING",
            recruiter="U0REC",
            hiring_lead="U0LEAD",
        ),
        rubric=MLE,
        expected=expected,
        feedback=fbs,
        missing=tuple(who for who in expected if who not in submitted),
        summary_channel="C0HIRING",
        summary_ts="1.0",
        shadows=tuple(f.interviewer for f in fbs if f.standing is Standing.SHADOW),
    )


def dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def speakers(guide: DebriefGuide, skill: str) -> list[tuple[str, str]]:
    (item,) = [i for i in guide.agenda if i.skill_id == skill]
    return [(v.interviewer, v.level) for v in item.speakers]


# -- speaking order: minority views first ------------------------------------------------------


def test_the_lone_view_speaks_first_then_the_majority_in_panel_order() -> None:
    # Three Senior, one Lead: the Lead speaks first.
    order = speaking_order([("A", 1), ("B", 1), ("C", 2), ("D", 1)], ["A", "B", "C", "D"])
    assert order == ("C", "A", "B", "D")


def test_equal_minorities_farther_from_the_median_first() -> None:
    # J, S, S, S, L, L (median Senior): Junior is alone, then the Leads, then the Seniors.
    ratings = [("A", 1), ("B", 2), ("C", 0), ("D", 1), ("E", 2), ("F", 1)]
    assert speaking_order(ratings, "ABCDEF") == ("C", "B", "E", "A", "D", "F")
    # Two singletons: Junior (2 steps from the median Lead) before Senior (1 step).
    ratings = [("A", 2), ("B", 1), ("C", 0), ("D", 2), ("E", 2)]
    assert speaking_order(ratings, "ABCDE") == ("C", "B", "A", "D", "E")


def test_an_even_split_goes_by_panel_order() -> None:
    # J, J, L, L: two each, both one step from the median: panel order decides.
    ratings = [("D", 2), ("A", 0), ("C", 2), ("B", 0)]
    assert speaking_order(ratings, ["B", "D", "A", "C"]) == ("B", "D", "A", "C")


def test_speaking_order_of_nobody_is_empty() -> None:
    assert speaking_order([], ["A"]) == ()


# -- the agenda -------------------------------------------------------------------------------


def test_agenda_widest_spread_first_then_splits_then_rubric_order() -> None:
    data = summary(
        feedback("A", {"fundamentals": S, "communication": J, "planning": J, "agile": S}),
        feedback("B", {"fundamentals": S, "communication": L, "planning": S, "agile": L}),
        feedback("C", {"fundamentals": S, "communication": S, "planning": J, "agile": L}),
    )
    guide = debrief_guide(data)
    # communication spans Junior to Lead (range 2, a split); planning J,S,J (range 1,
    # below the target with one at it: flagged, not split); agile S,L,L (not flagged).
    assert [i.skill_id for i in guide.agenda] == ["communication", "planning"]
    comm = guide.agenda[0]
    assert comm.label == "split Junior / Lead"
    assert comm.spread == "1 Junior, 1 Senior, 1 Lead"
    assert comm.reasons == ("ratings span Junior to Lead", "split around the target (Senior)")
    # The lone Senior of planning speaks first.
    assert speakers(guide, "planning") == [("B", "Senior"), ("A", "Junior"), ("C", "Junior")]
    assert [(s.skill, s.label, s.spread) for s in guide.settled] == [
        # the summary's own words for a unanimous spread ("all 3 Senior")
        ("Fundamental knowledge", "Senior", spread_words(MLE, (("senior", 3),))),
        ("Agile principles", "Lead", "1 Senior, 2 Lead"),
    ]


def test_splits_come_before_other_flags_of_the_same_spread() -> None:
    data = summary(
        # fundamentals: J, S (range 1, even split: SPLIT); libraries: S, S, J (range 1, flagged)
        feedback("A", {"libraries_frameworks": S, "fundamentals": J}),
        feedback("B", {"libraries_frameworks": S, "fundamentals": S}),
        feedback("C", {"libraries_frameworks": J}),
    )
    guide = debrief_guide(data)
    assert [i.skill_id for i in guide.agenda] == ["fundamentals", "libraries_frameworks"]
    data = summary(
        feedback("A", {"libraries_frameworks": S, "fundamentals": S}),
        feedback("B", {"libraries_frameworks": J, "fundamentals": S}),
        feedback("C", {"libraries_frameworks": S, "fundamentals": J}),
    )
    assert [i.skill_id for i in debrief_guide(data).agenda] == [
        "fundamentals",
        "libraries_frameworks",
    ]


def test_each_agenda_skill_shows_every_counted_level_and_evidence() -> None:
    data = summary(
        feedback("A", {"system_design": J}, evidence="Could not scale the cache."),
        feedback("B", {"system_design": J}),
        feedback("C", {"system_design": L}, evidence=""),
        feedback("D", {"system_design": L, "fundamentals": S}),
        feedback("E", {"system_design": None}),
    )
    guide = debrief_guide(data)
    (item,) = guide.agenda
    assert item.label == "split Junior / Lead"
    assert item.spread == "2 Junior, 2 Lead"
    assert [(v.interviewer, v.level, v.evidence) for v in item.speakers] == [
        ("A", "Junior", "Could not scale the cache."),
        ("B", "Junior", "B on system_design"),
        ("C", "Lead", ""),
        ("D", "Lead", "D on system_design"),
    ]
    assert item.not_assessed_by == ("E",)
    blocks = dump(render_guide_blocks(guide, max_blocks=100))
    assert "Could not scale the cache." in blocks
    assert "_no evidence given_" in blocks
    assert "*1.* <@A> · *Junior*" in blocks
    assert "Not assessed by <@E>" in blocks


def test_nothing_flagged() -> None:
    data = summary(feedback("A", {"fundamentals": S}), feedback("B", {"fundamentals": S}))
    guide = debrief_guide(data)
    assert guide.agenda == ()
    text = render_guide_text(guide)
    assert "Nothing flagged for discussion" in text
    spread = spread_words(MLE, (("senior", 2),))
    assert f"Fundamental knowledge: Senior, meets target ({spread})" in text


# -- recommendations, decision, coverage --------------------------------------------------------


def test_recommendation_round_minority_first_and_the_decision_flags() -> None:
    data = summary(
        feedback("A", {}, rec="yes"),
        feedback("B", {}, rec="strong_no"),
        feedback("C", {}, rec="yes"),
        feedback("D", {}, rec=None),
        feedback("E", {}, rec="no"),
    )
    guide = debrief_guide(data)
    # Strong no (alone, 2 steps from the median Yes... median of [0,1,2,2] is 1.5) and
    # No (alone, 0.5 from it): the farther first; the two Yes in panel order; D last.
    assert guide.votes == (
        ("B", "Strong no"),
        ("E", "No"),
        ("A", "Yes"),
        ("C", "Yes"),
        ("D", None),
    )
    assert guide.split_decision
    assert guide.strong_no == ("B",)
    text = render_guide_text(guide)
    assert "1. B — Strong no" in text and "5. D — no recommendation" in text
    assert "Split decision" in text and "Strong no from B" in text


def test_coverage_gaps() -> None:
    data = summary(
        feedback("A", {"fundamentals": S, "system_design": None}, focus=("system_design",)),
        feedback("B", {"fundamentals": S}, focus=("planning",)),
        expected=("A", "B", "C"),
    )
    guide = debrief_guide(data)
    assert guide.focus_gaps == (("A", "System design and implementation"), ("B", "Planning"))
    assert "System design and implementation" in guide.unassessed
    assert "Fundamental knowledge" not in guide.unassessed
    assert guide.missing == ("C",)
    assert (guide.counted, guide.expected) == (2, 3)
    text = render_guide_text(guide)
    assert "A left their focus skill System design and implementation unassessed" in text
    assert "No counted feedback from C" in text


# -- what is not counted -------------------------------------------------------------------------


def test_late_and_shadow_feedback_are_listed_apart_and_move_nothing() -> None:
    counted = [
        feedback("A", {"system_design": S}, rec="yes"),
        feedback("B", {"system_design": S}, rec="yes"),
    ]
    late = feedback("C", {"system_design": J}, rec="strong_no", standing=Standing.AFTER_SUMMARY)
    shadow = feedback("T", {"system_design": L}, rec="strong_yes", standing=Standing.SHADOW)
    guide = debrief_guide(summary(*counted, late, shadow, expected=("A", "B", "C")))
    # Everything but the list apart is what the counted feedback alone gives.
    alone = debrief_guide(summary(*counted, expected=("A", "B", "C")))
    assert dataclasses.replace(guide, not_counted=()) == alone
    # Two Senior count: no split, no Strong no, nothing to discuss.
    assert guide.agenda == ()
    assert not guide.split_decision and guide.strong_no == ()
    assert guide.votes == (("A", "Yes"), ("B", "Yes"))
    assert guide.missing == ("C",)
    assert [(n.interviewer, n.why, n.recommendation, n.levels) for n in guide.not_counted] == [
        (
            "C",
            "given after the summary",
            "Strong no",
            (("System design and implementation", "Junior"),),
        ),
        (
            "T",
            "from a shadow interviewer",
            "Strong yes",
            (("System design and implementation", "Lead"),),
        ),
    ]
    blocks = dump(render_guide_view(guide))
    tail = blocks[blocks.index("Not counted") :]
    assert (
        "<@C>, given after the summary: recommends Strong no; System design and implementation Junior"
        in tail
    )
    assert "<@T>, from a shadow interviewer" in tail
    # C appears in the coverage gaps (no counted feedback) and apart, in no figure.
    assert "<@C>" not in blocks[: blocks.index("Coverage gaps")]
    assert "No counted feedback from <@C>" in blocks


def test_an_edit_after_the_summary_uses_the_earlier_version() -> None:
    data = summary(
        feedback("A", {"fundamentals": S}, rec="no", edited=True),
        feedback("B", {"fundamentals": S}, rec="no"),
    )
    guide = debrief_guide(data)
    assert guide.votes == (("A", "No"), ("B", "No"))
    assert guide.edited_after == ("A",)
    assert "A edited their feedback after the summary" in render_guide_text(guide)


# -- rendering and Slack's limits ------------------------------------------------------------------


def test_the_view_says_the_panel_decides_and_fits_slack() -> None:
    data = summary(
        feedback("A", {"system_design": J}, rec="no"),
        feedback("B", {"system_design": L}, rec="yes"),
    )
    view = render_guide_view(debrief_guide(data))
    check_view(view)
    assert view["title"]["text"] == "Debrief guide"
    text = dump(view)
    assert REMINDER in text
    assert "minority views first" in text
    assert "Ada Lovelace — Senior ML Engineer" in text


def test_candidate_initials_are_used_when_given() -> None:
    guide = debrief_guide(summary(feedback("A", {})), candidate="A. L.")
    assert "Ada" not in dump(render_guide_view(guide))


def huge_panel(size: int, evidence_chars: int) -> SummaryData:
    levels = [J, S, L]
    fbs = [
        feedback(
            f"U{k:02d}",
            {skill.id: levels[(k + i) % 3] for i, skill in enumerate(MLE.skills)},
            evidence=("<evidence & more> " * (evidence_chars // 18 + 1))[:evidence_chars],
        )
        for k in range(size)
    ]
    return summary(*fbs)


@pytest.mark.parametrize(("size", "evidence_chars"), [(3, 3000), (12, 3000), (25, 400), (40, 500)])
def test_the_worst_case_fits_a_modal_and_a_message(size: int, evidence_chars: int) -> None:
    guide = debrief_guide(huge_panel(size, evidence_chars))
    assert len(guide.agenda) == len(MLE.skills)  # every skill split around the target
    view = render_guide_view(guide)
    check_view(view)
    assert len(view["blocks"]) <= 100
    text, blocks = render_guide_message(guide)
    check_message(text, blocks)
    assert len(blocks) <= 50
    for rendered in (dump(view), dump(blocks)):
        assert REMINDER in rendered
        assert "&lt;evidence &amp; more&gt;" in rendered  # escaped, never raw mrkdwn
        assert "<evidence" not in rendered
    if size > 3:  # the message cannot hold every skill: the rest are named
        assert "Also to discuss" in dump(blocks)


def test_plain_text_names_people_with_the_given_function() -> None:
    data = summary(feedback("U1", {"system_design": J}), feedback("U2", {"system_design": L}))
    text = render_guide_text(debrief_guide(data), who={"U1": "Ann", "U2": "Bo"}.__getitem__)
    assert "1. Ann, Junior: U1 on system_design" in text
    assert "2. Bo, Lead" in text
    assert text.rstrip().endswith(REMINDER)


# -- properties ---------------------------------------------------------------------------------

ANSWER = st.sampled_from([J, S, L, None])
SKILLS = [skill.id for skill in MLE.skills[:4]]


@st.composite
def panels(draw: st.DrawFn) -> SummaryData:
    names = draw(st.lists(st.sampled_from("ABCDEFGH"), min_size=1, max_size=7, unique=True))
    fbs = [
        feedback(
            name,
            draw(st.dictionaries(st.sampled_from(SKILLS), ANSWER, max_size=4)),
            rec=draw(st.sampled_from([None, *(r.id for r in MLE.recommendations)])),
            standing=draw(st.sampled_from(list(Standing))),
        )
        for name in names
    ]
    return summary(*fbs)


@settings(max_examples=150, deadline=None)
@given(data=panels())
def test_only_counted_feedback_shapes_the_guide(data: SummaryData) -> None:
    guide = debrief_guide(data)
    counted = {f.interviewer for f in data.counted}
    rated = {
        (f.interviewer, r.skill_id): r.level
        for f in data.counted
        for r in f.ratings
        if r.level is not None
    }
    for item in guide.agenda:
        raters = sorted(who for (who, skill) in rated if skill == item.skill_id)
        assert sorted(v.interviewer for v in item.speakers) == raters
        assert [MLE.level(rated[v.interviewer, item.skill_id]).name for v in item.speakers] == [
            v.level for v in item.speakers
        ]
    assert {who for who, _ in guide.votes} == counted
    assert {n.interviewer for n in guide.not_counted} == {
        f.interviewer for f in data.feedback
    } - counted
    # Dropping what does not count changes nothing but the list apart.
    alone = dataclasses.replace(data, feedback=data.counted)
    assert dataclasses.replace(guide, not_counted=()) == debrief_guide(alone)
    check_view(render_guide_view(guide))
