"""Rewriting a rendered email for tracking: open pixel, click redirects, unsubscribe.

Pure functions of (rendered bodies, public base URL, secret, send reference), so a
retried send produces byte-identical bodies. The route paths here are the ones the
webhook receiver serves; both sides import them so they cannot drift.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import urlencode

from adapters.tracking.tokens import Ref, sign

OPEN_ROUTE = "/webhooks/email/open/{token}"
CLICK_ROUTE = "/webhooks/email/click/{token}"
UNSUBSCRIBE_ROUTE = "/webhooks/email/unsubscribe/{token}"
CLICK_URL_PARAM = "url"

# An <a href="http(s)://..."> attribute; other schemes (mailto:, tel:) are left alone.
_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(https?://[^"']*)\2""", re.IGNORECASE)
_TEXT_URL = re.compile(r"""https?://[^\s<>"'()\[\]]+""")
_TRAILING = ".,;:!?"
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


@dataclass(frozen=True)
class Links:
    """The signed URLs of one send."""

    base_url: str
    secret: bytes
    ref: Ref

    def _url(self, route: str, purpose: str, bound: str = "") -> str:
        token = sign(self.secret, purpose, self.ref, bound)
        return self.base_url.rstrip("/") + route.format(token=token)

    def pixel(self) -> str:
        return self._url(OPEN_ROUTE, "open")

    def click(self, target: str) -> str:
        return f"{self._url(CLICK_ROUTE, 'click', target)}?{urlencode({CLICK_URL_PARAM: target})}"

    def unsubscribe(self) -> str:
        return self._url(UNSUBSCRIBE_ROUTE, "unsubscribe")

    def ours(self, url: str) -> bool:
        return url.startswith(self.base_url.rstrip("/") + "/")


def _split_trailing(url: str) -> tuple[str, str]:
    """A URL at the end of a sentence keeps its full stop outside the link."""
    stripped = url.rstrip(_TRAILING)
    return stripped, url[len(stripped) :]


def track_text(text: str, links: Links) -> str:
    """Every http(s) URL in plain text replaced by its click redirect."""

    def swap(match: re.Match[str]) -> str:
        url, tail = _split_trailing(match.group(0))
        return (url if links.ours(url) else links.click(url)) + tail

    return _TEXT_URL.sub(swap, text)


def track_html(body: str, links: Links, *, opens: bool, clicks: bool) -> str:
    """Links rewritten (``clicks``) and the 1x1 pixel placed before ``</body>`` (``opens``)."""
    if clicks:

        def swap(match: re.Match[str]) -> str:
            prefix, quote, raw = match.groups()
            target = html.unescape(raw)
            if links.ours(target):
                return match.group(0)
            return f"{prefix}{quote}{html.escape(links.click(target), quote=True)}{quote}"

        body = _HREF.sub(swap, body)
    if opens:
        pixel = (
            f'<img src="{html.escape(links.pixel(), quote=True)}" width="1" height="1" '
            'alt="" style="display:none">'
        )
        found = list(_BODY_END.finditer(body))
        if found:  # the last </body>: an earlier one may sit in a quoted message
            at = found[-1].start()
            body = body[:at] + pixel + body[at:]
        else:
            body += pixel
    return body


def html_from_text(text: str) -> str:
    """A minimal HTML alternative of a text-only email, so an open pixel has a home.

    URLs become anchors (still the original targets: ``track_html`` rewrites them).
    """
    parts: list[str] = []
    last = 0
    for match in _TEXT_URL.finditer(text):
        url, _tail = _split_trailing(match.group(0))
        parts.append(html.escape(text[last : match.start()]))
        safe = html.escape(url, quote=True)
        parts.append(f'<a href="{safe}">{safe}</a>')
        last = match.start() + len(url)
    parts.append(html.escape(text[last:]))
    paragraphs = "".join(parts).strip().split("\n\n")
    inner = "\n".join(f"<p>{p.replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return f"<!DOCTYPE html>\n<html><body>\n{inner}\n</body></html>\n"


def unsubscribe_headers(links: Links) -> dict[str, str]:
    """RFC 2369 ``List-Unsubscribe`` with RFC 8058 one-click (an HTTPS POST does it)."""
    return {
        "List-Unsubscribe": f"<{links.unsubscribe()}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


__all__ = [
    "CLICK_ROUTE",
    "CLICK_URL_PARAM",
    "OPEN_ROUTE",
    "UNSUBSCRIBE_ROUTE",
    "Links",
    "html_from_text",
    "track_html",
    "track_text",
    "unsubscribe_headers",
]
