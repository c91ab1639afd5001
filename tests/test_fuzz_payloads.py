"""Fuzzing every listener over Slack-signed HTTP: commands, buttons, modals, App Home.

One served bot per test (the real app on loopback, a fake Slack, a test clock)
over a database with a few interviews in every state: forms sent and open, one
feedback submitted, a cancelled interview, an archived one, one not ended yet and
one whose rubric is long enough for a paged modal. Hypothesis then sends many
payloads to the same bot; every property is checked against the state just
before each request, so examples need no reset:

* nothing unhandled: no log record at ERROR (Bolt logs listener exceptions there,
  waitress its 500s), and the fake Slack rejected nothing the bot sent;
* never HTTP 500: 200 for the listeners (404 for ids nobody registered);
* only clear answers: ``response_action: errors`` keyed to input blocks of the
  submitted view, or a view or message that passes Block Kit validation;
* no partial or unauthorised write: rows change only where the payload was
  valid and its user allowed, and then exactly as submitted (``DbState``).

Envelopes Slack never sends (no ``view.type``, ``actions`` not a list of
objects, ...) would crash inside Bolt before our listeners run: the tests at the
end send each such payload and expect a 4xx (bot.server refuses them first).
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.config import AccessConfig, FileConfig
from handlers.blocks.feedback_modal import (
    EVIDENCE_MAX_CHARS,
    FEEDBACK_CALLBACK,
    FEEDBACK_PAGE_CALLBACK,
    NOT_ASSESSED,
    NOTES_MAX_CHARS,
    build_feedback_modal,
    dump_metadata,
    evidence_block_id,
    level_block_id,
    plan_pages,
)
from handlers.blocks.form_dm import EDIT_ACTION, OPEN_ACTION
from handlers.blocks.incomplete import COMPLETE_ACTION
from handlers.blocks.limits import message_problems, view_problems
from handlers.blocks.reminders import (
    NOT_ATTENDED_ACTION,
    NUDGE_NOW_ACTION,
    SNOOZE_HOUR_ACTION,
    SNOOZE_MORNING_ACTION,
)
from handlers.blocks.schedule_modal import (
    DURATIONS,
    SCHEDULE_CALLBACK,
    build_schedule_modal,
    focus_block,
    panel_block,
    read_schedule_state,
)
from handlers.blocks.summary import DEBRIEF_ACTION
from storage.feedback import load_form_context, submit_feedback
from storage.models import Base
from storage.queries import cancel_interview
from storage.views import RatingView
from tests import slackreq
from tests.fakeslack import FakeSlack
from tests.fuzz_strategies import (
    MISSING,
    fuzz,
    huge_text,
    json_values,
    maybe,
    nasty_text,
    numbers,
    option,
    put,
    selected_option,
    slack_ids,
    text_input,
    text_near,
)
from tests.harness import ServedBot

# Examples per target on SQLite; PostgreSQL runs PG_SHARE of them (same properties,
# the backend's own failure modes: NUL bytes, string lengths, integer ranges).
PG_SHARE = 0.5

ACCESS_RECRUITERS = ("U0RECRUIT",)
PEOPLE = {
    "U0AAA": "Europe/Berlin",
    "U0BBB": "America/New_York",
    "U0CCC": "Asia/Kolkata",
    "U0RECRUIT": "UTC",
    "U0REC2": "UTC",  # the recruiter of one interview, not in access.recruiters
    "U0LEAD": "UTC",
    "U0STRANGER": "Pacific/Auckland",  # in the workspace, on no interview
}
ACTIONS = (
    OPEN_ACTION,
    EDIT_ACTION,
    SNOOZE_HOUR_ACTION,
    SNOOZE_MORNING_ACTION,
    NOT_ATTENDED_ACTION,
    NUDGE_NOW_ACTION,
    DEBRIEF_ACTION,  # the summary's button: an interview number
    COMPLETE_ACTION,  # an incomplete interview's button
)
REQUEST_ACTIONS = frozenset({SNOOZE_HOUR_ACTION, SNOOZE_MORNING_ACTION, NOT_ATTENDED_ACTION})
START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)

# Core tables change only through a valid, authorised request; audit_events only grows.
CORE_TABLES = (
    "interviews",
    "feedback_requests",
    "feedback",
    "skill_ratings",
    "feedback_drafts",
    "rubric_versions",
)
APPEND_ONLY = ("audit_events",)
TOO_LARGE = 256 * 1024  # a body this big may be refused (413) before Bolt parses it


def _interview(
    external_id: str,
    *,
    panel: Mapping[str, Sequence[str]],
    start: datetime = START,
    rubric: str = "mle",
    role: str = "Senior ML Engineer",
    recruiter: str = "U0RECRUIT",
) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "candidate": f"Candidate {external_id}",
        "role": role,
        "rubric": rubric,
        "starts_at": start.isoformat(),
        "duration": "60m",
        "hiring_channel": "C0HIRING",
        "recruiter": recruiter,
        "hiring_lead": "U0LEAD",
        "panel": [{"interviewer": who, "focus": list(focus)} for who, focus in panel.items()],
    }


INTERVIEWS = [
    _interview(
        "fz-open",
        panel={"U0AAA": ["system_design", "ml_workflows"], "U0BBB": ["communication"], "U0CCC": []},
    ),
    _interview("fz-submitted", panel={"U0AAA": ["fundamentals"], "U0BBB": []}, recruiter="U0REC2"),
    _interview("fz-cancelled", panel={"U0AAA": [], "U0CCC": ["planning"]}),
    _interview(
        "fz-paged",
        panel={"U0AAA": ["skill_2_9"], "U0BBB": []},
        rubric="big",
        role="Senior Generalist",
    ),
    _interview("fz-future", panel={"U0AAA": [], "U0BBB": []}, start=START + timedelta(days=9)),
    _interview("fz-history", panel={"U0AAA": [], "U0CCC": []}, start=START - timedelta(days=30)),
]


def long_rubric() -> dict[str, Any]:
    """30 skills with long descriptors: its feedback modal needs pages."""
    levels = [{"id": i, "name": i.title()} for i in ("junior", "senior", "lead")]
    disciplines = [
        {
            "id": f"discipline_{d}",
            "name": f"Discipline {d}",
            "skills": [
                {
                    "id": f"skill_{d}_{k}",
                    "name": f"Skill {d}.{k} with a fairly long display name",
                    "question": "What did you see them do, concretely? " * 4,
                    "levels": {
                        lvl["id"]: {"short": f"{lvl['name']} at {d}.{k}", "full": "Long. " * 120}
                        for lvl in levels
                    },
                }
                for k in range(10)
            ],
        }
        for d in range(3)
    ]
    return {
        "id": "big",
        "name": "Big rubric",
        "version": "1",
        "levels": levels,
        "recommendations": [
            {"id": "no_hire", "name": "No hire", "hire": False},
            {"id": "hire", "name": "Hire", "hire": True},
        ],
        "roles": [{"id": "big-senior", "name": "Senior Generalist", "target_level": "senior"}],
        "disciplines": disciplines,
    }


# -- the world: a served bot and what is in its database ---------------------------------


@dataclass(frozen=True)
class Form:
    """One feedback request and the modal pages its interviewer would submit."""

    public_id: str
    interviewer: str
    interview_id: int
    recruiter: str
    editable: bool
    focus: tuple[str, ...]
    levels: tuple[str, ...]
    recommendations: tuple[str, ...]
    views: tuple[dict[str, Any], ...]  # page 0, 1, ... as built for the interviewer


def _slim(view: dict[str, Any]) -> dict[str, Any]:
    """The view with its descriptor texts cut short: the same blocks, a tenth of the bytes
    (Slack sends the whole view back; the bot reads only its metadata and state)."""
    blocks = [
        {**b, "elements": [{"type": "mrkdwn", "text": "…"}]} if b.get("type") == "context" else b
        for b in view["blocks"]
    ]
    return {**view, "blocks": blocks}


class ErrorLog(logging.Handler):
    """Every record at ERROR or above, from any logger (Bolt, waitress, ours)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def take(self) -> list[str]:
        taken = [
            f"{r.name}: {r.getMessage()}"
            + (f"\n{logging.Formatter().formatException(r.exc_info)}" if r.exc_info else "")
            for r in self.records
        ]
        self.records.clear()
        return taken


