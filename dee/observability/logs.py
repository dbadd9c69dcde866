"""Worker logs: one JSON object per line (``observability.logFormat: json``) or text.

Every line has ``time``, ``level``, ``logger`` and ``message``; ``run_id``, ``step`` and
``tenant`` where the line comes from a run: an activity (``activities.metrics.LOG_CONTEXT``),
a workflow (the ``dee`` extra of ``workflows.run_details``, else the SDK's
``temporal_workflow`` extra) or any SDK activity line (its ``temporal_activity`` extra).
DEE's own lines name no address, name or reason text (docs/privacy.md); a line's
exception is reduced to its type and message.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

from activities.metrics import LOG_CONTEXT
from dee.config_observability import ObservabilityConfig

_CONTEXT_KEYS = ("run_id", "step", "tenant")


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(_run_context(record))
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            line["error"] = f"{type(exc).__name__}: {exc}"[:500]
        return json.dumps(line, ensure_ascii=False, default=str)


def _run_context(record: logging.LogRecord) -> dict[str, str]:
    own = getattr(record, "dee", None)
    if isinstance(own, dict):
        return {k: str(own[k]) for k in _CONTEXT_KEYS if own.get(k)}
    context = {k: v for k, v in (LOG_CONTEXT.get() or {}).items() if v}
    if context:
        return dict(context)
    for extra in ("temporal_activity", "temporal_workflow"):
        details = getattr(record, extra, None)
        if isinstance(details, dict) and details.get("workflow_id"):
            # DEE's workflow id is the run id (dee.runs.starter).
            return {"run_id": str(details["workflow_id"])}
    return {}


def configure_logging(config: ObservabilityConfig) -> None:
    """Route the root logger to stderr in ``config``'s format and level (idempotent)."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_dee", False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._dee = True  # type: ignore[attr-defined]
    if config.log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(config.log_level)


__all__ = ["JsonFormatter", "configure_logging"]
