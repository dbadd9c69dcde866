"""Choosing providers by configuration: settings, DEE_* variables, and clear refusals."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.channels import SmtpEmailChannel, UnconfiguredVoiceChannel
from adapters.channels.postmark import PostmarkEmailChannel
from adapters.channels.twilio_voice import TwilioVoiceChannel
from adapters.channels.vonage import VonageVoiceChannel
from dee.channels import build_channels, open_channels
from dee.config import load_config
from dee.errors import DocumentError
from tests.integration.channels.standins import vonage_api

ROOT = Path(__file__).resolve().parents[3]


async def test_defaults_are_smtp_and_no_voice() -> None:
    async with open_channels(load_config(env={})) as channels:
        assert isinstance(channels.email, SmtpEmailChannel)
        assert isinstance(channels.voice, UnconfiguredVoiceChannel)


async def test_environment_selects_postmark_and_twilio() -> None:
    config = load_config(
        env={
            "DEE_EMAIL_PROVIDER": "postmark",
            "DEE_POSTMARK_SERVER_TOKEN": "tok",
            "DEE_VOICE_PROVIDER": "twilio",
            "DEE_TWILIO_ACCOUNT_SID": "AC1",
            "DEE_TWILIO_AUTH_TOKEN": "secret",
            "DEE_WEBHOOKS_PUBLIC_URL": "https://hooks.example.com",
        }
    )
    assert config.webhooks.public_url == "https://hooks.example.com"
    async with open_channels(config) as channels:
        assert isinstance(channels.email, PostmarkEmailChannel)
        assert isinstance(channels.voice, TwilioVoiceChannel)
    assert "secret" not in repr(config.channels.voice)


async def test_a_settings_file_selects_vonage_with_a_key_file(tmp_path: Path) -> None:
    key = tmp_path / "private.key"
    key.write_text(vonage_api.PRIVATE_KEY_PEM)
    settings = tmp_path / "dee.yaml"
    settings.write_text(
        "channels:\n"
        "  voice:\n"
        "    provider: vonage\n"
        f"    vonageApplicationId: {vonage_api.APPLICATION_ID}\n"
        f"    vonagePrivateKeyFile: {key.as_posix()}\n"
    )
    async with open_channels(load_config(settings, env={})) as channels:
        assert isinstance(channels.voice, VonageVoiceChannel)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DEE_EMAIL_PROVIDER": "sendgrid"}, "DEE_EMAIL_PROVIDER: Input should be 'smtp' or"),
        ({"DEE_EMAIL_PROVIDER": "postmark"}, "postmarkServerToken is required"),
        ({"DEE_VOICE_PROVIDER": "twilio"}, "twilioAccountSid is required"),
        (
            {"DEE_VOICE_PROVIDER": "twilio", "DEE_TWILIO_ACCOUNT_SID": "AC1"},
            "twilioAuthToken is required",
        ),
        ({"DEE_VOICE_PROVIDER": "vonage"}, "vonageApplicationId is required"),
    ],
)
def test_incomplete_provider_configuration_names_the_field(
    env: dict[str, str], expected: str
) -> None:
    with pytest.raises(DocumentError) as err:
        load_config(env=env)
    assert expected in "\n".join(err.value.lines)


def test_an_unreadable_vonage_key_is_named(tmp_path: Path) -> None:
    config = load_config(
        env={
            "DEE_VOICE_PROVIDER": "vonage",
            "DEE_VONAGE_APPLICATION_ID": "app",
            "DEE_VONAGE_PRIVATE_KEY_FILE": str(tmp_path / "missing.key"),
        }
    )
    with pytest.raises(DocumentError) as err:
        build_channels(config)
    assert err.value.lines[0].startswith("configuration channels.voice.vonagePrivateKeyFile")


def test_a_vonage_key_that_is_not_a_key_is_named() -> None:
    config = load_config(
        env={
            "DEE_VOICE_PROVIDER": "vonage",
            "DEE_VONAGE_APPLICATION_ID": "app",
            "DEE_VONAGE_PRIVATE_KEY": "not a pem",
        }
    )
    with pytest.raises(DocumentError) as err:
        build_channels(config)
    assert "channels.voice.vonagePrivateKey" in err.value.lines[0]


def test_the_worker_command_refuses_bad_provider_config_without_a_traceback(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEE_")}
    env |= {"DEE_VOICE_PROVIDER": "twilio", "DEE_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "dee", "worker"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "twilioAccountSid is required" in done.stderr
    assert "Traceback" not in done.stderr
