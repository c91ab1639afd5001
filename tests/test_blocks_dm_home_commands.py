"""handlers.blocks: the feedback DM, App Home and /interview replies (pure builders)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from handlers.blocks.app_home import OPEN_LIMIT, OWNED_LIMIT, RECENT_LIMIT, build_app_home
from handlers.blocks.commands import build_help, build_list, build_notice
from handlers.blocks.form_dm import EDIT_ACTION, OPEN_ACTION, build_form_dm
from handlers.blocks.limits import check_message, check_view
from rubric import Rubric, load_builtin
from storage.views import (
    FormContext,
    InterviewProgress,
    InterviewView,
    OwnFeedbackView,
    RatingView,
    RequestView,
)

RUBRIC: Rubric = load_builtin("mle")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)  # Mon 1 Mar 2027, 10:00 CET
END = START + timedelta(hours=1)
DUE = END + timedelta(hours=24)  # Tue 2 Mar 2027, 11:00 CET
BEFORE_DUE = END + timedelta(hours=2)
AFTER_DUE = DUE + timedelta(hours=3)


def make_interview(
    *,
    interview_id: int = 42,
    candidate: str = "Ada Lovelace",
    role: str = "Senior ML Engineer",
    state: str = "scheduled",
    starts_at: datetime = START,
) -> InterviewView:
    return InterviewView(
        interview_id=interview_id,
        candidate=candidate,
        role=role,
        target_level="senior",
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=1),
        state=state,
        hiring_channel="C0HIRING",
        recruiter="U0RECRUIT",
        hiring_lead="U0LEAD",
    )


def own_feedback(*, edited: bool = False) -> OwnFeedbackView:
    submitted = END + timedelta(hours=1, minutes=3)
    return OwnFeedbackView(
        recommendation="yes",
        notes="MY-PRIVATE-NOTES",
        ratings=(RatingView("system_design", "senior", "MY-EVIDENCE"),),
        submitted_at=submitted,
        updated_at=submitted + timedelta(hours=2) if edited else submitted,
    )


def make_ctx(
    *,
    public_id: str = "req_8f3a2c",
    request_state: str = "form_sent",
    interview: InterviewView | None = None,
    feedback: OwnFeedbackView | None = None,
    editable: bool = True,
    locked_reason: str | None = None,
    focus: tuple[str, ...] = ("system_design", "ml_workflows"),
    due_at: datetime = DUE,
    after_summary: bool = False,
    shadow: bool = False,
) -> FormContext:
    return FormContext(
        request=RequestView(
            public_id=public_id,
            interviewer="U0AAA",
            focus_skills=focus,
            state=request_state,
            due_at=due_at,
            dm_channel="D0AAA",
            dm_ts="1700000000.000100",
            interview=interview or make_interview(),
        ),
        rubric=RUBRIC,
        own_feedback=feedback,
        editable=editable,
        locked_reason=locked_reason,
        after_summary=after_summary,
        shadow=shadow,
    )


def progress(
    *, interview: InterviewView | None = None, missing: tuple[str, ...] = ("U0BBB", "U0CCC")
) -> InterviewProgress:
    return InterviewProgress(
        interview=interview or make_interview(),
        expected=4,
        submitted=4 - len(missing),
        missing=missing,
    )


# -- helpers ---------------------------------------------------------------------------


def walk(node: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(node, Mapping):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list | tuple):
        for item in node:
            yield from walk(item)


def buttons(blocks: Any) -> list[Mapping[str, Any]]:
    return [n for n in walk(blocks) if n.get("type") == "button"]


def all_text(blocks: Any) -> str:
    return "\n".join(n["text"] for n in walk(blocks) if n.get("type") in ("mrkdwn", "plain_text"))


def context_text(blocks: list[dict[str, Any]]) -> str:
    return all_text([b for b in blocks if b["type"] == "context"])


def message(built: tuple[str, list[dict[str, Any]]]) -> tuple[str, list[dict[str, Any]]]:
    text, blocks = built
    check_message(text, blocks)
    return text, blocks


# -- the form DM -----------------------------------------------------------------------


def test_pending_dm_says_who_what_when_and_due() -> None:
    text, blocks = message(build_form_dm(make_ctx(), tz=BERLIN))
    body = all_text(blocks)
    assert "Time to give feedback on *Ada Lovelace* — Senior ML Engineer (target: Senior)" in body
    assert "Mon 1 Mar 2027, 10:00 CET" in body  # the interview, in the interviewer's tz
    assert "Tue 2 Mar 2027, 11:00 CET" in body  # due
    assert "System design and implementation, End-to-end ML workflows" in body
    assert "system_design" not in body  # display names, not ids
    assert "Ada Lovelace" in text
    assert "Senior ML Engineer" in text
    assert "Tue 2 Mar 2027, 11:00 CET" in text
    assert "*" not in text  # no markup in what phones show


def test_pending_dm_button_opens_the_form_with_only_the_public_id() -> None:
    _text, blocks = message(build_form_dm(make_ctx(public_id="req_8f3a2c"), tz=BERLIN))
    [button] = buttons(blocks)
    assert "Give feedback" in button["text"]["text"]
    assert "feedback" in button["text"]["text"].lower()  # DESIGN.md contract
    assert button["action_id"] == OPEN_ACTION == "feedback_open"
    assert button["value"] == "req_8f3a2c"
    assert button.get("style") == "primary"


def test_dm_times_follow_the_interviewers_time_zone() -> None:
    _text, blocks = message(build_form_dm(make_ctx(), tz=NEW_YORK))
    body = all_text(blocks)
    assert "Mon 1 Mar 2027, 04:00 EST" in body
    assert "Tue 2 Mar 2027, 05:00 EST" in body


def test_dm_without_focus_skills_says_so() -> None:
    _text, blocks = message(build_form_dm(make_ctx(focus=()), tz=BERLIN))
    assert "None assigned" in all_text(blocks)


def test_reminder_dm_is_worded_as_a_reminder() -> None:
    text, blocks = message(build_form_dm(make_ctx(), tz=BERLIN, reminder=True))
    assert text.startswith("Reminder")
    assert "Reminder" in all_text(blocks)
    [button] = buttons(blocks)
    assert button["action_id"] == OPEN_ACTION


def test_submitted_editable_dm_offers_edit() -> None:
    ctx = make_ctx(request_state="submitted", feedback=own_feedback())
    text, blocks = message(build_form_dm(ctx, tz=BERLIN))
    body = all_text(blocks)
    assert "Feedback submitted ✓ Mon 1 Mar 2027, 12:03 CET" in body
    assert "Feedback submitted ✓" in text and "Ada Lovelace" in text
    [button] = buttons(blocks)
    assert "Edit" in button["text"]["text"]
    assert button["action_id"] == EDIT_ACTION == "feedback_edit"
    assert button["value"] == ctx.request.public_id
    # The DM does not echo the feedback itself.
    assert "MY-PRIVATE-NOTES" not in json.dumps(blocks)
    assert "MY-EVIDENCE" not in json.dumps(blocks)


def test_submitted_dm_mentions_a_later_edit() -> None:
    ctx = make_ctx(request_state="submitted", feedback=own_feedback(edited=True))
    _text, blocks = message(build_form_dm(ctx, tz=BERLIN))
    assert "last edited Mon 1 Mar 2027, 14:03 CET" in all_text(blocks)


def test_submitted_locked_dm_gives_the_reason_and_no_button() -> None:
    ctx = make_ctx(
        request_state="submitted",
        feedback=own_feedback(),
        editable=False,
        locked_reason="The summary was posted on Wed 3 Mar; feedback is locked.",
    )
    _text, blocks = message(build_form_dm(ctx, tz=BERLIN))
    assert buttons(blocks) == []
    assert "The summary was posted on Wed 3 Mar; feedback is locked." in context_text(blocks)
    assert "Feedback submitted ✓" in all_text(blocks)


def test_unsubmitted_but_closed_dm_has_no_button() -> None:
    ctx = make_ctx(editable=False, locked_reason="The summary deadline has passed.")
    text, blocks = message(build_form_dm(ctx, tz=BERLIN))
    assert buttons(blocks) == []
    assert "The summary deadline has passed." in context_text(blocks)
    assert "closed" in text


@pytest.mark.parametrize("feedback", [None, own_feedback()])
def test_cancelled_dm_needs_no_feedback_and_has_no_button(
    feedback: OwnFeedbackView | None,
) -> None:
    ctx = make_ctx(interview=make_interview(state="cancelled"), feedback=feedback)
    text, blocks = message(build_form_dm(ctx, tz=BERLIN, reminder=True))
    assert buttons(blocks) == []
    assert "cancelled — no feedback needed" in all_text(blocks)
    assert "cancelled" in text and "no feedback needed" in text


def test_declined_request_dm_needs_no_feedback() -> None:
    text, blocks = message(build_form_dm(make_ctx(request_state="declined"), tz=BERLIN))
    assert buttons(blocks) == []
    assert "no feedback needed" in all_text(blocks).lower()
    assert "No feedback needed" in text


def test_dm_after_the_summary_says_it_is_out_and_how_feedback_now_is_shown() -> None:
    before_text, before = message(build_form_dm(make_ctx(), tz=BERLIN))
    text, blocks = message(build_form_dm(make_ctx(after_summary=True), tz=BERLIN))
    # First thing read: the summary is out; what is given now is shown apart, never counted.
    first = all_text(blocks[:1])
    assert first.startswith(":hourglass: The summary is already posted in the hiring channel.")
    assert "shown in its thread as given after the summary" in first
    assert "does not change the panel's consensus" in first
    assert text.startswith("Summary posted for Ada Lovelace") and "after it" in text
    assert "summary" not in all_text(before) and "summary" not in before_text
    # Still open: their evidence has value. No due date: it is no longer due.
    [button] = buttons(blocks)
    assert (button["action_id"], button["value"]) == (OPEN_ACTION, "req_8f3a2c")
    assert "Tue 2 Mar 2027, 11:00 CET" not in all_text(blocks)
    assert "System design and implementation" in all_text(blocks)


def test_dm_after_the_summary_for_an_edit_says_the_earlier_version_counts() -> None:
    ctx = make_ctx(feedback=own_feedback(), after_summary=True)
    _text, blocks = message(build_form_dm(ctx, tz=BERLIN))
    assert [b["action_id"] for b in buttons(blocks)] == [EDIT_ACTION]
    notice = context_text(blocks)
    assert "An edit you make now is shown in its thread as made after the summary" in notice
    assert "the version from before the summary keeps counting" in notice
    # Not editable: no notice (nothing they can give or change).
    locked = make_ctx(feedback=own_feedback(), editable=False, locked_reason="Locked.")
    assert "summary" not in all_text(message(build_form_dm(locked, tz=BERLIN))[1])


def test_shadow_dm_says_it_never_counts() -> None:
    _text, blocks = message(build_form_dm(make_ctx(shadow=True), tz=BERLIN))
    assert "You are a *shadow* on this panel" in context_text(blocks)
    assert "never counts" in context_text(blocks)
    _text, blocks = message(build_form_dm(make_ctx(shadow=True, after_summary=True), tz=BERLIN))
    assert "As a shadow, yours never counts anyway." in all_text(blocks[:1])


def test_dm_escapes_names_and_survives_long_ones() -> None:
    ctx = make_ctx(
        interview=make_interview(candidate="<!channel> & " + "x" * 190, role="R&D <lead>" * 20)
    )
    text, blocks = message(build_form_dm(ctx, tz=BERLIN))
    dumped = json.dumps(blocks)
    assert "<!channel>" not in dumped and "<!channel>" not in text
    assert "&lt;!channel&gt; &amp;" in dumped
    assert len(text) < 300


# -- App Home --------------------------------------------------------------------------


def home(**kwargs: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "open_forms": [],
        "recent": [],
        "owned": [],
        "tz": BERLIN,
        "now": BEFORE_DUE,
    }
    args.update(kwargs)
    view = build_app_home(**args)
    check_view(view)
    assert view["type"] == "home"
    return view


def headers(view: Mapping[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in view["blocks"] if b["type"] == "header"]


def test_empty_home_says_what_will_appear() -> None:
    view = home()
    assert any(h.startswith("Feedback to give") for h in headers(view))
    assert "Recently submitted" in headers(view)
    assert any(h.startswith("Your interviews") for h in headers(view))
    body = all_text(view["blocks"])
    assert "feedback form appears here" in body
    assert "Feedback you submit appears here" in body
    assert "Interviews you schedule as a recruiter, or run as hiring lead, appear here" in body
    assert buttons(view["blocks"]) == []


def test_home_open_form_has_candidate_role_when_due_and_button() -> None:
    view = home(open_forms=[make_ctx(public_id="req_1")])
    body = all_text(view["blocks"])
    assert "*Ada Lovelace* — Senior ML Engineer" in body
    assert "Mon 1 Mar 2027, 10:00 CET" in body
    assert "due Tue 2 Mar 2027, 11:00 CET" in body
    [button] = buttons(view["blocks"])
    assert button["action_id"] == OPEN_ACTION and button["value"] == "req_1"
    assert "Give feedback" in button["text"]["text"]


def test_home_marks_overdue_forms_and_lists_them_first() -> None:
    late = make_ctx(public_id="req_late", due_at=DUE - timedelta(hours=30))
    soon = make_ctx(public_id="req_soon")
    view = home(open_forms=[soon, late], now=DUE - timedelta(hours=1))
    assert [b["value"] for b in buttons(view["blocks"])] == ["req_late", "req_soon"]
    assert "overdue" in all_text(view["blocks"])


def test_home_says_a_form_is_no_longer_overdue_once_the_summary_is_out() -> None:
    late = make_ctx(public_id="req_late", due_at=DUE - timedelta(hours=30), after_summary=True)
    view = home(open_forms=[late], now=DUE - timedelta(hours=1))
    body = all_text(view["blocks"])
    assert "overdue" not in body
    assert "summary posted" in body and "after it" in body
    [button] = buttons(view["blocks"])  # still welcome: the evidence has value
    assert button["value"] == "req_late"


def test_home_recent_items_edit_only_while_editable() -> None:
    editable = make_ctx(public_id="req_e", feedback=own_feedback())
    locked = make_ctx(
        public_id="req_l", feedback=own_feedback(), editable=False, locked_reason="Locked: posted."
    )
    view = home(recent=[editable, locked])
    [button] = buttons(view["blocks"])
    assert button["action_id"] == EDIT_ACTION and button["value"] == "req_e"
    body = all_text(view["blocks"])
    assert "Submitted ✓" in body and "Locked: posted." in body


def test_home_owned_interviews_show_progress_and_who_is_missing() -> None:
    view = home(owned=[progress()])
    body = all_text(view["blocks"])
    assert (
        "*Ada Lovelace* — Senior ML Engineer, Mon 1 Mar 2027, 10:00 CET · 2 of 4 submitted" in body
    )
    assert "<@U0BBB>" in body and "<@U0CCC>" in body


def test_home_for_an_interviewer_mentions_nobody() -> None:
    # Open and recent items are the viewer's own; nobody else is named.
    view = home(open_forms=[make_ctx()], recent=[make_ctx(feedback=own_feedback())])
    dumped = json.dumps(view)
    assert "<@" not in dumped
    for user in ("U0RECRUIT", "U0LEAD", "U0AAA"):
        assert user not in dumped
    assert "MY-PRIVATE-NOTES" not in dumped


def test_home_caps_every_list_and_counts_the_rest() -> None:
    many_missing = tuple(f"U0M{i:04d}" for i in range(60))
    view = home(
        open_forms=[make_ctx(public_id=f"req_{i}") for i in range(200)],
        recent=[make_ctx(public_id=f"rec_{i}", feedback=own_feedback()) for i in range(200)],
        owned=[progress(missing=many_missing) for _ in range(200)],
    )
    assert len(view["blocks"]) <= 100
    body = all_text(view["blocks"])
    assert f"and {200 - OPEN_LIMIT} more" in body
    assert f"and {200 - RECENT_LIMIT} more" in body
    assert f"and {200 - OWNED_LIMIT} more" in body
    assert "and 50 more" in body  # missing people beyond the mention cap
    assert len(json.dumps(view).encode()) < 250_000


def test_home_cancelled_form_has_no_button() -> None:
    view = home(open_forms=[make_ctx(interview=make_interview(state="cancelled"))])
    assert buttons(view["blocks"]) == []
    assert "No feedback needed" in all_text(view["blocks"])


# -- /interview ------------------------------------------------------------------------


def test_help_lists_every_subcommand() -> None:
    text, blocks = message(build_help())
    body = all_text(blocks)
    for usage in ("/interview help", "/interview list", "/interview schedule"):
        assert usage in body
        assert usage.split()[1] in text
    assert "/interview cancel &lt;id&gt;" in body  # shows as <id> in Slack
    assert "recruiters" in body


def test_list_shows_pending_feedback_and_owned_interviews_with_ids() -> None:
    text, blocks = message(
        build_list(
            open_forms=[make_ctx(public_id="req_9")],
            owned=[progress(interview=make_interview(interview_id=4711))],
            tz=BERLIN,
            now=AFTER_DUE,
        )
    )
    body = all_text(blocks)
    assert "2 of 4 submitted" in body
    assert "`4711`" in body
    assert "cancel &lt;id&gt;" in body
    assert "overdue" in body
    [button] = buttons(blocks)
    assert button["action_id"] == OPEN_ACTION and button["value"] == "req_9"
    assert text == "You have 1 feedback form to fill in (1 overdue) and 1 interview you own"


def test_list_when_nothing_is_pending() -> None:
    text, blocks = message(build_list(open_forms=[], owned=[], tz=BERLIN, now=BEFORE_DUE))
    assert text == "You have no feedback forms to fill in"
    assert "Nothing waiting for your feedback." in all_text(blocks)
    assert "cancel" not in all_text(blocks)


def test_list_caps_long_lists_within_a_message() -> None:
    _text, blocks = message(
        build_list(
            open_forms=[make_ctx(public_id=f"req_{i}") for i in range(120)],
            owned=[progress(interview=make_interview(interview_id=i)) for i in range(120)],
            tz=BERLIN,
            now=BEFORE_DUE,
        )
    )
    assert len(blocks) <= 50
    assert "and 110 more" in all_text(blocks)
    assert "and 105 more" in all_text(blocks)


def test_notice() -> None:
    text, blocks = message(build_notice("Only recruiters can schedule interviews."))
    assert text == "Only recruiters can schedule interviews."
    assert all_text(blocks) == "Only recruiters can schedule interviews."
    long_text, _long_blocks = message(build_notice("x" * 5000))
    assert len(long_text) <= 300
