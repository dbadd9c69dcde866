"""The content registry lists only what can be rendered: a template with only an HTML
file is refused when a run is created, naming plan, step and field, and no run starts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from dee.config import EngineConfig
from dee.content import load_registry
from dee.engine import Engine
from dee.errors import EngineError
from interpreter import ExecutionPlan, PlanMetadata, steps

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def config(config: EngineConfig, tmp_path: Path) -> EngineConfig:
    templates = tmp_path / "templates"
    shutil.copytree(ROOT / "templates", templates)
    (templates / "email" / "tmpl_html_only.html.j2").write_text("<p>Hi</p>", encoding="utf-8")
    (templates / "email" / "README.md").write_text("notes, not a template", encoding="utf-8")
    (templates / "voice" / "script_draft.txt").write_text("no .j2", encoding="utf-8")
    return config.model_copy(update={"templates_dir": templates})


def test_only_renderable_files_make_ids(config: EngineConfig) -> None:
    registry = load_registry(config.templates_dir)
    assert "tmpl_intro" in registry.email_templates
    assert not {"tmpl_html_only", "README"} & registry.email_templates
    assert "script_draft" not in registry.voice_scripts
    assert "script_follow_up" in registry.voice_scripts


async def test_a_template_with_only_html_is_refused_at_creation(engine: Engine) -> None:
    plan = ExecutionPlan(
        id="html-only",
        version=1,
        name="HTML only",
        metadata=PlanMetadata(created_at="2026-01-01", created_by="tests"),
        steps=(
            steps.send_email(id="hello", template_id="tmpl_html_only", subject="Hi"),
            steps.end(id="done", outcome="sent"),
        ),
    )
    with pytest.raises(EngineError) as err:
        await engine.execute(plan, contact={"id": "c1", "email": "a@example.com"})
    text = "\n".join(err.value.lines)
    for needle in ("html-only", "hello", "templateId", "tmpl_html_only"):
        assert needle in text, text
    assert await engine.list_runs() == []
