"""Who may do what to which interview: the authorization matrix and its one check.

Every Slack listener is guarded by :func:`authorize` (through ``handlers.guard``)
before it runs; docs/RELIABILITY.md prints :data:`MATRIX` (a test keeps the two
equal). Roles are relative to the target: the interview's recruiter, its hiring
lead, the request's own interviewer, another member of the same panel. The
recruiting team (``access.recruiters``, user groups included) is resolved from
Slack by the caller and passed in.

A refusal is audited (``access.refused``) in the caller's transaction, with
identifiers and reason codes only; the forged value itself is never stored.
The state transitions in storage re-check what they need under their row locks,
so a request that races a cancel is still refused there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload

from storage.audit import record_audit
from storage.editing import RefusalReason, edit_lock
from storage.models import (
    PUBLIC_ID_SHAPE,
    Feedback,
    FeedbackRequest,
    Interview,
    InterviewState,
    RequestState,
)
from storage.policy import FeedbackPolicy

__all__ = [
    "MATRIX",
    "USER_ID",
    "Access",
    "Action",
    "Decision",
    "Role",
    "Rule",
    "TargetKind",
    "authorize",
]

USER_ID = re.compile(r"[A-Z0-9][A-Z0-9_]{0,31}")
MAX_INTERVIEW_ID = 2**31 - 1


class Action(StrEnum):
    SCHEDULE = "schedule"
    CANCEL = "cancel"
    OPEN_FORM = "open_form"
    SAVE_PAGE = "save_page"
    SUBMIT = "submit"
    SNOOZE = "snooze"
    DECLINE = "decline"
    NUDGE = "nudge"
    VIEW_SUMMARY = "view_summary"
    LIST = "list"
    VIEW_HOME = "view_home"
    CALIBRATION = "calibration"
    DEBRIEF_GUIDE = "debrief_guide"
    HELP = "help"
    COMPLETE_INCOMPLETE = "complete_incomplete"


class Role(StrEnum):
    RECRUITING_TEAM = "recruiting team"  # access.recruiters (user IDs or user groups)
    RECRUITER = "recruiter"  # the interview's recruiter
    HIRING_LEAD = "hiring lead"  # the interview's hiring lead
    INTERVIEWER = "interviewer"  # the feedback request's own interviewer
    PANEL_MEMBER = "panel member"  # on the same panel, another interviewer's request
    # access.calibration; when that is empty, the recruiting team and anyone who is the
    # recruiter or hiring lead of an interview
    CALIBRATION_READER = "calibration reader"
    ANYONE = "anyone"  # any workspace member, for views of their own things


class TargetKind(StrEnum):
    NONE = "none"  # the action names no interview (its data is the user's own)
    REQUEST = "request"  # a feedback request, by its opaque public id
    INTERVIEW = "interview"  # an interview, by its number


@dataclass(frozen=True)
class Rule:
    roles: frozenset[Role]
    target: TargetKind
    what: str  # for the docs and for refusals: "schedule interviews"
    # The interview must be live (scheduled or summarised): a cancelled or archived
    # interview refuses the action with its own reason.
    live_only: bool = True
    # Any other condition on the target's state, for the docs.
    when: str = ""


def _rule(
    target: TargetKind, what: str, *roles: Role, live_only: bool = True, when: str = ""
) -> Rule:
    return Rule(frozenset(roles), target, what, live_only, when)


MATRIX: dict[Action, Rule] = {
    Action.SCHEDULE: _rule(
        TargetKind.NONE, "schedule interviews", Role.RECRUITING_TEAM, live_only=False
    ),
    # Cancelling a cancelled interview is answered "already cancelled" (idempotent).
    Action.CANCEL: _rule(
        TargetKind.INTERVIEW,
        "cancel an interview",
        Role.RECRUITING_TEAM,
        Role.RECRUITER,
        live_only=False,
        when="refused once summarised or archived; a cancelled one answers 'already cancelled'",
    ),
    Action.OPEN_FORM: _rule(TargetKind.REQUEST, "open a feedback form", Role.INTERVIEWER),
    Action.SAVE_PAGE: _rule(
        TargetKind.REQUEST,
        "save a page of feedback",
        Role.INTERVIEWER,
        when="refused when declined or past feedback.editable_until",
    ),
    Action.SUBMIT: _rule(
        TargetKind.REQUEST,
        "submit or edit feedback",
        Role.INTERVIEWER,
        when="refused when declined or past feedback.editable_until",
    ),
    Action.SNOOZE: _rule(TargetKind.REQUEST, "snooze a reminder", Role.INTERVIEWER),
    Action.DECLINE: _rule(TargetKind.REQUEST, "decline a feedback request", Role.INTERVIEWER),
    Action.NUDGE: _rule(TargetKind.REQUEST, "nudge an interviewer now", Role.RECRUITER),
    # A recruiter or lead who sits on the panel sees it only once it is posted.
    Action.VIEW_SUMMARY: _rule(
        TargetKind.INTERVIEW,
        "see a summary on demand",
        Role.RECRUITER,
        Role.HIRING_LEAD,
        live_only=False,
        when="a recruiter or lead on the panel: only once the summary is posted",
    ),
    Action.LIST: _rule(TargetKind.NONE, "list their own forms and interviews", Role.ANYONE),
    Action.VIEW_HOME: _rule(TargetKind.NONE, "see their own App Home entries", Role.ANYONE),
    # Aggregates only: per-skill reliability and the interviewers' spread, never names.
    Action.CALIBRATION: _rule(
        TargetKind.NONE,
        "see the team's calibration",
        Role.CALIBRATION_READER,
        live_only=False,
        when="access.calibration; if empty, recruiters and interviews' recruiters or leads",
    ),
    # The hiring lead's agenda from the posted summary: the people who may see the
    # summary, and never before it is posted (it carries every interviewer's ratings).
    Action.DEBRIEF_GUIDE: _rule(
        TargetKind.INTERVIEW,
        "open the debrief guide",
        Role.RECRUITING_TEAM,
        Role.RECRUITER,
        Role.HIRING_LEAD,
        live_only=False,
        when="only once the summary is posted",
    ),
    Action.HELP: _rule(TargetKind.NONE, "read the help", Role.ANYONE),
    # An interview a source could not complete (storage.intake): opens the schedule modal.
    Action.COMPLETE_INCOMPLETE: _rule(
        TargetKind.NONE,
        "complete an interview a source could not",
        Role.RECRUITING_TEAM,
        live_only=False,
    ),
}


class Refusal(StrEnum):
    MALFORMED = "malformed"  # the id is not even shaped like one: forged or garbage
    NOT_FOUND = "not_found"
    NOT_ALLOWED = "not_allowed"  # the user holds none of the action's roles
    INDEPENDENCE = "independence"  # a panel member asking for the summary before it is posted
    NOT_POSTED = "not_posted"  # the debrief guide of an interview whose summary is not out
    CANCELLED = "cancelled"
    HISTORY = "history"  # archived
    SUMMARISED = "summarised"  # cancelling an interview that is already summarised
    DECLINED = "declined"
    LOCKED = "locked"  # feedback past its edit window


@dataclass(frozen=True)
class Access:
    """What authorize found about the user and the target (ids only, no personal data)."""

    roles: frozenset[Role] = frozenset()
    interview_id: int | None = None
    request_id: int | None = None
    interview_state: InterviewState | None = None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    access: Access = field(default_factory=Access)
    refusal: Refusal | None = None
    message: str = ""  # for the user, when refused; never reveals other people's data
    # The request row the decision loaded (with its interview), for a flow that runs in
    # the same transaction (storage.feedback_flows): held here, it is not read again.
    request: FeedbackRequest | None = field(default=None, compare=False, repr=False)


_REQUEST_MESSAGES: dict[Refusal, str] = {
    Refusal.MALFORMED: "That button or form is not valid. Open it again from its message.",
    Refusal.NOT_FOUND: (
        "I couldn't find this feedback form. It may have been removed from the interview panel."
    ),
    Refusal.CANCELLED: "This interview was cancelled; nothing more can be done on it.",
    Refusal.HISTORY: "This interview is archived; its feedback can no longer change.",
}

_NOT_ALLOWED: dict[Action, str] = {
    Action.SCHEDULE: (
        "Only recruiters can schedule interviews. "
        "Ask your recruiting team to add you to `access.recruiters`."
    ),
    Action.CANCEL: (
        "Only recruiters can cancel interviews. "
        "Ask your recruiting team to add you to `access.recruiters`."
    ),
    Action.NUDGE: "Only the interview's recruiter can ask for an extra reminder.",
    Action.COMPLETE_INCOMPLETE: (
        "Only recruiters can complete and schedule interviews. "
        "Ask your recruiting team to add you to `access.recruiters`."
    ),
    Action.CALIBRATION: (
        "Calibration is for hiring leads and recruiters. "
        "Ask your recruiting team to add you to `access.calibration`."
    ),
}
_NOT_YOURS = "This feedback form belongs to another interviewer."


def authorize(
    session: Session,
    *,
    user: str,
    action: Action,
    in_team: bool = False,
    in_calibration: bool | None = None,
    public_id: str | None = None,
    interview_id: int | None = None,
    policy: FeedbackPolicy,
    now: datetime,
    surface: str = "slack",
) -> Decision:
    """May ``user`` do ``action`` to the target? A refusal is audited in ``session``.

    Args:
        in_team: whether the user is in ``access.recruiters`` (resolved by the caller).
        in_calibration: whether the user is in ``access.calibration``; None when that
            list is empty (the default readers apply: see Role.CALIBRATION_READER).
        public_id: the request, for request actions (a button value or modal metadata).
        interview_id: the interview, for interview actions (command text).
        surface: where the request came from, for the audit (``"block_actions"``).
    """
    rule = MATRIX[action]
    decision = _decide(
        session,
        user=user,
        action=action,
        rule=rule,
        in_team=in_team,
        in_calibration=in_calibration,
        public_id=public_id,
        interview_id=interview_id,
        policy=policy,
        now=now,
    )
    if not decision.allowed:
        _audit_refusal(session, user, action, rule, decision, surface, now)
    return decision


def _decide(
    session: Session,
    *,
    user: str,
    action: Action,
    rule: Rule,
    in_team: bool,
    in_calibration: bool | None,
    public_id: str | None,
    interview_id: int | None,
    policy: FeedbackPolicy,
    now: datetime,
) -> Decision:
    base = {Role.ANYONE} | ({Role.RECRUITING_TEAM} if in_team else set())
    if not USER_ID.fullmatch(user):
        return _refuse(Access(), Refusal.MALFORMED, "I can't tell who sent this request.")
    if Role.CALIBRATION_READER in rule.roles and _reads_calibration(
        session, user, in_team=in_team, in_calibration=in_calibration
    ):
        base.add(Role.CALIBRATION_READER)
    if rule.target is TargetKind.NONE:
        roles = frozenset(base)
        if roles & rule.roles:
            return Decision(True, Access(roles=roles))
        return _refuse(Access(roles=roles), Refusal.NOT_ALLOWED, _not_allowed(action, rule))
    if rule.target is TargetKind.REQUEST:
        return _decide_request(session, user, action, rule, base, public_id, policy=policy, now=now)
    return _decide_interview(session, user, action, rule, base, interview_id)


def _decide_request(
    session: Session,
    user: str,
    action: Action,
    rule: Rule,
    base: set[Role],
    public_id: str | None,
    *,
    policy: FeedbackPolicy,
    now: datetime,
) -> Decision:
    if not isinstance(public_id, str) or not PUBLIC_ID_SHAPE.fullmatch(public_id):
        return _refuse(Access(), Refusal.MALFORMED, _REQUEST_MESSAGES[Refusal.MALFORMED])
    request = session.scalars(
        sa.select(FeedbackRequest)
        .where(FeedbackRequest.public_id == public_id)
        .options(joinedload(FeedbackRequest.interview))
    ).one_or_none()
    if request is None:
        return _refuse(Access(), Refusal.NOT_FOUND, _REQUEST_MESSAGES[Refusal.NOT_FOUND])
    interview = request.interview
    roles = set(base) | _interview_roles(interview, user)
    if request.interviewer == user:
        roles.add(Role.INTERVIEWER)
    elif _on_panel(session, interview.id, user):
        roles.add(Role.PANEL_MEMBER)
    access = Access(frozenset(roles), interview.id, request.id, interview.state)
    if not roles & rule.roles:
        message = _NOT_ALLOWED.get(action, _NOT_YOURS)
        return _refuse(access, Refusal.NOT_ALLOWED, message)
    if rule.live_only and interview.state is InterviewState.CANCELLED:
        return _refuse(access, Refusal.CANCELLED, _REQUEST_MESSAGES[Refusal.CANCELLED])
    if rule.live_only and interview.state is InterviewState.ARCHIVED:
        return _refuse(access, Refusal.HISTORY, _REQUEST_MESSAGES[Refusal.HISTORY])
    if action in (Action.SAVE_PAGE, Action.SUBMIT):
        has_feedback = session.scalar(
            sa.select(sa.exists().where(Feedback.request_id == request.id))
        )
        lock = edit_lock(
            interview_state=interview.state,
            request_state=request.state,
            has_feedback=bool(has_feedback),
            ends_at=interview.ends_at,
            policy=policy,
            now=now,
        )
        if lock is not None:
            refusal = Refusal.DECLINED if lock.reason is RefusalReason.DECLINED else Refusal.LOCKED
            return _refuse(access, refusal, lock.message)
    return Decision(True, access, request=request)


def _decide_interview(
    session: Session,
    user: str,
    action: Action,
    rule: Rule,
    base: set[Role],
    interview_id: int | None,
) -> Decision:
    if interview_id is None or not 0 < interview_id <= MAX_INTERVIEW_ID:
        return _refuse(Access(), Refusal.MALFORMED, "That is not an interview number.")
    interview = session.get(Interview, interview_id)
    roles = set(base)
    if interview is not None:
        roles |= _interview_roles(interview, user)
    access = Access(
        frozenset(roles),
        interview.id if interview else None,
        None,
        interview.state if interview else None,
    )
    if not roles & rule.roles:
        # Not theirs and not there answer alike, so interview numbers reveal nothing.
        if action in _NOT_ALLOWED:
            return _refuse(access, Refusal.NOT_ALLOWED, _NOT_ALLOWED[action])
        message = f"No interview {interview_id} that you recruit for or lead."
        refusal = Refusal.NOT_FOUND if interview is None else Refusal.NOT_ALLOWED
        return _refuse(access, refusal, message)
    if interview is None:
        return _refuse(access, Refusal.NOT_FOUND, f"Interview {interview_id} does not exist.")
    if action is Action.CANCEL and interview.state in (
        InterviewState.SUMMARISED,
        InterviewState.ARCHIVED,
    ):
        return _refuse(
            access,
            Refusal.SUMMARISED,
            f"Interview {interview_id} is already summarised or archived; it cannot be cancelled.",
        )
    if (
        action is Action.VIEW_SUMMARY
        and interview.summary_posted_at is None
        and _on_panel(session, interview.id, user, counting_declined=False)
    ):
        return _refuse(
            access,
            Refusal.INDEPENDENCE,
            "You sit on this interview's panel, so its summary opens to you once it is "
            "posted: your own ratings stay independent.",
        )
    if action is Action.DEBRIEF_GUIDE and interview.summary_posted_at is None:
        return _refuse(
            access,
            Refusal.NOT_POSTED,
            f"The debrief guide of interview {interview_id} opens once its summary is posted.",
        )
    return Decision(True, access)


def _reads_calibration(
    session: Session, user: str, *, in_team: bool, in_calibration: bool | None
) -> bool:
    if in_calibration is not None:
        return in_calibration
    if in_team:
        return True
    owns = sa.exists().where(sa.or_(Interview.recruiter == user, Interview.hiring_lead == user))
    return bool(session.scalar(sa.select(owns)))


def _interview_roles(interview: Interview, user: str) -> set[Role]:
    roles: set[Role] = set()
    if interview.recruiter == user:
        roles.add(Role.RECRUITER)
    if interview.hiring_lead == user:
        roles.add(Role.HIRING_LEAD)
    return roles


def _on_panel(
    session: Session, interview_id: int, user: str, *, counting_declined: bool = True
) -> bool:
    where = [FeedbackRequest.interview_id == interview_id, FeedbackRequest.interviewer == user]
    if not counting_declined:
        where.append(FeedbackRequest.state != RequestState.DECLINED)
    return bool(session.scalar(sa.select(sa.exists().where(*where))))


def _not_allowed(action: Action, rule: Rule) -> str:
    return _NOT_ALLOWED.get(action, f"You are not allowed to {rule.what}.")


def _refuse(access: Access, refusal: Refusal, message: str) -> Decision:
    return Decision(False, access, refusal, message)


def _audit_refusal(
    session: Session,
    user: str,
    action: Action,
    rule: Rule,
    decision: Decision,
    surface: str,
    now: datetime,
) -> None:
    access = decision.access
    if access.request_id is not None:
        entity, entity_id = "request", str(access.request_id)
    elif access.interview_id is not None:
        entity, entity_id = "interview", str(access.interview_id)
    else:
        entity, entity_id = rule.target.value, "-"
    record_audit(
        session,
        # A forged user id is not stored as given: only its safe shape, or "unknown".
        actor=user if USER_ID.fullmatch(user) else "unknown",
        action="access.refused",
        entity=entity,
        entity_id=entity_id,
        detail={
            "action": action.value,
            "reason": decision.refusal.value if decision.refusal else "",
            "surface": surface[:32],
            "roles": sorted(r.value for r in access.roles - {Role.ANYONE}),
        },
        at=now,
    )
