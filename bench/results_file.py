"""Where each bench module puts its figures: ``bench/results/<name>.json`` and stdout."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def publish(name: str, result: Mapping[str, Any], shown: Mapping[str, Any] | None = None) -> Path:
    """Write ``result`` to ``bench/results/<name>.json`` and print it (or ``shown``)."""
    out = RESULTS / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result if shown is None else shown, indent=2))
    return out
