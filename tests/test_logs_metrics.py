"""Structured logs (request_id / job context, redaction, no notes or evidence) and /metrics."""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.app import request_id_of
from bot.config import ConfigError, FileConfig, LoggingConfig, load_config_file
from bot.logs import (
    ContextFilter,
    JsonFormatter,
    TextFormatter,
    configure_logging,
    redact,
)
from handlers.logcontext import current_fields, log_context
from handlers.metrics import REGISTRY
from tests.fakeslack import FakeSlack, Fault, running_fake
from tests.harness import BOT_TOKEN, SIGNING_SECRET, ServedBot, wait_for

NOTES = "SECRET-NOTE-123"
EVIDENCE = "SECRET-EVIDENCE-456"
INTERVIEW = """\
interviews:
  - external_id: gh-logs
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
"""
RATINGS: dict[str, tuple[str | None, str]] = {
    "system_design": ("senior", EVIDENCE),
    "fundamentals": ("senior", EVIDENCE),
}


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    yield from running_fake()


@pytest.fixture
def served(
    engine: Engine, session_factory: sessionmaker[Session], fake: FakeSlack, tmp_path: Path
) -> Iterator[ServedBot]:
    for user in ("U0AAA", "U0RECRUIT", "U0LEAD"):
        fake.add_user(user)
    bot = ServedBot(engine, session_factory, fake)
    path = tmp_path / "interviews.yaml"
    path.write_text(INTERVIEW)
    bot.import_file(path)
    bot.clock.now = bot.clock.now.replace(hour=10, minute=10)  # the form is due
    yield bot
    bot.close()


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(served: ServedBot) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"{served.url}/metrics", timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_flow_logs_carry_context_and_never_secrets_notes_or_evidence(
    served: ServedBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.handler.addFilter(ContextFilter())
    me = threading.get_ident()

    def sweep() -> list[logging.LogRecord]:
        start = len(caplog.records)
        served.sweep()
        return [r for r in caplog.records[start:] if r.thread == me]

    sweep_records = sweep()  # the form DM
    assert [m for m in served.fake.messages if m.channel == "U0AAA"]
    start = len(caplog.records)
    served.give_feedback("U0AAA", RATINGS, recommendation="yes", notes=NOTES)
    request_records = caplog.records[start:]
    sweep_records += sweep()  # the summary: post, then its thread with notes and evidence
    sweep_records += sweep()
    thread = [m for m in served.fake.messages if m.channel == "C0HIRING" and m.thread_ts]
    assert any(NOTES in json.dumps(m.blocks) + m.text for m in thread)  # it was really sent

    # every record, raw and formatted both ways: no token, secret, notes or evidence
    forbidden = [BOT_TOKEN, SIGNING_SECRET, NOTES, EVIDENCE]
    text, js = TextFormatter(), JsonFormatter()
    for record in caplog.records:
        outputs = [record.getMessage(), repr(record.args), text.format(record), js.format(record)]
        for output in outputs:
            for secret in forbidden:
                assert secret not in output, (secret, record.name, output[:300])
    assert len(caplog.records) > 10  # DEBUG really was captured

    # the Slack request's own log lines carry its request_id
    ours = [r for r in request_records if r.name.startswith(("handlers.", "bot."))]
    assert any("feedback created" in r.getMessage() for r in ours)
    assert ours and all(getattr(r, "request_id", None) for r in ours)
    # the sweep's lines carry a job, each unit its own
    assert sweep_records and all(getattr(r, "job", None) for r in sweep_records)
    jobs = {r.job for r in sweep_records}  # type: ignore[attr-defined]
    assert any(j.startswith("form:") for j in jobs)
    assert any(j.startswith("summary:post:") for j in jobs)
    assert any(j.startswith("summary:finish:") for j in jobs)
    assert current_fields() == {}  # nothing leaked into the test thread


def test_metrics_endpoint_counts_the_flow_and_slack_errors(served: ServedBot) -> None:
    forms = sample("interview_bot_forms_sent_total")
    created = sample("interview_bot_feedback_submissions_total", outcome="created")
    posts = sample("interview_bot_summaries_total", kind="post")
    claimed = sample("interview_bot_sweep_claimed_total", kind="form")
    sweeps = sample("interview_bot_sweep_duration_seconds_count")
    errors = sample(
        "interview_bot_slack_api_errors_total", method="chat.postMessage", error="internal_error"
    )

    # a failed DM is counted by method and error; the form stays due
    served.fake.fail(
        "chat.postMessage", Fault(status=200, body={"ok": False, "error": "internal_error"})
    )
    assert served.sweep().forms_failed == 1
    served.clock.advance(timedelta(hours=1))  # past the retry backoff
    assert served.sweep().forms_sent == 1
    served.give_feedback("U0AAA", RATINGS, recommendation="yes", notes=NOTES)
    served.sweep()

    after = scrape(served)
    assert after[("interview_bot_forms_sent_total", ())] == forms + 1
    assert (
        after[("interview_bot_feedback_submissions_total", (("outcome", "created"),))]
        == created + 1
    )
    assert after[("interview_bot_summaries_total", (("kind", "post"),))] == posts + 1
    assert after[("interview_bot_sweep_claimed_total", (("kind", "form"),))] == claimed + 2
    assert after[("interview_bot_sweep_duration_seconds_count", ())] == sweeps + 3
    key = (
        "interview_bot_slack_api_errors_total",
        (("error", "internal_error"), ("method", "chat.postMessage")),
    )
    assert after[key] == errors + 1
    # a listener's call (Bolt's per-request client) is counted too
    views_errors = sample(
        "interview_bot_slack_api_errors_total", method="views.open", error="expired_trigger_id"
    )
    served.fake.fail(
        "views.open", Fault(status=200, body={"ok": False, "error": "expired_trigger_id"})
    )
    dm = [m for m in served.fake.messages if m.channel == "U0AAA"][-1]
    value = next(
        e["value"]
        for block in dm.blocks
        for e in [block.get("accessory"), *block.get("elements", [])]
        if isinstance(e, dict) and e.get("action_id") in ("feedback_open", "feedback_edit")
    )
    served.click("U0AAA", "feedback_open", value)
    wait_for(
        lambda: (
            sample(
                "interview_bot_slack_api_errors_total",
                method="views.open",
                error="expired_trigger_id",
            )
            == views_errors + 1
        ),
        what="the views.open error counted",
    )
    # labelled series exist before their first increment
    assert ("interview_bot_summaries_total", (("kind", "update"),)) in after
    assert ("interview_bot_sweep_claimed_total", (("kind", "escalation"),)) in after


def test_json_lines_parse_and_text_lines_are_key_value() -> None:
    text_out, json_out = io.StringIO(), io.StringIO()
    log = logging.getLogger("handlers.sweep")
    for fmt, out in (("text", text_out), ("json", json_out)):
        handler = configure_logging(fmt, "DEBUG", stream=out)  # type: ignore[arg-type]
        try:
            with log_context(job="form:abc"), log_context(request_id="Ev123"):
                log.info('sent "%s"\nnext line', "x y")
            log.debug("no context")
        finally:
            logging.getLogger().removeHandler(handler)
    first, second = json_out.getvalue().splitlines()
    record = json.loads(first)
    assert record["level"] == "INFO" and record["logger"] == "handlers.sweep"
    assert record["msg"] == 'sent "x y"\nnext line'
    assert record["job"] == "form:abc" and record["request_id"] == "Ev123"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["ts"])
    assert "job" not in json.loads(second)
    line, plain = text_out.getvalue().splitlines()
    assert re.match(r"ts=\S+ level=INFO logger=handlers\.sweep ", line)
    assert 'msg="sent \\"x y\\"\\nnext line"' in line
    assert line.endswith("request_id=Ev123 job=form:abc")
    assert plain.endswith('msg="no context"')


