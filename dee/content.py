"""The content registry on disk: which email templates and voice scripts exist.

Layout of the templates directory (``DEE_TEMPLATES_DIR``, default ``templates``)::

    templates/email/<templateId>.<ext>   email bodies (e.g. tmpl_intro.html.j2, tmpl_intro.txt.j2)
    templates/voice/<scriptId>.<ext>     call scripts and voicemail messages

An id is the file name up to its first dot.
"""

from __future__ import annotations

import os
from pathlib import Path

from dee.errors import DocumentError
from interpreter import ContentRegistry

DEFAULT_TEMPLATES_DIR = "templates"


def templates_dir(explicit: Path | None = None) -> Path:
    if explicit is not None:
        return explicit
    return Path(os.environ.get("DEE_TEMPLATES_DIR", DEFAULT_TEMPLATES_DIR))


def _ids(folder: Path) -> frozenset[str]:
    if not folder.is_dir():
        return frozenset()
    return frozenset(p.name.split(".", 1)[0] for p in folder.iterdir() if p.is_file())


def load_registry(root: Path) -> ContentRegistry:
    """Scan ``root`` for templates and scripts; a missing directory is an error."""
    if not root.is_dir():
        raise DocumentError(
            [f"{root}: templates directory not found (set DEE_TEMPLATES_DIR or pass --templates)"]
        )
    voice = _ids(root / "voice")
    return ContentRegistry(
        email_templates=_ids(root / "email"), voice_scripts=voice, voice_messages=voice
    )
