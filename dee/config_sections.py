"""The sections of ``EngineConfig`` (``dee.config``), one model per settings section.

Each is a frozen pydantic model that refuses unknown fields and reads camelCase or
snake_case keys; ``dee.config`` assembles them and applies the ``DEE_*`` variables.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from activities.contracts import TASK_QUEUE
from dee.presets import unknown_names
from interpreter.limits import MAX_PLAN_STEPS, MAX_WAIT_DAYS
from interpreter.validation import Limits


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


class TemporalTlsConfig(_Section):
    """TLS to Temporal (docs/temporal-cloud.md), read by ``dee.temporal_access``.

    ``server_ca_file`` verifies the server's certificate (unset: the system's roots);
    ``client_cert_file`` and ``client_key_file`` are the client's certificate for mTLS;
    ``server_name`` is the name the server's certificate must carry (and the SNI sent)
    when the address's host is not it. ``enabled`` unset turns TLS on when any of these
    or an API key is set; ``false`` keeps plain text (a sidecar doing TLS, say).
    """

    enabled: bool | None = None
    server_ca_file: Path | None = None
    client_cert_file: Path | None = None
    client_key_file: Path | None = None
    server_name: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> TemporalTlsConfig:
        if (self.client_cert_file is None) != (self.client_key_file is None):
            raise ValueError(
                "clientCertFile and clientKeyFile go together: mTLS needs both (set "
                "DEE_TEMPORAL_TLS_CLIENT_CERT_FILE and DEE_TEMPORAL_TLS_CLIENT_KEY_FILE)"
            )
        if self.enabled is False and self.configured:
            raise ValueError(
                "enabled is false, but a server CA, client certificate or server name is "
                "set: remove them, or turn TLS on"
            )
        return self

    @property
    def configured(self) -> bool:
        """Whether any TLS detail is set (which alone turns TLS on)."""
        details = (self.server_ca_file, self.client_cert_file, self.server_name)
        return any(d is not None for d in details)


class TemporalConfig(_Section):
    """Where Temporal is and how DEE proves itself to it (``tls``; an API key, given
    here, by ``DEE_TEMPORAL_API_KEY`` or in ``api_key_file`` so that the settings file
    need not hold the secret). An API key turns TLS on unless ``tls.enabled`` is false,
    as Temporal Cloud requires."""

    address: str = "localhost:7233"
    namespace: str = "default"
    tls: TemporalTlsConfig = TemporalTlsConfig()
    api_key: str | None = Field(default=None, repr=False, min_length=1)
    api_key_file: Path | None = None
    task_queue: str = TASK_QUEUE
    search_attributes: bool = True
    # How long ingest_event waits for a run to take an event as an update before it
    # sends the event as a signal instead (kept by the server until a worker polls).
    event_ack_timeout: float = Field(default=5.0, gt=0)

    @model_validator(mode="after")
    def _one_api_key(self) -> TemporalConfig:
        if self.api_key is not None and self.api_key_file is not None:
            raise ValueError("apiKey and apiKeyFile are both set: give the API key once")
        return self

    @property
    def uses_tls(self) -> bool:
        """TLS is on: asked for, implied by a TLS detail, or by an API key."""
        if self.tls.enabled is not None:
            return self.tls.enabled
        has_key = self.api_key is not None or self.api_key_file is not None
        return self.tls.configured or has_key


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


_HHMM = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
_Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_Channel = Literal["email", "voice"]


class EmailWindowConfig(_Section):
    """When email may go, in the contact's local time: ``start`` <= time < ``end``
    (``HH:MM``; a window does not span midnight) on ``days`` (every day when omitted)."""

    start: str = Field(pattern=_HHMM)
    end: str = Field(pattern=_HHMM)
    days: tuple[_Day, ...] | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _opens_before_it_closes(self) -> EmailWindowConfig:
        if not self.start < self.end:  # "HH:MM" strings order as the times do
            raise ValueError(f"start {self.start} must be before end {self.end}")
        if self.days is not None and len(set(self.days)) != len(self.days):
            raise ValueError("a day is named twice")
        return self


class ChannelCapConfig(_Section):
    """At most ``attempts`` attempts to one contact on a channel within ``days`` days."""

    attempts: int = Field(ge=0)
    days: int = Field(ge=1)


def _presets_known(names: list[str]) -> list[str]:
    problem = unknown_names(names)
    if problem is not None:
        raise ValueError(problem)
    if len(set(names)) != len(names):
        raise ValueError("a preset is named twice")
    return names


Presets = Annotated[list[str], AfterValidator(_presets_known)]


class TenantCostsConfig(_Section):
    """A tenant's cost estimates, each over the global one when given."""

    per_email: Decimal | None = None
    per_voice_minute: Decimal | None = None


class TenantPoliciesConfig(_Section):
    """``policies.tenants.<tenant>``: what differs for one tenant's sends.

    ``hours`` and ``consent_modes`` merge per channel over the global ``hours`` and
    ``consent`` (``null`` removes a channel's window for the tenant); ``costs`` over the
    global estimates; ``limits`` are the tenant's daily send limits per channel.
    """

    hours: dict[_Channel, tuple[str, str] | None] = {}
    consent_modes: dict[_Channel, Literal["required", "opt-out"]] = {}
    costs: TenantCostsConfig = TenantCostsConfig()
    limits: dict[_Channel, int] = {}


class PoliciesConfig(_Section):
    """Policy gate settings; see ``adapters.policy.config`` for their meaning.

    The compliance rules (``adapters.policy.rules.config``): ``presets`` apply to every
    send, ``tenant_presets`` and ``plan_presets`` add to them per tenant and per plan id;
    ``email_windows`` are email send windows per tenant, or per plan as ``plan:<id>``;
    ``channel_caps`` cap attempts per contact and channel, over the default (voice 7 in
    7 days), and ``tenant_channel_caps`` per tenant over those (``null`` removes a
    channel's cap). ``tenants``: per tenant, its hours, consent modes, costs and daily
    limits over the global ones (``TenantPoliciesConfig``, docs/tenants.md).
    """

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
    presets: Presets = []
    tenant_presets: dict[str, Presets] = {}
    plan_presets: dict[str, Presets] = {}
    email_windows: dict[str, EmailWindowConfig] = {}
    channel_caps: dict[_Channel, ChannelCapConfig | None] = {}
    tenant_channel_caps: dict[str, dict[_Channel, ChannelCapConfig | None]] = {}
    tenants: dict[str, TenantPoliciesConfig] = {}


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