class InFlight:
    """Counts work handed to thread pools (Bolt's listener runs, the guard's notices).

    Bolt answers Slack at the ack and goes on in a pool thread; a property can
    only be checked once that work is done.
    """

    def __init__(self) -> None:
        self._count = 0
        self._idle = threading.Condition()

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        original = ThreadPoolExecutor.submit
        tracker = self

        def submit(
            executor: ThreadPoolExecutor, fn: Callable[..., Any], /, *a: Any, **k: Any
        ) -> Any:
            tracker._add(1)

            def run() -> Any:
                try:
                    return fn(*a, **k)
                finally:
                    tracker._add(-1)

            try:
                return original(executor, run)
            except BaseException:
                tracker._add(-1)
                raise

        monkeypatch.setattr(ThreadPoolExecutor, "submit", submit)

    def _add(self, delta: int) -> None:
        with self._idle:
            self._count += delta
            self._idle.notify_all()

    def wait(self, timeout: float = 15.0) -> None:
        with self._idle:
            if not self._idle.wait_for(lambda: self._count == 0, timeout):
                raise AssertionError("work after the ack did not finish in time")


Row = dict[str, Any]
DbState = dict[str, dict[tuple[Any, ...], Row]]


# Columns compared per table (all when not listed): the rubric snapshot's JSON is large
# and immutable (its digest stands for it); audit rows are only ever inserted.
_COMPARED = {"rubric_versions": ("id", "rubric_id", "digest"), "audit_events": ("id",)}


def db_state(factory: sessionmaker[Session]) -> DbState:
    """Every row of every table, by primary key."""
    state: DbState = {}
    with factory() as session:
        for table in Base.metadata.sorted_tables:
            key = [c.name for c in table.primary_key.columns]
            names = _COMPARED.get(table.name)
            columns = [table.c[n] for n in names] if names else list(table.c)
            rows = session.execute(sa.select(*columns)).mappings().all()
            state[table.name] = {tuple(r[k] for k in key): dict(r) for r in rows}
    return state


@dataclass
class Changes:
    inserted: dict[tuple[Any, ...], Row] = field(default_factory=dict)
    deleted: dict[tuple[Any, ...], Row] = field(default_factory=dict)
    updated: dict[tuple[Any, ...], tuple[Row, Row]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.inserted or self.deleted or self.updated)

    def keys(self) -> set[tuple[Any, ...]]:
        return {*self.inserted, *self.deleted, *self.updated}


def changes(before: DbState, after: DbState) -> dict[str, Changes]:
    out: dict[str, Changes] = {}
    for table in before.keys() | after.keys():
        old, new = before.get(table, {}), after.get(table, {})
        diff = Changes(
            inserted={k: new[k] for k in new.keys() - old.keys()},
            deleted={k: old[k] for k in old.keys() - new.keys()},
            updated={k: (old[k], new[k]) for k in old.keys() & new.keys() if old[k] != new[k]},
        )
        if diff:
            out[table] = diff
    return out


