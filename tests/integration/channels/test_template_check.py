"""TemplateIndex: the static check behind plan validation finds every reference a template
makes outside its channel's folder, following references into the files they name."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.template_check import TemplateIndex
from dee.content import load_registry

OUTSIDE = "is outside email/: email templates may only use templates under email/"


def write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write(tmp_path, "email/hello.txt.j2", "Hello")
    write(tmp_path, "voice/call.txt.j2", "Calling")
    return tmp_path


def test_references_are_followed_into_the_files_they_name(root: Path) -> None:
    write(root, "email/letter.txt.j2", "{% extends 'email/partials/base.txt.j2' %}")
    write(root, "email/partials/base.txt.j2", "A\n{% include 'email/partials/foot.txt.j2' %}")
    write(root, "email/partials/foot.txt.j2", "\n\n{% include 'voice/call.txt.j2' %}")

    problems = TemplateIndex(root).template_problems("email", "letter")

    assert problems == (f"email/partials/foot.txt.j2 line 3: 'voice/call.txt.j2' {OUTSIDE}",)


def test_every_problem_of_text_and_html_is_reported(root: Path) -> None:
    write(root, "email/both.txt.j2", "{% import '/etc/passwd' as p %}\n{% include 'email/no.j2' %}")
    write(root, "email/both.html.j2", "<p>{{ broken </p>")

    problems = TemplateIndex(root).template_problems("email", "both")

    assert problems == (
        "email/both.txt.j2 line 1: '/etc/passwd' is refused: template names are relative, "
        "never absolute",
        "email/both.txt.j2 line 2: 'email/no.j2' does not exist",
        "email/both.html.j2 line 1: unexpected '/'",
    )


def test_a_symlink_out_of_the_folder_is_reported(root: Path) -> None:
    (root / "email" / "call.txt.j2").symlink_to(root / "voice" / "call.txt.j2")

    assert TemplateIndex(root).template_problems("email", "call") == (
        "email/call.txt.j2 leads outside email/",
    )


@pytest.mark.parametrize(
    ("subject", "problems"),
    [
        ("Hi {{ product }}", ()),
        ("{% include 'email/hello.txt.j2' %}", ()),
        # Computed at render time: the renderer's loader judges it then.
        ("{% include 'voi' ~ 'ce/call.txt.j2' %}", ()),
        (
            "{% include ['email/hello.txt.j2', 'voice/call.txt.j2'] %}",
            (f"the subject cannot be used: line 1: 'voice/call.txt.j2' {OUTSIDE}",),
        ),
        ("{{ oops", ("the subject is not a valid template: line 1: unexpected end of template, "
                     "expected 'end of print statement'.",)),
    ],
)  # fmt: skip
def test_subjects_are_checked_like_email_templates(
    root: Path, subject: str, problems: tuple[str, ...]
) -> None:
    assert TemplateIndex(root).subject_problems(subject) == problems


def test_the_repository_templates_have_no_problems() -> None:
    registry = load_registry(Path(__file__).resolve().parents[3] / "templates")

    assert registry.unusable == {}
    assert registry.email_templates and registry.voice_scripts
