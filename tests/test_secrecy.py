"""Tokens, the signing secret, feedback notes and evidence never reach a log line or an error.

Logging is set up as production sets it up (``configure_logging`` at DEBUG, the
most a user can ask for with ``logging.level: DEBUG`` or ``-v``), the database
engine is the one every command uses, and the flow includes its failure paths:
Slack API errors, a rejected signature, a database error while storing feedback.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

import tests.harness
from bot.cli import database_engine, main
from bot.logs import HTTP_CLIENT_LOGGERS, LIBRARY_LOGGERS, LogFormat, configure_logging
from storage.engine import create_engine_for, make_session_factory
from storage.feedback import submit_feedback
from storage.migrate import upgrade
from tests import slackreq
from tests.fakeslack import FakeSlack, Fault, running_fake
from tests.harness import SIGNING_SECRET, ServedBot, feedback_values
from tests.test_storage_feedback_support import POLICY, make_interview, rating

TOKEN = "xoxb-1111-2222-SECRECYTOKENMARK"
APP_TOKEN = "xapp-1-A0-3333-SECRECYAPPMARK"
NOTES = "NOTESMARK she asked about our on-call rota"
EVIDENCE = "EVIDENCEMARK sketched a sharded parameter server"
FORBIDDEN = ("SECRECYTOKENMARK", "SECRECYAPPMARK", SIGNING_SECRET, "NOTESMARK", "EVIDENCEMARK")
INTERVIEW = """\
interviews:
  - external_id: gh-secrecy
    candidate: Ada Lovelace
    role: Senior ML Engineer
    starts_at: 2027-03-01T09:00:00+00:00
    ends_at: 2027-03-01T10:00:00+00:00
    hiring_channel: C0HIRING
    recruiter: U0RECRUIT
    hiring_lead: U0LEAD
    panel:
      - interviewer: U0AAA
        focus: [system_design]
      - interviewer: U0BBB
        focus: [system_design]
"""
RATINGS: dict[str, tuple[str | None, str]] = {"system_design": ("senior", EVIDENCE)}


class Records(logging.Handler):
    """Keeps every record as logged, before any formatting or redaction."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def texts(self) -> Iterator[str]:
        for record in self.records:
            yield record.getMessage()
            yield repr(record.args)
            if record.exc_info and record.exc_info[1] is not None:
                exc: BaseException | None = record.exc_info[1]
                while exc is not None:  # the exception and everything it was raised from
                    yield str(exc)
                    exc = exc.__cause__ or exc.__context__


@contextmanager
def production_logging(format: LogFormat) -> Iterator[io.StringIO]:
    """``configure_logging`` at DEBUG into a buffer; everything restored afterwards."""
    root = logging.getLogger()
    levels = {
        name: logging.getLogger(name).level for name in ("", *LIBRARY_LOGGERS, *HTTP_CLIENT_LOGGERS)
    }
    stream = io.StringIO()
    handler = configure_logging(format, "DEBUG", stream=stream)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@pytest.fixture
def logs() -> Iterator[tuple[io.StringIO, Records]]:
    """Production logging (JSON lines, DEBUG) into a buffer, plus every record as logged."""
    raw = Records()
    with production_logging("json") as stream:
        logging.getLogger().addHandler(raw)  # after ours: it sees what ours let through
        try:
            yield stream, raw
        finally:
            logging.getLogger().removeHandler(raw)


def assert_clean(text: str, where: str) -> None:
    for mark in FORBIDDEN:
        assert mark not in text, (where, mark, text[max(0, text.find(mark) - 300) :][:600])


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    yield from running_fake()


def button_value(fake: FakeSlack, user: str) -> str:
    dm = [m for m in fake.messages if m.channel == user][-1]
    return str(
        next(
            e["value"]
            for block in dm.blocks
            for e in [block.get("accessory"), *block.get("elements", [])]
            if isinstance(e, dict) and e.get("action_id") == "feedback_open"
        )
    )


