"""The Engine is a façade over services: every ``engine.…`` call the README and docs/
show exists on a connected engine, each core call is its owning service's own method
(one signature, one docstring, in the service), and nothing else is left on the engine
to repeat a service's signature."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from dee.engine import Engine

ROOT = Path(__file__).resolve().parents[3]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_PYTHON = re.compile(r"^```python\n(.*?)^```", re.M | re.S)
_CALL = re.compile(r"\bengine\.((?:[a-z_]+\.)*[a-z_]+)")

# Each documented call on the engine -> (the service attribute, the service's method).
CORE = {
    "execute": ("starter", "execute"),
    "execute_many": ("starter", "execute_many"),
    "get_run": ("reader", "get_run"),
    "list_runs": ("reader", "list_runs"),
    "get_timeline": ("reader", "timeline"),
    "sends": ("reader", "sends"),
    "ingest_event": ("events", "ingest"),
    "pause_run": ("operator", "pause"),
    "resume_run": ("operator", "resume"),
    "cancel_run": ("operator", "cancel"),
    "retry_run": ("operator", "retry"),
    "resolve_run": ("operator", "resolve"),
    "bulk": ("bulk_actions", "act"),
}
# The engine's own methods: connecting, closing, and replay over dee.replay.
OWN = {"connect", "close", "replay", "what_if"}


def _documented() -> set[str]:
    """Every ``engine.a.b`` path in the Python blocks of the README and docs/."""
    return {
        path
        for page in PAGES
        for block in _PYTHON.findall(page.read_text(encoding="utf-8"))
        for path in _CALL.findall(block)
    }


def test_every_documented_engine_call_exists(engine: Engine) -> None:
    documented = _documented()
    assert set(CORE) <= documented  # the README's calls are found at all
    assert "policies.grant_consent" in documented
    missing = []
    for path in sorted(documented):
        target: object = engine
        for name in path.split("."):
            if not hasattr(target, name):
                missing.append(path)
                break
            target = getattr(target, name)
    assert missing == []


def test_each_core_call_is_its_services_method_with_its_docstring(engine: Engine) -> None:
    for name, (owner, method) in CORE.items():
        call = getattr(engine, name)
        service = getattr(engine, owner)
        assert call.__self__ is service, name  # the engine's own service, not a copy
        assert call.__func__ is getattr(type(service), method), name
        doc = inspect.getdoc(call) or ""
        assert doc and not doc.startswith("See "), f"{name}: {doc!r}"


def test_the_engine_has_no_method_beyond_the_core_calls(engine: Engine) -> None:
    public = {
        name
        for name in dir(engine)
        if not name.startswith("_") and inspect.ismethod(getattr(engine, name))
    }
    assert public == set(CORE) | OWN
