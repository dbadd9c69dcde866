"""Rendering off the event loop: a few render processes, each render under a deadline.

Boundary: what the send activities call. A template is authored content and can run
for as long as it likes (``{% for x in range(10000) %}{% for y in range(10000) %}``);
rendered in the worker's own thread it would stall the event loop and every workflow
task and heartbeat with it, and a thread cannot be stopped. So each render goes to a
separate process (``adapters.template_worker``), the event loop only awaits its pipe,
and a render that passes ``renderSeconds`` is stopped by killing its process; the next
render starts a fresh one. Processes start on first use (or ``prestart``) and are
reused.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import asdict
from pathlib import Path
from typing import Any

from adapters.template_errors import LIMIT_CODE, TemplateError, TemplateLimitExceeded
from adapters.template_limits import RenderLimits
from adapters.template_worker import HEADER, frame
from adapters.templates import RenderedEmail

# Starting a process (an interpreter and Jinja) is not the template's time: it has its
# own allowance, and the render deadline starts once the process is ready. Generous, yet
# with two renders (a voice script and its voicemail) well inside the send activity's
# 60 s, which also waits for the provider.
START_SECONDS = 10.0
# The directory holding the ``adapters`` package, so the process imports this code.
_CODE_ROOT = str(Path(__file__).resolve().parents[1])
_KEPT_ENV = frozenset({"PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR"})


class _Gone(Exception):
    """The process ended without an answer (killed from outside, or out of memory)."""


class _Process:
    """One render process and its pipes."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None

    async def ask(self, request: bytes) -> Any:
        assert self.proc.stdin is not None
        self.proc.stdin.write(request)
        await self.proc.stdin.drain()
        return await self.read()

    async def read(self) -> Any:
        assert self.proc.stdout is not None
        (size,) = HEADER.unpack(await self.proc.stdout.readexactly(HEADER.size))
        return json.loads(await self.proc.stdout.readexactly(size))

    async def stop(self) -> None:
        if self.alive:
            self.proc.kill()
        await self.proc.wait()

    async def close(self) -> None:
        """Let it end by itself (stdin closed), or stop it."""
        if self.alive and self.proc.stdin is not None:
            self.proc.stdin.close()
            with suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await self.proc.wait()
        await self.stop()


