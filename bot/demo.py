"""``interview-bot demo``: one interview from scheduling to the panel summary, offline.

Everything runs on this machine: a fake Slack (``bot.fakeslack``) on loopback, a
throwaway SQLite database, and the real bot served over HTTP exactly as
``interview-bot serve --http`` serves it. The four interviewers of
``bot.examples.PANEL`` click their DM's button and submit the modal through
Slack-signed HTTP requests. Nothing reads the configuration or the environment:
the demo never touches a real database or a real Slack workspace.
"""

from __future__ import annotations

import json
import re
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

from pydantic import SecretStr

from bot.app import Bot, build_bot
from bot.config import Config, FileConfig, Secrets
from bot.examples import NAMES, PANEL, START
from bot.fakeslack import FakeSlack
from bot.server import BotWsgiApp, make_http_server, stop_http_server
from bot.slack_client import create_web_client
from bot.slackreq import Reply, block_action, post, view_submission
from handlers.blocks.debrief import debrief_guide
from handlers.blocks.debrief_render import render_guide_text
from handlers.blocks.summary import DEBRIEF_ACTION, consensus_of, render_summary_text
from storage.engine import create_engine_for, make_session_factory
from storage.import_file import parse_interview
from storage.interviews import Timings, import_interviews
from storage.migrate import upgrade
from storage.summaries import load_summary_data

DEFAULT_OUT = Path("interview-bot-demo")
STEPS = 10
WAIT_SECONDS = 10.0
BLOCK_KIT_BUILDER = "https://app.slack.com/block-kit-builder"

HIRING_CHANNEL = "C0HIRING"
RECRUITER = "U0RECRUIT"
HIRING_LEAD = "U0LEAD"
# Slack user id -> (display name, time zone)
PEOPLE: dict[str, tuple[str, str]] = {
    "U0PRIYA": (NAMES["U0PRIYA"], "Asia/Kolkata"),
    "U0MARCO": (NAMES["U0MARCO"], "Europe/Rome"),
    "U0SUN": (NAMES["U0SUN"], "Asia/Seoul"),
    "U0ALEX": (NAMES["U0ALEX"], "America/New_York"),
    RECRUITER: ("Rita Recruiter", "Europe/London"),
    HIRING_LEAD: ("Lee Lead", "America/Los_Angeles"),
}
_WRITTEN = re.compile(r"^\d{2,}-[\w.-]+\.(json|png)$")
_MESSAGE_METHODS = ("chat.postMessage", "chat.update", "chat.postEphemeral")
_VIEW_METHODS = ("views.open", "views.push", "views.update", "views.publish")


class DemoError(Exception):
    """The demo could not go on; the message says what went wrong."""


@dataclass
class DemoClock:
    """The bot's clock: the demo moves it, so a day passes in a second."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance_to(self, moment: datetime) -> None:
        self.now = max(self.now, moment)


@dataclass
class Sent:
    """One message or view the bot sent, as Slack received it."""

    kind: str  # dm, dm-update, modal, summary, summary-update, thread, ephemeral, home
    who: str  # a user id, or "" for the channel
    payload: dict[str, Any]


@dataclass
class Recorder:
    """Collects what the bot sent, in order, from the fake's call log."""

    fake: FakeSlack
    sent: list[Sent] = field(default_factory=list)
    _seen: int = 0
    _summary_ts: str | None = None

    def drain(self, *, viewer: str = "") -> list[Sent]:
        calls = self.fake.calls[self._seen :]
        self._seen += len(calls)
        new: list[Sent] = []
        for call in calls:
            entry = self._entry(call.method, call.args, viewer)
            if entry is not None:
                new.append(entry)
        self.sent.extend(new)
        return new

    def add_view(self, kind: str, who: str, view: dict[str, Any]) -> None:
        """A view the bot returned in an HTTP response (``response_action``), not an API call."""
        self.sent.append(Sent(kind, who, view))

    def _entry(self, method: str, args: dict[str, Any], viewer: str) -> Sent | None:
        if method in _VIEW_METHODS:
            view = _decoded(args.get("view"))
            kind = "home" if method == "views.publish" else "modal"
            return Sent(kind, str(args.get("user_id") or viewer), view)
        if method not in _MESSAGE_METHODS:
            return None
        channel = str(args.get("channel", ""))
        message: dict[str, Any] = {
            "channel": channel,
            "text": args.get("text", ""),
            "blocks": _decoded_list(args.get("blocks")),
        }
        thread_ts = args.get("thread_ts")
        if thread_ts:
            message["thread_ts"] = thread_ts
        if method == "chat.postEphemeral":
            return Sent("ephemeral", str(args.get("user", "")), message)
        if not channel.startswith(("C", "G")):  # a DM: the user id or its D channel
            user = channel[1:] if channel.startswith("D") else channel
            return Sent("dm" if method == "chat.postMessage" else "dm-update", user, message)
        if thread_ts:
            return Sent("thread", _mentioned(str(message["text"])), message)
        return Sent("summary" if method == "chat.postMessage" else "summary-update", "", message)


