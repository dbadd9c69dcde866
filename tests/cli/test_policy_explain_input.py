"""``dee policy explain`` refuses bad input with ``error: ...`` naming the file, the
option or the history entry and field, exit 1, never a traceback (run in-process
against a fresh SQLite database)."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
from pathlib import Path

import pytest

from dee.cli.main import run

CONTACT = {"id": "c-1", "phone": "+12125550123", "timezone": "America/New_York"}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Settings and a SQLite database under ``tmp_path``, and a good contact file."""
    for name in ("DEE_CONFIG", "DEE_DATABASE_URL", "DEE_DATA_DIR", "DEE_TENANT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DEE_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/dee.db")
    monkeypatch.setenv("DEE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "c.json").write_text(json.dumps(CONTACT))
    return tmp_path


def explain(*args: str) -> subprocess.CompletedProcess[str]:
    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            run(["policy", "explain", *args])
        except SystemExit as exc:
            code = int(exc.code or 0)
    assert "Traceback" not in err.getvalue()
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def _refused(*args: str) -> str:
    result = explain(*args)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    return result.stderr


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--channel", "fax"], "error: --channel: 'fax' is not one of voice, email"),
        (["--channel", "voice", "--at", "soon"], "error: --at: 'soon' is not an ISO 8601"),
        (
            ["--channel", "voice", "--at", "2026-01-05T09:00:00"],
            "error: --at: '2026-01-05T09:00:00' needs an offset",
        ),
        (["--channel", "voice", "--preset", "texas"], "error: --preset: unknown preset 'texas'"),
        (["--channel", "voice", "--debt-ref", " "], "error: --debt-ref: must not be empty"),
        (
            ["--channel", "voice", "--plan", "nope"],
            "error: unknown plan: plan 'nope' is not stored",
        ),
    ],
)
def test_a_bad_option_is_named(workdir: Path, args: list[str], line: str) -> None:
    assert line in _refused("--contact", "c.json", *args)


@pytest.mark.parametrize(
    ("document", "line"),
    [
        ("[1, 2]", "error: bad.json: a contact is a JSON object, got list"),
        ('{"phone": "+12125550123"}', "error: bad.json: id: a contact needs a non-empty"),
        ('{"id": "c-2", "email": "not an address"}', "error: bad.json: contact.email: "),
        ('{"id": "c-2", "phone": "12"}', "error: bad.json: contact.phone: "),
        ('{"id": "c-2",', "error: bad.json: "),
    ],
)
def test_a_bad_contact_file_is_named_with_its_field(
    workdir: Path, document: str, line: str
) -> None:
    (workdir / "bad.json").write_text(document)
    assert line in _refused("--contact", "bad.json", "--channel", "email")


def test_a_missing_contact_file_is_named(workdir: Path) -> None:
    assert "error: gone.json: no such file" in _refused(
        "--contact", "gone.json", "--channel", "voice"
    )


def test_every_bad_history_entry_is_named_by_index_and_field(workdir: Path) -> None:
    history = [
        {"channel": "voice", "at": "2026-01-04T15:00:00Z", "outcome": "answered"},
        {"channel": "voice", "at": "2026-01-04T15:00:00", "outcome": None},
        {"channel": "fax", "at": "2026-01-04T15:00:00Z", "outcome": None},
        3,
        {"channel": "email", "at": "2026-01-04T15:00:00Z", "outcome": None, "debt": "x"},
        {"channel": "voice", "at": "2026-01-04T15:00:00Z"},
        {"channel": "voice", "at": "2026-01-04T15:00:00Z", "outcome": None, "debtRef": 7},
    ]
    (workdir / "h.json").write_text(json.dumps(history))
    err = _refused("--contact", "c.json", "--channel", "voice", "--history", "h.json")
    assert err.splitlines() == [
        "error: h.json: [1].at: '2026-01-04T15:00:00' needs an offset, e.g. 2026-01-05T09:00:00Z",
        "error: h.json: [2].channel: 'fax' is not one of voice, email",
        "error: h.json: [3]: an attempt is an object, got int",
        "error: h.json: [4].debt: not a field of an attempt "
        "(at, callerId, channel, debtRef, outcome, subject)",
        "error: h.json: [5].outcome: required (answered, another outcome, or null when not known)",
        "error: h.json: [6].debtRef: a non-empty string or null, got 7",
    ]


def test_a_history_that_is_no_list_is_refused(workdir: Path) -> None:
    (workdir / "h.json").write_text('{"channel": "voice"}')
    err = _refused("--contact", "c.json", "--channel", "voice", "--history", "h.json")
    assert "error: h.json: a history is a JSON list of attempts" in err


def test_an_unknown_preset_in_the_settings_is_refused_naming_the_file(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = workdir / "dee.yaml"
    settings.write_text("policies: {tenantPresets: {acme: [tcpa, texas]}}\n")
    monkeypatch.setenv("DEE_CONFIG", str(settings))
    err = _refused("--contact", "c.json", "--channel", "voice")
    assert f"error: configuration {settings}: policies.tenantPresets.acme: " in err
    assert "unknown preset 'texas'" in err
