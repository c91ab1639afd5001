"""handlers.blocks.summary: the thread's replies, their packing, and the update note."""

from __future__ import annotations

from datetime import timedelta

import pytest

from handlers.blocks.limits import check_message
from handlers.blocks.summary import (
    FeedbackChange,
    build_edit_reply,
    build_feedback_reply,
    build_not_in_channel_notice,
    build_update_reply,
    describe_changes,
    feedback_changes,
    pack,
    pack_replies,
    split_text,
    thread_replies,
)
from rubric.consensus_types import PanelConsensus, SkillConsensus
from storage.views import FeedbackEdit, PanelistFeedback, RatingView, Standing, SummaryData
from tests.summary_data import (
    END,
    MLE,
    PANEL,
    all_text,
    assert_fits,
    block_text,
    feedback,
    hand_consensus,
    make_rubric,
    panel_feedback,
    real_consensus,
    summary_data,
    worst_panel,
)

MINUS = chr(0x2212)


def late_d() -> PanelistFeedback:
    return PanelistFeedback(
        interviewer="U0DDD",
        focus_skills=("system_design",),
        recommendation="strong_yes",
        notes="Great <b>systems</b> thinking & clear",
        ratings=(
            RatingView("planning", "senior", ""),
            RatingView("system_design", "lead", "Designed a *sharded* feature store"),
            RatingView("agile", None, ""),
        ),
        submitted_at=END + timedelta(hours=40),
        updated_at=END + timedelta(hours=41),
        standing=Standing.AFTER_SUMMARY,
    )


def edited_b() -> PanelistFeedback:
    """U0BBB's feedback from before the summary, and the Lead they changed it to after."""
    before = panel_feedback()[1]
    edit = FeedbackEdit(
        recommendation="yes",
        notes="Changed my mind after the debrief",
        ratings=(RatingView("system_design", "lead", "Second look"),),
        edited_at=END + timedelta(hours=50),
    )
    return PanelistFeedback(**{**before.__dict__, "edit_after_summary": edit})


# -- one reply ---------------------------------------------------------------------------------


def test_counted_feedback_reply() -> None:
    fb = PanelistFeedback(**{**late_d().__dict__, "standing": Standing.COUNTED})
    data = summary_data(MLE, [*panel_feedback()[:3], fb])
    text, blocks = build_feedback_reply(data, fb)
    check_message(text, blocks)
    assert text == "Feedback from <@U0DDD>: Strong yes"
    head = block_text(blocks[0])
    assert head.startswith("*Feedback from <@U0DDD>* — recommends *Strong yes*\nSubmitted ")
    assert ", edited <!date^" in head
    assert "not counted" not in all_text(blocks)
    body = all_text(blocks)
    assert "*Notes*\nGreat &lt;b&gt;systems&lt;/b&gt; thinking &amp; clear" in body
    # Rubric order; focus marked; evidence escaped but kept.
    lines = [line for line in body.splitlines() if line.startswith("*") and " — " in line]
    assert lines[1:] == [
        "*System design and implementation* _(focus)_ — Lead: Designed a *sharded* feature store",
        "*Planning* — Senior _(no evidence)_",
        "*Agile principles* — Not assessed",
    ]


def test_after_summary_reply_is_marked_not_counted() -> None:
    fb = late_d()
    data = summary_data(MLE, [*panel_feedback()[:3], fb], expected=PANEL)
    text, blocks = build_feedback_reply(data, fb)
    check_message(text, blocks)
    assert text == ("Feedback from <@U0DDD>: Strong yes (given after the summary — not counted)")
    assert block_text(blocks[0]).startswith(
        "*Feedback from <@U0DDD>* _(given after the summary — not counted)_ — recommends"
    )


def test_shadow_reply_is_marked_not_counted() -> None:
    fb = feedback("U0SHADOW", {"planning": "lead"}, rec="yes", standing=Standing.SHADOW)
    data = summary_data(MLE, [*panel_feedback(), fb])
    text, blocks = build_feedback_reply(data, fb)
    check_message(text, blocks)
    assert "(shadow interviewer — not counted)" in text
    assert "_(shadow interviewer — not counted)_" in block_text(blocks[0])


