"""A history that schedules an activity this version does not run is refused by name,
never decoded as another activity's request (a new channel's send read as a call)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dee.errors import DocumentError
from dee.replay.from_history import read_history
from dee.replay.history_inputs import history_inputs

CORPUS = Path(__file__).resolve().parents[2] / "histories"


def test_an_unknown_activity_in_a_history_is_refused(tmp_path: Path) -> None:
    text = (CORPUS / "sales-cold.json").read_text(encoding="utf-8")
    assert '"send_voice"' in text
    renamed = tmp_path / "sms.json"
    renamed.write_text(text.replace('"send_voice"', '"send_sms"'), encoding="utf-8")
    assert history_inputs(read_history(CORPUS / "sales-cold.json")).order
    with pytest.raises(DocumentError) as raised:
        history_inputs(read_history(renamed))
    assert "'send_sms'" in str(raised.value)