def fail_first_thread_reply(fake: FakeSlack) -> None:
    """The first reply in a thread (an interviewer's notes and evidence) fails."""
    post = fake.handlers["chat.postMessage"]
    failed: list[bool] = []

    def handler(args: dict[str, Any]) -> dict[str, Any]:
        if args.get("thread_ts") and not failed:
            failed.append(True)
            return {"ok": False, "error": "msg_too_long"}
        return post(args)

    fake.handlers["chat.postMessage"] = handler


def break_rating_inserts(factory: sessionmaker[Session], *, on: bool) -> None:
    """Make every INSERT into skill_ratings fail (a database error mid-submission)."""
    with factory.begin() as session:
        if session.get_bind().dialect.name == "sqlite":
            session.execute(
                sa.text(
                    "CREATE TRIGGER fail_ratings BEFORE INSERT ON skill_ratings "
                    "BEGIN SELECT RAISE(ABORT, 'simulated disk failure'); END"
                    if on
                    else "DROP TRIGGER fail_ratings"
                )
            )
        elif on:
            session.execute(
                sa.text(
                    "CREATE FUNCTION fail_ratings() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'simulated disk failure'; END $$"
                )
            )
            session.execute(
                sa.text(
                    "CREATE TRIGGER fail_ratings BEFORE INSERT ON skill_ratings "
                    "FOR EACH ROW EXECUTE FUNCTION fail_ratings()"
                )
            )
        else:
            session.execute(sa.text("DROP TRIGGER fail_ratings ON skill_ratings"))


# SQLite only, to keep it quick: nothing here depends on the backend but the text of
# a database error, which the next test checks on both.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_whole_flow_and_its_failures_log_no_secret_notes_or_evidence(
    db_url: str,
    fake: FakeSlack,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    logs: tuple[io.StringIO, Records],
) -> None:
    stream, raw = logs
    engine = database_engine(db_url)  # as every command creates it
    upgrade(engine)
    factory = make_session_factory(engine)
    for user in ("U0AAA", "U0BBB", "U0RECRUIT", "U0LEAD"):
        fake.add_user(user)
    monkeypatch.setattr(tests.harness, "BOT_TOKEN", TOKEN)
    served = ServedBot(engine, factory, fake)
    try:
        path = tmp_path / "interviews.yaml"
        path.write_text(INTERVIEW)
        served.import_file(path)
        served.clock.now = datetime(2027, 3, 1, 10, 10, tzinfo=UTC)

        # Slack errors on the form DMs: an API error, and a 503 the client retries
        fake.fail("chat.postMessage", Fault(body={"ok": False, "error": "internal_error"}))
        fake.fail("chat.postMessage", Fault(status=503, body={"ok": False}))
        report = served.sweep()
        assert report.forms_failed == 1 and report.forms_sent == 1
        served.clock.advance(timedelta(hours=1))
        assert served.sweep().forms_sent == 1

        # a feedback submission with a bad signature (forged, or a real one replayed
        # too late) is refused; Bolt logs such a request with its body
        served.click("U0AAA", "feedback_open", button_value(fake, "U0AAA"))
        forged = slackreq.view_submission(
            "U0AAA",
            served.last_opened_view(),
            feedback_values(RATINGS, recommendation="yes", notes=NOTES),
        )
        assert served.send(forged, secret="f" * 32).status == 401
        assert any("Invalid request signature" in r.getMessage() for r in raw.records)

        # U0AAA's feedback is stored
        served.give_feedback("U0AAA", RATINGS, recommendation="yes", notes=NOTES)

        # U0BBB's fails in the database, after its notes were written
        break_rating_inserts(factory, on=True)
        served.click("U0BBB", "feedback_open", button_value(fake, "U0BBB"))
        values = feedback_values(RATINGS, recommendation="no", notes=NOTES)
        logged = len(raw.records)
        reply = served.submit("U0BBB", served.last_opened_view(), values)
        assert_clean(reply.body.decode(errors="replace"), "the reply to Slack")
        assert any(r.levelno >= logging.WARNING for r in raw.records[logged:])  # it was logged
        break_rating_inserts(factory, on=False)
        served.give_feedback("U0BBB", RATINGS, recommendation="no", notes=NOTES)

        # the summary's thread (notes, evidence) fails once, then goes out
        fail_first_thread_reply(fake)
        served.sweep()
        served.clock.advance(timedelta(hours=1))
        served.sweep()
        thread = [m for m in fake.messages if m.channel == "C0HIRING" and m.thread_ts]
        assert any(NOTES in m.text + json.dumps(m.blocks) for m in thread)  # really sent
    finally:
        served.close()
        engine.dispose()

    # the failures were logged, so the check below covers them
    messages = [r.getMessage() for r in raw.records]
    assert any("internal_error" in m for m in messages)
    assert any("msg_too_long" in m for m in messages)
    assert len(raw.records) > 20
    output = stream.getvalue()
    assert_clean(output, "the log output")
    for text in raw.texts():
        assert_clean(text, "a log record")
    assert "body: [omitted]" in output  # Bolt's invalid-signature line, cut