class TemplateRenderer:
    """Renders the templates under ``root`` in up to ``processes`` render processes.

    Every failure is a ``TemplateError``; a render that passes a limit, including the
    deadline, is a ``TemplateLimitExceeded`` naming the limit. Use ``aclose`` when done.
    """

    def __init__(
        self, root: Path, limits: RenderLimits | None = None, *, processes: int = 2
    ) -> None:
        self._limits = limits or RenderLimits()
        self._settings = json.dumps({"root": str(root.resolve()), "limits": asdict(self._limits)})
        self._slots = asyncio.Semaphore(max(1, processes))
        self._idle: list[_Process] = []
        self._all: set[_Process] = set()
        self._warming: asyncio.Task[None] | None = None

    def prestart(self) -> None:
        """Start one render process in the background, so the first send need not wait."""
        if self._warming is None:
            self._warming = asyncio.get_running_loop().create_task(self._warm())

    async def _warm(self) -> None:
        async with self._slots:
            if not self._idle:
                with suppress(TemplateError):  # the first render tries again and reports
                    self._idle.append(await self._start("(prestart)"))

    async def render_email(
        self, template_id: str, subject: str, context: Mapping[str, object]
    ) -> RenderedEmail:
        """Render an email (see ``TemplateStore.render_email``) in a render process."""
        request = {"kind": "email", "id": template_id, "subject": subject, "context": context}
        answer = await self._render(template_id, request)
        html = answer.get("html")
        return RenderedEmail(
            subject=str(answer["subject"]),
            text=str(answer["text"]),
            html=None if html is None else str(html),
        )

    async def render_voice(self, script_id: str, context: Mapping[str, object]) -> str:
        """Render a voice script (see ``TemplateStore.render_voice``) in a render process."""
        answer = await self._render(
            script_id, {"kind": "voice", "id": script_id, "context": context}
        )
        return str(answer["text"])

    async def aclose(self) -> None:
        """Stop every render process (a render still running fails)."""
        if self._warming is not None and not self._warming.done():
            self._warming.cancel()
            with suppress(asyncio.CancelledError):
                await self._warming
        processes, self._idle = list(self._all), []
        self._all.clear()
        await asyncio.gather(*(p.close() for p in processes))

    async def _render(self, template_id: str, request: dict[str, Any]) -> dict[str, Any]:
        try:
            payload = frame(request)
        except (TypeError, ValueError) as exc:  # the workflow only passes JSON values
            raise TemplateError(template_id, f"the context is not JSON: {exc}") from None
        async with self._slots:
            answer = await self._answer(template_id, payload)
        error = answer.get("error")
        if isinstance(error, dict):
            raise TemplateError.from_dict(error)
        ok = answer.get("ok")
        if not isinstance(ok, dict):
            raise TemplateError(template_id, "the render process answered nonsense")
        return ok

    async def _answer(self, template_id: str, payload: bytes) -> dict[str, Any]:
        try:
            return await self._use(template_id, await self._take(template_id), payload)
        except _Gone:  # rendering has no side effects: a fresh process tries once more
            fresh = await self._start(template_id)
            try:
                return await self._use(template_id, fresh, payload)
            except _Gone:
                raise _died(template_id, fresh.proc.returncode) from None

    async def _use(self, template_id: str, process: _Process, payload: bytes) -> dict[str, Any]:
        kept = False
        try:
            answer = await self._ask(template_id, process, payload)
            # A process that hit a limit (memory above all) is not trusted again.
            error = answer.get("error")
            kept = not (isinstance(error, dict) and error.get("code") == LIMIT_CODE)
            return answer
        finally:
            if kept:
                self._idle.append(process)
            else:  # stopped, failed or cancelled: never reuse a process mid-render
                self._all.discard(process)
                await process.stop()

    async def _ask(self, template_id: str, process: _Process, payload: bytes) -> dict[str, Any]:
        seconds = self._limits.render_seconds
        try:
            async with asyncio.timeout(seconds):
                answer = await process.ask(payload)
        except TimeoutError:
            raise TemplateLimitExceeded(
                template_id,
                f"rendering ran past the limit of {seconds:g} s and was stopped "
                "(templates.renderSeconds)",
                limit="renderSeconds",
            ) from None
        except (OSError, asyncio.IncompleteReadError):
            await process.stop()
            if process.proc.returncode == -signal.SIGXCPU:  # its own CPU allowance ran out
                raise TemplateLimitExceeded(
                    template_id,
                    "rendering used up its CPU time and was stopped (templates.renderSeconds)",
                    limit="renderSeconds",
                ) from None
            raise _Gone from None
        except ValueError:  # not JSON: nothing this process says can be trusted
            raise TemplateError(template_id, "the render process answered nonsense") from None
        if not isinstance(answer, dict):
            raise TemplateError(template_id, "the render process answered nonsense")
        return answer

    async def _take(self, template_id: str) -> _Process:
        while self._idle:
            process = self._idle.pop()
            if process.alive:
                return process
            self._all.discard(process)
        return await self._start(template_id)

    async def _start(self, template_id: str) -> _Process:
        # Least privilege: the worker's credentials (DEE_* and the like) stay out of it.
        env = {k: v for k, v in os.environ.items() if k in _KEPT_ENV or k.startswith("PYTHON")}
        path = env.get("PYTHONPATH")
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (_CODE_ROOT, path)))
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "adapters.template_worker", self._settings,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
            )  # fmt: skip
        except OSError as exc:
            raise TemplateError(template_id, f"no render process could start: {exc}") from None
        process = _Process(proc)
        self._all.add(process)
        ready: object = None
        try:
            async with asyncio.timeout(START_SECONDS):
                ready = await process.read()
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:  # also when cancelled: a process nobody waits for is stopped
            if ready != {"ready": True}:
                self._all.discard(process)
                await process.stop()
        if ready != {"ready": True}:
            raise TemplateError(template_id, "the render process did not start")
        return process


def _died(template_id: str, returncode: int | None) -> TemplateError:
    return TemplateError(
        template_id, f"the render process stopped in the middle (exit status {returncode})"
    )


__all__ = ["TemplateRenderer"]
