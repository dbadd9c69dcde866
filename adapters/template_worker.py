"""The render process: ``python -m adapters.template_worker SETTINGS`` (started by the pool).

Boundary: one ``TemplateStore`` behind a pipe. It reads length-prefixed JSON requests
on stdin and answers each on stdout, one at a time, until stdin closes. The pool that
started it (``adapters.template_pool``) enforces the deadline by killing it; the
process bounds itself too, so it cannot outlive a pool that died: its address space is
capped (``memoryMb``) and each render gets a CPU-time allowance past which the kernel
stops it.
"""

from __future__ import annotations

import json
import math
import os
import resource
import signal
import struct
import sys
from pathlib import Path
from typing import IO, Any

from adapters.template_errors import TemplateError, TemplateLimitExceeded
from adapters.template_limits import RenderLimits
from adapters.templates import TemplateStore

HEADER = struct.Struct(">I")


def frame(message: object) -> bytes:
    """``message`` as one frame: a 4-byte big-endian length, then ASCII JSON."""
    # ASCII escapes keep lone surrogates (valid in a Python str, not in UTF-8) intact.
    body = json.dumps(message, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    return HEADER.pack(len(body)) + body


def _read(stream: IO[bytes]) -> Any:
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    return json.loads(stream.read(size))


def _answer(store: TemplateStore, request: dict[str, Any]) -> dict[str, Any]:
    template_id = str(request.get("id", ""))
    try:
        context = request["context"]
        kind = request["kind"]
        if kind == "email":
            email = store.render_email(template_id, request["subject"], context)
            return {"ok": {"subject": email.subject, "text": email.text, "html": email.html}}
        if kind == "voice":
            return {"ok": {"text": store.render_voice(template_id, context)}}
        # Never render another channel's content as a call script.
        return {"error": TemplateError(template_id, f"unknown template kind {kind!r}").as_dict()}
    except TemplateError as exc:
        return {"error": exc.as_dict()}
    except MemoryError:  # outside the template's own code (the store handles that)
        message = "rendering ran out of memory (templates.memoryMb)"
        return {"error": TemplateLimitExceeded(template_id, message, limit="memoryMb").as_dict()}
    except Exception as exc:  # a bug here must still come back as an answer
        return {"error": TemplateError(template_id, f"{type(exc).__name__}: {exc}").as_dict()}


def _allow_cpu(seconds: float) -> None:
    """Let the next render use ``seconds`` more CPU time (plus slack), then SIGXCPU.

    A backstop: the pool's deadline is the limit that counts; this one stops a render
    whose pool is gone.
    """
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(usage.ru_utime + usage.ru_stime + seconds) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _cap_memory(megabytes: int) -> None:
    if megabytes <= 0:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    soft = megabytes * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def main() -> None:
    # Ctrl-C reaches the whole process group; the pool decides when this process ends
    # (it closes stdin), so an interrupted worker shuts down without tracebacks here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    settings = json.loads(sys.argv[1])
    limits = RenderLimits(**settings["limits"])
    store = TemplateStore(Path(settings["root"]), limits)
    # The protocol owns stdout; anything else that prints goes to stderr.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr
    _cap_memory(limits.memory_mb)
    out.write(frame({"ready": True}))
    out.flush()
    while (request := _read(sys.stdin.buffer)) is not None:
        _allow_cpu(limits.render_seconds)
        out.write(frame(_answer(store, request)))
        out.flush()


if __name__ == "__main__":
    main()


__all__ = ["HEADER", "frame"]
