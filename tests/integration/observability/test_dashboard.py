"""docs/grafana-dashboard.json is a dashboard Grafana imports, and it queries only metrics
DEE and the SDK export (the worker's real scrape is checked in test_worker_metrics)."""

from __future__ import annotations

from dee.observability import DEE_METRICS
from tests.integration.observability.dashboard import load, queried

_HISTOGRAM_SERIES = ("_bucket", "_sum", "_count")


def test_the_dashboard_has_the_shape_grafana_imports() -> None:
    dashboard = load()
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 30
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids)) >= 10
    for panel in dashboard["panels"]:
        assert panel["type"] in {"timeseries", "stat"}
        assert {"h", "w", "x", "y"} <= panel["gridPos"].keys()
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}"
        assert panel["targets"], panel["title"]
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)) and all(t["expr"] for t in panel["targets"])
    [variable] = dashboard["templating"]["list"]
    assert variable["name"] == "DS_PROMETHEUS" and variable["type"] == "datasource"


def test_every_dee_metric_is_on_the_dashboard_and_it_queries_no_other() -> None:
    names = queried(load())
    ours = {_series_of(n) for n in names if n.startswith("dee_")}
    assert ours == set(DEE_METRICS)
    assert any(n.startswith("temporal_") for n in names)  # the SDK's own panels


def _series_of(name: str) -> str:
    """A histogram's metric for its ``_bucket``/``_sum``/``_count`` series."""
    for suffix in _HISTOGRAM_SERIES:
        if name.endswith(suffix) and name.removesuffix(suffix) in DEE_METRICS:
            return name.removesuffix(suffix)
    return name