def run_demo(out: Path | None, *, stdout: TextIO | None = None) -> int:
    """Run the demo; returns the exit code (0 ok, 1 the bot or the fake misbehaved)."""
    import sys

    printer = stdout or sys.stdout

    def say(text: str = "") -> None:
        print(text, file=printer, flush=True)

    started = time.monotonic()
    try:
        out_dir = _prepare_out(out or DEFAULT_OUT)
        with tempfile.TemporaryDirectory(prefix="interview-bot-demo-") as workdir:
            code = _run(Path(workdir), out_dir, say)
    except DemoError as exc:
        say(f"demo failed: {exc}")
        return 1
    say(f"Done in {time.monotonic() - started:.1f} s; nothing is left running.")
    return code


def _run(workdir: Path, out_dir: Path, say: Callable[[str], None]) -> int:
    fake = FakeSlack().start()
    engine = create_engine_for(f"sqlite:///{workdir / 'demo.db'}")
    server: Any = None
    thread: threading.Thread | None = None
    bot: Bot | None = None
    try:
        upgrade(engine)
        session_factory = make_session_factory(engine)
        signing_secret = secrets.token_hex(16)
        config = Config(
            file=FileConfig(),
            database_url=str(engine.url),
            slack_api_url=fake.url,
            secrets=Secrets(
                bot_token=SecretStr(f"xoxb-demo-{secrets.token_hex(12)}"),
                signing_secret=SecretStr(signing_secret),
            ),
        )
        clock = DemoClock(START - timedelta(hours=1))
        bot = build_bot(config, session_factory, create_web_client(config), clock=clock)
        wsgi = BotWsgiApp(bot.app, engine, bot.webhooks)
        server = make_http_server(wsgi, host="127.0.0.1", port=0, threads=4)
        port = int(getattr(server, "effective_port"))  # noqa: B009
        thread = threading.Thread(target=server.run, name="demo-http", daemon=True)
        wsgi.ready.set()
        thread.start()
        demo = _Demo(
            fake=fake,
            bot=bot,
            config=config,
            clock=clock,
            events_url=f"http://127.0.0.1:{port}/slack/events",
            signing_secret=signing_secret,
            recorder=Recorder(fake),
            say=say,
        )
        say(
            f"[1/{STEPS}] A fake Slack on {fake.url} and the bot on http://127.0.0.1:{port} "
            f"(SQLite in {workdir}; no real Slack, no network)"
        )
        return demo.play(out_dir)
    finally:
        if server is not None and thread is not None:
            stop_http_server(server, thread)
        if bot is not None:
            bot.close()
        fake.stop()
        engine.dispose()


