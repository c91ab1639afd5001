"""Persistence for interview-bot: models, engine and sessions, migrations, audit.

Importing this package has no side effects: no engine is created and no
database is touched until a caller asks for it.
"""

from storage.audit import audit_events_for, record_audit
from storage.engine import (
    create_engine_for,
    make_session_factory,
    normalize_url,
)
from storage.feedback import (
    FeedbackRefused,
    RefusalReason,
    SubmitOutcome,
    load_draft,
    load_form_context,
    save_draft,
    submit_feedback,
)
from storage.forms import (
    PERMANENT_SLACK_ERRORS,
    claim_due_forms,
    form_backoff,
    mark_form_sent,
    record_form_failure,
)
from storage.migrate import (
    alembic_config,
    current_revision,
    head_revision,
    pending_revisions,
    upgrade,
)
from storage.models import (
    AuditEvent,
    Base,
    Feedback,
    FeedbackDraft,
    FeedbackRequest,
    Interview,
    InterviewState,
    RequestState,
    RubricVersion,
    SkillRating,
)
from storage.policy import FeedbackPolicy
from storage.queries import (
    CancelOutcome,
    cancel_interview,
    form_context_for_request,
    forms_for_interviewer,
    get_interview_view,
    interviews_for_owner,
)
from storage.rubric_versions import ensure_rubric_version, load_rubric_version
from storage.types import UTCDateTime
from storage.views import (
    FormContext,
    InterviewProgress,
    InterviewView,
    OwnFeedbackView,
    RatingView,
    RequestView,
)

__all__ = [
    "PERMANENT_SLACK_ERRORS",
    "AuditEvent",
    "Base",
    "CancelOutcome",
    "Feedback",
    "FeedbackDraft",
    "FeedbackPolicy",
    "FeedbackRefused",
    "FeedbackRequest",
    "FormContext",
    "Interview",
    "InterviewProgress",
    "InterviewState",
    "InterviewView",
    "OwnFeedbackView",
    "RatingView",
    "RefusalReason",
    "RequestState",
    "RequestView",
    "RubricVersion",
    "SkillRating",
    "SubmitOutcome",
    "UTCDateTime",
    "alembic_config",
    "audit_events_for",
    "cancel_interview",
    "claim_due_forms",
    "create_engine_for",
    "current_revision",
    "ensure_rubric_version",
    "form_backoff",
    "form_context_for_request",
    "forms_for_interviewer",
    "get_interview_view",
    "head_revision",
    "interviews_for_owner",
    "load_draft",
    "load_form_context",
    "load_rubric_version",
    "make_session_factory",
    "mark_form_sent",
    "normalize_url",
    "pending_revisions",
    "record_audit",
    "record_form_failure",
    "save_draft",
    "submit_feedback",
    "upgrade",
]
