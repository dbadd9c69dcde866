"""A TLS-terminating proxy in front of a Temporal frontend, for tests.

It accepts TLS (ALPN ``h2``, as gRPC needs), optionally only from clients whose
certificate the CA signed (mTLS), and forwards the bytes both ways to the plain-text
frontend. On the way in it reads the HTTP/2 frames and decodes their header blocks
(HPACK, ``hpack``), so a test can see what a client sent: the ``authorization`` header
an API key becomes, the methods it called. The forwarding never waits on that reading:
the bytes go on unchanged.

With ``tls=False`` it is a plain-text proxy that reads the headers all the same (what a
client with TLS turned off sends in the clear).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import hpack

from tests.integration.connection.pki import Pki

_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
_HEADERS, _CONTINUATION = 0x1, 0x9
_SETTINGS = 0x4
_END_STREAM, _ACK, _END_HEADERS, _PADDED, _PRIORITY = 0x1, 0x1, 0x4, 0x8, 0x20


def _frame(kind: int, flags: int, stream: int, payload: bytes) -> bytes:
    return (
        len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload
    )


def _literal(name: str, value: str) -> bytes:
    """One header, HPACK "literal without indexing" (leaves the client's table alone)."""
    return b"\x00" + bytes([len(name)]) + name.encode() + bytes([len(value)]) + value.encode()


# gRPC's trailers-only answer: UNAUTHENTICATED (16), as Temporal Cloud answers a bad key.
_UNAUTHENTICATED = b"".join(
    _literal(name, value)
    for name, value in (
        (":status", "200"),
        ("content-type", "application/grpc"),
        ("grpc-status", "16"),
        ("grpc-message", "Request unauthorized"),
    )
)


@dataclass
class Seen:
    """What clients sent through the proxy, across its connections."""

    headers: list[dict[str, str]] = field(default_factory=list)  # one per request
    handshakes: int = 0  # connections whose TLS handshake succeeded (or plain-text ones)
    not_http2: list[bytes] = field(default_factory=list)  # the start of each such stream
    refused_keys: list[str | None] = field(default_factory=list)  # ``authorization`` refused

    def values(self, name: str) -> list[str]:
        return [h[name] for h in self.headers if name in h]


class _HeaderReader:
    """Decodes the header blocks of one connection's client-to-server HTTP/2 stream."""

    def __init__(self, seen: Seen) -> None:
        self.seen = seen
        self.buffer = b""
        self.preface = False
        self.decoder = hpack.Decoder()
        self.block = b""
        self.requests: list[tuple[int, dict[str, str]]] = []  # (stream id, headers)

    def feed(self, data: bytes) -> None:
        self.buffer += data
        if not self.preface:
            if len(self.buffer) < len(_PREFACE):
                return
            if not self.buffer.startswith(_PREFACE):  # no HTTP/2: a TLS hello, say
                self.seen.not_http2.append(self.buffer[:24])
                self.feed = lambda data: None  # type: ignore[method-assign]
                return
            self.buffer, self.preface = self.buffer[len(_PREFACE) :], True
        while len(self.buffer) >= 9:
            length = int.from_bytes(self.buffer[:3], "big")
            if len(self.buffer) < 9 + length:
                return
            kind, flags = self.buffer[3], self.buffer[4]
            stream = int.from_bytes(self.buffer[5:9], "big") & 0x7FFFFFFF
            payload = self.buffer[9 : 9 + length]
            self.buffer = self.buffer[9 + length :]
            if kind == _HEADERS:
                self._headers(stream, flags, payload)
            elif kind == _CONTINUATION:
                self._fragment(stream, flags, payload)

    def _headers(self, stream: int, flags: int, payload: bytes) -> None:
        pad = 0
        if flags & _PADDED:
            pad, payload = payload[0], payload[1:]
        if flags & _PRIORITY:
            payload = payload[5:]
        self._fragment(stream, flags, payload[: len(payload) - pad])

    def _fragment(self, stream: int, flags: int, fragment: bytes) -> None:
        self.block += fragment
        if flags & _END_HEADERS:
            # The decoder's table lives as long as the connection: decode every block.
            pairs = self.decoder.decode(self.block, raw=False)
            headers = {str(k): str(v) for k, v in pairs}
            self.seen.headers.append(headers)
            self.requests.append((stream, headers))
            self.block = b""


def server_context(pki: Pki, *, mutual: bool) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    context.set_alpn_protocols(["h2"])
    if mutual:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki.ca)
    return context


