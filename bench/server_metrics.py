"""Counters from a dev server's own Prometheus endpoint (``DevServer.metrics_url``)."""

from __future__ import annotations

import urllib.request

# The store operation a search-attribute cache miss makes.
CLUSTER_METADATA_READ = "GetCurrentClusterMetadata"


def persistence_requests(metrics_url: str, operation: str) -> float:
    """How often the server's services have made ``operation`` on its store so far.

    Zero when the server has not made it yet (the series appears with its first call).
    """
    with urllib.request.urlopen(metrics_url, timeout=10) as response:
        text: str = response.read().decode()
    wanted = f'operation="{operation}"'
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("persistence_requests{") and wanted in line
    )