class World:
    def __init__(self, bot: ServedBot, backend: str, errors: ErrorLog, inflight: InFlight) -> None:
        self.bot = bot
        self.backend = backend
        self.errors = errors
        self.inflight = inflight
        self.forms = self._forms()
        self.interview_ids = sorted({f.interview_id for f in self.forms})
        self._state: DbState | None = None
        self.public_ids: st.SearchStrategy[Any] | None = None

    @property
    def fake(self) -> FakeSlack:
        return self.bot.fake

    def examples(self, on_sqlite: int) -> int:
        return on_sqlite if self.backend == "sqlite" else max(10, round(on_sqlite * PG_SHARE))

    def _forms(self) -> list[Form]:
        ctx = self.bot.bot.ctx
        forms: list[Form] = []
        with ctx.session_factory.begin() as session:
            rows = session.execute(
                sa.text(
                    "SELECT r.public_id, r.interviewer, r.interview_id, i.recruiter "
                    "FROM feedback_requests r JOIN interviews i ON i.id = r.interview_id "
                    "ORDER BY r.id"
                )
            ).all()
            for public_id, interviewer, interview_id, recruiter in rows:
                form = load_form_context(
                    session, public_id, user_id=interviewer, policy=ctx.policy, now=ctx.now()
                )
                pages = plan_pages(form.rubric, form.request.focus_skills)
                views = tuple(
                    _slim(build_feedback_modal(form, page=i, pages=pages))
                    for i in range(len(pages))
                )
                forms.append(
                    Form(
                        public_id=public_id,
                        interviewer=interviewer,
                        interview_id=interview_id,
                        recruiter=recruiter,
                        editable=form.editable,
                        focus=tuple(form.request.focus_skills),
                        levels=form.rubric.level_ids,
                        recommendations=tuple(r.id for r in form.rubric.recommendations),
                        views=views,
                    )
                )
        return forms

    def refresh(self) -> None:
        """Between targets: states changed (declines, cancels), so read them again."""
        self._state = None
        self.forms = self._forms()

    def form(self, public_id: str) -> Form | None:
        return next((f for f in self.forms if f.public_id == public_id), None)

    def send(self, packed: tuple[bytes, str]) -> tuple[slackreq.Reply, DbState, DbState]:
        """Send a signed request; wait for the work after the ack; the state around it.

        A body past the server's size limit may be refused with 413 before Bolt sees
        it (``Reply.status`` 413, nothing changed); every other answer is the bot's.
        """
        # Nothing else writes between two requests: the last state is the one before.
        before = self._state or db_state(self.bot.session_factory)
        reply = self.bot.send(packed)
        self.inflight.wait()
        after = self._state = db_state(self.bot.session_factory)
        problems = self.errors.take()
        assert not problems, "logged at ERROR:\n" + "\n".join(problems)
        assert self.fake.rejected == [], f"sent to Slack and rejected: {self.fake.rejected}"
        assert reply.status != 500, reply.body[:500]
        if reply.status == 413:
            assert len(packed[0]) > TOO_LARGE, f"413 for {len(packed[0])} bytes"
            assert before == after
        return reply, before, after


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def module_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated database for the whole module (conftest's are per test): one world
    per backend serves every fuzz target, which saves a bot start-up per test."""
    from storage.engine import create_engine_for, normalize_url
    from storage.migrate import upgrade
    from tests.conftest import _postgres_base_url

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}"
        engine = create_engine_for(url)
        upgrade(engine)
        yield engine
        engine.dispose()
        return
    base = normalize_url(_postgres_base_url())
    schema = f"fuzz_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine_for(
        base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(
            hide_password=False
        )
    )
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module")
def world(module_engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from storage.engine import make_session_factory

    session_factory = make_session_factory(module_engine)
    tmp_path = tmp_path_factory.mktemp("world")
    fake = FakeSlack().start()
    for user, tz in PEOPLE.items():
        fake.add_user(user, tz=tz)
    rubrics = tmp_path / "rubrics"
    rubrics.mkdir()
    (rubrics / "big.yaml").write_text(yaml.safe_dump(long_rubric(), sort_keys=False))
    bot = ServedBot(
        module_engine,
        session_factory,
        fake,
        file_config=FileConfig(
            access=AccessConfig(recruiters=ACCESS_RECRUITERS), rubrics_dir=rubrics
        ),
    )
    errors = ErrorLog()
    inflight = InFlight()
    try:
        path = tmp_path / "interviews.yaml"
        path.write_text(yaml.safe_dump({"interviews": INTERVIEWS}, sort_keys=False))
        bot.import_file(path)
        bot.clock.now = START + timedelta(hours=1, minutes=6)  # 6 minutes after the end
        bot.sweep()
        ctx = bot.bot.ctx
        with session_factory.begin() as session:
            ids: dict[str, int] = dict(
                session.execute(sa.text("SELECT external_id, id FROM interviews")).all()
            )
            submitted = session.execute(
                sa.text(
                    "SELECT public_id FROM feedback_requests "
                    "WHERE interview_id = :i AND interviewer = 'U0BBB'"
                ),
                {"i": ids["fz-submitted"]},
            ).scalar_one()
            submit_feedback(
                session,
                submitted,
                user_id="U0BBB",
                recommendation="yes",
                notes="Solid.",
                ratings=[RatingView("fundamentals", "senior", "Explained backprop.")],
                policy=ctx.policy,
                now=ctx.now(),
            )
            cancel_interview(session, ids["fz-cancelled"], actor="U0RECRUIT", now=ctx.now())
        logging.getLogger().addHandler(errors)
        with pytest.MonkeyPatch.context() as monkeypatch:
            inflight.install(monkeypatch)
            yield World(bot, module_engine.dialect.name, errors, inflight)
    finally:
        logging.getLogger().removeHandler(errors)
        bot.close()
        fake.stop()
    assert fake.rejected == [], f"the bot sent payloads Slack would reject: {fake.rejected}"


@pytest.fixture(autouse=True)
def _nothing_logged_between_tests(request: pytest.FixtureRequest) -> None:
    if "world" in request.fixturenames:
        world: World = request.getfixturevalue("world")
        problems = world.errors.take()
        assert not problems, "logged at ERROR before this test:\n" + "\n".join(problems)
        world.refresh()


# -- shared checks ------------------------------------------------------------------------


def assert_untouched(diff: Mapping[str, Changes], *, what: str) -> None:
    """No core row changed, audit_events only grew."""
    for table in CORE_TABLES:
        assert table not in diff, f"{what} changed {table}: {diff[table]}"
    for table in APPEND_ONLY:
        if table in diff:
            assert not diff[table].updated and not diff[table].deleted, diff[table]


def input_blocks(view: Any) -> set[str]:
    blocks = view.get("blocks") if isinstance(view, dict) else None
    return {
        str(b.get("block_id"))
        for b in (blocks if isinstance(blocks, list) else [])
        if isinstance(b, dict) and b.get("type") == "input"
    }


def check_view_answer(reply: slackreq.Reply, submitted_view: Any) -> str:
    """The kind of answer to a view_submission: accepted, errors, update, push or clear."""
    assert reply.status == 200, (reply.status, reply.body[:300])
    answer = reply.json() if reply.body.strip() else None
    if not answer:
        return "accepted"
    assert isinstance(answer, dict), answer
    action = answer.get("response_action")
    if action == "errors":
        errors = answer["errors"]
        assert isinstance(errors, dict) and errors, answer
        assert set(errors) <= input_blocks(submitted_view), (
            f"errors for blocks the view does not have: {sorted(errors)}"
        )
        for message in errors.values():
            assert isinstance(message, str) and message.strip() and len(message) <= 2000
        return "errors"
    if action in ("update", "push"):
        problems = view_problems(answer["view"])
        assert not problems, problems
        return str(action)
    assert action == "clear", answer
    return "clear"


def check_message_answer(reply: slackreq.Reply) -> dict[str, Any] | None:
    assert reply.status == 200, (reply.status, reply.body[:300])
    if not reply.body.strip():
        return None
    answer = reply.json()
    assert isinstance(answer, dict)
    if answer:
        assert answer.get("response_type", "ephemeral") == "ephemeral", answer
        problems = message_problems(answer.get("text"), answer.get("blocks") or [])
        assert not problems, problems
    return answer


# -- the feedback modal -----------------------------------------------------------------------


@dataclass(frozen=True)
class FeedbackCase:
    user: Any
    callback_id: str
    view: dict[str, Any]  # as Slack sends it back: the built view, metadata, state
    form: Form | None  # the request the metadata names, if any
    page: int | None
    valid: bool  # a complete, well-formed answer: must be accepted when it is the user's

    def __repr__(self) -> str:  # the view's blocks are ~200 kB: show what was fuzzed
        metadata = self.view.get("private_metadata")
        state = json.dumps(self.view.get("state"), ensure_ascii=True, default=repr)
        return (
            f"FeedbackCase(user={self.user!r}, callback_id={self.callback_id!r}, "
            f"form={self.form and self.form.public_id!r}, page={self.page!r}, valid={self.valid}, "
            f"private_metadata={_clip(repr(metadata))}, state={_clip(state)})"
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


def _clip(text: str, limit: int = 3000) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} chars)"


def _page_skills(view: Mapping[str, Any]) -> list[str]:
    prefix = "level:"
    return [
        b["block_id"][len(prefix) :]
        for b in view["blocks"]
        if str(b.get("block_id", "")).startswith(prefix)
    ]


# Text a person types (short, to keep examples small; the oversized kinds are drawn apart).
SAFE_TEXT = st.one_of(
    st.sampled_from(["Explained the trade-offs.", "Wrote tests first", "Ada — très bien ✓"]),
    st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), min_size=1, max_size=12),
).filter(str.strip)


@st.composite
def feedback_state(
    draw: st.DrawFn, form: Form, skills: Sequence[str], *, final: bool
) -> tuple[dict[str, Any], bool]:
    """``view.state.values`` for one page, and whether it is a valid answer as it stands."""
    values: dict[str, Any] = {}
    for skill in skills:
        answered = skill in form.focus or draw(st.booleans())
        level = draw(st.sampled_from([*form.levels, NOT_ASSESSED])) if answered else None
        evidence = draw(SAFE_TEXT) if level not in (None, NOT_ASSESSED) else None
        values[level_block_id(skill)] = {
            "level": {"type": "static_select", "selected_option": level and option(level)}
        }
        values[evidence_block_id(skill)] = {
            "evidence": {"type": "plain_text_input", "value": evidence}
        }
    if final:
        rec = draw(st.sampled_from(form.recommendations))
        values["recommendation"] = {
            "value": {"type": "radio_buttons", "selected_option": option(rec)}
        }
        values["notes"] = {
            "value": {"type": "plain_text_input", "value": draw(st.one_of(st.none(), SAFE_TEXT))}
        }
    if draw(st.integers(0, 3)) == 0:
        return values, True
    # Break it: each mutation hits one input.
    blocks = sorted(values) or ["notes"]
    for _ in range(draw(st.integers(1, 4))):
        block = draw(st.sampled_from(blocks))
        kind = draw(st.sampled_from(["drop", "select", "text", "element", "block", "extra"]))
        if kind == "drop":
            values.pop(block, None)
        elif kind == "select":
            choices = [*form.levels, NOT_ASSESSED, *form.recommendations]
            values[block] = {"x": {"selected_option": draw(selected_option(choices))}} | (
                {"level": {"selected_option": draw(selected_option(choices))}}
                if block.startswith("level:")
                else {"value": {"selected_option": draw(selected_option(choices))}}
            )
        elif kind == "text":
            action = "evidence" if block.startswith("evidence:") else "value"
            limit = EVIDENCE_MAX_CHARS if action == "evidence" else NOTES_MAX_CHARS
            values[block] = {
                action: {
                    "type": "plain_text_input",
                    "value": draw(
                        st.one_of(
                            text_input(SAFE_TEXT),
                            huge_text(limit + 1, limit + 50),
                            st.just(" " * (limit + 10) + "x"),
                        )
                    ),
                }
            }
        elif kind == "element":
            values[block] = {
                draw(st.sampled_from(["level", "evidence", "value"])): draw(json_values())
            }
        elif kind == "block":
            values[block] = draw(json_values())
        else:
            values[draw(nasty_text(max_size=20))] = draw(json_values())
    return values, False


@st.composite
def feedback_cases(draw: st.DrawFn, world: World) -> FeedbackCase:
    form = draw(st.sampled_from(world.forms))
    page = draw(st.integers(0, len(form.views) - 1))
    built = form.views[page]
    skills = _page_skills(built)
    final = built["callback_id"] == FEEDBACK_CALLBACK
    state, valid = draw(feedback_state(form, skills, final=final))
    user = draw(st.one_of(st.just(form.interviewer), slack_ids(list(PEOPLE))))
    callback = draw(
        st.one_of(
            st.just(built["callback_id"]),
            st.sampled_from([FEEDBACK_CALLBACK, FEEDBACK_PAGE_CALLBACK]),
        )
    )
    metadata: Any = built["private_metadata"]
    named: Form | None = form
    named_page: int | None = page
    tamper = draw(st.integers(0, 5))
    if tamper == 1:  # another request's metadata (someone else's, locked, another page)
        named = draw(st.sampled_from(world.forms))
        named_page = draw(st.integers(-2, 4))
        metadata = dump_metadata(named.public_id, named_page)
        if 0 <= named_page < len(named.views):
            built = named.views[named_page]  # Slack holds the view its metadata came with
        valid = valid and named == form and named_page == page
    elif tamper == 2:  # forged or garbage
        named, named_page, valid = None, None, False
        metadata = draw(
            st.one_of(
                nasty_text(),
                huge_text(),
                json_values().map(json.dumps),
                st.builds(lambda r, p: json.dumps({"r": r, "p": p}), json_values(), json_values()),
                st.sampled_from(world.forms).map(
                    lambda f: json.dumps({"r": f.public_id, "p": 0, "extra": 1})
                ),
                json_values(),
            )
        )
    view = {
        **built,
        "id": "V0FUZZ",
        "team_id": "T0TEAM",
        "hash": "1.abc",
        "callback_id": callback,
        "private_metadata": metadata,
        "state": {"values": state},
    }
    if draw(st.integers(0, 9)) == 0:  # values of any JSON type (state is an object)
        view["state"] = {"values": draw(json_values())}
        valid = False
    return FeedbackCase(user, callback, view, named, named_page, valid)


def _dig(value: Any, *keys: str) -> Any:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _answers(values: Any, skills: Sequence[str]) -> dict[str, tuple[str | None, str]]:
    """What the state says per skill, read independently of read_submission: a level
    is answered when its option's value is a non-empty string; evidence is text or ""."""
    out: dict[str, tuple[str | None, str]] = {}
    for skill in skills:
        level = _dig(values, level_block_id(skill), "level", "selected_option", "value")
        if not isinstance(level, str) or not level:
            continue
        evidence = _dig(values, evidence_block_id(skill), "evidence", "value")
        text = evidence.strip() if isinstance(evidence, str) else ""
        out[skill] = (None if level == NOT_ASSESSED else level, text)
    return out


def _draft(state: DbState, request_row_id: int) -> dict[str, tuple[str | None, str]]:
    row = state["feedback_drafts"].get((request_row_id,))
    return (
        {} if row is None else {r["skill_id"]: (r["level"], r["evidence"]) for r in row["ratings"]}
    )


def _stored(state: DbState, request_row_id: int) -> dict[str, tuple[str | None, str]] | None:
    """The request's stored ratings by skill, or None when it has no feedback yet."""
    feedback = [r for r in state["feedback"].values() if r["request_id"] == request_row_id]
    if not feedback:
        return None
    return {
        row["skill_id"]: (row["level"], row["evidence"])
        for row in state["skill_ratings"].values()
        if row["feedback_id"] == feedback[0]["id"]
    }


def _request_row_id(state: DbState, public_id: str) -> int:
    return next(
        k for k, row in state["feedback_requests"].items() if row["public_id"] == public_id
    )[0]


def check_feedback_case(world: World, case: FeedbackCase) -> None:
    reply, before, after = world.send(
        slackreq.interactive(
            {
                "type": "view_submission",
                "team": slackreq.TEAM,
                "user": {"id": case.user, "username": "someone", "team_id": "T0TEAM"},
                "api_app_id": "A0APP",
                "token": "legacy-verification-token",
                "trigger_id": world.fake.issue_trigger(),
                "view": case.view,
            }
        )
    )
    if reply.status == 413:
        return
    kind = check_view_answer(reply, case.view)
    diff = changes(before, after)
    form, page = case.form, case.page
    owned_and_open = (
        form is not None
        and case.user == form.interviewer
        and form.editable
        and page is not None
        and 0 <= page < len(form.views)
        and case.callback_id == form.views[page]["callback_id"]
    )
    # The last page of a paged form, with neither a draft of the earlier pages nor
    # stored feedback to keep them from: refused, the form must be opened again.
    pages_lost = (
        owned_and_open
        and form is not None
        and page is not None
        and len(form.views) > 1
        and form.views[page]["callback_id"] == FEEDBACK_CALLBACK
        and not _draft(before, _request_row_id(before, form.public_id))
        and _stored(before, _request_row_id(before, form.public_id)) is None
    )
    if kind not in ("accepted", "clear", "push"):
        assert_untouched(diff, what=f"a refused submission ({kind})")
        assert not (owned_and_open and case.valid) or pages_lost, (
            f"a valid answer was refused: {reply.body[:400]!r}"
        )
        return
    assert not pages_lost, "a last page without its earlier pages was stored"
    assert owned_and_open and form is not None and page is not None, (
        f"accepted ({kind}) for {case.user!r}: {case.view['private_metadata']!r}"
    )
    request_key = next(
        k for k, row in before["feedback_requests"].items() if row["public_id"] == form.public_id
    )
    values = _dig(case.view, "state", "values")
    given = _answers(values, _page_skills(form.views[page]))
    final = form.views[page]["callback_id"] == FEEDBACK_CALLBACK
    earlier = _draft(before, request_key[0])
    if final and len(form.views) > 1 and not earlier:
        earlier = _stored(before, request_key[0]) or {}  # kept, not deleted
    expected = {**earlier, **given}
    if not final:
        assert kind == "push"
        assert _draft(after, request_key[0]) == expected
        assert "feedback" not in diff and "skill_ratings" not in diff
        return
    feedback = [row for row in after["feedback"].values() if row["request_id"] == request_key[0]]
    assert len(feedback) == 1, feedback
    [stored] = feedback
    assert stored["recommendation"] == _dig(
        values, "recommendation", "value", "selected_option", "value"
    )
    notes = _dig(values, "notes", "value", "value")
    assert stored["notes"] == (notes.strip() if isinstance(notes, str) else "")
    ratings = {
        row["skill_id"]: (row["level"], row["evidence"])
        for row in after["skill_ratings"].values()
        if row["feedback_id"] == stored["id"]
    }
    assert ratings == expected, "the stored ratings are not the ones submitted"
    # Slack's own limits hold for what is stored, whatever the payload claimed.
    assert len(stored["notes"]) <= NOTES_MAX_CHARS
    assert all(len(evidence) <= EVIDENCE_MAX_CHARS for _level, evidence in ratings.values())
    assert _draft(after, request_key[0]) == {}
    others = diff.get("feedback_requests", Changes()).keys() - {request_key}
    assert not others, f"other requests changed: {others}"


def test_fuzz_feedback_modal(world: World) -> None:
    fuzz(
        feedback_cases(world),
        lambda case: check_feedback_case(world, case),
        examples=world.examples(150),
    )
    # Then every feedback in the database holds together.
    state = db_state(world.bot.session_factory)
    requests = state["feedback_requests"]
    for feedback in state["feedback"].values():
        request = requests[(feedback["request_id"],)]
        form = world.form(request["public_id"])
        assert form is not None and request["state"] == "submitted"
        assert feedback["recommendation"] in form.recommendations
        ratings = [r for r in state["skill_ratings"].values() if r["feedback_id"] == feedback["id"]]
        skills = [r["skill_id"] for r in ratings]
        assert len(skills) == len(set(skills))
        for rating in ratings:
            assert rating["level"] in (*form.levels, None)
            assert rating["level"] is None or rating["evidence"].strip()


# -- the schedule modal -------------------------------------------------------------------------


SCHEDULE_VIEW_BLOCKS: list[str] = []  # filled lazily from the built modal


_SCHEDULE_KEYS = {
    "target_level": "selected_option",
    "duration": "selected_option",
    "starts_at": "selected_date_time",
    "hiring_channel": "selected_conversation",
    "recruiter": "selected_user",
    "hiring_lead": "selected_user",
    "panel_": "selected_user",
    "focus_": "selected_options",
}


@st.composite
def schedule_state(draw: st.DrawFn) -> tuple[dict[str, Any], bool]:
    when = int((START + timedelta(days=draw(st.integers(1, 60)))).timestamp())
    panel = draw(
        st.lists(st.sampled_from(["U0AAA", "U0BBB", "U0CCC"]), min_size=1, max_size=3, unique=True)
    )
    skills = ["system_design", "ml_workflows", "communication", "planning", "fundamentals"]

    def el(kind: str, **value: Any) -> dict[str, Any]:
        return {"value": {"type": kind, **value}}

    values: dict[str, Any] = {
        "candidate": el("plain_text_input", value=draw(SAFE_TEXT)),
        "role": el(
            "plain_text_input", value=draw(st.sampled_from(["Senior ML Engineer", "mle-lead"]))
        ),
        "target_level": el("static_select", selected_option=None),
        "starts_at": el("datetimepicker", selected_date_time=when),
        "duration": el(
            "static_select",
            selected_option=option(draw(st.sampled_from([d for d, _ in DURATIONS]))),
        ),
        "hiring_channel": el("conversations_select", selected_conversation="C0HIRING"),
        "recruiter": el("users_select", selected_user=None),
        "hiring_lead": el("users_select", selected_user="U0LEAD"),
    }
    for slot in range(6):
        who = panel[slot] if slot < len(panel) else None
        focus = draw(st.lists(st.sampled_from(skills), max_size=2, unique=True)) if who else []
        values[panel_block(slot)] = el("users_select", selected_user=who)
        values[focus_block(slot)] = el(
            "multi_static_select", selected_options=[option(s) for s in focus]
        )
    if draw(st.integers(0, 3)) == 0:
        return values, True
    fields = {
        "candidate": ("value", text_input(SAFE_TEXT)),
        "role": ("value", text_input(st.sampled_from(["Senior ML Engineer", "Astronaut"]))),
        "target_level": (
            "selected_option",
            selected_option(["junior", "senior", "lead", "principal"]),
        ),
        "starts_at": ("selected_date_time", st.one_of(numbers(), json_values())),
        "duration": (
            "selected_option",
            selected_option([d for d, _ in DURATIONS] + ["0m", "-5m", "99999999d"]),
        ),
        "hiring_channel": (
            "selected_conversation",
            st.one_of(slack_ids(["C0HIRING", "G0PRIV"], "C"), json_values()),
        ),
        "recruiter": ("selected_user", st.one_of(slack_ids(list(PEOPLE)), json_values())),
        "hiring_lead": ("selected_user", st.one_of(slack_ids(list(PEOPLE)), json_values())),
    }
    for _ in range(draw(st.integers(1, 6))):
        target = draw(st.sampled_from([*fields, "panel", "focus", "junk", "drop", *["type"] * 6]))
        if target == "type":  # an input's value of any JSON type, under its own key
            block = draw(st.sampled_from(sorted(values)))
            key = _SCHEDULE_KEYS.get(block.rstrip("0123456789"), "value")
            values[block] = {"value": {key: draw(st.one_of(numbers(), json_values()))}}
        elif target in fields:
            key, strategy = fields[target]
            values[target] = {"value": put({"type": "x"}, key, draw(maybe(strategy)))}
        elif target == "panel":
            slot = draw(st.integers(0, 5))
            values[panel_block(slot)] = {
                "value": {"selected_user": draw(st.one_of(slack_ids(list(PEOPLE)), json_values()))}
            }
        elif target == "focus":
            slot = draw(st.integers(0, 5))
            values[focus_block(slot)] = {
                "value": {
                    "selected_options": draw(
                        st.one_of(
                            st.lists(
                                selected_option([*skills, "cooking", "big:skill_1_1"]), max_size=4
                            ),
                            json_values(),
                        )
                    )
                }
            }
        elif target == "junk":
            values[
                draw(
                    st.one_of(
                        nasty_text(max_size=12),
                        st.sampled_from(["panel_99", "focus_7", "panel_0000"]),
                    )
                )
            ] = draw(json_values())
        else:
            values.pop(draw(st.sampled_from(sorted(values))), None)
    return values, False


def test_fuzz_schedule_modal(world: World) -> None:
    view = build_schedule_modal(list(world.bot.bot.ctx.registry.all()))
    # Mostly the recruiter: anyone else is refused before the state is read.
    users = st.one_of(*[st.just("U0RECRUIT")] * 6, st.just("U0REC2"), slack_ids(list(PEOPLE)))

    def check(case: tuple[Any, tuple[dict[str, Any], bool]]) -> None:
        user, (values, valid) = case
        submitted = {
            **view,
            "id": "V0SCHED",
            "team_id": "T0TEAM",
            "hash": "1.x",
            "state": {"values": values},
        }
        reply, before, after = world.send(
            slackreq.interactive(
                {
                    "type": "view_submission",
                    "team": slackreq.TEAM,
                    "user": {"id": user, "username": "someone", "team_id": "T0TEAM"},
                    "api_app_id": "A0APP",
                    "trigger_id": world.fake.issue_trigger(),
                    "view": submitted,
                }
            )
        )
        if reply.status == 413:
            return
        kind = check_view_answer(reply, submitted)
        diff = changes(before, after)
        if kind != "accepted":
            assert_untouched(diff, what=f"a refused schedule ({kind})")
            assert not (valid and user in ACCESS_RECRUITERS), (
                f"valid but refused: {reply.body[:400]!r}"
            )
            return
        assert user in ACCESS_RECRUITERS, f"{user!r} scheduled an interview"
        created = diff["interviews"].inserted if "interviews" in diff else {}
        updated = diff["interviews"].updated if "interviews" in diff else {}
        # One interview created or updated; none when it was scheduled already, unchanged.
        assert len(created) + len(updated) <= 1, diff.get("interviews")
        for table in ("feedback", "skill_ratings", "feedback_drafts"):
            assert table not in diff
        if created:
            [(interview_id,)] = created
            requests = [
                r for r in after["feedback_requests"].values() if r["interview_id"] == interview_id
            ]
            # Exactly the panel the modal said (as the parser reads it): no partial write.
            row, _ = read_schedule_state(values, submitter=user)
            panel = [member["interviewer"] for member in row["panel"]]
            assert sorted(r["interviewer"] for r in requests) == sorted(panel)

    fuzz(st.tuples(users, schedule_state()), check, examples=world.examples(150))


# -- app_home_opened ---------------------------------------------------------------------------


@st.composite
def home_events(draw: st.DrawFn) -> dict[str, Any]:
    event: dict[str, Any] = {"type": "app_home_opened"}
    put(event, "user", draw(st.one_of(slack_ids(list(PEOPLE)), st.just(MISSING), st.just(""))))
    put(event, "tab", draw(maybe(st.sampled_from(["home", "messages", "about", "HOME"]))))
    put(event, "channel", draw(maybe(slack_ids(["D0AAA"], "D"))))
    put(event, "event_ts", draw(maybe(st.just("1700000000.000100"))))
    if draw(st.booleans()):
        put(event, "view", draw(maybe(st.fixed_dictionaries({"id": nasty_text(max_size=8)}))))
    return event


def test_fuzz_app_home_opened(world: World) -> None:
    def check(event: dict[str, Any]) -> None:
        user = event.get("user")
        world.fake.home.pop(user, None) if isinstance(user, str) else None
        reply, before, after = world.send(slackreq.event(event))
        assert reply.status == 200, reply.status
        assert_untouched(changes(before, after), what="app_home_opened")
        if event.get("tab", "home") == "home" and user in PEOPLE:
            assert user in world.fake.home, (
                f"no Home published for a known user: {changes(before, after)}, "
                f"{[c.args for c in world.fake.calls[-5:]]}"
            )
        if event.get("tab", "home") != "home" and isinstance(user, str):
            assert user not in world.fake.home, "a Home published for another tab"

    fuzz(home_events(), check, examples=world.examples(80))


# -- block_actions ------------------------------------------------------------------------


def public_ids(world: World) -> st.SearchStrategy[Any]:
    if world.public_ids is None:
        world.public_ids = _public_ids([f.public_id for f in world.forms])
    return world.public_ids


def _public_ids(known: list[str]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(known),
        st.sampled_from(known),
        text_near(known),
        st.sampled_from(known).map(lambda p: p[:-1]),
        st.sampled_from(known).map(lambda p: p + "=" * 100),
        json_values(),
    )


@st.composite
def block_action_payloads(draw: st.DrawFn, world: World) -> dict[str, Any]:
    user = draw(slack_ids(list(PEOPLE)))
    action: dict[str, Any] = {
        "action_id": draw(st.one_of(st.sampled_from(ACTIONS), text_near(ACTIONS))),
        "block_id": draw(st.one_of(st.just("actions"), nasty_text(max_size=8))),
        "type": draw(st.sampled_from(["button", "static_select", "overflow", "datepicker"])),
        "action_ts": f"{1_700_000_000 + draw(st.integers(0, 10**6))}.000100",
    }
    put(action, "value", draw(maybe(public_ids(world))))
    if draw(st.booleans()):
        put(action, "selected_option", draw(maybe(public_ids(world).map(option))))
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": slackreq.TEAM,
        "user": put({"username": "someone", "team_id": "T0TEAM"}, "id", user),
        "api_app_id": "A0APP",
        "token": "legacy-verification-token",
        "actions": [action],
    }
    put(payload, "trigger_id", draw(maybe(st.just(world.fake.issue_trigger()))))
    container = draw(
        st.one_of(
            st.just({"type": "message", "channel_id": f"D{user}", "message_ts": "1.0"}),
            st.fixed_dictionaries(
                {"type": st.sampled_from(["message", "view", "message_attachment"])},
                optional={
                    "channel_id": st.one_of(
                        slack_ids(["C0HIRING", f"D{user}"], "D"), json_values()
                    ),
                    "message_ts": st.one_of(st.just("1.0"), nasty_text(max_size=8), numbers()),
                    "view_id": nasty_text(max_size=8),
                },
            ),
            st.just(MISSING),
        )
    )
    put(payload, "container", container)
    return payload


