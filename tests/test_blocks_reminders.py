"""handlers.blocks.reminders: nudges, snooze / did-not-attend states, digest, escalation."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.models.blocks import ConfirmObject

from handlers.blocks.form_dm import OPEN_ACTION
from handlers.blocks.limits import (
    MESSAGE_MAX_BLOCKS,
    check_message,
)
from handlers.blocks.reminders import (
    NOT_ATTENDED_ACTION,
    NUDGE_NOW_ACTION,
    SNOOZE_HOUR_ACTION,
    SNOOZE_MORNING_ACTION,
    build_declined_notice,
    build_digest,
    build_escalation,
    build_not_attended,
    build_nudge,
    build_nudge_queued,
    build_snoozed,
    humanize_duration,
)
from rubric import Rubric, load_builtin
from storage.views import (
    DigestItem,
    DigestLine,
    FormContext,
    InterviewView,
    OwnFeedbackView,
    RatingView,
    RequestView,
)

RUBRIC: Rubric = load_builtin("mle")
BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)  # Mon 1 Mar 2027, 10:00 CET
END = START + timedelta(hours=1)
DUE = END + timedelta(hours=24)  # Tue 2 Mar 2027, 11:00 CET
NOW = DUE + timedelta(hours=3, minutes=20)
PUBLIC_ID = "req_8f3a2c"


def make_interview(
    *, interview_id: int = 42, candidate: str = "Ada Lovelace", state: str = "scheduled"
) -> InterviewView:
    return InterviewView(
        interview_id=interview_id,
        candidate=candidate,
        role="Senior ML Engineer",
        target_level="senior",
        starts_at=START,
        ends_at=END,
        state=state,
        hiring_channel="C0HIRING",
        recruiter="U0RECRUIT",
        hiring_lead="U0LEAD",
    )


def make_ctx(
    *,
    interview: InterviewView | None = None,
    request_state: str = "form_sent",
    feedback: OwnFeedbackView | None = None,
    editable: bool = True,
    focus: tuple[str, ...] = ("system_design", "ml_workflows"),
) -> FormContext:
    return FormContext(
        request=RequestView(
            public_id=PUBLIC_ID,
            interviewer="U0AAA",
            focus_skills=focus,
            state=request_state,
            due_at=DUE,
            dm_channel="D0AAA",
            dm_ts="1700000000.000100",
            interview=interview or make_interview(),
        ),
        rubric=RUBRIC,
        own_feedback=feedback,
        editable=editable,
        locked_reason=None if editable else "The summary has been posted.",
    )


# limits.py walks into a confirmation dialog and mistakes the dialog's own "confirm" button
# text for a nested dialog, so every valid `confirm` gets this one false report. The
# dialog's real limits are still checked (from the button). See test_limits_confirm_bug.


def checked(message: tuple[str, list[dict[str, Any]]]) -> tuple[str, list[dict[str, Any]]]:
    text, blocks = message
    assert text.strip()
    check_message(text, blocks)
    return text, blocks


def walk(node: Any) -> Iterator[Mapping[str, Any]]:
    if isinstance(node, Mapping):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list | tuple):
        for item in node:
            yield from walk(item)


def buttons(blocks: list[dict[str, Any]]) -> list[Mapping[str, Any]]:
    return [node for node in walk(blocks) if node.get("type") == "button"]


def all_text(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(
        node["text"]
        for node in walk(blocks)
        if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str)
    )


def nudge(number: int = 1, max_nudges: int = 3, **kwargs: Any) -> tuple[str, list[dict[str, Any]]]:
    return checked(
        build_nudge(make_ctx(**kwargs), tz=BERLIN, now=NOW, number=number, max_nudges=max_nudges)
    )


# -- humanised durations ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(0), "1 min"),
        (timedelta(seconds=59), "1 min"),
        (timedelta(minutes=45, seconds=59), "45 min"),
        (timedelta(hours=1), "1 h"),
        (timedelta(hours=3, minutes=20), "3 h 20 min"),
        (timedelta(days=1), "1 d"),
        (timedelta(days=1, hours=4, minutes=59), "1 d 4 h"),
        (timedelta(days=12, hours=23), "12 d 23 h"),
    ],
)
def test_humanize_duration(delta: timedelta, expected: str) -> None:
    assert humanize_duration(delta) == expected


# -- the nudge --------------------------------------------------------------------------


def test_nudge_wording_counts_reminders_and_overdue() -> None:
    text, blocks = nudge(1, 3)
    head = blocks[0]["text"]["text"]
    assert "Reminder 1 of 3: your feedback on *Ada Lovelace* (Senior ML Engineer)" in head
    assert "was due Tue 2 Mar 2027, 11:00 CET (overdue by 3 h 20 min)" in head
    # The lock-screen text says what, whose and when, without markup.
    assert text.startswith("Reminder 1 of 3: your feedback on Ada Lovelace (Senior ML Engineer)")
    assert "overdue by 3 h 20 min" in text and "*" not in text
    body = all_text(blocks)
    assert "Mon 1 Mar 2027, 10:00 CET (60 min)" in body
    assert "System design" in body or "system_design" in body
    assert "2 more reminders at most" in body


def test_nudge_last_and_single_remaining() -> None:
    assert "This is the last reminder." in all_text(nudge(3, 3)[1])
    assert "1 more reminder at most" in all_text(nudge(2, 3)[1])


@pytest.mark.parametrize(("number", "max_nudges"), [(4, 3), (1, 0)])
def test_nudge_forced_by_recruiter(number: int, max_nudges: int) -> None:
    text, blocks = nudge(number, max_nudges)
    body = all_text(blocks)
    assert "Your recruiter asked for this reminder" in body
    assert text.startswith("Your recruiter asked for this reminder")
    assert f"{number} of {max_nudges}" not in body
    assert "No further automatic reminders" in body


def test_nudge_before_due_says_when() -> None:
    ctx = make_ctx()
    _, blocks = checked(
        build_nudge(ctx, tz=BERLIN, now=DUE - timedelta(hours=2), number=1, max_nudges=2)
    )
    assert "is due Tue 2 Mar 2027, 11:00 CET (in 2 h)" in blocks[0]["text"]["text"]


def test_nudge_buttons_carry_only_the_public_id() -> None:
    _, blocks = nudge()
    actions = [b for b in blocks if b["type"] == "actions"]
    assert len(actions) == 1
    elements = actions[0]["elements"]
    assert [e["action_id"] for e in elements] == [
        OPEN_ACTION,
        SNOOZE_HOUR_ACTION,
        SNOOZE_MORNING_ACTION,
        NOT_ATTENDED_ACTION,
    ]
    assert OPEN_ACTION == "feedback_open"
    assert [e["text"]["text"] for e in elements] == [
        "Give feedback",
        "Snooze 1 h",
        "Snooze until tomorrow morning",
        "I did not attend",
    ]
    assert elements[0]["style"] == "primary"
    assert all(e["value"] == PUBLIC_ID for e in elements)


def test_not_attended_has_a_confirm_dialog() -> None:
    _, blocks = nudge()
    (button,) = [b for b in buttons(blocks) if b["action_id"] == NOT_ATTENDED_ACTION]
    confirm = button["confirm"]
    assert confirm["title"]["text"] == "Did not attend?"
    assert confirm["confirm"]["text"] == "Yes, I did not attend"
    assert confirm["deny"]["text"] == "Cancel"
    assert "recruiter" in confirm["text"]["text"]
    assert "no more reminders" in confirm["text"]["text"]
    assert "confirm" not in {k for b in buttons(blocks) if b is not button for k in b}


def test_the_not_attended_confirm_dialog_passes_the_limits_checker() -> None:
    text, blocks = build_nudge(make_ctx(), tz=BERLIN, now=NOW, number=1, max_nudges=3)
    check_message(text, blocks)


def test_confirm_dialog_within_slack_limits() -> None:
    _, blocks = nudge()
    (button,) = [b for b in buttons(blocks) if b["action_id"] == NOT_ATTENDED_ACTION]
    ConfirmObject(**button["confirm"]).validate_json()
    assert len(button["confirm"]["text"]["text"]) <= 300


def test_nudge_without_focus_skills() -> None:
    assert "None assigned" in all_text(nudge(focus=())[1])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"interview": make_interview(state="cancelled")},
        {"request_state": "declined"},
        {"editable": False},
        {
            "feedback": OwnFeedbackView(
                recommendation="yes",
                notes="n",
                ratings=(RatingView("system_design", "senior", "e"),),
                submitted_at=NOW,
                updated_at=NOW,
            )
        },
    ],
)
def test_nudge_never_asks_when_no_feedback_is_wanted(kwargs: dict[str, Any]) -> None:
    _, blocks = nudge(**kwargs)
    ids = {b["action_id"] for b in buttons(blocks)}
    assert not ids & {OPEN_ACTION, SNOOZE_HOUR_ACTION, SNOOZE_MORNING_ACTION, NOT_ATTENDED_ACTION}
    assert "Reminder" not in all_text(blocks)


def test_nudge_rejects_nonsense_numbers() -> None:
    with pytest.raises(ValueError):
        build_nudge(make_ctx(), tz=BERLIN, now=NOW, number=0, max_nudges=3)
    with pytest.raises(ValueError):
        build_nudge(make_ctx(), tz=BERLIN, now=NOW, number=1, max_nudges=-1)


def test_nudge_escapes_and_truncates_names() -> None:
    ctx = make_ctx(interview=make_interview(candidate="<!channel> & " + "x" * 5000))
    text, blocks = checked(build_nudge(ctx, tz=BERLIN, now=NOW, number=1, max_nudges=3))
    assert "<!channel>" not in text + json.dumps(blocks)
    assert "&lt;!channel&gt; &amp;" in blocks[0]["text"]["text"]


# -- after the nudge --------------------------------------------------------------------


def test_snoozed_keeps_give_feedback_only() -> None:
    until = datetime(2027, 3, 3, 7, 0, tzinfo=UTC)  # Wed 3 Mar 2027, 08:00 CET
    text, blocks = checked(build_snoozed(make_ctx(), until=until, tz=BERLIN))
    assert "Snoozed until Wed 3 Mar 2027, 08:00 CET — we'll remind you then." in all_text(blocks)
    assert "Wed 3 Mar 2027, 08:00 CET" in text
    (button,) = buttons(blocks)
    assert button["action_id"] == OPEN_ACTION and button["value"] == PUBLIC_ID


def test_not_attended_message_has_no_buttons() -> None:
    text, blocks = checked(build_not_attended(make_ctx()))
    body = all_text(blocks)
    assert body.startswith("Noted: you did not attend the interview with *Ada Lovelace*")
    assert "no more reminders" in body and "the recruiter has been told" in body
    assert buttons(blocks) == []
    assert "Ada Lovelace" in text


@pytest.mark.parametrize(
    ("remaining", "expected", "status"),
    [
        (2, 3, "Still to give feedback: 2 of 3."),
        (0, 3, "All expected feedback is in (3 of 3)."),
        (0, 0, "No one on the panel is expected"),
    ],
)
def test_declined_notice_for_recruiter(remaining: int, expected: int, status: str) -> None:
    text, blocks = checked(
        build_declined_notice(make_ctx(), remaining=remaining, expected=expected)
    )
    body = all_text(blocks)
    assert body.startswith(
        "<@U0AAA> says they did not attend the interview with *Ada Lovelace* "
        "(Senior ML Engineer); they are no longer expected to give feedback."
    )
    assert status in body
    assert "<@U0AAA>" in text and buttons(blocks) == []


def test_declined_notice_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError):
        build_declined_notice(make_ctx(), remaining=4, expected=3)
    with pytest.raises(ValueError):
        build_declined_notice(make_ctx(), remaining=-1, expected=3)


def test_nudge_queued() -> None:
    text, blocks = checked(build_nudge_queued("U0BBB"))
    assert text == "Nudge queued for <@U0BBB>; it goes out outside their quiet hours."
    assert buttons(blocks) == []


# -- the recruiter's digest -------------------------------------------------------------


def line(
    user: str,
    *,
    overdue: timedelta = timedelta(days=1, hours=4),
    sent: int = 3,
    error: str | None = None,
    late: bool = False,
) -> DigestLine:
    return DigestLine(
        interviewer=user,
        public_id=f"req_{user.lower()}",
        overdue_by=overdue,
        reminders_sent=sent,
        last_error=error,
        after_summary=late,
    )


def test_digest_lines_and_buttons() -> None:
    items = [
        DigestItem(
            make_interview(),
            (
                line("U1"),
                line("U2", overdue=timedelta(minutes=45), sent=1, error="user_not_found"),
            ),
        ),
        DigestItem(
            make_interview(interview_id=43, candidate="Grace Hopper"),
            (line("U3", overdue=timedelta(0), sent=0),),
        ),
    ]
    text, blocks = checked(build_digest(items, tz=BERLIN, now=NOW))
    assert text == "Missing feedback: 3 people across 2 interviews"
    body = all_text(blocks)
    assert "*Ada Lovelace* (Senior ML Engineer) · Mon 1 Mar 2027, 10:00 CET (60 min)" in body
    assert "*Grace Hopper*" in body
    sections = {b["accessory"]["value"]: b for b in blocks if "accessory" in b}
    assert set(sections) == {"req_u1", "req_u2", "req_u3"}
    for public_id, block in sections.items():
        button = block["accessory"]
        assert button["action_id"] == NUDGE_NOW_ACTION == "digest_nudge_now"
        assert button["text"]["text"] == "Nudge now"
        assert button["value"] == public_id
    u1 = sections["req_u1"]["text"]["text"]
    assert u1.startswith("<@U1>") and "overdue by 1 d 4 h" in u1 and "3 reminders sent" in u1
    u2 = sections["req_u2"]["text"]["text"]
    assert "overdue by 45 min" in u2 and "1 reminder sent" in u2
    assert "reminders stopped: Slack says user_not_found — check the Slack ID" in u2
    u3 = sections["req_u3"]["text"]["text"]
    assert "not overdue yet" in u3 and "no reminders sent yet" in u3


def test_digest_says_late_not_overdue_once_the_summary_is_out() -> None:
    items = [
        DigestItem(make_interview(), (line("U1"), line("U2", late=True, sent=3))),
    ]
    text, blocks = checked(build_digest(items, tz=BERLIN, now=NOW))
    assert text == (
        "Missing feedback: 2 people across 1 interview "
        "(1 late: the summary was posted without them)"
    )
    [late] = [b for b in blocks if "<@U2>" in all_text([b])]
    late_text = all_text([late])
    assert "late: the summary was posted without their feedback" in late_text
    assert "overdue" not in late_text
    assert "3 reminders sent" in late_text
    assert "accessory" not in late  # no Nudge now: nothing they give now counts
    assert [b["value"] for b in buttons(blocks)] == ["req_u1"]
    # Only late lines: no button at all, and no "overdue" anywhere.
    _, only_late = checked(
        build_digest([DigestItem(make_interview(), (line("U2", late=True),))], tz=BERLIN, now=NOW)
    )
    assert buttons(only_late) == [] and "overdue" not in all_text(only_late)


def test_a_nudge_after_the_summary_is_the_form_dm() -> None:
    ctx = dataclasses.replace(make_ctx(), after_summary=True)
    text, blocks = checked(build_nudge(ctx, tz=BERLIN, now=NOW, number=1, max_nudges=3))
    assert "Reminder" not in text and "Snooze" not in all_text(blocks)
    assert "summary is already posted" in all_text(blocks)


def test_digest_unknown_error_shown_plainly_and_escaped() -> None:
    items = [DigestItem(make_interview(), (line("U1", error="<weird> & " + "e" * 500),))]
    _, blocks = checked(build_digest(items, tz=BERLIN, now=NOW))
    body = all_text(blocks)
    assert "reminders stopped: Slack says &lt;weird&gt; &amp;" in body
    assert "<weird>" not in body


def test_digest_singular_and_empty() -> None:
    text, _ = checked(
        build_digest([DigestItem(make_interview(), (line("U1"),))], tz=BERLIN, now=NOW)
    )
    assert text == "Missing feedback: 1 person across 1 interview"
    text, blocks = checked(build_digest([], tz=BERLIN, now=NOW))
    assert buttons(blocks) == []
    text2, blocks2 = checked(build_digest([DigestItem(make_interview(), ())], tz=BERLIN, now=NOW))
    assert buttons(blocks2) == [] and text2 == text


def digest_of(interviews: int, per_interview: int) -> list[DigestItem]:
    return [
        DigestItem(
            make_interview(interview_id=i, candidate=f"Candidate {i}"),
            tuple(line(f"U{i}X{j}") for j in range(per_interview)),
        )
        for i in range(interviews)
    ]


@pytest.mark.parametrize(("interviews", "per_interview"), [(40, 5), (1, 200), (200, 1), (3, 15)])
def test_digest_caps_within_50_blocks(interviews: int, per_interview: int) -> None:
    total = interviews * per_interview
    text, blocks = checked(build_digest(digest_of(interviews, per_interview), tz=BERLIN, now=NOW))
    assert len(blocks) <= MESSAGE_MAX_BLOCKS
    people = "person" if total == 1 else "people"
    assert text.startswith(f"Missing feedback: {total} {people} across {interviews} interview")
    shown = len([b for b in blocks if "accessory" in b])
    hidden = total - shown
    body = all_text(blocks)
    if hidden:
        assert f"and {hidden} more" in body
    else:
        assert "more" not in body
    # Every interview heading shown is followed by at least one of its lines.
    for i, block in enumerate(blocks):
        if "accessory" not in block and block["type"] == "section" and "Candidate" in str(block):
            assert "accessory" in blocks[i + 1]


def test_digest_exactly_fits_without_and_more() -> None:
    # 1 intro + 1 heading + 47 lines + 1 footer = 50 blocks: all shown.
    _, blocks = checked(build_digest(digest_of(1, 47), tz=BERLIN, now=NOW))
    assert len(blocks) == MESSAGE_MAX_BLOCKS
    assert len([b for b in blocks if "accessory" in b]) == 47
    assert "more" not in all_text(blocks)
    _, blocks = checked(build_digest(digest_of(1, 48), tz=BERLIN, now=NOW))
    assert len(blocks) == MESSAGE_MAX_BLOCKS
    assert "and 2 more people" in all_text(blocks)


# -- the hiring lead's escalation -------------------------------------------------------


def test_escalation() -> None:
    text, blocks = checked(build_escalation(make_interview(), ["U1", "U2"], tz=BERLIN))
    body = all_text(blocks)
    assert body.startswith("Feedback still missing for *Ada Lovelace* (Senior ML Engineer)")
    assert "<@U1>, <@U2>." in body
    # Sent only while no summary is posted: it never points anyone at a summary.
    assert "no summary is posted in <#C0HIRING> yet" in body
    assert "partial summary was posted" not in body
    assert "Ada Lovelace" in text and "2 interviewers" in text
    assert buttons(blocks) == []


def test_escalation_many_missing_and_none() -> None:
    missing = [f"U{i:08d}" for i in range(500)]
    _, blocks = checked(build_escalation(make_interview(), missing, tz=BERLIN))
    assert "and 460 more" in all_text(blocks)
    text, blocks = checked(build_escalation(make_interview(), [], tz=BERLIN))
    assert "All feedback" in text


# -- independence -----------------------------------------------------------------------


def test_digest_and_escalation_types_carry_no_feedback() -> None:
    # Independence by construction: what the recruiter's builders read holds no ratings,
    # notes or recommendations. A new field here needs a look at what it would reveal.
    assert {f.name for f in dataclasses.fields(DigestLine)} == {
        "interviewer",
        "public_id",
        "overdue_by",
        "reminders_sent",
        "last_error",
        "after_summary",
    }
    assert {f.name for f in dataclasses.fields(DigestItem)} == {"interview", "missing"}


def test_interviewer_messages_name_no_one_else() -> None:
    ctx = make_ctx()
    for message in (
        build_nudge(ctx, tz=BERLIN, now=NOW, number=1, max_nudges=3),
        build_nudge(ctx, tz=BERLIN, now=NOW, number=5, max_nudges=3),
        build_snoozed(ctx, until=NOW, tz=BERLIN),
        build_not_attended(ctx),
    ):
        text, blocks = checked(message)
        assert "<@" not in text + json.dumps(blocks)