def test_edit_after_the_summary_shows_the_edited_answers() -> None:
    fb = edited_b()
    data = summary_data(MLE, [*panel_feedback()[:1], fb, *panel_feedback()[2:]], posted=True)
    text, blocks = build_edit_reply(data, fb)
    check_message(text, blocks)
    assert text == (
        "Feedback from <@U0BBB>: Yes (edited after the summary — not counted; the version "
        "from before the summary counts)"
    )
    body = all_text(blocks)
    assert body.startswith("*Feedback from <@U0BBB>* _(edited after the summary — not counted;")
    assert "\nEdited <!date^" in body
    assert "Changed my mind after the debrief" in body
    assert "*System design and implementation* — Lead: Second look" in body
    # The reply of what counts is the version from before the summary.
    _, counted = build_feedback_reply(data, fb)
    assert "— Junior" in all_text(counted) and "Second look" not in all_text(counted)
    with pytest.raises(ValueError, match="edited after the summary"):
        build_edit_reply(data, panel_feedback()[0])


def test_feedback_reply_without_recommendation_or_notes() -> None:
    fb = feedback("U0AAA", {"planning": "junior"}, rec=None)
    data = summary_data(MLE, [fb])
    text, blocks = build_feedback_reply(data, fb)
    check_message(text, blocks)
    assert text == "Feedback from <@U0AAA>: no overall recommendation"
    assert "*Notes*" not in all_text(blocks)
    assert "not counted" not in all_text(blocks)


@pytest.mark.parametrize("n_skills", [1, 16, 30])
@pytest.mark.parametrize("n_panel", [1, 12])
def test_sweep_thread_replies_with_maximum_evidence_and_notes(n_panel: int, n_skills: int) -> None:
    rubric = make_rubric(n_skills, long_names=True)
    # '&' escapes to five characters: the worst case for the 1500 / 3000 character inputs.
    for evidence, notes in (("&" * 1500, "<" * 3000), ("word " * 300, "line\n" * 600)):
        data = worst_panel(rubric, n_panel, evidence=evidence, notes=notes, after=1, shadows=1)
        for fb in data.feedback:
            text, blocks = build_feedback_reply(data, fb)
            assert_fits(text, blocks)
            body = all_text(blocks)
            assert "&amp;" in body or "word" in body
            assert "<<" not in body and "&a…" not in body
            edit = FeedbackEdit(fb.recommendation, notes, fb.ratings, END + timedelta(days=3))
            edited = PanelistFeedback(**{**fb.__dict__, "edit_after_summary": edit})
            assert_fits(*build_edit_reply(data, edited))


# -- the thread: which replies, in which groups ------------------------------------------------


def thread_data() -> SummaryData:
    shadow = feedback("U0SHADOW", {"planning": "lead"}, rec="yes", standing=Standing.SHADOW)
    fbs = [panel_feedback()[0], edited_b(), panel_feedback()[2], late_d(), shadow]
    return summary_data(MLE, fbs, expected=PANEL)


def test_the_thread_keeps_counted_feedback_apart_from_what_does_not_count() -> None:
    data = thread_data()
    groups = thread_replies(data)
    keys = [[key for key, _t, _b in group] for group in groups]
    assert keys == [
        ["reply:U0AAA", "reply:U0BBB", "reply:U0CCC"],
        ["reply:U0DDD"],
        ["edit:U0BBB"],
        ["reply:U0SHADOW"],
    ]
    counted = " ".join(text for _k, text, _b in groups[0])
    assert "not counted" not in counted
    assert "given after the summary — not counted" in groups[1][0][1]
    assert "edited after the summary — not counted" in groups[2][0][1]
    assert "shadow interviewer — not counted" in groups[3][0][1]
    # The consensus is of the counted feedback only: U0DDD's Lead and U0BBB's edit are absent.
    consensus = real_consensus(data)
    system_design = next(s for s in consensus.skills if s.skill_id == "system_design")
    assert system_design.ratings == (("U0AAA", "junior"), ("U0BBB", "junior"), ("U0CCC", "lead"))


