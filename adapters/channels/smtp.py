"""SMTP email channel on aiosmtplib.

Boundary: one ``EmailMessage`` in, one SMTP transaction out (connect, optional
TLS/STARTTLS and AUTH, MAIL/RCPT/DATA, quit), a ``SendReceipt`` back. The message is
handed to the server exactly once; this module never retries. Every aiosmtplib and
socket failure is mapped here to ``ChannelRejected`` (permanent: 5xx, bad address,
unsupported configuration) or ``ChannelUnavailable`` (transient: 4xx, refused or lost
connection, timeout), so no aiosmtplib type leaves this module.
"""

from __future__ import annotations

import email.utils
from datetime import datetime
from decimal import Decimal
from email.message import EmailMessage as MimeMessage

import aiosmtplib

from adapters.channels.base import EmailMessage, SendLookup, SendReceipt, lookup_since
from adapters.channels.errors import ChannelError, ChannelRejected, ChannelUnavailable
from adapters.channels.recipients import email_recipient

# Reply-code families (RFC 5321 section 4.2.1): 4yz may succeed later, 5yz will not.
_TRANSIENT = range(400, 500)
_PERMANENT = range(500, 600)

# Which SMTP command a refusal answered, for the error code; most specific first.
_REFUSAL_KINDS: tuple[tuple[type[aiosmtplib.SMTPResponseException], str], ...] = (
    (aiosmtplib.SMTPRecipientRefused, "recipient"),
    (aiosmtplib.SMTPSenderRefused, "sender"),
    (aiosmtplib.SMTPDataError, "data"),
    (aiosmtplib.SMTPAuthenticationError, "auth"),
    (aiosmtplib.SMTPHeloError, "helo"),
    (aiosmtplib.SMTPConnectResponseError, "greeting"),
)