@dataclass
class _Demo:
    fake: FakeSlack
    bot: Bot
    config: Config
    clock: DemoClock
    events_url: str
    signing_secret: str
    recorder: Recorder
    say: Callable[[str], None]

    def play(self, out_dir: Path) -> int:
        interview_id, ends_at = self.schedule()
        self.say(
            f"[2/{STEPS}] Scheduled interview {interview_id}: Ada Lovelace, Senior ML Engineer, "
            f"{START:%Y-%m-%d %H:%M}-{ends_at:%H:%M} UTC, panel of {len(PANEL)}: "
            + ", ".join(self.name(u) for u in PANEL)
        )
        self.recorder.drain()

        self.clock.advance_to(ends_at + self.config.feedback.form_delay + timedelta(minutes=1))
        self.say(
            f"[3/{STEPS}] Interview ends; at {self.clock.now:%H:%M} UTC the sweep sends "
            "the feedback forms"
        )
        self.bot.sweeper.run_once()
        for sent in self.recorder.drain():
            if sent.kind == "dm":
                self.say(f"      DM to {self.name(sent.who)}: {sent.payload['text']}")
        self.check_rejected()

        for step, user in enumerate(PANEL, start=4):
            self.clock.advance_to(self.clock.now + timedelta(minutes=20))
            _focus, recommendation, _notes, ratings = PANEL[user]
            self.say(
                f"[{step}/{STEPS}] {self.name(user)} clicks Give feedback, rates "
                f"{len([r for r in ratings.values() if r[0]])} skills and recommends "
                f"{recommendation!r}"
            )
            self.give_feedback(user)
            self.check_rejected()

        self.clock.advance_to(self.clock.now + timedelta(minutes=1))
        self.say(
            f"[8/{STEPS}] The next sweep posts the summary to the hiring channel, "
            "the panel's notes and evidence in its thread, and the ratings heatmap"
        )
        self.sweep_until_quiet()
        new = self.recorder.drain()
        self.check_rejected()
        if not any(s.kind == "summary" for s in new):
            raise DemoError("the sweep posted no summary")
        if not self.fake.uploads:
            raise DemoError("the sweep uploaded no heatmap")
        for sent in new:
            where = "thread message" if sent.kind == "thread" else sent.kind
            self.say(f"      {where} in {HIRING_CHANNEL}: {self.named(sent.payload['text'])}")
        self.say(f"      heatmap uploaded: {self.fake.uploads[-1]['filename']}")
        self.say("")
        self.say(self.summary_text(interview_id).rstrip("\n"))
        self.say("")

        self.say(
            f"[9/{STEPS}] {self.name(HIRING_LEAD)} clicks Debrief guide on the summary: "
            "an agenda by disagreement, who speaks first, what to probe in a follow-up"
        )
        self.open_debrief_guide(interview_id)
        self.say("")

        written = self.write(out_dir)
        self.say(f"[10/{STEPS}] Wrote {len(written)} files to {out_dir}/:")
        for path in written:
            self.say(f"      {path.name}")
        self.say(
            "Paste any JSON file's blocks into Slack's Block Kit Builder "
            f"({BLOCK_KIT_BUILDER}) to see it as Slack shows it."
        )
        self.check_rejected()
        return 0

    # -- the steps ------------------------------------------------------------------
    def schedule(self) -> tuple[int, datetime]:
        for user, (name, tz) in PEOPLE.items():
            self.fake.add_user(
                user, f"{name.split()[0].lower()}@example.com", tz=tz, real_name=name
            )
        registry = self.bot.ctx.registry
        spec = parse_interview(
            {
                "external_id": "demo-1",
                "candidate": "Ada Lovelace",
                "role": "Senior ML Engineer",
                "rubric": "mle",
                "target_level": "senior",
                "starts_at": START.isoformat(),
                "ends_at": (START + timedelta(hours=1)).isoformat(),
                "hiring_channel": HIRING_CHANNEL,
                "recruiter": RECRUITER,
                "hiring_lead": HIRING_LEAD,
                "panel": [
                    {"interviewer": user, "focus": list(focus)}
                    for user, (focus, *_rest) in PANEL.items()
                ],
            },
            source="demo",
            registry=registry,
        )
        with self.bot.ctx.session_factory.begin() as session:
            [result] = import_interviews(
                session,
                [spec],
                registry=registry,
                timings=Timings(
                    form_delay=self.config.feedback.form_delay,
                    summary_deadline=self.config.summary.deadline,
                ),
                now=self.clock(),
            )
        if result.interview_id is None:
            raise DemoError(f"the interview was not scheduled ({result.outcome.value})")
        return int(result.interview_id), spec.ends_at

    def give_feedback(self, user: str) -> None:
        _focus, recommendation, notes, ratings = PANEL[user]
        dms = self.fake.messages_in(user) or self.fake.messages_in(self.fake.dm_channel(user))
        if not dms:
            raise DemoError(f"{user} got no feedback DM")
        value = _button_value(dms[-1].blocks, ("feedback_open", "feedback_edit"))
        if value is None:
            raise DemoError(f"{user}'s DM has no Give feedback button")

        opened_before = len(self.fake.calls_to("views.open"))
        trigger = self.fake.issue_trigger()
        self.send(block_action(user, "feedback_open", value, trigger_id=trigger))
        self.wait(lambda: len(self.fake.calls_to("views.open")) > opened_before, "the modal")
        self.recorder.drain(viewer=user)
        view = _decoded(self.fake.calls_to("views.open")[-1].args.get("view"))
        self.say(f"      the bot opened the modal {view.get('title', {}).get('text', '')!r}")

        values = feedback_values(ratings, recommendation=recommendation, notes=notes)
        updates_before = len(self.fake.calls_to("chat.update"))
        retried = False
        for _attempt in range(4):  # up to 3 pages (Slack's view stack), one retry
            reply = self.send(view_submission(user, view, _values_in(view, values)))
            answer = reply.json() or {}
            action = answer.get("response_action")
            if action == "push" and isinstance(answer.get("view"), dict):
                view = answer["view"]
                self.recorder.add_view("modal", user, view)
                continue
            if action == "errors" and not retried:
                # The modal's own validation, as Slack shows it under each field.
                errors = dict(answer.get("errors") or {})
                for block_id, message in errors.items():
                    self.say(f"      the modal says at {block_id}: {message}")
                values = _with_evidence(values, errors)
                self.say(f"      {self.name(user)} adds the missing evidence and submits again")
                retried = True
                continue
            if action == "errors":
                raise DemoError(f"the modal refused {user}'s answers: {answer.get('errors')}")
            if action not in (None, "clear"):
                raise DemoError(f"unexpected answer to {user}'s submission: {answer}")
            break
        else:
            raise DemoError(f"{user}'s modal kept asking for more pages")
        self.wait(lambda: len(self.fake.calls_to("chat.update")) > updates_before, "the DM update")
        for sent in self.recorder.drain(viewer=user):
            if sent.kind == "dm-update":
                self.say(f"      DM to {self.name(user)} updated: {sent.payload['text']}")

    def open_debrief_guide(self, interview_id: int) -> None:
        summary = next(
            (m for m in self.fake.messages_in(HIRING_CHANNEL) if m.thread_ts is None), None
        )
        if summary is None or _button_value(summary.blocks, (DEBRIEF_ACTION,)) is None:
            raise DemoError("the summary has no Debrief guide button")
        opened_before = len(self.fake.calls_to("views.open"))
        trigger = self.fake.issue_trigger()
        self.send(block_action(HIRING_LEAD, DEBRIEF_ACTION, str(interview_id), trigger_id=trigger))
        self.wait(lambda: len(self.fake.calls_to("views.open")) > opened_before, "the guide")
        self.recorder.drain(viewer=HIRING_LEAD)
        view = _decoded(self.fake.calls_to("views.open")[-1].args.get("view"))
        self.say(f"      the bot opened the modal {view.get('title', {}).get('text', '')!r}")
        with self.bot.ctx.session_factory.begin() as session:
            data = load_summary_data(session, interview_id)
        self.say("")
        self.say(render_guide_text(debrief_guide(data), self.name).rstrip("\n"))

    def sweep_until_quiet(self) -> None:
        for _round in range(5):
            report = self.bot.sweeper.run_once()
            summaries = report.summaries
            self.check_rejected()
            if summaries.failed:
                raise DemoError(f"{summaries.failed} summary step(s) failed")
            if not (report.forms_sent or summaries.posted or summaries.finished):
                return

    def summary_text(self, interview_id: int) -> str:
        with self.bot.ctx.session_factory.begin() as session:
            data = load_summary_data(session, interview_id)
        return render_summary_text(data, consensus_of(data), names=NAMES)

    def write(self, out_dir: Path) -> list[Path]:
        written: list[Path] = []
        for number, sent in enumerate(self.recorder.sent, start=1):
            suffix = f"-{sent.who}" if sent.who else ""
            path = out_dir / f"{number:02d}-{sent.kind}{suffix}.json"
            path.write_text(
                json.dumps(sent.payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
            )
            written.append(path)
        for upload in self.fake.uploads:
            number = len(written) + 1
            path = out_dir / f"{number:02d}-{_safe(str(upload.get('filename') or 'upload.png'))}"
            path.write_bytes(upload["content"])
            written.append(path)
        return written

    # -- plumbing ------------------------------------------------------------------
    def send(self, packed: tuple[bytes, str]) -> Reply:
        body, content_type = packed
        reply = post(self.events_url, body, content_type, secret=self.signing_secret)
        if reply.status != 200:
            raise DemoError(f"the bot answered HTTP {reply.status}: {reply.body[:300]!r}")
        return reply

    def wait(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while not condition():
            if time.monotonic() > deadline:
                self.check_rejected()
                raise DemoError(f"timed out after {WAIT_SECONDS:.0f} s waiting for {what}")
            time.sleep(0.01)

    def check_rejected(self) -> None:
        if self.fake.rejected:
            lines = [f"{method}: {'; '.join(problems)}" for method, problems in self.fake.rejected]
            raise DemoError(
                "the fake Slack rejected payloads the bot sent:\n  " + "\n  ".join(lines)
            )

    def name(self, user: str) -> str:
        return PEOPLE.get(user, (user, ""))[0]

    def named(self, text: str) -> str:
        """``text`` with Slack mentions shown as names, as Slack would show them."""
        return re.sub(r"<@(\w+)>", lambda m: "@" + self.name(m.group(1)), text)


def feedback_values(
    ratings: dict[str, tuple[str | None, str]], *, recommendation: str | None, notes: str = ""
) -> dict[str, dict[str, dict[str, Any]]]:
    """Slack's ``view.state.values`` for the feedback modal, as an interviewer fills it in.

    ``ratings`` maps a skill id to (level id, "not_assessed", or None for unanswered; evidence).
    """
    values: dict[str, dict[str, dict[str, Any]]] = {}
    for skill_id, (level, evidence) in ratings.items():
        option = None if level is None else _option(level)
        values[f"level:{skill_id}"] = {
            "level": {"type": "static_select", "selected_option": option}
        }
        values[f"evidence:{skill_id}"] = {
            "evidence": {"type": "plain_text_input", "value": evidence or None}
        }
    values["recommendation"] = {
        "value": {
            "type": "radio_buttons",
            "selected_option": None if recommendation is None else _option(recommendation),
        }
    }
    values["notes"] = {"value": {"type": "plain_text_input", "value": notes or None}}
    return values


def _with_evidence(
    values: dict[str, dict[str, dict[str, Any]]], errors: dict[str, Any]
) -> dict[str, dict[str, dict[str, Any]]]:
    """The answers with evidence written where the modal asked for it."""
    fixed = dict(values)
    for block_id in errors:
        if block_id.startswith("evidence:"):
            fixed[block_id] = {
                "evidence": {
                    "type": "plain_text_input",
                    "value": "Consistently solid across the whole interview.",
                }
            }
    return fixed


def _option(value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": value}, "value": value}


def _values_in(view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Only the answers whose input blocks are on this page of the modal."""
    on_page = {str(b.get("block_id")) for b in view.get("blocks", []) if isinstance(b, dict)}
    return {block_id: value for block_id, value in values.items() if block_id in on_page}


def _button_value(blocks: list[dict[str, Any]], action_ids: tuple[str, ...]) -> str | None:
    for block in blocks:
        for element in [block.get("accessory"), *block.get("elements", [])]:
            if isinstance(element, dict) and element.get("action_id") in action_ids:
                return str(element.get("value", ""))
    return None


def _decoded(value: Any) -> dict[str, Any]:
    return dict(json.loads(value) if isinstance(value, str) else value or {})


def _decoded_list(value: Any) -> list[dict[str, Any]]:
    return list(json.loads(value) if isinstance(value, str) else value or [])


def _mentioned(text: str) -> str:
    """The interviewer a thread message is about, or "" when it is about several or none."""
    named = [user for user in PANEL if f"<@{user}>" in text]
    return named[0] if len(named) == 1 else ""


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]+", "-", name).strip("-") or "upload"


def _prepare_out(out: Path) -> Path:
    """Create the output folder; files an earlier demo wrote there are replaced."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        for old in out.iterdir():
            if old.is_file() and _WRITTEN.match(old.name):
                old.unlink()
    except OSError as exc:
        raise DemoError(f"cannot use the output folder {out}: {exc}") from None
    return out.resolve()
