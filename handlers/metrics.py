"""Prometheus metrics of one bot process, on a registry of their own (not the global default).

``bot.server`` serves ``REGISTRY`` at ``GET /metrics``. Counters count work that
succeeded (recorded in the database), except ``slack_api_errors``, which
``bot.slack_client`` increments for every Web API call Slack answered with an
error (after the client's own retries).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

FORMS_SENT = Counter(
    "interview_bot_forms_sent",
    "Feedback form DMs delivered to interviewers.",
    registry=REGISTRY,
)
FEEDBACK_SUBMISSIONS = Counter(
    "interview_bot_feedback_submissions",
    "Final feedback submissions stored (created: first one; updated: an edit that changed it).",
    ["outcome"],
    registry=REGISTRY,
)
NUDGES = Counter(
    "interview_bot_nudges",
    "Reminder DMs sent to interviewers.",
    registry=REGISTRY,
)
DIGESTS = Counter(
    "interview_bot_digests",
    "Recruiter digests sent.",
    registry=REGISTRY,
)
ESCALATIONS = Counter(
    "interview_bot_escalations",
    "Escalations sent to hiring leads.",
    registry=REGISTRY,
)
SUMMARIES = Counter(
    "interview_bot_summaries",
    "Panel summary units done (post: the message; finish: its thread; update: a later edit).",
    ["kind"],
    registry=REGISTRY,
)
SLACK_API_ERRORS = Counter(
    "interview_bot_slack_api_errors",
    "Slack Web API calls that ended in an error, by API method and Slack's error code.",
    ["method", "error"],
    registry=REGISTRY,
)
ACCESS_REFUSED = Counter(
    "interview_bot_access_refused",
    "Slack requests the authorization guard refused, by action and reason.",
    ["action", "reason"],
    registry=REGISTRY,
)
DUPLICATE_EVENTS = Counter(
    "interview_bot_duplicate_events",
    "Slack event deliveries dropped because their event_id was already processed.",
    registry=REGISTRY,
)
SWEEP_DURATION = Histogram(
    "interview_bot_sweep_duration_seconds",
    "Wall time of one sweep.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
    registry=REGISTRY,
)
SWEEP_CLAIMED = Counter(
    "interview_bot_sweep_claimed",
    "Units of work the sweep claimed, by kind.",
    ["kind"],
    registry=REGISTRY,
)

# Pre-create the labelled series so dashboards see zeros, not gaps.
for _outcome in ("created", "updated"):
    FEEDBACK_SUBMISSIONS.labels(outcome=_outcome)
for _kind in ("post", "finish", "update"):
    SUMMARIES.labels(kind=_kind)
for _kind in ("form", "summary", "nudge", "digest", "escalation"):
    SWEEP_CLAIMED.labels(kind=_kind)
OUTGOING_QUEUED = Counter(
    "interview_bot_outgoing_deliveries_queued",
    "Outgoing webhook deliveries created from summary events, by event.",
    ["event"],
    registry=REGISTRY,
)
OUTGOING_DELIVERIES = Counter(
    "interview_bot_outgoing_deliveries",
    "Outgoing webhook delivery attempts by outcome: delivered, retry, gave_up, stopped (410).",
    ["outcome"],
    registry=REGISTRY,
)
for _event in ("summary.posted", "summary.updated"):
    OUTGOING_QUEUED.labels(event=_event)
for _outcome in ("delivered", "retry", "gave_up", "stopped"):
    OUTGOING_DELIVERIES.labels(outcome=_outcome)

# Interview sources (calendar feeds, Greenhouse polling): one series per configured
# source name, so the label set stays as small as the config.
SOURCE_POLLS = Counter(
    "interview_bot_source_polls",
    "Polls of an interview source by outcome: changed, unchanged (304 or same data), failed.",
    ["source", "outcome"],
    registry=REGISTRY,
)
SOURCE_INTERVIEWS = Counter(
    "interview_bot_source_interviews",
    "Interviews a source's polls took in, by outcome: created, updated, cancelled, incomplete.",
    ["source", "outcome"],
    registry=REGISTRY,
)
SOURCE_EVENTS = Gauge(
    "interview_bot_source_events_seen",
    "Events (or records) in the source at its last successful poll.",
    ["source"],
    registry=REGISTRY,
)
SOURCE_LAST_SUCCESS = Gauge(
    "interview_bot_source_last_success_timestamp_seconds",
    "Unix time of the source's last successful poll (alert when it lags).",
    ["source"],
    registry=REGISTRY,
)
SOURCE_ERRORS = Counter(
    "interview_bot_source_errors",
    "Failed polls of an interview source.",
    ["source"],
    registry=REGISTRY,
)
SOURCE_OUTCOMES = ("created", "updated", "cancelled", "incomplete")


def observe_source_poll(
    source: str,
    *,
    at: datetime,
    outcome: str,
    counts: Mapping[str, int] | None = None,
    events_seen: int | None = None,
) -> None:
    """Record one poll of ``source`` (outcome ``changed``, ``unchanged`` or ``failed``)."""
    SOURCE_POLLS.labels(source=source, outcome=outcome).inc()
    if outcome == "failed":
        SOURCE_ERRORS.labels(source=source).inc()
        return
    SOURCE_LAST_SUCCESS.labels(source=source).set(at.timestamp())
    if events_seen is not None:
        SOURCE_EVENTS.labels(source=source).set(events_seen)
    for key in SOURCE_OUTCOMES:
        SOURCE_INTERVIEWS.labels(source=source, outcome=key).inc((counts or {}).get(key, 0))
    SOURCE_ERRORS.labels(source=source)  # a zero, not a gap