class SmtpEmailChannel:
    """Sends email through one SMTP server (a relay, a provider's SMTP endpoint, a catcher).

    Args:
        host: Server host name or address.
        port: Server port.
        use_tls: Connect with implicit TLS (SMTPS, usually port 465).
        start_tls: ``True`` requires STARTTLS, ``False`` forbids it, ``None`` upgrades
            when the server offers it.
        username: AUTH user; AUTH is attempted only when both credentials are given.
        password: AUTH password.
        timeout: Seconds allowed for connecting and for each server reply.
        cost_per_email: The estimate reported on every receipt.
    """

    name = "smtp"

    def __init__(
        self,
        host: str,
        port: int,
        *,
        use_tls: bool = False,
        start_tls: bool | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        cost_per_email: Decimal = Decimal("0"),
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        if cost_per_email < 0:
            raise ValueError(f"cost_per_email must not be negative, got {cost_per_email}")
        self._host = host
        self._port = port
        self._use_tls = use_tls
        self._start_tls = start_tls
        self._username = username
        self._password = password
        self._timeout = timeout
        self._cost = cost_per_email

    def __repr__(self) -> str:
        # Credentials stay out of logs and tracebacks.
        return f"SmtpEmailChannel(host={self._host!r}, port={self._port})"

    async def send(self, message: EmailMessage) -> SendReceipt:
        """Send ``message`` once.

        Returns:
            A receipt whose ``provider_message_id`` is the message's Message-ID.

        Raises:
            ChannelRejected: The message or an address is unusable, or the server
                refused it permanently (5xx).
            ChannelUnavailable: The server could not be reached, timed out, dropped
                the connection, or refused temporarily (4xx).
        """
        sender = _envelope_address(message.sender, "sender")
        # RCPT TO and the To header name the same single mailbox: the canonical one.
        recipient = email_recipient(message.to)
        try:
            mime = _build_mime(message, recipient)
        except ValueError as exc:
            raise ChannelRejected(
                f"message cannot be encoded: {exc}", code="invalid_message"
            ) from exc
        try:
            # A single recipient refused raises SMTPRecipientsRefused, so the
            # per-recipient error map aiosmtplib returns has nothing left to report.
            await aiosmtplib.send(
                mime,
                sender=sender,
                recipients=[recipient],
                hostname=self._host,
                port=self._port,
                use_tls=self._use_tls,
                start_tls=self._start_tls,
                username=self._username,
                password=self._password,
                timeout=self._timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise self._map_error(exc) from exc
        return SendReceipt(
            provider=self.name,
            provider_message_id=message.message_id,
            accepted=True,
            estimated_cost=self._cost,
        )

    async def find_sent(self, message_id: str, to: str, since: datetime) -> SendLookup:
        """``cannot_ask``: SMTP has no command to ask a server what it accepted.

        A relay may well have queued the message before the connection was lost;
        only its logs (or the recipient) can say, so the decision is an operator's.

        Raises:
            ValueError: ``since`` is naive.
        """
        lookup_since(since)
        return SendLookup(
            "cannot_ask",
            self.name,
            detail=f"SMTP {self._host}:{self._port} keeps no record DEE can query; "
            f"check the relay's logs for Message-ID {message_id}",
        )

    def _map_error(self, exc: aiosmtplib.SMTPException | OSError) -> ChannelError:
        where = f"SMTP {self._host}:{self._port}"
        # Order matters: aiosmtplib's classes inherit from several bases at once
        # (a connect timeout is both a timeout and a connect error).
        if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
            refused = exc.recipients[0]
            return _refusal(where, "recipient", refused.code, refused.message)
        if isinstance(exc, TimeoutError):
            return ChannelUnavailable(f"{where}: {exc}", code="smtp_timeout")
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            kind = next((k for cls, k in _REFUSAL_KINDS if isinstance(exc, cls)), "command")
            return _refusal(where, kind, exc.code, exc.message)
        if isinstance(exc, aiosmtplib.SMTPServerDisconnected):
            return ChannelUnavailable(f"{where}: {exc}", code="smtp_disconnected")
        if isinstance(exc, aiosmtplib.SMTPConnectError):
            was_refused = isinstance(exc.__cause__, ConnectionRefusedError)
            code = "connection_refused" if was_refused else "smtp_connect_failed"
            return ChannelUnavailable(f"{where}: {exc}", code=code)
        if isinstance(exc, aiosmtplib.SMTPNotSupported):
            # e.g. start_tls=True against a server without STARTTLS: configuration,
            # so repeating the send cannot help.
            return ChannelRejected(f"{where}: {exc}", code="smtp_not_supported")
        if isinstance(exc, ConnectionRefusedError):
            return ChannelUnavailable(f"{where}: {exc}", code="connection_refused")
        if isinstance(exc, OSError):
            return ChannelUnavailable(f"{where}: {exc}", code="connection_error")
        return ChannelUnavailable(f"{where}: {exc}", code="smtp_error")


def _refusal(where: str, kind: str, reply_code: int, reply: str) -> ChannelError:
    text = f"{where} refused the {kind}: {reply_code} {reply}".rstrip()
    if reply_code in _PERMANENT:
        return ChannelRejected(text, code=f"smtp_rejected_{kind}")
    if reply_code in _TRANSIENT:
        return ChannelUnavailable(text, code=f"smtp_deferred_{kind}")
    # Anything else breaks the protocol; treat it like a lost connection.
    return ChannelUnavailable(text, code="smtp_unexpected_reply")


def _envelope_address(header_value: str, role: str) -> str:
    """The bare addr-spec for MAIL FROM from ``Name <addr>`` or ``addr`` (configured)."""
    _, address = email.utils.parseaddr(header_value)
    if "@" not in address:
        raise ChannelRejected(f"invalid {role} address {header_value!r}", code="invalid_address")
    return address


def _build_mime(message: EmailMessage, recipient: str) -> MimeMessage:
    mime = MimeMessage()
    mime["From"] = message.sender
    mime["To"] = recipient
    mime["Subject"] = message.subject
    mime["Message-ID"] = message.message_id
    if message.reply_to is not None:
        mime["Reply-To"] = message.reply_to
    extra = {name: value for name, value in message.headers.items() if name.lower() != "date"}
    date = next((v for k, v in message.headers.items() if k.lower() == "date"), None)
    # RFC 5322 requires Date; when the caller did not fix one, the moment of sending
    # is the honest value (this is I/O-side code, outside the deterministic core).
    mime["Date"] = date if date is not None else email.utils.formatdate(localtime=False)
    for name, value in extra.items():
        mime[name] = value
    mime.set_content(message.text)
    if message.html is not None:
        mime.add_alternative(message.html, subtype="html")
    return mime


__all__ = ["SmtpEmailChannel"]