def test_slack_libraries_never_log_bodies_even_at_debug() -> None:
    """slack_sdk logs request bodies at DEBUG; Socket Mode logs payloads through Bolt's logger."""
    from slack_bolt import App
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    with production_logging("text") as stream:
        app = App(
            token=TOKEN, signing_secret=SIGNING_SECRET, token_verification_enabled=False,
            logger=logging.getLogger("slack_bolt"),
        )  # fmt: skip
        socket = SocketModeHandler(app, APP_TOKEN)
        try:
            socket.client.logger.debug("on_message invoked: (message: %s)", NOTES)
        finally:
            socket.client.close()  # type: ignore[no-untyped-call]
        for name in ("slack_sdk.web.base_client", "slack_bolt.App", "bot.slack_client.sdk"):
            logging.getLogger(name).debug("Sending a request - body: %s", EVIDENCE)
        logging.getLogger("slack_bolt.RequestVerification").info(
            "Invalid request signature detected (signature: v0=1, timestamp: 2, body: %s)", NOTES
        )
        logging.getLogger("handlers.sweep").debug("ours still logs at DEBUG")
        # An App built by an earlier test may have pinned this logger's own level.
        logging.getLogger("slack_bolt.App").setLevel(logging.NOTSET)
        logging.getLogger("slack_bolt.App").info("theirs still logs at INFO")
    output = stream.getvalue()
    assert "ours still logs at DEBUG" in output and "theirs still logs at INFO" in output
    assert_clean(output, "library debug output")


def test_the_http_client_never_logs_urls_even_at_debug() -> None:
    """httpx logs every request's full URL at INFO; a URL can be a credential."""
    import httpx

    secret_path = "/hooks/catch/1234/s3cr3t-hook-path"
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    with production_logging("text") as stream:
        with httpx.Client(transport=transport) as client:
            client.post(f"https://hooks.example.com{secret_path}", content=b"{}")
        logging.getLogger("httpx").warning("a warning still shows")
    output = stream.getvalue()
    assert "a warning still shows" in output
    assert secret_path not in output


def test_database_errors_never_carry_the_values(db_url: str) -> None:
    """Statement parameters never enter an error; row values PostgreSQL repeats, no log line."""
    engine = database_engine(db_url)
    upgrade(engine)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        public_id = make_interview(session).requests[0].public_id
    break_rating_inserts(factory, on=True)

    def failed_submission(factory: sessionmaker[Session]) -> str:
        with pytest.raises(sa.exc.DBAPIError) as info, factory.begin() as session:
            submit_feedback(
                session,
                public_id,
                user_id="U0AAA",
                recommendation="yes",
                notes=NOTES,
                ratings=[rating("system_design", "senior", EVIDENCE)],
                policy=POLICY,
                now=datetime(2027, 3, 1, 11, 0, tzinfo=UTC),
            )
        return str(info.value)

    message = failed_submission(factory)
    assert "simulated disk failure" in message and "SQL parameters hidden" in message
    assert_clean(message, "a database error")
    plain = create_engine_for(db_url, hide_parameters=False)  # without it, the values show
    assert EVIDENCE in failed_submission(make_session_factory(plain))
    plain.dispose()
    break_rating_inserts(factory, on=False)

    errors = [message]
    if engine.dialect.name == "postgresql":
        # a constraint violation: the server's DETAIL line repeats the failing row
        with factory.begin() as session:
            session.execute(
                sa.text(
                    "ALTER TABLE feedback ADD CONSTRAINT ck_no_marks CHECK (notes NOT LIKE '%MARK%')"
                )
            )
        errors.append(failed_submission(factory))
        assert "Failing row contains" in errors[-1] and "NOTESMARK" in errors[-1]
    engine.dispose()
    for format in ("text", "json"):
        with production_logging(format) as log:
            for error in errors:
                try:
                    raise RuntimeError("not stored") from sa.exc.DBAPIError(
                        error, None, Exception()
                    )
                except RuntimeError:
                    logging.getLogger("handlers.feedback").exception(
                        "feedback not stored: %s", error
                    )
        output = log.getvalue()
        assert output.count("simulated disk failure") == 2  # message and traceback
        if format == "json":
            assert all(json.loads(line) for line in output.splitlines())
        assert_clean(output, f"a database error logged as {format}")