def test_configure_logging_replaces_its_own_handler_only() -> None:
    root = logging.getLogger()
    before = list(root.handlers)
    level = root.level
    try:
        first = configure_logging("text", "INFO", stream=io.StringIO())
        second = configure_logging("json", "WARNING", stream=io.StringIO())
        assert first not in root.handlers and second in root.handlers
        assert all(h in root.handlers for h in before)  # e.g. pytest's capture handlers
        assert root.level == logging.WARNING
    finally:
        root.removeHandler(second)
        root.setLevel(level)


def test_redaction_replaces_slack_tokens_in_every_format() -> None:
    tokens = [
        "xoxb-123-456-abcDEF",
        "xoxp-1-2-3",
        "xoxa-2-x",
        "xoxo-x",
        "xoxs-y",
        "xoxr-z",
        "xapp-1-A0-123-abc",
    ]
    line = "tokens: " + ", ".join(tokens) + " end"
    assert redact(line) == "tokens: " + ", ".join(["[redacted]"] * len(tokens)) + " end"
    assert redact("xoxz-not-a-token and xapp") == "xoxz-not-a-token and xapp"
    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "auth %s", ("xoxb-9-9-s3cr3t",), None
    )
    try:
        raise RuntimeError("bad token xapp-1-XYZ")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    for formatter in (TextFormatter(), JsonFormatter()):
        out = formatter.format(record)
        assert "s3cr3t" not in out and "xapp-1-XYZ" not in out
        assert "[redacted]" in out
    json.loads(JsonFormatter().format(record))


def test_request_id_from_the_payload() -> None:
    assert request_id_of({"event_id": "Ev0ABC", "trigger_id": "1.2.3"}) == "Ev0ABC"
    assert request_id_of({"trigger_id": "123.456.abc", "view": {"id": "V1"}}) == "123.456.abc"
    assert request_id_of({"view": {"id": "V0VIEW"}}) == "V0VIEW"
    assert request_id_of({"actions": [{"action_ts": "1700000000.123"}]}) == "1700000000.123"
    assert request_id_of({"event_id": 'Ev" msg=forged'}) == "Evmsgforged"
    assert re.fullmatch(r"[0-9a-f]{32}", request_id_of({}))


def test_logging_config_key(tmp_path: Path) -> None:
    assert FileConfig().logging == LoggingConfig(format="text", level="INFO")
    path = tmp_path / "config.yaml"
    path.write_text("logging:\n  format: json\n  level: DEBUG\n")
    assert load_config_file(path).logging == LoggingConfig(format="json", level="DEBUG")
    path.write_text("logging:\n  format: xml\n")
    with pytest.raises(ConfigError) as info:
        load_config_file(path)
    assert "logging.format" in str(info.value.errors[0])
