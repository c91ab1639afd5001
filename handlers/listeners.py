"""Register every listener on the Bolt app, one class per Slack surface."""

from __future__ import annotations

from slack_bolt import App

from handlers.access import Recruiters
from handlers.blocks.debrief import DEBRIEF_ACTION
from handlers.blocks.feedback_modal import FEEDBACK_CALLBACK, FEEDBACK_PAGE_CALLBACK
from handlers.blocks.form_dm import EDIT_ACTION, OPEN_ACTION
from handlers.blocks.incomplete import COMPLETE_ACTION
from handlers.blocks.reminders import (
    NOT_ATTENDED_ACTION,
    NUDGE_NOW_ACTION,
    SNOOZE_HOUR_ACTION,
    SNOOZE_MORNING_ACTION,
)
from handlers.blocks.schedule_modal import SCHEDULE_CALLBACK
from handlers.commands import CommandListeners
from handlers.context import BotContext
from handlers.debrief import DebriefListeners
from handlers.dedupe import dedupe_events
from handlers.feedback import FeedbackListeners
from handlers.guard import Guard
from handlers.home import HomeListeners
from handlers.incomplete import CompleteListeners
from handlers.reminders import ReminderListeners
from handlers.schedule import ScheduleListeners
from handlers.summary import CandidateDisplay
from handlers.timezones import TimeZones
from storage.access import Action


def register_listeners(
    app: App,
    ctx: BotContext,
    timezones: TimeZones,
    *,
    candidate_display: CandidateDisplay = "full",
) -> None:
    app.use(dedupe_events(ctx))
    # Every listener is behind the guard: see storage.access.MATRIX for who may do what.
    recruiters = Recruiters(ctx.recruiters)
    guard = Guard(ctx, recruiters, Recruiters(ctx.calibration_readers))

    feedback = FeedbackListeners(ctx, timezones)
    app.action(OPEN_ACTION, middleware=[guard.button(Action.OPEN_FORM)])(feedback.open_form)
    app.action(EDIT_ACTION, middleware=[guard.button(Action.OPEN_FORM)])(feedback.open_form)
    app.view(FEEDBACK_PAGE_CALLBACK, middleware=[guard.feedback_view(Action.SAVE_PAGE)])(
        feedback.submit_page
    )
    app.view(FEEDBACK_CALLBACK, middleware=[guard.feedback_view(Action.SUBMIT)])(
        feedback.submit_final
    )

    commands = CommandListeners(ctx, timezones, candidate_display=candidate_display)
    app.command("/interview", middleware=[guard.command()])(commands.interview)
    app.view(SCHEDULE_CALLBACK, middleware=[guard.schedule_view()])(ScheduleListeners(ctx).submit)
    app.action(COMPLETE_ACTION, middleware=[guard.button(Action.COMPLETE_INCOMPLETE)])(
        CompleteListeners(ctx).open
    )

    app.event("app_home_opened", middleware=[guard.home()])(
        HomeListeners(ctx, timezones).app_home_opened
    )

    reminders = ReminderListeners(ctx, timezones)
    app.action(SNOOZE_HOUR_ACTION, middleware=[guard.button(Action.SNOOZE)])(reminders.snooze_hour)
    app.action(SNOOZE_MORNING_ACTION, middleware=[guard.button(Action.SNOOZE)])(
        reminders.snooze_morning
    )
    app.action(NOT_ATTENDED_ACTION, middleware=[guard.button(Action.DECLINE)])(
        reminders.not_attended
    )
    app.action(NUDGE_NOW_ACTION, middleware=[guard.button(Action.NUDGE)])(reminders.nudge_now)

    debrief = DebriefListeners(ctx, candidate_display=candidate_display)
    app.action(DEBRIEF_ACTION, middleware=[guard.interview_button(Action.DEBRIEF_GUIDE)])(
        debrief.open_guide
    )
