"""The ``interview-bot`` command line.

Exit codes: 0 success, 1 the input (a rubric or import file) has errors or
names nothing known (a rubric, an interview id), 2 the invocation or the
configuration is wrong.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.config import Config, ConfigError, load_config
from bot.logs import configure_logging, fallback_logging
from rubric import RubricRegistry, load_rubric_file, render_rubric
from rubric.durations import format_duration, parse_duration
from rubric.located_yaml import SourceErrors

EXIT_OK = 0
EXIT_INPUT = 1
EXIT_USAGE = 2

logger = logging.getLogger(__name__)


class CliError(Exception):
    """A problem to report in one line and exit with ``code``."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="interview-bot",
        description="Structured interview feedback in Slack.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    rubric = commands.add_parser("rubric", help="check and print rubrics")
    rubric_cmds = rubric.add_subparsers(dest="rubric_command", required=True, metavar="ACTION")
    validate = rubric_cmds.add_parser("validate", help="check rubric files; line-numbered errors")
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE")
    show = rubric_cmds.add_parser("show", help="print a rubric's disciplines, skills and levels")
    show.add_argument("name", metavar="NAME")
    show.add_argument("--json", action="store_true", help="print the rubric as JSON")
    rubric_cmds.add_parser("list", help="list the rubrics this bot knows")

    schedule = commands.add_parser("schedule", help="schedule interviews")
    schedule_cmds = schedule.add_subparsers(
        dest="schedule_command", required=True, metavar="ACTION"
    )
    imp = schedule_cmds.add_parser("import", help="import interviews from a YAML or CSV file")
    imp.add_argument("file", type=Path, metavar="FILE")
    imp.add_argument(
        "--dry-run", action="store_true", help="validate and report, but write nothing"
    )

    serve = commands.add_parser("serve", help="run the bot (HTTP or Socket Mode) and its sweep")
    mode = serve.add_mutually_exclusive_group()
    mode.add_argument(
        "--http", action="store_true", help="serve Slack requests over HTTP (default)"
    )
    mode.add_argument("--socket", action="store_true", help="Socket Mode (needs SLACK_APP_TOKEN)")
    serve.add_argument("--host", default="0.0.0.0", help="HTTP bind address (default 0.0.0.0)")  # noqa: S104
    serve.add_argument(
        "--port", type=int, default=3000, help="HTTP port (default 3000; 0 picks one)"
    )
    serve.add_argument("--threads", type=int, default=8, help="HTTP worker threads (default 8)")
    serve.add_argument(
        "--no-scheduler",
        action="store_true",
        help="serve only; run `interview-bot worker` elsewhere",
    )
    commands.add_parser("worker", help="run the sweep only (forms, reminders, summaries)")

    db = commands.add_parser("db", help="manage the database")
    db_cmds = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_cmds.add_parser("upgrade", help="apply pending migrations")

    purge = commands.add_parser(
        "purge",
        help="delete the candidate data of interviews that ended long ago",
        description="Delete every interview that ended more than DURATION ago, whatever its "
        "state, with its feedback requests, feedback, ratings and drafts; scrub its audit "
        "events. Slack messages already posted are not deleted.",
    )
    purge.add_argument(
        "--older-than",
        required=True,
        type=_duration,
        metavar="DURATION",
        help="e.g. 180d; must be longer than summary.deadline",
    )
    purge.add_argument("--dry-run", action="store_true", help="print what would go; change nothing")

    export = commands.add_parser(
        "export",
        help="print one interview's complete record (e.g. for a candidate's access request)",
    )
    export.add_argument("--interview", required=True, type=int, metavar="ID")
    export.add_argument("--format", choices=("json", "csv"), default="json")
    export.add_argument(
        "--output",
        type=Path,
        metavar="FILE",
        help="write to FILE (created readable by its owner only) instead of standard output",
    )

    report = commands.add_parser("report", help="reports over many interviews")
    report_cmds = report.add_subparsers(dest="report_command", required=True, metavar="REPORT")
    calibration = report_cmds.add_parser(
        "calibration",
        help="how consistently the team rates each skill (aggregates, no names)",
        description="Per rubric version: each skill's Krippendorff's alpha over all panels, "
        "how often it was flagged for discussion or left unassessed, and the spread of the "
        "interviewers' deviations from their panels. Summarised interviews that ended in the "
        "period. docs/calibration.md explains every field.",
    )
    calibration.add_argument(
        "--since",
        type=_duration,
        metavar="DURATION",
        help="the period, back from now, e.g. 90d (default: calibration.period)",
    )
    calibration.add_argument("--rubric", metavar="ID", help="one rubric id (default: all)")
    calibration.add_argument("--format", choices=("json", "csv"), default="json")
    calibration.add_argument(
        "--output", type=Path, metavar="FILE", help="write to FILE instead of standard output"
    )

    sources = commands.add_parser("sources", help="inspect the interview sources")
    sources_cmds = sources.add_subparsers(dest="sources_command", required=True, metavar="ACTION")
    status = sources_cmds.add_parser(
        "status",
        help="each polled source's last success, last error and counts; incomplete interviews",
    )
    status.add_argument("--format", choices=("text", "json"), default="text")

    config = commands.add_parser("config", help="inspect the configuration")
    config_cmds = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    config_cmds.add_parser("show", help="print the effective settings (secrets as set/not set)")

    demo = commands.add_parser(
        "demo",
        help="run one interview end to end against a fake Slack (no account, no network)",
        description="Schedule the example interview, give its feedback and post its summary, "
        "all on this machine: a fake Slack, a throwaway SQLite database and the real bot. "
        "Ignores the configuration and the SLACK_* / DATABASE_URL variables.",
    )
    demo.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help="where to write the Block Kit JSON and the heatmap (default ./interview-bot-demo)",
    )
    demo.add_argument(
        "--source",
        choices=("calendar",),
        default=None,
        help="calendar: an interview arriving from an ICS file (bot.demo_calendar)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":  # before any config is read: no real database, no real Slack
        return _demo(args)
    # Plain basicConfig until the config says otherwise; -v always means DEBUG.
    if fallback_logging(logging.DEBUG if args.verbose else logging.INFO):
        try:
            log = load_config().logging
            configure_logging(log.format, "DEBUG" if args.verbose else log.level)
        except ConfigError:
            pass  # _run reports it; the fallback stays
    try:
        return _run(args, sys.stdout)
    except ConfigError as exc:
        for error in exc.errors:
            print(f"config error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except SourceErrors as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        print(f"{len(exc.errors)} error(s); nothing was changed", file=sys.stderr)
        return EXIT_INPUT
    except CliError as exc:
        print(f"interview-bot: {exc}", file=sys.stderr)
        return exc.code


def _run(args: argparse.Namespace, out: TextIO) -> int:
    if args.command == "rubric" and args.rubric_command == "validate":
        return _rubric_validate(args.files, out)
    config = load_config()
    if args.command == "rubric":
        registry = RubricRegistry.load(config.rubrics_dir)
        if args.rubric_command == "list":
            for rubric in registry.all():
                print(f"{rubric.id}\t{rubric.version}\t{rubric.name}", file=out)
            return EXIT_OK
        if args.name not in registry:
            raise CliError(
                f"unknown rubric {args.name!r} (known: {', '.join(registry.ids())})", EXIT_INPUT
            )
        rubric = registry.get(args.name)
        if args.json:
            print(json.dumps(rubric.model_dump(mode="json"), indent=2), file=out)
        else:
            print(render_rubric(rubric), file=out)
        return EXIT_OK
    if args.command == "schedule":
        return _schedule_import(config, args.file, dry_run=args.dry_run, out=out)
    if args.command == "db":
        return _db_upgrade(config, out)
    if args.command in ("serve", "worker"):
        from bot.run import run_serve, run_worker

        if args.command == "worker":
            return run_worker(config, open_database=_open_database)
        return run_serve(
            config,
            open_database=_open_database,
            socket_mode=args.socket,
            host=args.host,
            port=args.port,
            threads=args.threads,
            scheduler=not args.no_scheduler,
        )
    if args.command == "purge":
        return _purge(config, args.older_than, dry_run=args.dry_run, out=out)
    if args.command == "export":
        return _export(config, args.interview, args.format, args.output, out=out)
    if args.command == "report":
        return _report_calibration(
            config, args.since, args.rubric, args.format, args.output, out=out
        )
    if args.command == "config":
        print(json.dumps(config.describe(), indent=2, default=str), file=out)
        return EXIT_OK
    if args.command == "sources":
        return _sources_status(config, args.format, out=out)
    raise CliError(f"unknown command {args.command!r}")


def _sources_status(config: Config, fmt: str, *, out: TextIO) -> int:
    from bot.sources_status import sources_status
    from storage.engine import make_session_factory

    engine = _open_database(config)
    try:
        return sources_status(
            config, make_session_factory(engine), fmt=fmt, now=datetime.now(UTC), out=out
        )
    except SQLAlchemyError as exc:
        raise CliError(f"database error: {_one_line(exc)}") from None
    finally:
        engine.dispose()


def _demo(args: argparse.Namespace) -> int:
    from bot.demo import run_demo

    # Quiet unless -v: the demo's progress lines are its output.
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.source == "calendar":
        from bot.demo_calendar import run_calendar_demo

        return run_calendar_demo(sys.stdout)
    return run_demo(args.out, stdout=sys.stdout)


def _rubric_validate(files: Sequence[Path], out: TextIO) -> int:
    failed: list[str] = []
    for path in files:
        try:
            rubric = load_rubric_file(path)
        except SourceErrors as exc:
            for error in exc.errors:
                print(error, file=sys.stderr)
            failed.append(str(path))
            continue
        print(
            f"{path}: ok ({rubric.id} {rubric.version}: {len(rubric.disciplines)} disciplines, "
            f"{len(rubric.skills)} skills, {len(rubric.levels)} levels)",
            file=out,
        )
    if failed:
        print(f"{len(failed)} of {len(files)} file(s) have errors", file=sys.stderr)
        return EXIT_INPUT
    return EXIT_OK


def database_engine(url: str) -> Engine:
    """The engine of every command (statement parameters never appear in its errors:
    ``storage.engine.create_engine_for`` sets ``hide_parameters``).

    Raises:
        ValueError: an unsupported database URL.
    """
    from storage.engine import create_engine_for

    return create_engine_for(url)


def _open_database(config: Config) -> Engine:
    from storage.migrate import pending_revisions, upgrade

    try:
        engine = database_engine(config.database_url)
    except ValueError as exc:
        raise CliError(f"DATABASE_URL: {exc}") from None
    try:
        if config.database.auto_migrate:
            upgrade(engine)
        elif pending := pending_revisions(engine):
            raise CliError(
                f"the database needs {len(pending)} migration(s); run `interview-bot db upgrade` "
                "(database.auto_migrate is off)"
            )
    except CliError:
        engine.dispose()
        raise
    except Exception as exc:
        engine.dispose()
        raise CliError(f"cannot use the database: {_one_line(exc)}") from None
    return engine


def _db_upgrade(config: Config, out: TextIO) -> int:
    from storage.migrate import current_revision, upgrade

    try:
        engine = database_engine(config.database_url)
    except ValueError as exc:
        raise CliError(f"DATABASE_URL: {exc}") from None
    try:
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
    except Exception as exc:
        raise CliError(f"cannot migrate the database: {_one_line(exc)}") from None
    finally:
        engine.dispose()
    if before == after:
        print(f"database is up to date (revision {after})", file=out)
    else:
        print(f"database upgraded from {before or 'empty'} to {after}", file=out)
    return EXIT_OK


def _schedule_import(config: Config, path: Path, *, dry_run: bool, out: TextIO) -> int:
    from storage.engine import make_session_factory
    from storage.import_file import parse_import_file
    from storage.interviews import ImportOutcome, Timings, import_interviews

    registry = RubricRegistry.load(config.rubrics_dir)
    resolver = None
    if config.secrets.bot_token is not None:
        from bot.slack_client import create_web_client, email_resolver

        resolver = email_resolver(create_web_client(config))
    specs = parse_import_file(
        path, registry=registry, default_tz=config.default_timezone, resolve_email=resolver
    )
    engine = _open_database(config)
    factory = make_session_factory(engine)
    timings = Timings(
        form_delay=config.feedback.form_delay, summary_deadline=config.summary.deadline
    )
    try:
        with factory.begin() as session:
            results = import_interviews(
                session, specs, registry=registry, timings=timings, now=datetime.now(UTC)
            )
            if dry_run:
                session.rollback()
    except SQLAlchemyError as exc:
        raise CliError(f"database error, nothing was imported: {_one_line(exc)}") from None
    finally:
        engine.dispose()
    counts = {outcome: 0 for outcome in ImportOutcome}
    for result in results:
        counts[result.outcome] += 1
        spec = result.spec
        ident = (
            "new" if dry_run and result.outcome is ImportOutcome.CREATED else result.interview_id
        )
        line = (
            f"{result.outcome.value:<9} {spec.where}  interview {ident}: "
            f"{spec.candidate}, {spec.role}, {spec.starts_at:%Y-%m-%d %H:%M} UTC, "
            f"panel of {len(spec.panel)}"
        )
        if result.changed:
            line += f" (changed: {', '.join(result.changed)})"
        if result.archived:
            line += " [history: past its summary deadline, nothing will be sent]"
        print(line, file=out)
    summary = ", ".join(f"{counts[o]} {o.value}" for o in ImportOutcome)
    print(f"{summary}{' (dry run: nothing was written)' if dry_run else ''}", file=out)
    return EXIT_OK


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _purge(config: Config, older_than: timedelta, *, dry_run: bool, out: TextIO) -> int:
    from storage.engine import make_session_factory
    from storage.retention import purge_expired

    if older_than <= config.summary.deadline:
        raise CliError(
            f"--older-than {format_duration(older_than)} must be longer than summary.deadline "
            f"({format_duration(config.summary.deadline)}): younger interviews may still be due "
            "for a summary"
        )
    now = datetime.now(UTC)
    try:
        cutoff = now - older_than
    except OverflowError:
        raise CliError(
            f"--older-than {format_duration(older_than)} reaches before year 1"
        ) from None
    engine = _open_database(config)
    try:
        report = purge_expired(
            make_session_factory(engine), cutoff=cutoff, now=now, actor="cli", dry_run=dry_run
        )
    except SQLAlchemyError as exc:
        # Batches are atomic: those done before the error stay done, the failed one is not.
        raise CliError(f"database error during the purge: {_one_line(exc)}") from None
    finally:
        engine.dispose()
    at = f"{cutoff:%Y-%m-%d %H:%M} UTC"
    before = f"that ended before {at}"
    if not report.interviews:
        print(f"nothing to purge: no interview ended before {at}", file=out)
        return EXIT_OK
    # Ids, states, dates and counts only: this output may end up in a cron job's log.
    counts = (
        f"{report.requests} feedback request(s), {report.feedback} feedback, "
        f"{report.ratings} skill rating(s), {report.drafts} draft(s)"
    )
    if dry_run:
        for item in report.interviews:
            print(
                f"would purge interview {item.interview_id} ({item.state}, ended "
                f"{item.ends_at:%Y-%m-%d}): {item.requests} request(s), {item.feedback} "
                f"feedback, {item.ratings} rating(s), {item.drafts} draft(s)",
                file=out,
            )
        print(
            f"dry run: would purge {len(report.interviews)} interview(s) {before}: {counts}; "
            f"would scrub {report.audit_scrubbed} audit event(s); nothing was changed",
            file=out,
        )
    else:
        print(
            f"purged {len(report.interviews)} interview(s) {before}: {counts}; "
            f"scrubbed {report.audit_scrubbed} audit event(s)",
            file=out,
        )
    return EXIT_OK


def _export(
    config: Config, interview_id: int, fmt: str, output: Path | None, *, out: TextIO
) -> int:
    from bot.export import export_csv, export_json
    from storage.engine import make_session_factory
    from storage.export import interview_record

    engine = _open_database(config)
    try:
        with make_session_factory(engine)() as session:
            record = interview_record(session, interview_id)
    except SQLAlchemyError as exc:
        raise CliError(f"database error, nothing was exported: {_one_line(exc)}") from None
    finally:
        engine.dispose()
    if record is None:
        raise CliError(
            f"no interview with id {interview_id} (never scheduled, or purged)", EXIT_INPUT
        )
    if fmt == "csv":
        text = export_csv(record)
    else:
        text = export_json(record, exported_at=datetime.now(UTC))
    if output is None:
        out.write(text)
        return EXIT_OK
    try:
        # Personnel data: a new file is readable by its owner only.
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with open(fd, "w", encoding="utf-8", newline="") as file:
            file.write(text)
    except OSError as exc:
        raise CliError(f"cannot write {output}: {exc.strerror or exc}") from None
    print(f"exported interview {interview_id} ({fmt}) to {output}", file=out)
    return EXIT_OK


def _report_calibration(
    config: Config,
    since: timedelta | None,
    rubric_id: str | None,
    fmt: str,
    output: Path | None,
    *,
    out: TextIO,
) -> int:
    from bot.report import calibration_csv, calibration_json
    from storage.calibration import calibration_report
    from storage.engine import make_session_factory

    period = since if since is not None else config.calibration.period
    if period <= timedelta(0):
        raise CliError("--since must be longer than 0s")
    now = datetime.now(UTC)
    engine = _open_database(config)
    try:
        with make_session_factory(engine)() as session:
            reports = calibration_report(
                session,
                since=now - period,
                until=now,
                rubric_id=rubric_id,
                min_ratings=config.calibration.min_ratings,
            )
    except SQLAlchemyError as exc:
        raise CliError(f"database error, no report: {_one_line(exc)}") from None
    except OverflowError:
        raise CliError(f"--since {since} reaches before the year 1") from None
    finally:
        engine.dispose()
    if fmt == "csv":
        text = calibration_csv(reports)
    else:
        text = calibration_json(reports, since=now - period, until=now, generated_at=now)
    if not reports:
        scope = f" on rubric {rubric_id}" if rubric_id else ""
        print(f"no summarised interviews{scope} in the period", file=sys.stderr)
    if output is None:
        out.write(text)
        return EXIT_OK
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot write {output}: {exc.strerror or exc}") from None
    print(f"wrote the calibration report ({fmt}) to {output}", file=out)
    return EXIT_OK


def _one_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
