"""Rendering as the send activities render: ``TemplateRenderer``, its processes and limits.

The activities do not render in the worker: each render goes to a render process
(``adapters.template_pool``) under ``RenderLimits`` (a deadline, output and range
limits), so the fuzz targets render the same way, on an event loop the child process
keeps. Template bodies under test are written into a scratch copy of ``templates/``
under a fresh id each (a render process keeps what it compiled, by id).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

from adapters.template_pool import TemplateRenderer


class RenderWorld:
    """A renderer over a scratch copy of ``templates`` and the loop it runs on."""

    def __init__(self, templates: Path, scratch: Path) -> None:
        self.root = scratch / "templates"
        shutil.copytree(templates, self.root)
        self.loop = asyncio.new_event_loop()
        self.renderer = TemplateRenderer(self.root, processes=1)
        self.bodies = 0

    def body(self, text: str) -> str:
        """``text`` as a new email template; its id."""
        self.bodies += 1
        template_id = f"tmpl_fuzz_{self.bodies}"
        path = self.root / "email" / f"{template_id}.txt.j2"
        path.write_text(text, "utf-8", "surrogatepass")
        return template_id

    def render_all(
        self, template_id: str, subject: str, context_of: Callable[[], Mapping[str, object]]
    ) -> int:
        """An email and a call, rendered as the send activity renders them; the characters.

        ``context_of`` builds the context (``template_context``); the activity counts its
        ``ValueError`` (a variable named ``contact``) as a template failure, as callers
        here do.

        Raises:
            TemplateError: as the renderer raises it (``TemplateLimitExceeded`` too).
            ValueError: from ``context_of``.
        """

        async def both() -> int:
            email = await self.renderer.render_email(template_id, subject, context_of())
            script = await self.renderer.render_voice("script_follow_up", context_of())
            return len(email.subject) + len(email.text) + len(email.html or "") + len(script)

        return self.loop.run_until_complete(both())

    def close(self) -> None:
        self.loop.run_until_complete(self.renderer.aclose())
        self.loop.close()
