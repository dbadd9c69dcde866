"""``make demo`` end to end (dev server, SQLite, mail sink, worker): Ada's reply ends
her run at once through the sales plan's exit rule, and the demo says so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dee.demo import WAIT_SECONDS, demo


async def test_the_demo_stops_adas_run_at_her_reply(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    failures = await demo(data_dir=tmp_path / "demo")
    out = " ".join(capsys.readouterr().out.split())  # rich wraps lines at the console width
    assert failures == 0, out
    said = re.search(
        r"Ada replied → her run stopped at once \(exit rule: email\.replied\), COMPLETED "
        r"replied at tick (\d+): her wait is cancelled, nothing more is sent to her",
        out,
    )
    assert said is not None, out
    # The reply's tick: the run's clock reads the server's, a tick or so after the start.
    assert int(said.group(1)) < WAIT_SECONDS
    ada = out[out.index("ada: COMPLETED (replied)") : out.index("grace: COMPLETED")]
    assert "ended by exit rule 0 (event email.replied) on event email.replied" in ada
    assert "action:exit → outcome:replied" in ada
    assert f"[tick {said.group(1)}]" in ada  # the exit's entry, at the reply's tick
    # Her wait never ended (it would at tick WAIT_SECONDS) and nothing followed the intro.
    assert f"[tick {WAIT_SECONDS}]" not in ada and "check-response" not in ada
    assert ada.count("action:send_email") == 1
    assert "mail sink received 5 message(s)" in out  # ada 1, grace 2, linus 2
    # Every run's chain is checked against the checkpoints the worker signed, closed.
    verified = re.findall(r"audit verify: run \S+: ok, (\d+) entries .*?checkpoints, closed\)", out)
    assert len(verified) == 3, out
