"""Calibration in Slack: the team report (aggregates only) and each interviewer's own view.

Pure builders over :mod:`storage.calibration` results. Privacy is built in here as
well as in the math: the team report names no interviewer and ranks nobody; the
private view shows one person their own figures, never anyone else's.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from handlers.blocks.app_home import header
from handlers.blocks.form_dm import Block, context, section
from handlers.blocks.limits import MESSAGE_MAX_BLOCKS
from handlers.blocks.summary import ALPHA, date_token, pack
from handlers.blocks.text import escape_mrkdwn, truncate
from rubric.calibration import (
    MIN_INTERVIEWERS_FOR_SPREAD,
    NOTABLE_DEVIATION,
    Calibration,
    Deviation,
    InterviewerCalibration,
    SkillCalibration,
    VersionCalibration,
)
from rubric.model import Rubric

REPORT_RUBRICS_MAX = 6  # rubrics in one report message (each takes up to 7 blocks)
HOME_RUBRICS_MAX = 2
HOME_SKILLS_MAX = 3
# A skill shows up in someone's own view from a quarter of a level away from their panels.
HOME_SKILL_THRESHOLD = 0.25
_IN_LINE = 0.05  # closer than this to the panels reads "in line with"
NONE = "\N{EN DASH}"  # a figure withheld or undefined


def _date(moment: datetime) -> str:
    return date_token(moment, "{date_short}")


def _days(period: timedelta) -> str:
    days = max(1, round(period / timedelta(days=1)))
    return f"{days} day" + ("" if days == 1 else "s")


def _percent(share: float | None) -> str:
    return NONE if share is None else f"{round(100 * share)}%"


def _levels(value: float) -> str:
    size = abs(value)
    return f"{size:.1f} level" + ("" if f"{size:.1f}" == "1.0" else "s")


def describe_deviation(mean: float) -> str:
    """ "1.2 levels above", "0.4 levels below" or "in line with" (their panels)."""
    if abs(mean) < _IN_LINE:
        return "in line with"
    return f"{_levels(mean)} {'above' if mean > 0 else 'below'}"


def _rubric_title(rubric: Rubric) -> str:
    return f"{escape_mrkdwn(rubric.name)}, version {escape_mrkdwn(rubric.version)}"


def _skill_name(rubric: Rubric, skill_id: str) -> str:
    return escape_mrkdwn(rubric.skill(skill_id).name) if rubric.has_skill(skill_id) else skill_id


def _alpha(skill: SkillCalibration) -> str:
    alpha = skill.agreement.alpha
    if alpha is None:
        return f"{ALPHA} {NONE}"
    return f"{ALPHA} {alpha:.2f} ({skill.agreement.reading})"


# -- the team report (/interview calibration) ------------------------------------------------


def build_calibration_report(
    reports: Sequence[VersionCalibration],
    *,
    since: datetime,
    until: datetime,
    rubric_id: str | None = None,
) -> tuple[str, list[Block]]:
    """The calibration DM for a hiring lead or recruiter: per-skill figures and the spread.

    Only each rubric's newest version in the period is reported in full; earlier ones
    are named with their interview counts, since a changed rubric starts fresh.
    """
    period = f"{_date(since)} to {_date(until)}"
    scope = f" on rubric `{escape_mrkdwn(rubric_id)}`" if rubric_id else ""
    latest = [r for r in reports if r.latest]
    if not latest:
        text = f"Calibration: no summarised interviews{scope} from {period}."
        return text, [section(text)]
    blocks: list[Block] = [
        header("Rating calibration"),
        context(
            f"Summarised interviews{scope} from {period}. Interviewers are shown only in "
            "aggregate; each sees their own figures in the bot's Home tab."
        ),
    ]
    for report in latest[:REPORT_RUBRICS_MAX]:
        older = [r for r in reports if r.rubric.id == report.rubric.id and not r.latest]
        blocks += _rubric_report(report, older)
    if len(latest) > REPORT_RUBRICS_MAX:
        blocks.append(
            context(
                f"…and {len(latest) - REPORT_RUBRICS_MAX} more rubrics: "
                "ask for one with `/interview calibration <rubric>`."
            )
        )
    names = ", ".join(r.rubric.name for r in latest)
    return truncate(f"Rating calibration: {names}", 300), blocks[:MESSAGE_MAX_BLOCKS]


def _rubric_report(report: VersionCalibration, older: Sequence[VersionCalibration]) -> list[Block]:
    cal, rubric = report.calibration, report.rubric
    blocks: list[Block] = [
        {"type": "divider"},
        section(
            f"*{_rubric_title(rubric)}*: {cal.panels} interview"
            f"{'' if cal.panels == 1 else 's'} from {_date(report.first_interview)} "
            f"to {_date(report.last_interview)}. No figure rests on fewer than "
            f"{cal.min_ratings} ratings."
        ),
    ]
    if older:
        earlier = sum(r.calibration.panels for r in older)
        versions = ", ".join(escape_mrkdwn(r.rubric.version) for r in older)
        blocks.append(
            context(
                f"The rubric changed: these figures start with version "
                f"{escape_mrkdwn(rubric.version)} on {_date(report.first_interview)}. "
                f"{earlier} earlier interview{'' if earlier == 1 else 's'} on version "
                f"{versions} are not pooled with them."
            )
        )
    weak = cal.needing_clarification()
    if weak:
        lines = [
            f"• *{_skill_name(rubric, s.skill_id)}*: {_alpha(s)}; flagged for discussion in "
            f"{_percent(s.needs_discussion_share)} of the panels that rated it"
            for s in weak
        ]
        blocks.append(
            section(
                "*Skills whose descriptors may need a clarification* (raters agree least)\n"
                + "\n".join(lines)
            )
        )
    lines = [_skill_line(rubric, s) for s in cal.skills]
    heading = f"*Every skill*: agreement (Krippendorff's {ALPHA}) · discussed · unassessed"
    texts = pack([heading, *lines])
    blocks += [section(t) for t in texts[:2]]
    blocks.append(context(_spread_text(cal)))
    return blocks


def _skill_line(rubric: Rubric, skill: SkillCalibration) -> str:
    return (
        f"{_skill_name(rubric, skill.skill_id)}: {_alpha(skill)} · "
        f"{_percent(skill.needs_discussion_share)} · {_percent(skill.unassessed_share)}"
    )


def _spread_text(cal: Calibration) -> str:
    spread = cal.spread
    who = f"with at least {cal.min_ratings} ratings compared with their panels"
    lowest, highest, stdev = spread.lowest, spread.highest, spread.stdev
    if lowest is None or highest is None or stdev is None:  # below MIN_INTERVIEWERS_FOR_SPREAD
        return (
            f"Interviewers: {spread.interviewers} {who}; the spread is shown from "
            f"{MIN_INTERVIEWERS_FOR_SPREAD}, so that it identifies nobody."
        )
    return (
        f"Interviewers: {spread.interviewers} {who}. The spread of their offsets from the "
        f"team's average rater (allowing for the ends of the scale) runs from "
        f"{lowest:+.1f} to {highest:+.1f} levels (standard deviation {stdev:.2f}); "
        f"{spread.lenient} rate more than {NOTABLE_DEVIATION:g} level above their panels, "
        f"{spread.severe} more than {NOTABLE_DEVIATION:g} below."
    )


# -- one interviewer's own view (App Home) ----------------------------------------------------


def build_home_calibration(
    reports: Sequence[VersionCalibration], *, user: str, period: timedelta, min_ratings: int
) -> list[Block]:
    """The Home tab's "Your calibration" blocks: ``user``'s own figures only."""
    blocks: list[Block] = [
        {"type": "divider"},
        header("Your calibration"),
        context(
            f"Only you see this. How your ratings compare with the rest of each panel, over "
            f"the summarised interviews of the last {_days(period)}; a figure needs at "
            f"least {min_ratings} of your ratings next to someone else's. The figures allow "
            "for the ends of the scale (nobody can rate above the top level or below the "
            "bottom one), so these do not hide a tendency to rate high or low."
        ),
    ]
    mine = [(r, r.calibration.interviewer(user)) for r in reports if r.latest][:HOME_RUBRICS_MAX]
    if not mine:
        blocks.append(
            section("Your calibration appears here once interviews you rated have been summarised.")
        )
        return blocks
    for report, entry in mine:
        blocks += _own(report.rubric, entry, min_ratings)
    return blocks


def _own(rubric: Rubric, entry: InterviewerCalibration | None, min_ratings: int) -> list[Block]:
    title = f"*{_rubric_title(rubric)}*"
    shadow = _shadow(entry, min_ratings)
    if entry is None or entry.overall is None:
        have = 0 if entry is None else entry.ratings
        if shadow and not have:  # a trainee: only the shadow figure
            return [section(f"{title}\n{shadow}")]
        return [
            section(
                f"{title}\nYour figures appear after {min_ratings} ratings compared with "
                f"other panelists (you have {have} so far)." + (f"\n{shadow}" if shadow else "")
            )
        ]
    overall = entry.overall
    blocks = [
        section(
            f"{title}\nOverall you rate {describe_deviation(overall.mean)} your panels, over "
            f"{_interviews(overall)} ({overall.ratings} ratings); you agree with the rest of "
            f"the panel on {_percent(overall.agreement)} of them."
            + (f"\n{shadow}" if shadow else "")
        )
    ]
    notable = [
        (skill_id, d)
        for skill_id, d in entry.most_deviating(HOME_SKILLS_MAX)
        if abs(d.mean) >= HOME_SKILL_THRESHOLD
    ]
    if not notable:
        blocks.append(
            context("No skill where you rate a quarter of a level or more away from your panels.")
        )
    for skill_id, deviation in notable:
        blocks.append(
            section(
                f"On *{_skill_name(rubric, skill_id)}* you rate "
                f"{describe_deviation(deviation.mean)} your panels, over "
                f"{_interviews(deviation)}."
            )
        )
        blocks.append(context(_descriptors(rubric, skill_id)))
    return blocks


def _shadow(entry: InterviewerCalibration | None, min_ratings: int) -> str:
    """The line about interviews observed as a shadow, or "" when there were none."""
    if entry is None or not entry.shadow_ratings:
        return ""
    if entry.shadow is None:
        return (
            f"As a shadow, your figure appears after {min_ratings} ratings of skills the "
            f"panel rated (you have {entry.shadow_ratings} so far)."
        )
    return (
        f"As a shadow you rate {describe_deviation(entry.shadow.mean)} the panels you "
        f"observed, over {_interviews(entry.shadow)} ({entry.shadow.ratings} ratings); "
        "your ratings there counted in no figure of the panel."
    )


def _interviews(deviation: Deviation) -> str:
    return f"{deviation.interviews} interview" + ("" if deviation.interviews == 1 else "s")


def _descriptors(rubric: Rubric, skill_id: str) -> str:
    """The skill's level descriptors, to re-read against the ratings given."""
    skill = rubric.skill(skill_id)
    parts = [
        f"*{escape_mrkdwn(level.name)}*: {escape_mrkdwn(skill.levels[level.id].short)}"
        for level in rubric.levels
        if level.id in skill.levels
    ]
    return " · ".join(parts)