def check_action_changes(world: World, payload: dict[str, Any], diff: dict[str, Changes]) -> None:
    action = payload["actions"][0]
    what = f"{action['action_id']} by {payload['user'].get('id')!r} on {action.get('value')!r}"
    for table in ("feedback", "skill_ratings", "feedback_drafts", "rubric_versions"):
        assert table not in diff, f"{what} changed {table}"
    for table in APPEND_ONLY:
        if table in diff:
            assert not diff[table].updated and not diff[table].deleted
    touched = diff.get("feedback_requests")
    if touched is None:
        assert "interviews" not in diff, f"{what} changed interviews: {diff['interviews']}"
        return
    assert not touched.inserted and not touched.deleted, touched
    # Only the request the button names, and only as its owner (or recruiter) may.
    assert action["action_id"] in (*REQUEST_ACTIONS, NUDGE_NOW_ACTION), what
    value = action.get("value")
    form = world.form(value) if isinstance(value, str) else None
    assert form is not None, f"{what} changed requests {sorted(touched.keys())}"
    [(old, _new)] = touched.updated.values()
    assert old["public_id"] == form.public_id
    user = payload["user"].get("id")
    if action["action_id"] == NUDGE_NOW_ACTION:
        assert user == form.recruiter, what
    else:
        assert user == form.interviewer, what
    if "interviews" in diff:
        assert set(diff["interviews"].updated) == {(form.interview_id,)}, what


