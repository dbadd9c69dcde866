"""``dee policy explain --json`` in this process (the CLI app as ``dee`` runs it) against a
real SQLite database in a folder: settings written there, consent recorded and a plan
registered through the CLI, each answer read as its JSON document.

The edge tables (``test_explain_*.py``) share one database per module: the CLI is run
in-process, so a row costs one command, not one process.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from dee.cli.main import run

# Calls at any hour for the gate's own hours policy (the compliance windows are under
# test), no per-contact send cap (it would count the histories), email windows for the
# default tenant (Monday to Friday, 09:00-17:00 local).
SETTINGS = {
    "policies": {
        "hours": {"voice": None},
        "contactCap": None,
        "emailWindows": {
            "default": {
                "start": "09:00",
                "end": "17:00",
                "days": ["mon", "tue", "wed", "thu", "fri"],
            }
        },
    }
}
# Registered through the CLI: its compliance block names the debt and the subject.
PLAN = {
    "id": "collect",
    "version": 1,
    "name": "Collections call",
    "metadata": {"createdAt": "2026-01-01T00:00:00Z", "createdBy": "tests"},
    "compliance": {"presets": ["regf"], "debtRef": "contact.account", "subject": "Loan L-7"},
    "steps": [
        {
            "type": "sendVoice",
            "id": "call",
            "scriptId": "script_follow_up",
            "callerId": "+15551234567",
            "maxDuration": {"minutes": 3},
        },
        {"type": "end", "id": "done", "outcome": "called"},
    ],
}
JSON_KEYS = {"decision", "until", "policy", "reason", "rules", "rulesVersion"}
VERSION = re.compile(r"^\d{4}-\d{2}:[0-9a-f]{12}$")


@dataclass(frozen=True)
class Row:
    """One edge: a send at ``at`` and what ``explain`` must answer.

    ``rule`` is the rule under test: on a deferral or denial by ``compliance`` it is
    the deciding rule (the reason starts with its name); on allow its own line allows.
    """

    id: str
    contact: Mapping[str, Any]
    at: str
    presets: Sequence[str]
    decision: str
    until: str | None
    rule: str
    policy: str | None = None
    history: Sequence[Mapping[str, Any]] | None = None
    channel: str = "voice"
    args: Sequence[str] = ()
    line_has: Sequence[str] = field(default_factory=tuple)


def iso(text: str) -> datetime:
    return datetime.fromisoformat(text)


class ExplainCli:
    """The ``dee`` CLI in this process, on the settings and database of ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._files = 0

    def dee(self, *args: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        code = 0
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                run(list(args))
            except SystemExit as exc:
                code = int(exc.code or 0)
        assert "Traceback" not in err.getvalue(), err.getvalue()
        return code, out.getvalue(), err.getvalue()

    def ok(self, *args: str) -> str:
        code, out, err = self.dee(*args)
        assert code == 0, (args, out, err)
        return out

    def _file(self, data: object) -> str:
        self._files += 1
        name = f"f{self._files}.json"
        (self.folder / name).write_text(json.dumps(data))
        return name

    def explain(
        self,
        contact: Mapping[str, Any],
        at: str,
        presets: Sequence[str],
        *,
        channel: str = "voice",
        history: Sequence[Mapping[str, Any]] | None = None,
        args: Sequence[str] = (),
    ) -> dict[str, Any]:
        command = ["policy", "explain", "--contact", self._file(contact), "--channel", channel]
        command += ["--at", at, "--json", *args]
        for name in presets:
            command += ["--preset", name]
        if history is not None:
            command += ["--history", self._file(list(history))]
        answer: dict[str, Any] = json.loads(self.ok(*command))
        return answer

    def grant(self, contact_id: str, channel: str = "voice") -> None:
        self.ok(
            "consent", "grant", contact_id, "--channel", channel, "--source", "web-form",
            "--wording", "v1", "--tenant", "default", "--at", "2025-12-01T00:00:00Z",
        )  # fmt: skip


@contextlib.contextmanager
def explain_cli(folder: Path) -> Iterator[ExplainCli]:
    """``ExplainCli`` with its environment set for the block (and the plan registered)."""
    with pytest.MonkeyPatch.context() as mp:
        for name in ("DEE_CONFIG", "DEE_DATABASE_URL", "DEE_DATA_DIR", "DEE_TENANT"):
            mp.delenv(name, raising=False)
        (folder / "dee.yaml").write_text(yaml.safe_dump(SETTINGS))
        (folder / "plan.yaml").write_text(yaml.safe_dump(PLAN))
        mp.setenv("DEE_CONFIG", str(folder / "dee.yaml"))
        mp.setenv("DEE_DATABASE_URL", f"sqlite+aiosqlite:///{folder}/dee.db")
        mp.setenv("DEE_DATA_DIR", str(folder / "data"))
        mp.chdir(folder)
        cli = ExplainCli(folder)
        cli.ok("plan", "register", "plan.yaml", "--no-registry")
        yield cli


def lines(answer: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """Each rule line as ``rule -> (verdict, reason)``."""
    return {line["rule"]: (line["verdict"], line["reason"]) for line in answer["rules"]}


def check_shape(answer: Mapping[str, Any]) -> None:
    """Exactly the documented keys and types."""
    assert set(answer) == JSON_KEYS
    assert answer["decision"] in {"allow", "defer", "deny"}
    for key in ("until", "policy", "reason"):
        assert answer[key] is None or isinstance(answer[key], str), key
    if answer["until"] is not None:
        assert answer["until"].endswith("+00:00"), answer["until"]
        iso(answer["until"])
    assert (answer["policy"] is None) == (answer["decision"] == "allow")
    assert (answer["reason"] is None) == (answer["decision"] == "allow")
    assert (answer["until"] is not None) == (answer["decision"] == "defer")
    assert isinstance(answer["rules"], list) and answer["rules"]
    for line in answer["rules"]:
        assert set(line) == {"rule", "verdict", "reason"}
        assert all(isinstance(v, str) for v in line.values())
        assert line["verdict"] in {"allow", "defer", "deny"}
    assert isinstance(answer["rulesVersion"], str)
    assert VERSION.match(answer["rulesVersion"]), answer["rulesVersion"]


def check_row(cli: ExplainCli, row: Row) -> dict[str, Any]:
    """The row's answer holds its decision, ``until``, policy and deciding rule; a
    deferral's ``until`` is the next permitted instant: one second earlier is still
    deferred, at it the send is allowed."""
    ask = {"channel": row.channel, "history": row.history, "args": row.args}
    answer = cli.explain(row.contact, row.at, row.presets, **ask)  # type: ignore[arg-type]
    check_shape(answer)
    policy = row.policy or (None if row.decision == "allow" else "compliance")
    assert (answer["decision"], answer["until"], answer["policy"]) == (
        row.decision,
        row.until,
        policy,
    ), answer
    verdict, reason = lines(answer)[row.rule]
    # On allow the rule's line allows; otherwise it gave the decision (when a gate
    # policy before the rules decided, the rule's own line agrees with it).
    assert verdict == row.decision, (row.rule, verdict, reason)
    if policy == "compliance":
        assert answer["reason"].startswith(f"{row.rule}: "), answer["reason"]
    for text in row.line_has:
        assert text in reason, (text, reason)
    if row.until is not None:
        until = iso(row.until)
        before = (until - timedelta(seconds=1)).isoformat()
        earlier = cli.explain(row.contact, before, row.presets, **ask)  # type: ignore[arg-type]
        assert earlier["decision"] == "defer", (before, earlier)
        at_until = cli.explain(row.contact, row.until, row.presets, **ask)  # type: ignore[arg-type]
        assert (at_until["decision"], at_until["policy"]) == ("allow", None), at_until
    return answer
