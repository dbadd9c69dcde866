"""What one template may do: how big a value or an output may grow, and which files it may use.

Boundary: the Jinja environment that renders plan authors' content. It is Jinja's
immutable sandbox with three more rules, because a template that validates may still
stall or flood the worker (``{% for x in range(20000) %}{% for y in range(20000) %}``,
``'x' * 10**8``):

* ``range()`` is capped, and the operators that can grow a value (``*`` and ``+`` on
  strings and lists, ``**`` on integers, ``%`` formatting) refuse a result past the
  output limit instead of building it;
* the caller renders through ``generate()`` and stops once the output passes its limit
  (``TemplateStore`` does);
* a channel's environment loads only that channel's folder: an email template can
  extend, include or import only ``email/...``, a voice script only ``voice/...``;
  ``..``, absolute names and symlinks leading out are refused.

Time and memory cannot be bounded from inside the renderer; ``adapters.template_pool``
runs it in a separate process it kills at the deadline.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

CHANNELS = ("email", "voice")
# Python refuses to print a longer integer (sys.int_max_str_digits); building one is
# only a way to burn CPU.
MAX_POWER_DIGITS = 4300


@dataclass(frozen=True, slots=True)
class RenderLimits:
    """Per-render limits (``templates`` section of the engine configuration).

    Attributes:
        render_seconds: Wall time for one send's rendering (subject and bodies).
        max_output_chars: Longest rendered body or script, and longest value an
            operator may build.
        max_subject_chars: Longest rendered email subject.
        max_range: Most items one ``range()`` may produce.
        memory_mb: Address space of a render process (0: no limit).
    """

    render_seconds: float = 2.0
    max_output_chars: int = 1_000_000
    max_subject_chars: int = 998
    max_range: int = 10_000
    memory_mb: int = 256


class LimitReached(SecurityError):
    """A template tried to pass a render limit; ``limit`` names its setting, if it has one."""

    def __init__(self, message: str, limit: str | None) -> None:
        self.limit = limit
        super().__init__(message if limit is None else f"{message} (templates.{limit})")


class OutsideChannel(SecurityError):
    """A template named a file outside its own channel's folder."""


def confinement_problem(name: str, channel: str) -> str | None:
    """Why ``name`` may not be loaded by a ``channel`` template, or ``None`` if it may.

    Names are relative to the templates root and start with the channel's folder,
    like the names the store loads: ``email/partials/footer.txt.j2``.
    """
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return f"'{name}' is refused: template names are relative, never absolute"
    parts = name.split("/")
    if ".." in parts or "\\" in name:
        return f"'{name}' is refused: a template name may not contain '..' or '\\'"
    if len(parts) < 2 or any(p in ("", ".") for p in parts):
        return f"'{name}' is refused: name a file as {channel}/<file>"
    if parts[0] != channel:
        return (
            f"'{name}' is outside {channel}/: {channel} templates may only use "
            f"templates under {channel}/"
        )
    return None


class ChannelLoader(jinja2.FileSystemLoader):
    """Loads ``<channel>/...`` under the root and refuses every other name."""

    def __init__(self, root: Path, channel: str) -> None:
        super().__init__(root)
        self._root = root
        self._channel = channel

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        problem = confinement_problem(template, self._channel)
        if problem is not None:
            raise OutsideChannel(problem)
        folder = (self._root / self._channel).resolve()
        # A symlink inside the folder may point anywhere; the name alone proves nothing.
        if not (self._root / template).resolve().is_relative_to(folder):
            raise OutsideChannel(f"'{template}' leads outside {self._channel}/")
        return super().get_source(environment, template)


def _is_sequence(value: object) -> bool:
    return isinstance(value, (str, bytes, list, tuple))


class LimitedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox with capped ``range()`` and size-checked operators."""

    # Intercepted operators are also never folded at compile time, so a constant
    # '"x" * 10**8' is refused when rendered instead of built while compiling.
    intercepted_binops = frozenset({"*", "+", "**", "%"})

    def __init__(self, limits: RenderLimits, **options: Any) -> None:
        super().__init__(**options)
        self.limits = limits
        self.globals["range"] = self._range

    def _range(self, *args: int) -> range:
        items = range(*args)
        if len(items) > self.limits.max_range:
            raise LimitReached(
                f"range() of {len(items)} items passes the limit of {self.limits.max_range}",
                "maxRange",
            )
        return items

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        cap = self.limits.max_output_chars
        size: int | None = None
        if operator == "*":
            if _is_sequence(left) and isinstance(right, int):
                size = len(left) * right
            elif isinstance(left, int) and _is_sequence(right):
                size = left * len(right)
        elif operator == "+" and _is_sequence(left) and _is_sequence(right):
            size = len(left) + len(right)
        elif operator == "**":
            _check_power(left, right)
        if size is not None and size > cap:
            raise LimitReached(
                f"'{operator}' would build a value of {size} items, past the limit of {cap}",
                "maxOutputChars",
            )
        result = super().call_binop(context, operator, left, right)
        # '%' formatting's width comes from the format string; measuring the result
        # is the simple check, and the process's memory limit bounds what it can build.
        if operator == "%" and isinstance(result, str) and len(result) > cap:
            raise LimitReached(
                f"'%' built a value of {len(result)} characters, past the limit of {cap}",
                "maxOutputChars",
            )
        return result


def _check_power(base: Any, exponent: Any) -> None:
    if not (isinstance(base, int) and isinstance(exponent, int)):
        return  # floats overflow by themselves, quickly
    if abs(base) <= 1 or exponent <= 0:
        return
    digits = exponent * math.log10(abs(base))
    if digits > MAX_POWER_DIGITS:
        raise LimitReached(
            f"'**' would build an integer of about {int(digits)} digits "
            f"(more than {MAX_POWER_DIGITS} is refused)",
            None,
        )


def channel_environment(root: Path, channel: str, limits: RenderLimits) -> LimitedSandbox:
    """The environment that renders ``channel``'s templates under ``root``."""
    return LimitedSandbox(
        limits,
        loader=ChannelLoader(root, channel),
        undefined=jinja2.StrictUndefined,
        # Only HTML needs escaping; escaping a plain-text body or a subject would
        # put literal "&amp;" in front of the reader.
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html.j2",), default_for_string=False, default=False
        ),
        auto_reload=False,
    )


__all__ = [
    "CHANNELS",
    "ChannelLoader",
    "LimitReached",
    "LimitedSandbox",
    "OutsideChannel",
    "RenderLimits",
    "channel_environment",
    "confinement_problem",
]
