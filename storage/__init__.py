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
    FeedbackRequest,
    Interview,
    InterviewState,
    RequestState,
    RubricVersion,
    SkillRating,
)
from storage.rubric_versions import ensure_rubric_version, load_rubric_version
from storage.types import UTCDateTime

__all__ = [
    "AuditEvent",
    "Base",
    "Feedback",
    "FeedbackRequest",
    "Interview",
    "InterviewState",
    "RequestState",
    "RubricVersion",
    "SkillRating",
    "UTCDateTime",
    "alembic_config",
    "audit_events_for",
    "create_engine_for",
    "current_revision",
    "ensure_rubric_version",
    "head_revision",
    "load_rubric_version",
    "make_session_factory",
    "normalize_url",
    "pending_revisions",
    "record_audit",
    "upgrade",
]