def test_fuzz_block_actions(world: World) -> None:
    def check(payload: dict[str, Any]) -> None:
        reply, before, after = world.send(slackreq.interactive(payload))
        known = payload["actions"][0]["action_id"] in ACTIONS
        expected = (200, 413) if known else (200, 404, 413)
        assert reply.status in expected, reply.status
        check_action_changes(world, payload, changes(before, after))

    fuzz(block_action_payloads(world), check, examples=world.examples(150))


# -- /interview -----------------------------------------------------------------------------


def without_surrogates(text: str) -> str:
    return text.encode("utf-8", "replace").decode("utf-8")


def command_texts(world: World) -> st.SearchStrategy[str]:
    ids = [str(i) for i in world.interview_ids]
    numbers_as_text = st.one_of(
        st.sampled_from(ids),
        st.sampled_from(ids).map(lambda i: f"#{i}"),
        st.integers(-(10**15), 10**15).map(str),
        st.sampled_from(
            ["0", "-1", "00001", "1e3", "0x1", "1_0", "\u0661", "²", "\uff11", "9" * 40]
        ),
        nasty_text(max_size=12),
    )
    sub = text_near(["help", "list", "summary", "schedule", "cancel", "calibration"])
    sep = st.sampled_from([" ", "  ", "\t", "\u00a0", "\u3000", "\n", ""])
    calibration_args = st.lists(
        st.one_of(
            st.sampled_from(["--since", "--since=", "mle", "MLE", "cooking", "--SINCE"]),
            st.sampled_from(["90d", "0d", "1h", "3661d", "1e9d", "-5d", "nand", "1.5d"]),
            nasty_text(max_size=12),
        ),
        max_size=4,
    ).map(" ".join)
    return st.one_of(
        st.tuples(st.just("calibration"), sep, calibration_args).map("".join),
        st.tuples(sub, sep, numbers_as_text).map("".join),
        st.tuples(sub, sep, numbers_as_text, sep, numbers_as_text).map("".join),
        sub,
        nasty_text(),
        huge_text(max_chars=12_000),
    )


