"""Channel errors: the only failures a channel adapter lets escape.

Every vendor exception (aiosmtplib, twilio, HTTP clients) is mapped at the edge to one
of these with ``raise ... from exc``. The class says what the caller may do next:
``ChannelRejected`` is permanent (the same send would fail again: bad address, 5xx,
misconfiguration), ``ChannelUnavailable`` is transient (connection refused, timeout,
4xx). Either way the send is not retried automatically: the run fails closed and an
operator decides. ``code`` is a short stable machine word for the audit log and for
tests; ``str(exc)`` is one line meant for a person.
"""

from __future__ import annotations


class ChannelError(Exception):
    """Root of the channel errors.

    Attributes:
        code: Short machine-readable reason, e.g. ``smtp_timeout``.
        message: One human-readable line.
    """

    def __init__(self, message: str, *, code: str) -> None:
        self.code = code
        self.message = message
        super().__init__(message)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, code={self.code!r})"


class ChannelRejected(ChannelError):
    """Permanent: the provider refused this send; repeating it unchanged would fail again."""


class ChannelUnavailable(ChannelError):
    """Transient: the provider could not be reached or asked us to come back later."""


class ChannelNotConfigured(ChannelRejected):
    """No provider is configured for the channel a step needs."""


__all__ = ["ChannelError", "ChannelNotConfigured", "ChannelRejected", "ChannelUnavailable"]
