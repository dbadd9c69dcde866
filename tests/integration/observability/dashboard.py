"""The Grafana dashboard in docs/: its panels and the metric names its queries read."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

DASHBOARD = Path(__file__).resolve().parents[3] / "docs" / "grafana-dashboard.json"
_METRIC = re.compile(r"\b((?:dee|temporal)_[a-z0-9_]+)")


def load() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def queried(dashboard: dict[str, Any]) -> set[str]:
    """Every metric name a panel's query reads, as the scrape names it."""
    return {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in _METRIC.findall(target["expr"])
    }