def test_fuzz_interview_command(world: World) -> None:
    users = slack_ids([*PEOPLE, "U0AAA", "U0RECRUIT"])

    def check(case: tuple[str, str]) -> None:
        # A form-encoded body is UTF-8: Slack cannot send a lone surrogate here.
        user, text = (without_surrogates(s) for s in case)
        before_fake = len(world.fake.calls_to("views.open"))
        reply, before, after = world.send(
            slackreq.slash_command(user, text, trigger_id=world.fake.issue_trigger())
        )
        if reply.status == 413:
            return
        answer = check_message_answer(reply)
        diff = changes(before, after)
        cancelled = {k[0] for k in diff["interviews"].updated} if "interviews" in diff else set()
        if not cancelled:
            assert_untouched(diff, what=f"/interview {text!r} by {user}")
            if answer is None:  # only `schedule` answers with a modal instead of a reply
                assert len(world.fake.calls_to("views.open")) > before_fake, "no answer at all"
            return
        # A cancel: of the one interview the text names, by a recruiter allowed to.
        words = text.split()
        assert len(words) == 2 and words[0].lower() == "cancel", text
        [interview_id] = cancelled
        assert words[1].lstrip("#") == str(interview_id), (text, interview_id)
        recruiter = before["interviews"][(interview_id,)]["recruiter"]
        assert user in (*ACCESS_RECRUITERS, recruiter), f"{user} cancelled {interview_id}"
        assert after["interviews"][(interview_id,)]["state"] == "cancelled"
        for table in ("feedback", "skill_ratings", "feedback_drafts", "rubric_versions"):
            assert table not in diff

    fuzz(st.tuples(users, command_texts(world)), check, examples=world.examples(150))


