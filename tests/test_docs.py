"""The README and docs/ stay true: short, their paths and links resolve, and the quick
start's plan does what the README says it does."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from dee.config import load_config
from dee.content import load_registry
from interpreter import Event, parse_plan, simulate, validate

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, ROOT / "bench" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PLANS = sorted(p.name for p in (ROOT / "plans").glob("*.yaml"))

_FENCE = re.compile(r"^```.*?^```", re.M | re.S)
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6} +(.+?) *$", re.M)


def _text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def _section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _first_yaml_block(text: str) -> str:
    start = text.index("```yaml\n") + len("```yaml\n")
    return text[start : text.index("```\n", start)]


def _anchors(page: Path) -> set[str]:
    """GitHub's heading ids: lower case, punctuation dropped, spaces as hyphens."""
    seen: dict[str, int] = {}
    anchors = set()
    for heading in _HEADING.findall(_FENCE.sub("", _text(page))):
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        anchors.add(slug if count == 0 else f"{slug}-{count}")
    return anchors


def test_the_readme_is_at_most_400_lines() -> None:
    assert len(_text(README).splitlines()) <= 400


def test_every_path_in_the_readme_layout_table_exists() -> None:
    rows = [r for r in _section(_text(README), "Layout").splitlines() if r.startswith("| `")]
    paths = [p for row in rows for p in re.findall(r"`([^`]+)`", row.split("|")[1])]
    assert len(paths) >= 10, paths
    missing = [p for p in paths if not (ROOT / p).exists()]
    assert missing == []


def test_every_relative_link_in_the_readme_and_docs_resolves_with_its_anchor() -> None:
    broken = []
    for page in PAGES:
        for target in _LINK.findall(_FENCE.sub("", _text(page))):
            if re.match(r"[a-z]+:", target):
                continue
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve() if path else page
            if not linked.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
            elif anchor and linked.suffix == ".md" and anchor not in _anchors(linked):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert broken == []


def test_the_readme_names_every_example_plan_and_shows_exit_on_in_the_sales_example() -> None:
    readme = _text(README)
    assert all(f"plans/{name}" in readme for name in PLANS)
    example = _first_yaml_block(readme[readme.index("## The plan file format") :])
    assert "id: sales-sequence" in example and "exitOn:" in example
    assert "{event: email.replied, outcome: replied}" in example


def test_the_quick_start_plan_validates_and_simulates_as_the_readme_says() -> None:
    quick = _section(_text(README), "Quick start: from a plan to a run in the Web UI")
    plan = parse_plan(yaml.safe_load(_first_yaml_block(quick)), source="README.md")
    assert validate(plan, registry=load_registry(ROOT / "templates")) == []
    files = {name: body for body, name in re.findall(r"echo '(.+)' > (\S+\.json)", quick)}
    contact, variables = json.loads(files["ada.json"]), json.loads(files["vars.json"])
    [reply] = json.loads(files["events.json"])

    trace = simulate(plan, contact, variables=variables)
    assert (trace.status, trace.outcome) == ("COMPLETED", "no-reply")
    assert "outcome: no-reply   path: intro → pause → nudge → done" in quick

    event = Event(reply["type"], reply["tick"], "reply-1", reply["stepId"])
    trace = simulate(plan, contact, [event], variables=variables)
    assert (trace.status, trace.outcome, trace.tick) == ("COMPLETED", "replied", 60)
    assert "outcome: replied    path: intro → pause" in quick


def test_the_example_settings_file_loads(tmp_path: Path) -> None:
    block = _first_yaml_block(_text(ROOT / "docs" / "configuration.md"))
    (tmp_path / "settings.yaml").write_text(block, encoding="utf-8")
    config = load_config(tmp_path / "settings.yaml", env={})
    assert config.channels.email.host == "smtp.example.com"
    assert config.webhooks.public_url == "https://dee.example.com"
