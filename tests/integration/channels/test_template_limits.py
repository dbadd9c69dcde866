"""TemplateStore's limits and confinement (issue 18, item 6): each attack is refused with
a typed error naming the template and the limit, and nothing is built to its full size."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.template_limits import RenderLimits
from adapters.templates import TemplateError, TemplateLimitExceeded, TemplateStore

CONTEXT = {"product": "DEE", "contact": {"first_name": "Ada"}}
LIMITS = RenderLimits(max_output_chars=10_000, max_subject_chars=200, max_range=500)


def write(root: Path, name: str, text: str) -> None:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write(tmp_path, "email/hello.txt.j2", "Hello {{ contact.first_name }}")
    write(tmp_path, "voice/call.txt.j2", "Calling {{ contact.first_name }}")
    return tmp_path


def limit_error(store: TemplateStore, subject: str) -> TemplateLimitExceeded:
    with pytest.raises(TemplateLimitExceeded) as caught:
        store.render_email("hello", subject, CONTEXT)
    error = caught.value
    assert error.code == "template_limit" and error.template_id == "hello"
    assert str(error).startswith("template 'hello': ")
    return error


@pytest.mark.parametrize(
    ("subject", "limit", "says"),
    [
        ("{{ 'x' * 10**8 }}", "maxOutputChars", "'*' would build a value of 100000000 items"),
        ("{{ 10**8 * 'x' }}", "maxOutputChars", "'*' would build a value of 100000000 items"),
        ("{{ [0] * 10**8 }}", "maxOutputChars", "'*' would build a value of 100000000 items"),
        ("{% set s = 'x' * 6000 %}{{ s + s }}", "maxOutputChars", "'+' would build a value"),
        ("{{ '%0999999d' % 1 }}", "maxOutputChars", "'%' built a value of 999999 characters"),
        (
            "{% for x in range(20000) %}{% for y in range(20000) %}.{% endfor %}{% endfor %}",
            "maxRange",
            "range() of 20000 items passes the limit of 500",
        ),
        ("{{ 'x' * 150 }}{{ 'y' * 150 }}", "maxSubjectChars", "passed the limit of 200"),
        ("{{ 9 ** 1000000 }}", None, "'**' would build an integer of about 954242 digits"),
    ],
)
def test_a_subject_that_would_grow_past_a_limit_is_stopped(
    root: Path, subject: str, limit: str | None, says: str
) -> None:
    error = limit_error(TemplateStore(root, LIMITS), subject)

    assert error.limit == limit and error.source == "subject"
    assert says in error.message
    if limit is not None:
        assert f"(templates.{limit})" in str(error)


def test_a_body_is_stopped_when_its_output_passes_the_limit(root: Path) -> None:
    # Every piece is small: only the running total shows the flood.
    write(root, "email/flood.txt.j2", "{% for i in range(400) %}{{ 'x' * 100 }}\n{% endfor %}")

    with pytest.raises(TemplateLimitExceeded) as caught:
        TemplateStore(root, LIMITS).render_email("flood", "Hi", CONTEXT)

    assert caught.value.limit == "maxOutputChars"
    assert caught.value.source == "email/flood.txt.j2"
    assert "the output passed the limit of 10000 characters" in str(caught.value)


def test_within_the_limits_everything_renders(root: Path) -> None:
    write(root, "email/list.txt.j2", "{% for i in range(500) %}{{ i }} {% endfor %}")

    rendered = TemplateStore(root, LIMITS).render_email(
        "list", "{{ 'a' * 100 + 'b' }} {{ 2 ** 10 }} {{ '%05d' % 7 }}", CONTEXT
    )

    assert rendered.subject == "a" * 100 + "b 1024 00007"
    assert rendered.text.split()[-1] == "499"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("{% extends 'voice/call.txt.j2' %}", "'voice/call.txt.j2' is outside email/"),
        ("{% include 'voice/call.txt.j2' %}", "'voice/call.txt.j2' is outside email/"),
        ("{% import 'voice/call.txt.j2' as c %}", "'voice/call.txt.j2' is outside email/"),
        ("{% from 'voice/call.txt.j2' import x %}", "'voice/call.txt.j2' is outside email/"),
        ("{% include 'email/../voice/call.txt.j2' %}", "may not contain '..'"),
        ("{% include '/etc/passwd' %}", "never absolute"),
        ("{% include 'call.txt.j2' %}", "name a file as email/<file>"),
        ("{% include 'voi' ~ 'ce/call.txt.j2' %}", "'voice/call.txt.j2' is outside email/"),
    ],
)
def test_an_email_template_cannot_use_another_channels_files(
    root: Path, body: str, says: str
) -> None:
    write(root, "email/evil.txt.j2", body)

    with pytest.raises(TemplateError) as caught:
        TemplateStore(root).render_email("evil", "Hi", CONTEXT)

    assert caught.value.code == "template_forbidden"
    assert caught.value.template_id == "evil" and caught.value.source == "email/evil.txt.j2"
    assert says in caught.value.message


def test_a_subject_cannot_turn_a_voice_script_into_an_email(root: Path) -> None:
    with pytest.raises(TemplateError) as caught:
        TemplateStore(root).render_email("hello", "{% extends 'voice/call.txt.j2' %}", CONTEXT)

    assert caught.value.code == "template_forbidden" and caught.value.source == "subject"
    assert "'voice/call.txt.j2' is outside email/" in caught.value.message


def test_a_voice_script_cannot_use_email_templates(root: Path) -> None:
    write(root, "voice/evil.txt.j2", "{% include 'email/hello.txt.j2' %}")

    with pytest.raises(TemplateError, match="is outside voice/") as caught:
        TemplateStore(root).render_voice("evil", CONTEXT)

    assert caught.value.code == "template_forbidden"


def test_a_symlink_out_of_the_channel_folder_is_refused(root: Path) -> None:
    (root / "email" / "sneaky.txt.j2").symlink_to(root / "voice" / "call.txt.j2")
    write(root, "email/evil.txt.j2", "{% include 'email/sneaky.txt.j2' %}")

    with pytest.raises(TemplateError, match="leads outside email/") as caught:
        TemplateStore(root).render_email("evil", "Hi", CONTEXT)

    assert caught.value.code == "template_forbidden"


def test_templates_share_files_within_their_own_channel(root: Path) -> None:
    write(root, "email/partials/base.txt.j2", "{% block body %}{% endblock %}\n-- {{ product }}")
    write(root, "email/partials/macros.txt.j2", "{% macro hi(n) %}Hi {{ n }}{% endmacro %}")
    write(
        root,
        "email/letter.txt.j2",
        "{% extends 'email/partials/base.txt.j2' %}{% import 'email/partials/macros.txt.j2' as m %}"
        "{% block body %}{{ m.hi(contact.first_name) }}{% endblock %}",
    )

    rendered = TemplateStore(root).render_email("letter", "About {{ product }}", CONTEXT)

    assert rendered.text == "Hi Ada\n-- DEE"


def test_a_limit_error_survives_the_trip_between_processes() -> None:
    error = TemplateLimitExceeded("t", "too slow", limit="renderSeconds", source="subject")

    again = TemplateError.from_dict(error.as_dict())

    assert isinstance(again, TemplateLimitExceeded)
    assert (again.limit, again.code, str(again)) == ("renderSeconds", "template_limit", str(error))
    plain = TemplateError.from_dict(
        TemplateError("t", "no", code="template_syntax", line=3).as_dict()
    )
    assert type(plain) is TemplateError and (plain.code, plain.line) == ("template_syntax", 3)


def test_a_template_that_is_itself_a_symlink_out_is_refused(root: Path) -> None:
    (root / "email" / "call.txt.j2").symlink_to(root / "voice" / "call.txt.j2")

    with pytest.raises(TemplateError, match="leads outside email/") as caught:
        TemplateStore(root).render_email("call", "Hi", CONTEXT)

    assert caught.value.code == "template_forbidden"


def test_a_render_request_of_an_unknown_kind_is_an_error_not_a_call_script(root: Path) -> None:
    from adapters.template_worker import _answer

    store = TemplateStore(root, LIMITS)
    answer = _answer(store, {"kind": "sms", "id": "call", "context": CONTEXT})
    assert "ok" not in answer and "unknown template kind 'sms'" in str(answer["error"])
    voice = _answer(store, {"kind": "voice", "id": "call", "context": CONTEXT})
    assert voice == {"ok": {"text": "Calling Ada"}}
