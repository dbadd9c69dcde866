"""``EngineConfig``: one configuration object, from a settings file plus ``DEE_*`` variables.

The shape mirrors the documents' ``EngineConfig`` (database, scheduler, channels,
audit) and adds what a Temporal deployment needs (temporal, policies). A settings
file (YAML or JSON, camelCase or snake_case keys) is read first; environment
variables override single fields. Mapping onto Temporal:

* ``scheduler.partitionKey`` selects the task queue: ``<taskQueue>-<partitionKey>``,
  so separate deployments (or tenants) get separate workers.
* ``scheduler.maxRunsPerTick`` becomes the task queue's activity rate limit
  (``maxRunsPerTick`` per ``tickInterval``): it bounds how many sends start per tick.
* ``scheduler.tickInterval`` is the logical clock's resolution (ms per tick).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel
from pydantic_settings import BaseSettings, SettingsConfigDict

from activities.contracts import TASK_QUEUE
from dee.codec_config import CodecConfig
from dee.documents import read_document
from dee.errors import DocumentError
from interpreter.limits import MAX_PLAN_STEPS, MAX_WAIT_DAYS
from interpreter.validation import Limits

ENV_FIELDS: dict[str, tuple[str, ...]] = {
    "DEE_DATABASE_URL": ("database",),
    "DEE_DATABASE_MIGRATION_URL": ("database", "migration_url"),
    "DEE_DATABASE_RETENTION_URL": ("database", "retention_url"),
    "DEE_DATABASE_APP_ROLE": ("database", "app_role"),
    "DEE_DATABASE_RETENTION_ROLE": ("database", "retention_role"),
    "DEE_DATA_DIR": ("data_dir",),
    "DEE_TENANT": ("tenant",),
    "DEE_TEMPLATES_DIR": ("templates_dir",),
    "DEE_TEMPLATE_RENDER_SECONDS": ("templates", "render_seconds"),
    "DEE_TEMPLATE_MAX_OUTPUT_CHARS": ("templates", "max_output_chars"),
    "DEE_TEMPLATE_MAX_SUBJECT_CHARS": ("templates", "max_subject_chars"),
    "DEE_TEMPLATE_MAX_RANGE": ("templates", "max_range"),
    "DEE_TEMPLATE_MEMORY_MB": ("templates", "memory_mb"),
    "DEE_TEMPLATE_PROCESSES": ("templates", "processes"),
    "DEE_TEMPORAL_ADDRESS": ("temporal", "address"),
    "DEE_TEMPORAL_NAMESPACE": ("temporal", "namespace"),
    "DEE_TASK_QUEUE": ("temporal", "task_queue"),
    "DEE_SEARCH_ATTRIBUTES": ("temporal", "search_attributes"),
    "DEE_EVENT_ACK_TIMEOUT": ("temporal", "event_ack_timeout"),
    "DEE_SMTP_HOST": ("channels", "email", "host"),
    "DEE_SMTP_PORT": ("channels", "email", "port"),
    "DEE_SMTP_USERNAME": ("channels", "email", "username"),
    "DEE_SMTP_PASSWORD": ("channels", "email", "password"),
    "DEE_SMTP_TLS": ("channels", "email", "use_tls"),
    "DEE_EMAIL_FROM": ("channels", "email", "sender"),
    "DEE_EMAIL_PROVIDER": ("channels", "email", "provider"),
    "DEE_POSTMARK_SERVER_TOKEN": ("channels", "email", "postmark_server_token"),
    "DEE_POSTMARK_BASE_URL": ("channels", "email", "postmark_base_url"),
    "DEE_POSTMARK_MESSAGE_STREAM": ("channels", "email", "postmark_message_stream"),
    "DEE_VOICE_PROVIDER": ("channels", "voice", "provider"),
    "DEE_TWILIO_ACCOUNT_SID": ("channels", "voice", "twilio_account_sid"),
    "DEE_TWILIO_AUTH_TOKEN": ("channels", "voice", "twilio_auth_token"),
    "DEE_TWILIO_BASE_URL": ("channels", "voice", "twilio_base_url"),
    "DEE_VONAGE_APPLICATION_ID": ("channels", "voice", "vonage_application_id"),
    "DEE_VONAGE_PRIVATE_KEY": ("channels", "voice", "vonage_private_key"),
    "DEE_VONAGE_PRIVATE_KEY_FILE": ("channels", "voice", "vonage_private_key_file"),
    "DEE_VONAGE_BASE_URL": ("channels", "voice", "vonage_base_url"),
    "DEE_WEBHOOKS_PUBLIC_URL": ("webhooks", "public_url"),
    "DEE_WEBHOOKS_SECRET": ("webhooks", "secret"),
    "DEE_WEBHOOKS_HOST": ("webhooks", "host"),
    "DEE_WEBHOOKS_PORT": ("webhooks", "port"),
    "DEE_WEBHOOKS_USERNAME": ("webhooks", "username"),
    "DEE_WEBHOOKS_PASSWORD": ("webhooks", "password"),
    "DEE_VONAGE_SIGNATURE_SECRET": ("webhooks", "vonage_signature_secret"),
    "DEE_AUDIT_RETENTION_DAYS": ("audit", "retention", "days"),
    "DEE_AUDIT_ARCHIVE_TO": ("audit", "archive_to"),
    "DEE_PRIVACY_MASTER_KEY": ("privacy", "master_key"),
    "DEE_PRIVACY_MASTER_KEY_FILE": ("privacy", "master_key_file"),
    "DEE_CODEC_KEYS": ("codec", "keys"),
    "DEE_CODEC_KEY_FILE": ("codec", "key_file"),
    "DEE_CODEC_ENCRYPT": ("codec", "encrypt"),
    "DEE_CODEC_SERVER_HOST": ("codec", "server_host"),
    "DEE_CODEC_SERVER_PORT": ("codec", "server_port"),
    "DEE_CODEC_SERVER_TOKEN": ("codec", "server_token"),
    "DEE_CODEC_UI_ORIGINS": ("codec", "ui_origins"),
    "DEE_AUDIT_SIGNING_KEY_FILE": ("audit", "signing_key_file"),
}


class _Section(BaseModel):
    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True
    )


# A role name PostgreSQL takes unquoted (adapters.storage.roles checks it again).
_ROLE_NAME = r"^[a-z_][a-z0-9_]{0,62}$"


class DatabaseConfig(_Section):
    """Where DEE's tables are, and as whom each part of DEE connects (docs/database.md).

    ``url`` is the application's connection (on PostgreSQL, the application role);
    ``migration_url`` the owner's, used only by ``dee db migrate``; ``retention_url``
    the retention role's, used only by ``dee audit archive``. ``app_role`` and
    ``retention_role`` name the roles the migration sets up (default ``dee_app`` and
    ``dee_retention``, or ``<schema>_app`` / ``<schema>_retention`` outside ``public``).
    ``database: <url>`` (a plain string) is short for ``database: {url: <url>}``.
    """

    url: str | None = None
    migration_url: str | None = Field(default=None, repr=False)
    retention_url: str | None = Field(default=None, repr=False)
    app_role: str | None = Field(default=None, pattern=_ROLE_NAME)
    retention_role: str | None = Field(default=None, pattern=_ROLE_NAME)


class TemporalConfig(_Section):
    address: str = "localhost:7233"
    namespace: str = "default"
    task_queue: str = TASK_QUEUE
    search_attributes: bool = True
    # How long ingest_event waits for a run to take an event as an update before it
    # sends the event as a signal instead (kept by the server until a worker polls).
    event_ack_timeout: float = Field(default=5.0, gt=0)


class SchedulerConfig(_Section):
    tick_interval: int = Field(default=1000, ge=1)
    max_runs_per_tick: int = Field(default=500, ge=1)
    partition_key: str | None = None


class EmailConfig(_Section):
    """The email provider (``smtp`` or ``postmark``) and its settings.

    Only the chosen provider's fields are used; ``dee.channels`` checks
    that they are complete when a worker starts.
    """

    provider: Literal["smtp", "postmark"] = "smtp"
    host: str = "localhost"
    port: int = Field(default=1025, ge=1, le=65535)
    use_tls: bool = False
    start_tls: bool | None = None
    username: str | None = None
    password: str | None = None
    sender: str = "DEE <dee@localhost>"
    cost_per_email: Decimal = Decimal("0")
    postmark_server_token: str | None = Field(default=None, repr=False)
    postmark_base_url: str = "https://api.postmarkapp.com"
    postmark_message_stream: str = "outbound"
    timeout_seconds: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _provider_complete(self) -> EmailConfig:
        if self.provider == "postmark" and not self.postmark_server_token:
            raise ValueError(
                "postmarkServerToken is required when the email provider is postmark "
                "(set DEE_POSTMARK_SERVER_TOKEN)"
            )
        return self


class VoiceConfig(_Section):
    """The voice provider (``none``, ``twilio`` or ``vonage``) and its credentials.

    ``none`` keeps voice steps failing closed with ``no_voice_channel``. The base URLs
    exist so tests (and regional endpoints) can point the adapters elsewhere.
    """

    provider: Literal["none", "twilio", "vonage"] = "none"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = Field(default=None, repr=False)
    twilio_base_url: str | None = None
    vonage_application_id: str | None = None
    vonage_private_key: str | None = Field(default=None, repr=False)
    vonage_private_key_file: Path | None = None
    vonage_base_url: str = "https://api.nexmo.com"
    timeout_seconds: float = Field(default=30.0, gt=0)

    @model_validator(mode="after")
    def _provider_complete(self) -> VoiceConfig:
        needed: tuple[tuple[str, object, str], ...] = ()
        if self.provider == "twilio":
            needed = (
                ("twilioAccountSid", self.twilio_account_sid, "DEE_TWILIO_ACCOUNT_SID"),
                ("twilioAuthToken", self.twilio_auth_token, "DEE_TWILIO_AUTH_TOKEN"),
            )
        elif self.provider == "vonage":
            key = self.vonage_private_key or self.vonage_private_key_file
            needed = (
                ("vonageApplicationId", self.vonage_application_id, "DEE_VONAGE_APPLICATION_ID"),
                ("vonagePrivateKey or vonagePrivateKeyFile", key, "DEE_VONAGE_PRIVATE_KEY"),
            )
        for name, value, env in needed:
            if not value:
                raise ValueError(
                    f"{name} is required when the voice provider is {self.provider} (set {env})"
                )
        return self


class ChannelsConfig(_Section):
    email: EmailConfig = EmailConfig()
    voice: VoiceConfig = VoiceConfig()


class WebhooksConfig(_Section):
    """Where providers call DEE back (status callbacks, answer documents).

    ``secret`` signs the open pixel, click and unsubscribe tokens and signed callback
    parameters; without it DEE generates one and keeps it in the database, which the
    worker and the receiver share. ``host``/``port`` are where ``dee webhooks`` listens (behind a
    proxy that ``public_url`` names). ``username``/``password`` are the basic-auth
    credentials the email provider's inbound and event webhooks must present;
    ``vonage_signature_secret`` verifies Vonage's signed callbacks (Twilio's are
    verified with ``channels.voice.twilioAuthToken``). A missing credential makes
    its endpoint refuse every request.
    """

    public_url: str = "http://localhost:8088"
    secret: str | None = Field(default=None, repr=False)
    host: str = "127.0.0.1"
    port: int = Field(default=8088, ge=1, le=65535)
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    vonage_signature_secret: str | None = Field(default=None, repr=False)


class TemplatesConfig(_Section):
    """Limits on rendering a template (``adapters.template_limits``); defaults in docs/templates.md.

    Each render runs in one of ``processes`` render processes and is stopped at
    ``render_seconds`` (kept well inside the send activity's 60 s, which also waits for
    the provider).
    """

    render_seconds: float = Field(default=2.0, gt=0, le=5)
    max_output_chars: int = Field(default=1_000_000, ge=1)
    max_subject_chars: int = Field(default=998, ge=1)
    max_range: int = Field(default=10_000, ge=1)
    memory_mb: int = Field(default=256, ge=0)
    processes: int = Field(default=2, ge=1, le=64)


class RetentionConfig(_Section):
    days: int = Field(ge=1)


class AuditConfig(_Section):
    retention: RetentionConfig | None = None
    archive_to: str | None = None
    # The Ed25519 key the worker signs checkpoints with (PKCS#8 PEM); unset: the
    # embedded default ``<data_dir>/audit-signing-key.pem``, generated when missing.
    signing_key_file: Path | None = None

    def signing_key(self, data_dir: Path) -> tuple[Path, bool]:
        """The key file and whether it may be generated (only the unconfigured default)."""
        if self.signing_key_file is not None:
            return self.signing_key_file, False
        return data_dir / "audit-signing-key.pem", True


class PrivacyConfig(_Section):
    """The privacy master key (docs/privacy.md): 32 bytes in base64url, or a file holding
    them; neither set: ``<dataDir>/privacy.key``, generated (mode 0600) on first use."""

    master_key: str | None = Field(default=None, repr=False)
    master_key_file: Path | None = None


class ContactCapConfig(_Section):
    """At most ``sends`` sends to one contact within any ``days`` days (all runs, channels)."""

    sends: int = Field(default=10, ge=0)
    days: int = Field(default=7, ge=1)


class PoliciesConfig(_Section):
    """Policy gate settings; see ``adapters.policy.config`` for their meaning."""

    consent: dict[str, Literal["required", "opt-out"]] = {"email": "opt-out", "voice": "required"}
    # null removes a channel's window (the gate's default voice window is 08:00-21:00)
    hours: dict[str, tuple[str, str] | None] = {"voice": ("08:00", "21:00")}
    daily_limits: dict[str, int] = {}
    cost_per_voice_minute: Decimal = Decimal("0")
    on_daily_limit: Literal["deny", "defer_next_day"] = "deny"
    default_timezone: str = "UTC"
    # Every deployment has a per-contact cap; null removes it (for all, or one tenant).
    contact_cap: ContactCapConfig | None = ContactCapConfig()
    contact_caps: dict[str, ContactCapConfig | None] = {}


class ValidationConfig(_Section):
    """Plan validation limits, applied when a plan is registered (``interpreter.Limits``).

    The ceilings are ``interpreter.limits``' (``MAX_PLAN_STEPS``, ``MAX_WAIT_DAYS``);
    ``min_send_loop_wait`` is in seconds: a cycle that sends waits that long per round.
    """

    max_steps: int = Field(default=100, ge=1, le=MAX_PLAN_STEPS)
    max_wait_days: int = Field(default=365, ge=1, le=MAX_WAIT_DAYS)
    min_send_loop_wait: int = Field(default=86_400, ge=0)

    @property
    def limits(self) -> Limits:
        return Limits(self.max_steps, self.max_wait_days, self.min_send_loop_wait)


class EngineConfig(_Section):
    """Everything an ``Engine`` and a worker need."""

    database: str | DatabaseConfig | None = None
    data_dir: Path = Path("data")
    tenant: str = "default"
    templates_dir: Path = Path("templates")
    templates: TemplatesConfig = TemplatesConfig()
    step_budget: int = Field(default=1000, ge=1)
    temporal: TemporalConfig = TemporalConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    channels: ChannelsConfig = ChannelsConfig()
    webhooks: WebhooksConfig = WebhooksConfig()
    audit: AuditConfig = AuditConfig()
    policies: PoliciesConfig = PoliciesConfig()
    validation: ValidationConfig = ValidationConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    codec: CodecConfig = CodecConfig()

    @property
    def database_settings(self) -> DatabaseConfig:
        """``database`` as a section, whichever form the settings gave it in."""
        if isinstance(self.database, DatabaseConfig):
            return self.database
        return DatabaseConfig(url=self.database)

    @property
    def database_url(self) -> str:
        """The configured URL, or the embedded SQLite file under ``data_dir``."""
        url = self.database_settings.url
        return url or f"sqlite+aiosqlite:///{self.data_dir.as_posix()}/dee.db"

    @property
    def task_queue(self) -> str:
        key = self.scheduler.partition_key
        return f"{self.temporal.task_queue}-{key}" if key else self.temporal.task_queue

    @property
    def activities_per_second(self) -> float:
        return self.scheduler.max_runs_per_tick * 1000 / self.scheduler.tick_interval


class EnvOverrides(BaseSettings):
    """The ``DEE_*`` variables, read and type-checked by pydantic-settings.

    Each field overrides one field of the settings file (see ``ENV_FIELDS``); unset
    variables leave the file's (or the default) value alone.
    """

    model_config = SettingsConfigDict(env_prefix="DEE_", extra="ignore", env_ignore_empty=True)

    config: Path | None = None
    database_url: str | None = None
    database_migration_url: str | None = None
    database_retention_url: str | None = None
    database_app_role: str | None = None
    database_retention_role: str | None = None
    data_dir: str | None = None
    tenant: str | None = None
    templates_dir: str | None = None
    template_render_seconds: str | None = None
    template_max_output_chars: str | None = None
    template_max_subject_chars: str | None = None
    template_max_range: str | None = None
    template_memory_mb: str | None = None
    template_processes: str | None = None
    temporal_address: str | None = None
    temporal_namespace: str | None = None
    task_queue: str | None = None
    search_attributes: str | None = None
    event_ack_timeout: str | None = None
    smtp_host: str | None = None
    smtp_port: str | None = None
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_tls: str | None = None
    email_from: str | None = None
    email_provider: str | None = None
    postmark_server_token: str | None = None
    postmark_base_url: str | None = None
    postmark_message_stream: str | None = None
    voice_provider: str | None = None
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_base_url: str | None = None
    vonage_application_id: str | None = None
    vonage_private_key: str | None = None
    vonage_private_key_file: str | None = None
    vonage_base_url: str | None = None
    webhooks_public_url: str | None = None
    webhooks_secret: str | None = None
    webhooks_host: str | None = None
    webhooks_port: str | None = None
    webhooks_username: str | None = None
    webhooks_password: str | None = None
    vonage_signature_secret: str | None = None
    audit_retention_days: str | None = None
    audit_archive_to: str | None = None
    privacy_master_key: str | None = None
    privacy_master_key_file: str | None = None
    codec_keys: str | None = None
    codec_key_file: str | None = None
    codec_encrypt: str | None = None
    codec_server_host: str | None = None
    codec_server_port: str | None = None
    codec_server_token: str | None = None
    codec_ui_origins: str | None = None
    audit_signing_key_file: str | None = None


_UNION_TAGS = frozenset({"str", "DatabaseConfig"})


def _database_path(data: dict[str, Any], field_path: tuple[str, ...]) -> tuple[str, ...]:
    """Where a ``DEE_DATABASE_*`` variable goes, given the two forms of ``database``.

    A plain URL becomes ``{url: ...}`` when another database field is set beside it;
    ``DEE_DATABASE_URL`` then sets ``database.url``.
    """
    if field_path[0] != "database":
        return field_path
    current = data.get("database")
    if len(field_path) > 1 and not isinstance(current, dict):
        data["database"] = {} if current is None else {"url": current}
    if field_path == ("database",) and isinstance(data.get("database"), dict):
        return ("database", "url")
    return field_path


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> EngineConfig:
    """Read ``path`` (or ``$DEE_CONFIG``), then apply the ``DEE_*`` overrides.

    Raises:
        DocumentError: the file is unreadable, or a value is invalid (naming the
            field and where it came from).
    """
    if env is None:
        overrides = EnvOverrides()  # pydantic-settings reads the process environment
    else:  # an explicit mapping (tests, embedding): exactly these variables, nothing else
        given = {
            k.removeprefix("DEE_").lower(): v
            for k, v in env.items()
            if k.startswith("DEE_") and v != ""
        }
        known: dict[str, Any] = {k: v for k, v in given.items() if k in EnvOverrides.model_fields}
        if "config" in known:
            known["config"] = Path(known["config"])
        overrides = EnvOverrides.model_construct(**known)
    source = path or overrides.config
    data: dict[str, Any] = {}
    if source is not None:
        loaded = read_document(source)
        if not isinstance(loaded, dict):
            raise DocumentError([f"{source}: a settings file is a mapping of sections"])
        data = loaded
    origins: dict[tuple[str, ...], str] = {}
    set_fields = overrides.model_dump(exclude_none=True)
    for name, declared in ENV_FIELDS.items():
        value = set_fields.get(name.removeprefix("DEE_").lower())
        if value is None:
            continue
        field_path = _database_path(data, declared)
        node = data
        for part in field_path[:-1]:
            node = node.setdefault(part, {})
        node[field_path[-1]] = value
        origins[field_path] = name
    try:
        return EngineConfig.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors(include_url=False):
            if err["loc"][:2] == ("database", "str") and isinstance(data.get("database"), dict):
                continue  # a section was given: that it is no URL string says nothing
            # "database" is a union: pydantic names the member tried; the user needs not.
            loc = tuple(str(p) for p in err["loc"] if p not in _UNION_TAGS)
            where = origins.get(loc) or (f"{source}: " if source else "") + ".".join(loc)
            lines.append(f"configuration {where}: {err['msg']}")
        raise DocumentError(lines) from None