def test_finish_leaves_changed_replies_to_the_update() -> None:
    data = thread_data()
    changed = {"U0BBB", "U0DDD", "U0SHADOW"}
    finish = [[k for k, _t, _b in g] for g in thread_replies(data, changed=changed)]
    # Counted replies never change (they are the version from before the summary).
    assert finish == [["reply:U0AAA", "reply:U0BBB", "reply:U0CCC"]]
    update = [[k for k, _t, _b in g] for g in thread_replies(data, changed=changed, update=True)]
    assert update == [["reply:U0DDD"], ["edit:U0BBB"], ["reply:U0SHADOW"]]


def test_a_panel_with_short_evidence_gets_one_thread_message() -> None:
    data = worst_panel(make_rubric(16), 12, evidence="Solid answer.", notes="Fine.")
    [group] = thread_replies(data)
    [(who, text, blocks)] = pack_replies(group)
    assert who == [f"reply:{fb.interviewer}" for fb in data.feedback]
    assert_fits(text, blocks)
    body = all_text(blocks)
    positions = [body.index(f"Feedback from <@{fb.interviewer}>") for fb in data.feedback]
    assert positions == sorted(positions)  # the panel's order, each once
    assert sum(1 for b in blocks if b["type"] == "divider") == len(who) - 1


@pytest.mark.parametrize("n_panel", [2, 12])
def test_long_replies_spread_over_messages_within_limits(n_panel: int) -> None:
    data = worst_panel(make_rubric(16, long_names=True), n_panel, evidence="&" * 1500, notes="x")
    [replies] = thread_replies(data)
    messages = pack_replies(replies)
    assert len(messages) > 1
    assert [u for who, _t, _b in messages for u in who] == [r[0] for r in replies]
    for _who, text, blocks in messages:
        assert_fits(text, blocks)
        assert sum(len(str(b.get("text", {}).get("text", ""))) for b in blocks) <= 12_000 or (
            len(_who) == 1  # a single reply may be bigger; it was built to fit alone
        )


def test_no_replies_no_messages() -> None:
    assert pack_replies([]) == []


# -- the update note ----------------------------------------------------------------------------


