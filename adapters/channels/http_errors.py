"""The one mapping of an HTTP provider's failures to channel errors.

Postmark, Twilio and Vonage all speak HTTP through httpx, and all fail the same three
ways: no answer (a timeout: the request may have taken effect), no connection, or an
answer whose status refuses the request. Each way has one meaning for the caller
(``adapters.channels.errors``), decided here once for every provider:

- a timeout or a connection failure is ``ChannelUnavailable`` (``<vendor>_timeout``,
  ``<vendor>_connect_failed``);
- 429 and every 5xx are ``ChannelUnavailable`` (``<vendor>_http_<status>``): the
  provider asked to come back later;
- any other refusal is ``ChannelRejected``: repeating the request unchanged fails
  again. Its code is the vendor's own error code where the provider gives one.

Adapters build only the human text (each vendor words its answer differently) and
let ``http_failures`` / ``status_error`` choose the class and the code, as httpx's own
``map_httpcore_exceptions`` does for its transports.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from adapters.channels.errors import ChannelError, ChannelRejected, ChannelUnavailable

TOO_MANY_REQUESTS = 429


def retry_later(status: int) -> bool:
    """Whether an HTTP status asks the caller to come back later (429 or 5xx)."""
    return status == TOO_MANY_REQUESTS or status >= httpx.codes.INTERNAL_SERVER_ERROR


def status_error(vendor: str, status: int, text: str, code: str | None = None) -> ChannelError:
    """The channel error for a provider's refusal with HTTP ``status``.

    Args:
        vendor: The code prefix, e.g. ``postmark``.
        status: The answer's HTTP status (not a success).
        text: The one-line message for a person.
        code: The vendor-specific code of a permanent refusal (e.g.
            ``postmark_error_406``); ``<vendor>_http_<status>`` when ``None``.
    """
    if retry_later(status):
        return ChannelUnavailable(text, code=f"{vendor}_http_{status}")
    return ChannelRejected(text, code=code or f"{vendor}_http_{status}")


@contextmanager
def http_failures(vendor: str, label: str, what: str, doubt: str = "") -> Iterator[None]:
    """Map httpx's transport errors raised inside the block to ``ChannelUnavailable``.

    Args:
        vendor: The code prefix, e.g. ``twilio``.
        label: How messages name the provider, e.g. ``Postmark https://...``.
        what: What was asked, e.g. ``the email``.
        doubt: Added to a timeout's message where the request may have taken effect.

    Raises:
        ChannelUnavailable: A timeout (``<vendor>_timeout``) or any other transport
            failure (``<vendor>_connect_failed``), chained to the httpx error.
    """
    try:
        yield
    except httpx.TimeoutException as exc:
        raise ChannelUnavailable(
            f"{label}: no answer in time to {what} ({type(exc).__name__}){doubt}",
            code=f"{vendor}_timeout",
        ) from exc
    except httpx.HTTPError as exc:
        raise ChannelUnavailable(
            f"{label}: {type(exc).__name__}: {exc}", code=f"{vendor}_connect_failed"
        ) from exc


__all__ = ["TOO_MANY_REQUESTS", "http_failures", "retry_later", "status_error"]
