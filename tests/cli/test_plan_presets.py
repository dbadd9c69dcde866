"""``dee plan validate`` and ``dee plan register`` refuse a plan whose compliance block
names a preset DEE does not know, naming the file, the plan and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from .test_cli import dee

PLAN = {
    "id": "collect",
    "version": 1,
    "name": "Collections",
    "metadata": {"createdAt": "2026-01-01T00:00:00Z", "createdBy": "tests"},
    "compliance": {"presets": ["regf", "texas"], "debtRef": "vars.loan"},
    "steps": [
        {"type": "sendEmail", "id": "mail", "templateId": "t", "subject": "Hello"},
        {"type": "end", "id": "done", "outcome": "sent"},
    ],
}


@pytest.mark.parametrize("command", ["validate", "register"])
def test_an_unknown_preset_is_refused_naming_file_plan_and_field(
    tmp_path: Path, command: str
) -> None:
    file = tmp_path / "collect.yaml"
    file.write_text(yaml.safe_dump(PLAN))
    result = dee("plan", command, str(file), "--no-registry")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"error: {file}: collect: plan: compliance.presets[1]: unknown preset 'texas' "
        "(known: can-spam, florida, gmail-bulk, oklahoma, regf, state-holidays, tcpa)"
    ]


def test_known_presets_validate(tmp_path: Path) -> None:
    file = tmp_path / "collect.yaml"
    good = {**PLAN, "compliance": {"presets": ["regf", "florida"], "debtRef": "vars.loan"}}
    file.write_text(yaml.safe_dump(good))
    result = dee("plan", "validate", str(file), "--no-registry")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{file}: ok (collect v1, 2 steps, sha256:")