# ---------------------------------------------------------------------------
# The command line: error messages and purge/export output


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every secret set; a SQLite database in tmp_path."""
    monkeypatch.delenv("INTERVIEW_BOT_CONFIG", raising=False)
    monkeypatch.delenv("SLACK_API_URL", raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    database = tmp_path / "bot.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    return database


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_errors_never_print_secrets(
    env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # a malformed bot token
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxp-4444-SECRECYTOKENMARK")
    code, out, err = run(capsys, "serve", "--socket")
    assert code == 2 and "SLACK_BOT_TOKEN is malformed" in err
    assert_clean(out + err, "serve with a bad token")

    # a bad config file, with every secret set
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    config = tmp_path / "config.yaml"
    config.write_text("retention:\n  days: 1\nlogging: {level: DEBUG}\n")
    monkeypatch.setenv("INTERVIEW_BOT_CONFIG", str(config))
    code, out, err = run(capsys, "config", "show")
    assert code == 2 and "retention.days: must be longer than summary.deadline" in err
    assert_clean(out + err, "a config error")
    monkeypatch.delenv("INTERVIEW_BOT_CONFIG")

    # an unreachable database whose URL holds a password
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://bot:PASSWORDMARK@127.0.0.1:1/x")
    for argv in (("purge", "--older-than", "180d"), ("export", "--interview", "1")):
        code, out, err = run(capsys, *argv)
        assert code == 2 and err.startswith("interview-bot: cannot use the database:")
        assert "PASSWORDMARK" not in out + err
        assert_clean(out + err, " ".join(argv))


def test_purge_and_export_print_no_secret_and_log_no_feedback(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As with -v: the commands' own logging at DEBUG; stdout is their output."""
    engine = database_engine(f"sqlite:///{env}")
    upgrade(engine)
    factory = make_session_factory(engine)
    now = datetime.now(UTC)
    with factory.begin() as session:
        interview = make_interview(session, starts_at=now - timedelta(days=200))
        interview_id, public_id = interview.id, interview.requests[0].public_id
    with factory.begin() as session:
        submit_feedback(
            session,
            public_id,
            user_id="U0AAA",
            recommendation="yes",
            notes=NOTES,
            ratings=[rating("system_design", "senior", EVIDENCE)],
            policy=POLICY,
            now=now - timedelta(days=199),
        )
    engine.dispose()

    with production_logging("text") as log:
        code, exported, err = run(
            capsys, "-v", "export", "--interview", str(interview_id), "--format", "csv"
        )
        assert code == 0, err
        assert NOTES in exported and EVIDENCE in exported  # the export itself
        for mark in ("SECRECYTOKENMARK", "SECRECYAPPMARK", SIGNING_SECRET):
            assert mark not in exported
        assert_clean(err, "export's errors")
        for argv in (("--dry-run",), ()):
            code, out, err = run(capsys, "-v", "purge", "--older-than", "180d", *argv)
            assert code == 0 and "1 interview(s)" in out
            assert_clean(out + err, "purge")
    assert_clean(log.getvalue(), "the commands' log")
