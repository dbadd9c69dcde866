"""Message templates: email (subject, text, optional HTML) and voice scripts, on Jinja2.

Boundary: files under one root, ``email/<id>.txt.j2`` (required), ``email/<id>.html.j2``
(optional) and ``voice/<id>.txt.j2``, rendered with a caller-supplied context: the run
variables as top-level names plus ``contact``. Templates are plan authors' content, so
they run in Jinja's immutable sandbox (no attribute tricks, no mutating the caller's
data) with ``StrictUndefined`` (a missing variable is an error, never a blank), within
the limits of ``adapters.template_limits``: sizes, ``range()``, and each channel
confined to its own folder. Every failure surfaces as ``TemplateError``, which callers
treat as permanent. Compiled templates are cached for the life of the store; edits
need a new store.

The store renders in the calling thread. Time and memory are bounded by running it in
separate processes under a deadline (``adapters.template_pool``), which is how the
worker uses it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import jinja2
from jinja2.exceptions import SecurityError

from adapters.template_errors import LIMIT_CODE, TemplateError, TemplateLimitExceeded
from adapters.template_limits import (
    LimitReached,
    OutsideChannel,
    RenderLimits,
    channel_environment,
)

# Ids become file names; refusing separators keeps every lookup inside the root.
_TEMPLATE_ID = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class RenderedEmail:
    """A rendered email: one-line subject, plain text, and HTML when a template exists."""

    subject: str
    text: str
    html: str | None


def template_context(
    variables: Mapping[str, object], contact: Mapping[str, object]
) -> dict[str, object]:
    """The context every template sees: run variables as names, plus ``contact``.

    Raises:
        ValueError: A run variable is itself named ``contact``; silently shadowing
            one or the other would render the wrong data.
    """
    if "contact" in variables:
        raise ValueError("run variable 'contact' collides with the contact mapping")
    return {**variables, "contact": contact}


def renderable_ids(root: Path, kind: str) -> frozenset[str]:
    """The ids under ``root/<kind>`` that ``TemplateStore`` can render.

    An email template or a voice script is its required ``<id>.txt.j2``; an HTML body
    alone (``<id>.html.j2``) renders nothing, so it does not make an id, and neither
    does a name the store would refuse as an id.
    """
    folder = root / kind
    if not folder.is_dir():
        return frozenset()
    suffix = ".txt.j2"
    return frozenset(
        p.name.removesuffix(suffix)
        for p in folder.iterdir()
        if p.is_file()
        and p.name.endswith(suffix)
        and _TEMPLATE_ID.fullmatch(p.name.removesuffix(suffix))
    )


class TemplateStore:
    """Renders the templates under ``root`` (the folder holding ``email/`` and ``voice/``)."""

    def __init__(self, root: Path, limits: RenderLimits | None = None) -> None:
        self._root = root
        self._limits = limits or RenderLimits()
        # One environment per channel: its loader reaches only that channel's folder.
        self._envs = {
            kind: channel_environment(root, kind, self._limits) for kind in ("email", "voice")
        }
        # None marks an optional template known to be absent, so it is not looked for
        # on every render.
        self._compiled: dict[str, jinja2.Template | None] = {}
        self._compile_subject = functools.lru_cache(maxsize=256)(self._envs["email"].from_string)

    def render_email(
        self, template_id: str, subject: str, context: Mapping[str, object]
    ) -> RenderedEmail:
        """Render the subject (a template string from the plan), text and HTML bodies.

        Raises:
            TemplateError: The text template is missing, any template is malformed or
                unsafe, a variable is undefined, or the subject spans several lines;
                ``TemplateLimitExceeded`` when a render limit was passed.
        """
        text_template = self._load(template_id, "email", "txt", required=True)
        html_template = self._load(template_id, "email", "html", required=False)
        assert text_template is not None
        rendered_subject = self._render_subject(template_id, subject, context)
        text = self._render(template_id, text_template, context)
        html = None if html_template is None else self._render(template_id, html_template, context)
        return RenderedEmail(subject=rendered_subject, text=text, html=html)

    def render_voice(self, script_id: str, context: Mapping[str, object]) -> str:
        """Render the voice script ``voice/<script_id>.txt.j2``.

        Raises:
            TemplateError: The script is missing, malformed, unsafe, or uses an
                undefined variable; ``TemplateLimitExceeded`` when a render limit was
                passed.
        """
        template = self._load(script_id, "voice", "txt", required=True)
        assert template is not None
        return self._render(script_id, template, context)

    def _render_subject(self, template_id: str, subject: str, context: Mapping[str, object]) -> str:
        try:
            template = self._compile_subject(subject)
        except jinja2.TemplateSyntaxError as exc:
            raise TemplateError(
                template_id,
                exc.message or "syntax error",
                code="template_syntax",
                source="subject",
                line=exc.lineno,
            ) from exc
        except Exception as exc:  # compiling folds constants: authored code runs here
            raise _failure(template_id, exc, "subject", None) from exc
        cap = (self._limits.max_subject_chars, "maxSubjectChars")
        rendered = self._render(template_id, template, context, source="subject", cap=cap)
        rendered = rendered.strip()
        if "\r" in rendered or "\n" in rendered:
            # A header cannot hold a line break; folding it silently would send a
            # subject nobody wrote.
            raise TemplateError(
                template_id,
                "subject renders to more than one line",
                code="template_subject",
                source="subject",
            )
        return rendered

    def _render(
        self,
        template_id: str,
        template: jinja2.Template,
        context: Mapping[str, object],
        *,
        source: str | None = None,
        cap: tuple[int, str] | None = None,
    ) -> str:
        most, setting = cap or (self._limits.max_output_chars, "maxOutputChars")
        parts: list[str] = []
        size = 0
        try:
            # generate() hands the output over piece by piece, so a flood is stopped at
            # the limit instead of being built whole first.
            for part in template.generate(dict(context)):
                size += len(part)
                if size > most:
                    raise LimitReached(f"the output passed the limit of {most} characters", setting)
                parts.append(part)
        # Template content is authored data and may raise anything (a filter on the
        # wrong type, a division by zero); all of it means "this template cannot render".
        except Exception as exc:
            line = _template_line(exc, template)
            raise _failure(template_id, exc, source or template.name, line) from exc
        return "".join(parts)

    def _load(
        self, template_id: str, kind: str, extension: str, *, required: bool
    ) -> jinja2.Template | None:
        if not _TEMPLATE_ID.fullmatch(template_id):
            raise TemplateError(template_id, "not a valid template id", code="template_not_found")
        name = f"{kind}/{template_id}.{extension}.j2"
        if name not in self._compiled:
            try:
                self._compiled[name] = self._envs[kind].get_template(name)
            except jinja2.TemplateNotFound as exc:
                if exc.name != name:  # a template it extends or imports is what is missing
                    raise _failure(template_id, exc, name, None) from exc
                if required:
                    raise TemplateError(
                        template_id, f"no template file {name}", code="template_not_found"
                    ) from exc
                self._compiled[name] = None
            except jinja2.TemplateSyntaxError as exc:
                raise TemplateError(
                    template_id,
                    exc.message or "syntax error",
                    code="template_syntax",
                    source=exc.name or name,
                    line=exc.lineno,
                ) from exc
            except Exception as exc:  # compiling folds constants, or a file lies outside
                raise _failure(template_id, exc, name, None) from exc
        return self._compiled[name]


def _failure(
    template_id: str, exc: Exception, source: str | None, line: int | None
) -> TemplateError:
    """The ``TemplateError`` that an exception raised by authored template code means."""
    if isinstance(exc, LimitReached):
        return TemplateLimitExceeded(
            template_id, str(exc), limit=exc.limit, source=source, line=line
        )
    if isinstance(exc, MemoryError):
        message = "rendering ran out of memory (templates.memoryMb)"
        return TemplateLimitExceeded(
            template_id, message, limit="memoryMb", source=source, line=line
        )
    if isinstance(exc, OutsideChannel):
        code, message = "template_forbidden", str(exc)
    elif isinstance(exc, SecurityError):
        code, message = "template_forbidden", f"unsafe access refused: {exc}"
    elif isinstance(exc, jinja2.UndefinedError):
        code, message = "template_undefined", str(exc)
    else:
        code, message = "template_render_failed", f"{type(exc).__name__}: {exc}"
    return TemplateError(template_id, message, code=code, source=source, line=line)


def _template_line(exc: BaseException, template: jinja2.Template) -> int | None:
    """The template line being rendered when ``exc`` was raised.

    Jinja rewrites the traceback so that frames of template code carry the template's
    file name and line; the innermost such frame is where rendering stopped.
    """
    filename = template.filename or "<template>"
    line = None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


__all__ = [
    "LIMIT_CODE",
    "RenderLimits",
    "RenderedEmail",
    "TemplateError",
    "TemplateLimitExceeded",
    "TemplateStore",
    "renderable_ids",
    "template_context",
]
