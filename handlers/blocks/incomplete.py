"""What a recruiter sees of an interview a source could not complete: a DM and a Home item.

Both name exactly what is missing (the source's own words, e.g. "no Slack user
has the email eve@example.com") and carry the "Complete and schedule" button,
whose value is the incomplete interview's number and nothing else; the button
opens the schedule modal prefilled with what the source did give.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from handlers.blocks.form_dm import Block, context, section
from handlers.blocks.text import escape_mrkdwn, format_when, plain, truncate
from storage.incomplete_view import IncompleteView

__all__ = [
    "COMPLETE_ACTION",
    "build_incomplete_dm",
    "build_incomplete_done",
    "complete_button",
    "incomplete_home_item",
    "missing_lines",
]

COMPLETE_ACTION = "incomplete_complete"
NAME_MAX = 120
MISSING_SHOWN = 10  # lines of "what is missing"; the rest are counted

# How the import-row fields read to a person.
_FIELD_NAMES = {
    "job": "Job",
    "hiring_channel": "Hiring channel",
    "recruiter": "Recruiter",
    "hiring_lead": "Hiring lead",
    "panel": "Panel",
}


def field_name(path: str) -> str:
    """``panel[1].interviewer`` -> "Interviewer 2"; ``hiring_channel`` -> "Hiring channel"."""
    if path.startswith("panel[") and "]" in path:
        number = path[len("panel[") : path.index("]")]
        if number.isdigit():
            return f"Interviewer {int(number) + 1}"
    return _FIELD_NAMES.get(path, path.replace("_", " ").capitalize() or "Interview")


def missing_lines(item: IncompleteView) -> list[str]:
    """One mrkdwn bullet per missing thing, at most MISSING_SHOWN of them."""
    lines = [
        f"• *{escape_mrkdwn(field_name(field))}*: {escape_mrkdwn(message)}"
        for field, message in item.missing[:MISSING_SHOWN]
    ]
    hidden = len(item.missing) - MISSING_SHOWN
    if hidden > 0:
        lines.append(f"• …and {hidden} more")
    return lines


def _title(item: IncompleteView) -> str:
    role = item.row.get("role") or item.row.get("job")
    title = f"*{escape_mrkdwn(truncate(item.candidate, NAME_MAX))}*"
    if isinstance(role, str) and role.strip():
        title += f" — {escape_mrkdwn(truncate(role.strip(), NAME_MAX))}"
    return title


def _when(item: IncompleteView, tz: tzinfo) -> str | None:
    value = item.row.get("starts_at")
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return format_when(moment, tz) if moment.tzinfo is not None else None


def complete_button(incomplete_id: int, *, primary: bool = True) -> Block:
    button: Block = {
        "type": "button",
        "action_id": COMPLETE_ACTION,
        "text": plain("Complete and schedule"),
        "value": str(incomplete_id),
    }
    if primary:
        button["style"] = "primary"
    return button


def build_incomplete_dm(item: IncompleteView, *, tz: tzinfo) -> tuple[str, list[Block]]:
    """The DM to the recruiter: which interview, from which source, what is missing."""
    when = _when(item, tz)
    headline = f"An interview from *{escape_mrkdwn(item.source)}* could not be scheduled."
    lines = [headline, _title(item) + (f", {when}" if when else "")]
    blocks: list[Block] = [
        section("\n".join(lines)),
        section("*Missing:*\n" + "\n".join(missing_lines(item))),
        {
            "type": "actions",
            "block_id": f"incomplete_{item.id}",
            "elements": [complete_button(item.id)],
        },
        context(
            "Nothing is sent to the panel until it is complete. Complete it here, or fix "
            "it at the source (or in the config mapping) and it completes itself. "
            f"Source id `{escape_mrkdwn(truncate(item.external_id, NAME_MAX))}`."
        ),
    ]
    fields = ", ".join(field_name(f) for f, _ in item.missing[:MISSING_SHOWN])
    text = truncate(
        f"Interview of {item.candidate} from {item.source} is incomplete: missing {fields}", 300
    )
    return text, blocks


def incomplete_home_item(item: IncompleteView, *, tz: tzinfo) -> Block:
    """One incomplete interview in App Home, with the button."""
    when = _when(item, tz)
    line = _title(item) + (f", {when}" if when else "") + f" · from {escape_mrkdwn(item.source)}"
    missing = ", ".join(field_name(f) for f, _ in item.missing[:MISSING_SHOWN])
    return section(
        f"{line}\nMissing: {escape_mrkdwn(missing)}",
        accessory=complete_button(item.id, primary=False),
    )


def build_incomplete_done(item: IncompleteView, *, interview_id: int) -> tuple[str, list[Block]]:
    """The same DM once the interview was completed (here, by anyone, or by its source)."""
    headline = f"An interview from *{escape_mrkdwn(item.source)}* is now complete."
    lines = [headline, _title(item), f"It is interview {interview_id}; forms go out after it ends."]
    text = truncate(f"Interview of {item.candidate} is complete (interview {interview_id})", 300)
    return text, [section("\n".join(lines))]