async def _pipe(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sniff: _HeaderReader | None
) -> None:
    try:
        while data := await reader.read(65536):
            if sniff is not None:
                sniff.feed(data)
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass  # a client the proxy refused, or one that went away: the other side ends too
    finally:
        with contextlib.suppress(Exception):
            writer.close()


@dataclass(frozen=True, slots=True)
class Proxy:
    address: str
    seen: Seen


async def _refuse(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sniff: _HeaderReader
) -> None:
    """Be the server of this connection: answer every request UNAUTHENTICATED."""
    writer.write(_frame(_SETTINGS, 0, 0, b"") + _frame(_SETTINGS, _ACK, 0, b""))
    answered = 0
    while True:
        for stream, _ in sniff.requests[answered:]:
            writer.write(_frame(_HEADERS, _END_STREAM | _END_HEADERS, stream, _UNAUTHENTICATED))
        answered = len(sniff.requests)
        await writer.drain()
        data = await reader.read(65536)
        if not data:
            return
        sniff.feed(data)


@asynccontextmanager
async def tls_proxy(
    upstream: str, pki: Pki | None, *, mutual: bool = False, api_key: str | None = None
) -> AsyncIterator[Proxy]:
    """Serve on a free port of 127.0.0.1, forwarding to ``upstream`` (``host:port``);
    ``pki`` ``None``: plain text. With ``api_key``, a connection whose first request
    does not carry ``authorization: Bearer <api_key>`` is answered by the proxy itself,
    every request refused UNAUTHENTICATED, and never reaches ``upstream``."""
    host, _, port = upstream.rpartition(":")
    seen = Seen()
    ends: set[asyncio.StreamWriter] = set()
    handlers: set[asyncio.Future[None]] = set()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        done = asyncio.get_running_loop().create_future()
        handlers.add(done)
        seen.handshakes += 1
        mine = [writer]
        ends.add(writer)
        sniff = _HeaderReader(seen)
        try:
            first = b""
            while api_key is not None and not sniff.requests:  # the client speaks first
                data = await reader.read(65536)
                if not data:
                    return
                first += data
                sniff.feed(data)
            if api_key is not None:
                given = sniff.requests[0][1].get("authorization")
                if given != f"Bearer {api_key}":
                    seen.refused_keys.append(given)
                    await _refuse(reader, writer, sniff)
                    return
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            mine.append(up_writer)
            ends.add(up_writer)
            up_writer.write(first)
            await asyncio.gather(_pipe(reader, up_writer, sniff), _pipe(up_reader, writer, None))
        except (ConnectionError, ssl.SSLError):
            pass  # the client went away while the proxy answered it
        finally:
            for end in mine:
                end.close()
                ends.discard(end)
            done.set_result(None)

    context = None if pki is None else server_context(pki, mutual=mutual)
    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    bound = server.sockets[0].getsockname()[1]
    try:
        yield Proxy(f"127.0.0.1:{bound}", seen)
    finally:
        server.close()
        # The SDK's clients keep their connections open: close both ends of each, so its
        # pipes see the end of their streams (Python 3.11 has no close_clients, and a
        # cancelled handler is logged as an error by asyncio's stream callback).
        for end in list(ends):
            end.close()
        await asyncio.wait_for(asyncio.gather(*handlers), timeout=10)
        await server.wait_closed()
