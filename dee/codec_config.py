"""The ``codec`` settings section: payload encryption keys and the codec server.

Kept apart from ``dee.config`` (which embeds it) so that module stays one screenful
per concern; ``dee.connection`` turns it into the data converter every client uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic.alias_generators import to_camel

# The Web UI of ``temporal server start-dev`` (``dee server``, ``dee demo --serve``).
DEV_UI_ORIGIN = "http://localhost:8233"


class CodecConfig(BaseModel):
    """Temporal payload encryption (``adapters.codec``) and ``dee codec-server``.

    ``keys`` are ``ID:KEY`` entries (``KEY`` 32 bytes in base64), oldest first, the last
    one encrypting; a string holds them separated by commas. Without ``keys`` the ring
    is read from ``key_file`` (default ``<data_dir>/codec-keys``), which is created with
    one generated key (mode 0600) the first time. ``encrypt: false`` writes plain
    payloads (still reading encrypted ones): for measuring, never for production.
    """

    model_config = ConfigDict(
        extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True
    )

    keys: tuple[str, ...] = Field(default=(), repr=False)
    key_file: Path | None = None
    encrypt: bool = True
    server_host: str = "127.0.0.1"
    server_port: int = Field(default=8234, ge=1, le=65535)
    server_token: str | None = Field(default=None, repr=False)
    ui_origins: tuple[str, ...] = (DEV_UI_ORIGIN, "http://127.0.0.1:8233")

    @field_validator("keys", "ui_origins", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):  # one environment variable: comma-separated
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value


__all__ = ["DEV_UI_ORIGIN", "CodecConfig"]
