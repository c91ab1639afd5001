"""Register every listener on the Bolt app, one class per Slack surface."""

from __future__ import annotations

from slack_bolt import App

from handlers.access import Recruiters
from handlers.blocks.feedback_modal import FEEDBACK_CALLBACK, FEEDBACK_PAGE_CALLBACK
from handlers.blocks.form_dm import EDIT_ACTION, OPEN_ACTION
from handlers.blocks.reminders import (
    NOT_ATTENDED_ACTION,
    NUDGE_NOW_ACTION,
    SNOOZE_HOUR_ACTION,
    SNOOZE_MORNING_ACTION,
)
from handlers.blocks.schedule_modal import SCHEDULE_CALLBACK
from handlers.commands import CommandListeners
from handlers.context import BotContext
from handlers.feedback import FeedbackListeners
from handlers.home import HomeListeners
from handlers.reminders import ReminderListeners
from handlers.schedule import ScheduleListeners
from handlers.summary import CandidateDisplay
from handlers.timezones import TimeZones


def register_listeners(
    app: App,
    ctx: BotContext,
    timezones: TimeZones,
    *,
    candidate_display: CandidateDisplay = "full",
) -> None:
    feedback = FeedbackListeners(ctx, timezones)
    app.action(OPEN_ACTION)(feedback.open_form)
    app.action(EDIT_ACTION)(feedback.open_form)
    app.view(FEEDBACK_PAGE_CALLBACK)(feedback.submit_page)
    app.view(FEEDBACK_CALLBACK)(feedback.submit_final)

    recruiters = Recruiters(ctx.recruiters)
    commands = CommandListeners(ctx, timezones, recruiters, candidate_display=candidate_display)
    app.command("/interview")(commands.interview)
    app.view(SCHEDULE_CALLBACK)(ScheduleListeners(ctx, recruiters).submit)

    app.event("app_home_opened")(HomeListeners(ctx, timezones).app_home_opened)

    reminders = ReminderListeners(ctx, timezones)
    app.action(SNOOZE_HOUR_ACTION)(reminders.snooze_hour)
    app.action(SNOOZE_MORNING_ACTION)(reminders.snooze_morning)
    app.action(NOT_ATTENDED_ACTION)(reminders.not_attended)
    app.action(NUDGE_NOW_ACTION)(reminders.nudge_now)
