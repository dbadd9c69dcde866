"""The content registry on disk: which email templates and voice scripts exist.

Layout of the templates directory (``DEE_TEMPLATES_DIR``, default ``templates``)::

    templates/email/<templateId>.txt.j2   email text body (required); <templateId>.html.j2
                                          is an optional HTML alternative
    templates/voice/<scriptId>.txt.j2     call scripts and voicemail messages

The registry lists only what the renderer (``adapters.templates``) can render, so a
plan naming a template that has only an HTML file is refused when it is validated,
not when its run reaches the send. It also carries what the static template check
(``adapters.template_check``) finds: a template that does not parse or reaches
outside its channel's folder, and the same of a plan's email subjects.
"""

from __future__ import annotations

import os
from pathlib import Path

from adapters.template_check import TemplateIndex
from adapters.templates import renderable_ids
from dee.errors import DocumentError
from interpreter import ContentRegistry

DEFAULT_TEMPLATES_DIR = "templates"


def templates_dir(explicit: Path | None = None) -> Path:
    if explicit is not None:
        return explicit
    return Path(os.environ.get("DEE_TEMPLATES_DIR", DEFAULT_TEMPLATES_DIR))


def load_registry(root: Path) -> ContentRegistry:
    """Scan ``root`` for templates and scripts; a missing directory is an error."""
    if not root.is_dir():
        raise DocumentError(
            [f"{root}: templates directory not found (set DEE_TEMPLATES_DIR or pass --templates)"]
        )
    email, voice = renderable_ids(root, "email"), renderable_ids(root, "voice")
    index = TemplateIndex(root)
    unusable = {
        (channel, content_id): problems
        for channel, ids in (("email", email), ("voice", voice))
        for content_id in sorted(ids)
        if (problems := index.template_problems(channel, content_id))
    }
    return ContentRegistry(
        email_templates=email,
        voice_scripts=voice,
        voice_messages=voice,
        unusable=unusable,
        check_subject=index.subject_problems,
    )
