"""The template layer's typed errors; they cross a process boundary as plain data."""

from __future__ import annotations

from collections.abc import Mapping

LIMIT_CODE = "template_limit"


class TemplateError(Exception):
    """A template is missing, malformed, unsafe, or needs a variable the context lacks.

    Not a ``ChannelError``: nothing was sent. Callers map it to a permanent failure.

    Attributes:
        template_id: The email template or voice script id.
        message: What went wrong, e.g. ``'product' is undefined``.
        code: ``template_not_found``, ``template_syntax``, ``template_undefined``,
            ``template_forbidden``, ``template_subject``, ``template_limit`` or
            ``template_render_failed``.
        source: The file (relative to the root) or ``subject``, when known.
        line: The 1-based line in ``source``, when known.
    """

    def __init__(
        self,
        template_id: str,
        message: str,
        *,
        code: str = "template_render_failed",
        source: str | None = None,
        line: int | None = None,
    ) -> None:
        self.template_id = template_id
        self.message = message
        self.code = code
        self.source = source
        self.line = line
        where = ", ".join(
            part for part in (source, f"line {line}" if line else None) if part is not None
        )
        suffix = f" ({where})" if where else ""
        super().__init__(f"template {template_id!r}: {message}{suffix}")

    def as_dict(self) -> dict[str, object]:
        """The error as JSON-able data."""
        return {
            "templateId": self.template_id,
            "message": self.message,
            "code": self.code,
            "source": self.source,
            "line": self.line,
            "limit": self.limit if isinstance(self, TemplateLimitExceeded) else None,
        }

    @staticmethod
    def from_dict(data: Mapping[str, object]) -> TemplateError:
        """The error ``as_dict`` described (a ``TemplateLimitExceeded`` if it was one)."""

        def text(key: str) -> str | None:
            value = data.get(key)
            return value if isinstance(value, str) else None

        line = data.get("line")
        source, at = text("source"), line if isinstance(line, int) else None
        template_id, message = text("templateId") or "", text("message") or ""
        if data.get("code") == LIMIT_CODE:
            return TemplateLimitExceeded(
                template_id, message, limit=text("limit"), source=source, line=at
            )
        code = text("code") or "template_render_failed"
        return TemplateError(template_id, message, code=code, source=source, line=at)


class TemplateLimitExceeded(TemplateError):
    """Rendering passed a limit (time, size, memory, ``range()``) and was stopped.

    Attributes:
        limit: The setting under ``templates`` that was passed, e.g. ``renderSeconds``;
            ``None`` for a fixed rule.
    """

    def __init__(
        self,
        template_id: str,
        message: str,
        *,
        limit: str | None,
        source: str | None = None,
        line: int | None = None,
    ) -> None:
        self.limit = limit
        super().__init__(template_id, message, code=LIMIT_CODE, source=source, line=line)


__all__ = ["LIMIT_CODE", "TemplateError", "TemplateLimitExceeded"]
