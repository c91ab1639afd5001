"""Configuration: the YAML file named by ``INTERVIEW_BOT_CONFIG`` plus the environment.

Only this module reads the environment. Secrets (Slack tokens) come from the
environment alone and are held as ``SecretStr`` so they never show in a repr or log.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SecretStr,
    StringConstraints,
    ValidationError,
    field_validator,
)

from bot.config_sources import (
    AshbyConfig,
    CalendarFeedConfig,
    GreenhouseConfig,
    LeverConfig,
    OutgoingWebhookConfig,
    SourceMapping,
)
from bot.config_types import Duration
from bot.config_types import Section as _Section
from rubric import RubricRegistry
from rubric.durations import format_duration
from rubric.located_yaml import (
    LocatedYaml,
    SourceError,
    SourceErrors,
    load_located_yaml,
    validation_errors,
)
from rubric.quiet_hours import QuietHours
from storage.mapping import mapping_problems

DEFAULT_DATABASE_URL = "sqlite:///interview-bot.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"

# Secrets of the interview sources: field of Secrets -> environment variable.
SOURCE_SECRETS: dict[str, str] = {
    "webhook_secret": "INTERVIEW_BOT_WEBHOOK_SECRET",
    "outgoing_secret": "INTERVIEW_BOT_OUTGOING_SECRET",
    "ashby_webhook_secret": "ASHBY_WEBHOOK_SECRET",
    "ashby_api_key": "ASHBY_API_KEY",
    "greenhouse_client_id": "GREENHOUSE_CLIENT_ID",
    "greenhouse_client_secret": "GREENHOUSE_CLIENT_SECRET",
    "greenhouse_webhook_secret": "GREENHOUSE_WEBHOOK_SECRET",
    "lever_api_key": "LEVER_API_KEY",
    "lever_signature_token": "LEVER_SIGNATURE_TOKEN",
}


class ConfigError(SourceErrors):
    """The config file or the environment holds a value the bot cannot run with."""


class FeedbackConfig(_Section):
    form_delay: Duration = timedelta(minutes=5)
    due_after: Duration = timedelta(hours=24)
    # summary: until the summary is posted; deadline: until summary.deadline; never: once sent
    editable_until: Literal["summary", "deadline", "never"] = "summary"
    require_evidence: bool = True


class RemindersConfig(_Section):
    interval: Duration = timedelta(hours=4)
    digest_interval: Duration = timedelta(hours=24)  # at most one recruiter digest this often
    max: int = Field(default=3, ge=0, le=20)
    quiet_hours: Annotated[
        QuietHours | None,
        BeforeValidator(QuietHours.parse),
        PlainSerializer(lambda q: None if q is None else str(q), return_type=str | None),
    ] = QuietHours(start=time(20, 0), end=time(8, 0))

    @field_validator("interval")
    @classmethod
    def _positive_interval(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be longer than 0s")
        return value


class SummaryConfig(_Section):
    deadline: Duration = timedelta(hours=48)
    # initials: "A. L." instead of the candidate's name, for channels with broad membership
    candidate_display: Literal["full", "initials"] = "full"


class SchedulerConfig(_Section):
    sweep_interval: Duration = timedelta(seconds=30)

    @field_validator("sweep_interval")
    @classmethod
    def _at_least_a_second(cls, value: timedelta) -> timedelta:
        if value < timedelta(seconds=1):
            raise ValueError("must be at least 1s")
        return value


class DatabaseConfig(_Section):
    auto_migrate: bool = True


SlackIdOrGroup = Annotated[str, StringConstraints(pattern=r"^[UWS][A-Z0-9]{2,31}$")]


class AccessConfig(_Section):
    # Who may schedule and cancel interviews: Slack user IDs (U...) or user group IDs (S...).
    recruiters: tuple[SlackIdOrGroup, ...] = ()
    # Who may read the team's calibration (/interview calibration): user or group IDs.
    # Empty: the recruiters above and every interview's recruiter or hiring lead.
    calibration: tuple[SlackIdOrGroup, ...] = ()


class CalibrationConfig(_Section):
    # No figure about an interviewer (or a skill's alpha) rests on fewer ratings.
    min_ratings: int = Field(default=10, ge=1, le=10_000)
    # The window when none is asked for: App Home, and /interview calibration without --since.
    period: Duration = timedelta(days=90)

    @field_validator("period")
    @classmethod
    def _at_least_a_day(cls, value: timedelta) -> timedelta:
        if value < timedelta(days=1):
            raise ValueError("must be at least 1d")
        return value


class LoggingConfig(_Section):
    # text: key=value lines; json: one JSON object per line (for log shippers)
    format: Literal["text", "json"] = "text"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class RetentionConfig(_Section):
    # Interviews that ended more than this many days ago are purged by the sweep
    # (storage.retention); None keeps everything.
    days: Annotated[int, Field(ge=1)] | None = None

    @field_validator("days", mode="before")
    @classmethod
    def _whole_days(cls, value: object) -> object:
        # A number, not a duration, and never `true` (1) or `1.5`.
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise ValueError(f"expected a whole number of days like 180, got {value!r}")
        return value

    @property
    def period(self) -> timedelta | None:
        return None if self.days is None else timedelta(days=self.days)


class FileConfig(_Section):
    """Everything the YAML config file may say; every key is optional."""

    feedback: FeedbackConfig = FeedbackConfig()
    reminders: RemindersConfig = RemindersConfig()
    summary: SummaryConfig = SummaryConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    database: DatabaseConfig = DatabaseConfig()
    access: AccessConfig = AccessConfig()
    calibration: CalibrationConfig = CalibrationConfig()
    logging: LoggingConfig = LoggingConfig()
    retention: RetentionConfig = RetentionConfig()
    rubrics_dir: Path | None = None
    timezone: str | None = None
    # Where interviews come from besides imports (bot.config_sources).
    mapping: SourceMapping = SourceMapping()
    calendars: tuple[CalendarFeedConfig, ...] = ()
    ashby: AshbyConfig = AshbyConfig()
    greenhouse: GreenhouseConfig = GreenhouseConfig()
    lever: LeverConfig = LeverConfig()
    outgoing_webhooks: tuple[OutgoingWebhookConfig, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r} (e.g. Europe/Berlin)") from None
        return value


class Secrets(BaseModel):
    """Slack credentials, from the environment only."""

    model_config = ConfigDict(frozen=True)

    bot_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    app_token: SecretStr | None = None
    # Interview sources (bot.config_sources), each from the variable of the same name.
    webhook_secret: SecretStr | None = None  # INTERVIEW_BOT_WEBHOOK_SECRET
    outgoing_secret: SecretStr | None = None  # INTERVIEW_BOT_OUTGOING_SECRET
    ashby_webhook_secret: SecretStr | None = None  # ASHBY_WEBHOOK_SECRET
    ashby_api_key: SecretStr | None = None  # ASHBY_API_KEY
    greenhouse_client_id: SecretStr | None = None  # GREENHOUSE_CLIENT_ID
    greenhouse_client_secret: SecretStr | None = None  # GREENHOUSE_CLIENT_SECRET
    greenhouse_webhook_secret: SecretStr | None = None  # GREENHOUSE_WEBHOOK_SECRET
    lever_api_key: SecretStr | None = None  # LEVER_API_KEY
    lever_signature_token: SecretStr | None = None  # LEVER_SIGNATURE_TOKEN


class Config(BaseModel):
    """The effective configuration of one bot process."""

    model_config = ConfigDict(frozen=True)

    file: FileConfig = FileConfig()
    source: str | None = None
    database_url: str = Field(default=DEFAULT_DATABASE_URL, repr=False)  # may hold a password
    slack_api_url: str = DEFAULT_SLACK_API_URL
    secrets: Secrets = Secrets()

    @property
    def feedback(self) -> FeedbackConfig:
        return self.file.feedback

    @property
    def reminders(self) -> RemindersConfig:
        return self.file.reminders

    @property
    def summary(self) -> SummaryConfig:
        return self.file.summary

    @property
    def scheduler(self) -> SchedulerConfig:
        return self.file.scheduler

    @property
    def database(self) -> DatabaseConfig:
        return self.file.database

    @property
    def access(self) -> AccessConfig:
        return self.file.access

    @property
    def calibration(self) -> CalibrationConfig:
        return self.file.calibration

    @property
    def logging(self) -> LoggingConfig:
        return self.file.logging

    @property
    def retention(self) -> RetentionConfig:
        return self.file.retention

    @property
    def rubrics_dir(self) -> Path | None:
        return self.file.rubrics_dir

    @property
    def default_timezone(self) -> ZoneInfo | None:
        return ZoneInfo(self.file.timezone) if self.file.timezone else None

    def describe(self) -> dict[str, Any]:
        """The effective settings as plain data, secrets reduced to set / not set."""
        return {
            "config_file": self.source,
            "database_url": _hide_password(self.database_url),
            "slack_api_url": self.slack_api_url,
            **self.file.model_dump(mode="json"),
            "secrets": {
                name: "set" if getattr(self.secrets, name) else "not set"
                for name in ("bot_token", "signing_secret", "app_token", *SOURCE_SECRETS)
            },
        }


def load_config(env: Mapping[str, str] | None = None) -> Config:
    """Read the config file named by ``INTERVIEW_BOT_CONFIG`` (if any) and the environment.

    Raises:
        ConfigError: every problem found, each with file, line and key path.
    """
    env = os.environ if env is None else env
    path_value = env.get("INTERVIEW_BOT_CONFIG", "").strip()
    file_config = FileConfig()
    source: str | None = None
    if path_value:
        path = Path(path_value)
        source = str(path)
        file_config = load_config_file(path)
    return Config(
        file=file_config,
        source=source,
        database_url=env.get("DATABASE_URL", "").strip() or DEFAULT_DATABASE_URL,
        slack_api_url=normalise_api_url(
            env.get("SLACK_API_URL", "").strip() or DEFAULT_SLACK_API_URL
        ),
        secrets=Secrets(
            bot_token=_secret(env, "SLACK_BOT_TOKEN"),
            signing_secret=_secret(env, "SLACK_SIGNING_SECRET"),
            app_token=_secret(env, "SLACK_APP_TOKEN"),
            **{name: _secret(env, variable) for name, variable in SOURCE_SECRETS.items()},
        ),
    )


def load_config_file(path: Path) -> FileConfig:
    """Validate one YAML config file; a relative ``rubrics_dir`` is taken from the file's folder."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            [SourceError(name, None, "", "config file not found (INTERVIEW_BOT_CONFIG)")]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            [SourceError(name, None, "", f"cannot read config file: {exc}")]
        ) from None
    try:
        doc = load_located_yaml(text, name)
    except SourceErrors as exc:
        raise ConfigError(exc.errors) from None
    if doc.data is None:
        return FileConfig()
    if not isinstance(doc.data, dict):
        raise ConfigError([doc.error((), "expected a mapping of settings at the top level")])
    try:
        config = FileConfig.model_validate(doc.data)
    except ValidationError as exc:
        raise ConfigError(validation_errors(exc, doc)) from None
    period = config.retention.period
    if period is not None and period <= config.summary.deadline:
        # Else interviews would be deleted while their summary may still be due.
        raise ConfigError(
            [
                doc.error(
                    ("retention", "days"),
                    f"must be longer than summary.deadline "
                    f"({format_duration(config.summary.deadline)})",
                )
            ]
        )
    if config.rubrics_dir is not None and not config.rubrics_dir.is_absolute():
        config = config.model_copy(update={"rubrics_dir": path.parent / config.rubrics_dir})
    _check_mapping(config, doc)
    return config


def _check_mapping(config: FileConfig, doc: LocatedYaml) -> None:
    """The mapping names rubrics, levels, roles and skills that must exist (storage.mapping)."""
    if config.mapping == SourceMapping():
        return
    try:
        registry = RubricRegistry.load(config.rubrics_dir)
    except SourceErrors:
        return  # the rubric files' own errors are reported where the rubrics are loaded
    problems = mapping_problems(config.mapping, registry)
    if problems:
        raise ConfigError([doc.error(("mapping", *where), message) for where, message in problems])


def normalise_api_url(url: str) -> str:
    """``SLACK_API_URL`` is accepted with or without its trailing slash."""
    return url if url.endswith("/") else url + "/"


def _secret(env: Mapping[str, str], name: str) -> SecretStr | None:
    value = env.get(name, "").strip()
    return SecretStr(value) if value else None


def _hide_password(url: str) -> str:
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)
