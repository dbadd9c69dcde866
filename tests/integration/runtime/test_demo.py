"""``make demo`` end to end (dev server, SQLite, mail sink, worker): Ada's reply ends
her run at once through the sales plan's exit rule, and the demo says so."""

from __future__ import annotations

from pathlib import Path

import pytest

from dee.demo import WAIT_SECONDS, demo


async def test_the_demo_stops_adas_run_at_her_reply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failures = await demo(data_dir=tmp_path / "demo")
    out = " ".join(capsys.readouterr().out.split())  # rich wraps lines at the console width
    assert failures == 0, out
    assert (
        "Ada replied → her run stopped at once (exit rule: email.replied), COMPLETED replied "
        "at tick 0: her wait is cancelled, nothing more is sent to her"
    ) in out
    ada = out[out.index("ada: COMPLETED (replied)") : out.index("grace: COMPLETED")]
    assert "ended by exit rule 0 (event email.replied) on event email.replied" in ada
    assert "action:exit → outcome:replied" in ada
    # Her wait never ended (it would at tick WAIT_SECONDS) and nothing followed the intro.
    assert f"[tick {WAIT_SECONDS}]" not in ada and "check-response" not in ada
    assert ada.count("action:send_email") == 1
    assert "mail sink received 5 message(s)" in out  # ada 1, grace 2, linus 2
