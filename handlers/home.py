"""App Home: each person's open forms, recent feedback and the interviews they own."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from handlers.blocks.app_home import build_app_home
from handlers.blocks.calibration import build_home_calibration
from handlers.calibration_cache import TeamCalibration
from handlers.context import BotContext
from handlers.incomplete import incomplete_for_viewer
from handlers.timezones import TimeZones
from storage.queries import forms_for_interviewer, interviews_for_owner

logger = logging.getLogger(__name__)


class HomeListeners:
    def __init__(self, ctx: BotContext, timezones: TimeZones) -> None:
        self.ctx = ctx
        self.timezones = timezones
        self.team = TeamCalibration(ctx)

    def app_home_opened(self, event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        user = str(event.get("user", ""))
        # Bolt acks the event when this returns; the view follows.
        self.ctx.later(publish_home, self.ctx, client, self.timezones, self.team, user)


def publish_home(
    ctx: BotContext, client: WebClient, timezones: TimeZones, team: TeamCalibration, user: str
) -> None:
    now = ctx.now()
    settings = ctx.calibration
    with ctx.session_factory.begin() as session:
        open_forms, recent = forms_for_interviewer(session, user, policy=ctx.policy, now=now)
        owned = interviews_for_owner(session, user, now=now)
        incomplete = incomplete_for_viewer(ctx, client, session, user)
    # The team's figures; the view shows this person's own alone.
    calibration = team.for_viewer(user)
    view = build_app_home(
        open_forms=open_forms,
        recent=recent,
        owned=owned,
        tz=timezones.of(client, user),
        now=now,
        calibration=build_home_calibration(
            calibration, user=user, period=settings.period, min_ratings=settings.min_ratings
        ),
        incomplete=incomplete,
    )
    try:
        client.views_publish(user_id=user, view=view)
    except SlackApiError as exc:
        logger.warning("views.publish failed: %s", exc.response.get("error"))