def test_update_reply() -> None:
    changes = ["<@U0DDD> submitted feedback.", "Needs discussion: +1 skill (Planning)."]
    text, blocks = build_update_reply(changes)
    check_message(text, blocks)
    assert text == "Updated: <@U0DDD> submitted feedback. Needs discussion: +1 skill (Planning)."
    assert blocks == [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    text, blocks = build_update_reply([])
    check_message(text, blocks)
    assert text.startswith("Updated: ")
    text, blocks = build_update_reply(["x" * 2000] * 40)
    assert_fits(text, blocks)


def test_feedback_after_the_summary_moves_no_consensus_in_the_note() -> None:
    """Late feedback that would flip System design: the note says it is not counted."""
    data = thread_data()
    assert feedback_changes(data, ["U0AAA", "U0NOBODY"]) == [
        FeedbackChange("U0AAA", "edited_back")  # changed, yet what counts is all there is
    ]
    changes = feedback_changes(data, ["U0BBB", "U0DDD", "U0SHADOW", "U0NOBODY"])
    assert changes == [
        FeedbackChange("U0BBB", "edited_after_summary"),
        FeedbackChange("U0DDD", "after_summary"),
        FeedbackChange("U0SHADOW", "shadow"),
    ]
    consensus = real_consensus(data)
    lines = describe_changes(consensus, consensus, MLE, changes)
    assert lines == [
        "<@U0BBB> edited their feedback after the summary: the edit is in the thread, not "
        "counted; the version from before the summary counts.",
        "<@U0DDD> submitted feedback after the summary: it is in the thread, not counted.",
        "<@U0SHADOW> (shadow interviewer) submitted feedback: it is in the thread, not counted.",
        "The consensus, the flags and every figure are unchanged: only feedback given before "
        "the summary counts.",
    ]
    joined = " ".join(lines)
    for claim in ("Consensus:", "Needs discussion:", "Recommendations:", "Agreement:"):
        assert claim not in joined
    text, blocks = build_update_reply(lines)
    check_message(text, blocks)


def test_describe_changes_of_counted_feedback() -> None:
    before_data = summary_data(MLE, panel_feedback()[:3], expected=PANEL)
    late = feedback(
        "U0DDD",
        {"fundamentals": "senior", "planning": "lead", "agile": "junior"},
        rec="no",
    )
    after_data = summary_data(MLE, [*panel_feedback()[:3], late], expected=PANEL)
    before, after = real_consensus(before_data), real_consensus(after_data)
    changes = describe_changes(before, after, MLE, [FeedbackChange("U0DDD", "submitted")])
    assert changes[0] == "<@U0DDD> submitted feedback."
    joined = " ".join(changes)
    assert "Now assessed: Agile principles." in joined
    assert "Recommendations: Strong no 1 · No 1 · Yes 2 · Strong yes 0." in joined
    assert "unchanged" not in joined


def test_describe_changes_flags_and_split() -> None:
    base = hand_consensus()
    calm_skills = tuple(
        SkillConsensus(**{**s.__dict__, "needs_discussion": False, "reasons": ()})
        for s in base.skills
    )
    calm = PanelConsensus(
        **{**base.__dict__, "skills": calm_skills, "split_decision": False, "strong_no": ()}
    )
    changes = describe_changes(calm, base, MLE, [FeedbackChange("U0BBB", "edited")])
    assert changes[0] == "<@U0BBB> edited their feedback."
    assert "Needs discussion: +1 skill (System design and implementation)." in changes
    assert "The recommendations are now split between hire and no hire." in changes
    assert "Strong no from <@U0BBB>." in changes
    back = describe_changes(base, calm, MLE, [])
    assert f"Needs discussion: {MINUS}1 skill (System design and implementation)." in back
    assert "The recommendations are no longer split." in back
    first = describe_changes(None, base, MLE, [FeedbackChange("U0AAA", "submitted")])
    assert first[0] == "<@U0AAA> submitted feedback."
    assert describe_changes(base, base, MLE, []) == []


def test_describe_changes_consensus_and_agreement() -> None:
    base = hand_consensus()
    moved_skills = tuple(
        SkillConsensus(**{**s.__dict__, "consensus_label": "split Senior / Lead"})
        if s.skill_id == "fundamentals"
        else s
        for s in base.skills
    )
    moved = PanelConsensus(**{**base.__dict__, "skills": moved_skills, "unanimous": 13})
    changes = describe_changes(base, moved, MLE, [])
    assert changes == [
        "Consensus: Fundamental knowledge Senior → split Senior / Lead.",
        "Agreement: 13 of 15 skills rated by two or more interviewers got the same level "
        "from everyone.",
    ]


# -- the recruiter's notice -----------------------------------------------------------------


def test_not_in_channel_notice() -> None:
    data = summary_data(MLE, panel_feedback())
    text, blocks = build_not_in_channel_notice(data)
    check_message(text, blocks)
    body = all_text(blocks)
    assert "<#C0HIRING>" in text and "`/invite @interview-bot`" in body
    assert "retry" in body
    assert "*Ada Lovelace* — Senior ML Engineer" in body
    odd = SummaryData(**{**data.__dict__, "summary_channel": "not a <channel>"})
    text, blocks = build_not_in_channel_notice(odd)
    check_message(text, blocks)
    assert "`not a &lt;channel&gt;`" in all_text(blocks)


# -- packing helpers -----------------------------------------------------------------------------


def test_pack_and_split() -> None:
    assert pack(["a", "b"]) == ["a\nb"]
    assert pack(["x" * 2000, "y" * 2000]) == ["x" * 2000, "y" * 2000]
    packed = pack(["z" * 3000] * 100, max_blocks=10)
    assert len(packed) <= 10 and all(len(t) <= 3000 for t in packed)
    pieces = split_text("&amp;" * 1000, 3000)
    assert all(len(p) <= 3000 for p in pieces)
    assert "".join(pieces) == "&amp;" * 1000  # never cut inside an entity
    words = split_text("word " * 1000, 100)
    assert all(len(p) <= 100 and not p.endswith(" ") for p in words)
    assert " ".join(words).split() == ["word"] * 1000
