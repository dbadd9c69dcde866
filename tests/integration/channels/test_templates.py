"""TemplateStore: the repository's real templates, strict variables, sandbox, escaping."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2.exceptions import SecurityError

from adapters.templates import TemplateError, TemplateStore, template_context

REPO_TEMPLATES = Path(__file__).resolve().parents[3] / "templates"
CONTACT = {"first_name": "Ada", "company": "Analytical Engines"}
VARIABLES = {"product": "DEE", "sender_name": "Sam"}


@pytest.fixture(scope="module")
def store() -> TemplateStore:
    return TemplateStore(REPO_TEMPLATES)


def write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_renders_the_real_intro_template(store: TemplateStore) -> None:
    context = template_context(VARIABLES, CONTACT)

    rendered = store.render_email("tmpl_intro", "Quick question, {{ contact.first_name }}", context)

    assert rendered.subject == "Quick question, Ada"
    assert rendered.text.startswith("Hi Ada,\n")
    assert "teams like Analytical Engines use DEE to" in rendered.text
    assert rendered.text.endswith("Sam")
    assert rendered.html is None


def test_renders_a_real_voice_script(store: TemplateStore) -> None:
    script = store.render_voice("script_follow_up", template_context(VARIABLES, CONTACT))

    assert script == "Hello Ada, this is Sam following up on my email about DEE."


def test_missing_variable_is_named_never_blank(store: TemplateStore) -> None:
    context = template_context({"sender_name": "Sam"}, CONTACT)

    with pytest.raises(TemplateError) as caught:
        store.render_email("tmpl_intro", "Hi", context)

    error = caught.value
    assert error.code == "template_undefined"
    assert error.template_id == "tmpl_intro"
    assert str(error).startswith("template 'tmpl_intro': 'product' is undefined")
    assert (error.source, error.line) == ("email/tmpl_intro.txt.j2", 3)


def test_missing_contact_field_is_an_error(store: TemplateStore) -> None:
    context = template_context(VARIABLES, {"company": "Analytical Engines"})

    with pytest.raises(TemplateError, match="first_name") as caught:
        store.render_voice("script_follow_up", context)

    assert caught.value.code == "template_undefined"


def test_missing_variable_in_subject_is_named(store: TemplateStore) -> None:
    context = template_context(VARIABLES, CONTACT)

    with pytest.raises(TemplateError, match="'discount' is undefined") as caught:
        store.render_email("tmpl_intro", "Save {{ discount }}", context)

    assert caught.value.source == "subject"


@pytest.mark.parametrize(
    "subject",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ contact.__class__.__init__.__globals__ }}",
        "{{ contact.update({'first_name': 'Mallory'}) }}",
    ],
)
def test_sandbox_refuses_unsafe_access(store: TemplateStore, subject: str) -> None:
    contact = dict(CONTACT)

    with pytest.raises(TemplateError) as caught:
        store.render_email("tmpl_intro", subject, template_context(VARIABLES, contact))

    assert caught.value.code == "template_forbidden"
    assert isinstance(caught.value.__cause__, SecurityError)
    assert contact == CONTACT


def test_html_is_escaped_and_text_is_not(tmp_path: Path) -> None:
    write(tmp_path, "email/welcome.txt.j2", "Welcome to {{ product }}")
    write(tmp_path, "email/welcome.html.j2", "<p>Welcome to {{ product }}</p>")
    context = template_context({"product": "<script>alert(1)</script> & co"}, CONTACT)

    rendered = TemplateStore(tmp_path).render_email("welcome", "About {{ product }}", context)

    assert rendered.html == "<p>Welcome to &lt;script&gt;alert(1)&lt;/script&gt; &amp; co</p>"
    assert rendered.text == "Welcome to <script>alert(1)</script> & co"
    assert rendered.subject == "About <script>alert(1)</script> & co"


def test_subject_spanning_lines_is_refused(store: TemplateStore) -> None:
    context = template_context({**VARIABLES, "topic": "one\nBcc: victim@example.com"}, CONTACT)

    with pytest.raises(TemplateError) as caught:
        store.render_email("tmpl_intro", "About {{ topic }}", context)

    assert caught.value.code == "template_subject"


def test_subject_surrounding_whitespace_is_trimmed(store: TemplateStore) -> None:
    rendered = store.render_email(
        "tmpl_intro",
        "  {{ product }} for {{ contact.company }}\n",
        template_context(VARIABLES, CONTACT),
    )

    assert rendered.subject == "DEE for Analytical Engines"


@pytest.mark.parametrize(
    "template_id", ["tmpl_does_not_exist", "../secrets", "email/tmpl_intro", ""]
)
def test_missing_or_invalid_template_is_an_error(store: TemplateStore, template_id: str) -> None:
    with pytest.raises(TemplateError) as caught:
        store.render_email(template_id, "Hi", template_context(VARIABLES, CONTACT))

    assert caught.value.code == "template_not_found"


def test_missing_voice_script_is_an_error(store: TemplateStore) -> None:
    with pytest.raises(TemplateError, match=r"voice/nothing\.txt\.j2"):
        store.render_voice("nothing", template_context(VARIABLES, CONTACT))


def test_syntax_error_reports_the_line(tmp_path: Path) -> None:
    write(
        tmp_path,
        "email/broken.txt.j2",
        "Hi {{ contact.first_name }},\n\nAbout {{ product | }}\nBye",
    )

    with pytest.raises(TemplateError) as caught:
        TemplateStore(tmp_path).render_email("broken", "Hi", template_context(VARIABLES, CONTACT))

    error = caught.value
    assert error.code == "template_syntax"
    assert error.source == "email/broken.txt.j2"
    assert error.line == 3
    assert "line 3" in str(error)


def test_syntax_error_in_an_optional_html_template_is_reported(tmp_path: Path) -> None:
    write(tmp_path, "email/half.txt.j2", "fine")
    write(tmp_path, "email/half.html.j2", "<p>{{ product </p>")

    with pytest.raises(TemplateError) as caught:
        TemplateStore(tmp_path).render_email("half", "Hi", template_context(VARIABLES, CONTACT))

    assert caught.value.code == "template_syntax"
    assert caught.value.source == "email/half.html.j2"


def test_runtime_failure_in_a_template_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "voice/maths.txt.j2", "You owe {{ amount // parts }}")
    context = template_context({"amount": 10, "parts": 0}, CONTACT)

    with pytest.raises(TemplateError, match="ZeroDivisionError") as caught:
        TemplateStore(tmp_path).render_voice("maths", context)

    assert caught.value.code == "template_render_failed"
    assert caught.value.line == 1


def test_compiled_templates_are_cached(tmp_path: Path) -> None:
    write(tmp_path, "voice/hello.txt.j2", "Hello {{ contact.first_name }}")
    store = TemplateStore(tmp_path)
    context = template_context(VARIABLES, CONTACT)
    assert store.render_voice("hello", context) == "Hello Ada"

    (tmp_path / "voice/hello.txt.j2").unlink()

    assert store.render_voice("hello", context) == "Hello Ada"


def test_a_variable_named_contact_is_refused() -> None:
    with pytest.raises(ValueError, match="contact"):
        template_context({"contact": "x"}, CONTACT)
