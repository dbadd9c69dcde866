"""Static checks of templates, for plan validation: what can be refused before a run starts.

Boundary: reads and parses template files (never renders them) and reports, per
template, every syntax error and every reference (``extends``, ``include``,
``import``, ``from``) that the renderer would refuse: a name outside the template's own
channel folder, ``..``, an absolute name, a file that is not there. References are
followed into the files they name. A name computed at render time cannot be judged
here; the renderer's loader refuses it then (``adapters.template_limits``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jinja2
from jinja2 import nodes

from adapters.template_limits import LimitedSandbox, RenderLimits, confinement_problem

_REFERENCES = (nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)


def _references(tree: nodes.Template) -> Iterator[tuple[str | None, int]]:
    """Every template name ``tree`` refers to, with its line; ``None`` for a computed one.

    Like ``jinja2.meta.find_referenced_templates``, with the line of each reference so
    a problem can point at it.
    """
    for node in tree.find_all(_REFERENCES):
        target = getattr(node, "template", None)  # each of _REFERENCES has one
        if isinstance(target, nodes.Const) and isinstance(target.value, (list, tuple)):
            items: list[object] = list(target.value)
        elif isinstance(target, (nodes.Tuple, nodes.List)):
            items = [i.value if isinstance(i, nodes.Const) else None for i in target.items]
        else:
            items = [target.value if isinstance(target, nodes.Const) else None]
        for item in items:
            yield (item if isinstance(item, str) else None), node.lineno


class TemplateIndex:
    """The problems of the templates under ``root``, read once and remembered."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._env = LimitedSandbox(RenderLimits())  # parses only: the limits never apply
        self._files: dict[str, tuple[str, ...]] = {}

    def template_problems(self, channel: str, template_id: str) -> tuple[str, ...]:
        """What keeps the email template or voice script ``template_id`` from rendering."""
        names = [f"{channel}/{template_id}.txt.j2"]
        html = f"{channel}/{template_id}.html.j2"
        if channel == "email" and (self._root / html).is_file():
            names.append(html)
        return tuple(p for name in names for p in self._file(name, channel, frozenset()))

    def subject_problems(self, subject: str) -> tuple[str, ...]:
        """What keeps an email subject (a template string in the plan) from rendering."""
        try:
            tree = self._env.parse(subject)
        except jinja2.TemplateSyntaxError as exc:
            return (f"the subject is not a valid template: line {exc.lineno}: {exc.message}",)
        except RecursionError:
            return ("the subject is not a valid template: it nests too deeply",)
        return tuple(
            f"the subject cannot be used: {problem}"
            for problem in self._followed(tree, "line", "email", frozenset())
        )

    def _file(self, name: str, channel: str, visiting: frozenset[str]) -> tuple[str, ...]:
        if name in self._files:
            return self._files[name]
        if name in visiting:  # a cycle: the problems are the ones being collected
            return ()
        path = self._root / name
        if not path.resolve().is_relative_to((self._root / channel).resolve()):
            # A symlink may lead anywhere; the renderer's loader refuses it too.
            self._files[name] = (f"{name} leads outside {channel}/",)
            return self._files[name]
        try:
            tree = self._env.parse(path.read_text(encoding="utf-8"), name=name)
        except jinja2.TemplateSyntaxError as exc:
            problems: tuple[str, ...] = (f"{name} line {exc.lineno}: {exc.message}",)
        except RecursionError:
            problems = (f"{name}: it nests too deeply to parse",)
        except (OSError, UnicodeDecodeError) as exc:
            problems = (f"{name} cannot be read: {exc}",)
        else:
            problems = tuple(self._followed(tree, f"{name} line", channel, visiting | {name}))
        self._files[name] = problems
        return problems

    def _followed(
        self, tree: nodes.Template, where: str, channel: str, visiting: frozenset[str]
    ) -> Iterator[str]:
        for name, line in _references(tree):
            if name is None:
                continue  # computed at render time: the loader judges it then
            problem = confinement_problem(name, channel)
            if problem is None and not (self._root / name).is_file():
                problem = f"'{name}' does not exist"
            if problem is not None:
                yield f"{where} {line}: {problem}"
                continue
            yield from self._file(name, channel, visiting)


__all__ = ["TemplateIndex"]