# -- known bugs, outside the files this suite may fix: each with its minimal payload --------


def _view_submission(user: str, view: dict[str, Any]) -> tuple[bytes, str]:
    return slackreq.interactive(
        {
            "type": "view_submission",
            "team": slackreq.TEAM,
            "user": {"id": user, "username": user.lower(), "team_id": "T0TEAM"},
            "api_app_id": "A0APP",
            "view": view,
        }
    )


def _answer_or_crash(world: World, packed: tuple[bytes, str]) -> tuple[int, list[str]]:
    reply = world.bot.send(packed)
    world.inflight.wait()
    return reply.status, world.errors.take()


@pytest.mark.parametrize("callback", [FEEDBACK_CALLBACK, SCHEDULE_CALLBACK])
def test_view_state_that_is_not_an_object_is_refused_cleanly(world: World, callback: str) -> None:
    form = next(f for f in world.forms if f.editable and len(f.views) == 1)
    view = {**form.views[0], "callback_id": callback, "state": 1}
    user = form.interviewer if callback == FEEDBACK_CALLBACK else "U0RECRUIT"
    status, errors = _answer_or_crash(world, _view_submission(user, view))
    assert status == 200 and not errors, (status, errors)


def test_last_page_submitted_again_keeps_the_earlier_pages(world: World) -> None:
    form = next(f for f in world.forms if len(f.views) > 1 and f.editable and f.focus)
    first, last = form.views[0], form.views[-1]
    first_skills = _page_skills(first)
    page0 = {
        level_block_id(s): {"level": {"selected_option": option("senior")}} for s in first_skills
    } | {evidence_block_id(s): {"evidence": {"value": "Seen."}} for s in first_skills}
    final = {"recommendation": {"value": {"selected_option": option(form.recommendations[-1])}}}
    for view, values in ((first, page0), (last, final), (last, final)):
        reply = world.bot.send(
            _view_submission(form.interviewer, {**view, "state": {"values": values}})
        )
        world.inflight.wait()
        assert reply.status == 200
    with world.bot.session_factory() as session:
        rated = set(
            session.scalars(
                sa.text(
                    "SELECT s.skill_id FROM skill_ratings s JOIN feedback f ON f.id = s.feedback_id "
                    "JOIN feedback_requests r ON r.id = f.request_id WHERE r.public_id = :p"
                ),
                {"p": form.public_id},
            )
        )
    assert set(first_skills) <= rated, f"lost: {sorted(set(first_skills) - rated)}"


_BAD_ENVELOPES = {
    "actions is an empty list": {"type": "block_actions", "actions": []},
    "actions holds a string": {"type": "block_actions", "actions": ["feedback_open"]},
    "actions is an object": {"type": "block_actions", "actions": {"action_id": "feedback_open"}},
    "view without its type": {
        "type": "view_submission",
        "view": {"callback_id": "feedback_submit"},
    },
    "view is a string": {"type": "view_submission", "view": "feedback_submit"},
}


@pytest.mark.parametrize("payload", list(_BAD_ENVELOPES.values()), ids=list(_BAD_ENVELOPES))
def test_envelopes_slack_never_sends_get_a_4xx(world: World, payload: dict[str, Any]) -> None:
    envelope = {"team": slackreq.TEAM, "user": {"id": "U0AAA"}, "api_app_id": "A0APP"}
    status, errors = _answer_or_crash(world, slackreq.interactive({**envelope, **payload}))
    assert status < 500 and not errors, (status, errors)


def test_event_with_a_numeric_user_gets_a_4xx(world: World) -> None:
    status, errors = _answer_or_crash(world, slackreq.event({"type": "app_home_opened", "user": 5}))
    assert status < 500 and not errors, (status, errors)
