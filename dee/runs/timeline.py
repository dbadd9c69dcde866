"""A run's audit timeline as aligned text lines: what ``dee run timeline`` and the demo
print."""

from __future__ import annotations

from adapters.storage import StoredEntry
from interpreter import RUN_SCOPE


def timeline_lines(entries: list[StoredEntry]) -> list[str]:
    """``[tick 259200] step:wait-3-days → action:wait → outcome:completed hash:7b1c...``.

    Columns are padded to the widest value so the arrows line up; run-level entries
    show ``run:<run id>`` where step entries show ``step:<step id>``.
    """
    rows = [
        (
            f"[tick {e.tick}]",
            f"run:{e.run_id}" if e.step_id == RUN_SCOPE else f"step:{e.step_id}",
            f"action:{e.action}",
            f"outcome:{e.outcome}",
            f"hash:{e.hash[:4]}...",
        )
        for e in entries
    ]
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(4)]
    return [
        f"{tick:<{widths[0]}} {step:<{widths[1]}} → {action:<{widths[2]}} → "
        f"{outcome:<{widths[3]}} {digest}"
        for tick, step, action, outcome, digest in rows
    ]


__all__ = ["timeline_lines"]
