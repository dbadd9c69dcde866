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
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic.alias_generators import to_camel
from pydantic_settings import BaseSettings, SettingsConfigDict

from dee.codec_config import CodecConfig
from dee.config_observability import ObservabilityConfig
from dee.config_sections import (
    AuditConfig,
    ChannelsConfig,
    ContactCapConfig,
    DatabaseConfig,
    EmailConfig,
    PoliciesConfig,
    PrivacyConfig,
    RetentionConfig,
    SchedulerConfig,
    TemplatesConfig,
    TemporalConfig,
    TemporalTlsConfig,
    ValidationConfig,
    VoiceConfig,
    WebhooksConfig,
    _Section,
)
from dee.documents import read_document
from dee.errors import DocumentError

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
    "DEE_TEMPORAL_TLS": ("temporal", "tls", "enabled"),
    "DEE_TEMPORAL_TLS_SERVER_CA_FILE": ("temporal", "tls", "server_ca_file"),
    "DEE_TEMPORAL_TLS_CLIENT_CERT_FILE": ("temporal", "tls", "client_cert_file"),
    "DEE_TEMPORAL_TLS_CLIENT_KEY_FILE": ("temporal", "tls", "client_key_file"),
    "DEE_TEMPORAL_TLS_SERVER_NAME": ("temporal", "tls", "server_name"),
    "DEE_TEMPORAL_API_KEY": ("temporal", "api_key"),
    "DEE_TEMPORAL_API_KEY_FILE": ("temporal", "api_key_file"),
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
    "DEE_METRICS_ADDRESS": ("observability", "metrics_address"),
    "DEE_LOG_FORMAT": ("observability", "log_format"),
    "DEE_LOG_LEVEL": ("observability", "log_level"),
    "DEE_OTLP_ENDPOINT": ("observability", "otlp_endpoint"),
}


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
    observability: ObservabilityConfig = ObservabilityConfig()

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
    temporal_tls: str | None = None
    temporal_tls_server_ca_file: str | None = None
    temporal_tls_client_cert_file: str | None = None
    temporal_tls_client_key_file: str | None = None
    temporal_tls_server_name: str | None = None
    temporal_api_key: str | None = None
    temporal_api_key_file: str | None = None
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
    metrics_address: str | None = None
    log_format: str | None = None
    log_level: str | None = None
    otlp_endpoint: str | None = None


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
        # The variable wins over the file's value, whichever spelling the file used:
        # given both, pydantic would take the camelCase one and refuse the other.
        node.pop(to_camel(field_path[-1]), None)
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


# The sections are re-exported: ``from dee.config import EmailConfig`` is documented.
__all__ = [
    "ENV_FIELDS",
    "AuditConfig",
    "ChannelsConfig",
    "CodecConfig",
    "ContactCapConfig",
    "DatabaseConfig",
    "EmailConfig",
    "EngineConfig",
    "EnvOverrides",
    "ObservabilityConfig",
    "PoliciesConfig",
    "PrivacyConfig",
    "RetentionConfig",
    "SchedulerConfig",
    "TemplatesConfig",
    "TemporalConfig",
    "TemporalTlsConfig",
    "ValidationConfig",
    "VoiceConfig",
    "WebhooksConfig",
    "load_config",
]
