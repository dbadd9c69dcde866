"""Where retention puts audit entries before removing them: a directory or S3.

Boundary: writes and removes whole objects (one JSON Lines file per run segment);
boto3 and OS errors are mapped to ``ArchiveError`` here. A write either completes or
raises: files are written to a temporary name, flushed to disk and renamed; an S3
``PutObject`` is atomic.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import quote, urlparse
from urllib.request import url2pathname

from adapters.storage.errors import ArchiveError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class Archive(Protocol):
    """An archive location; ``uri`` names it in messages and in ``audit_heads``."""

    @property
    def uri(self) -> str: ...

    async def write(self, key: str, data: bytes) -> str:
        """Store ``data`` under ``key``; return the object's URI. Raise ``ArchiveError``."""
        ...

    async def remove(self, key: str) -> None:
        """Remove an object written by this run (best effort, used after a failure)."""
        ...


def segment_key(run_id: str, first_seq: int, last_seq: int) -> str:
    """``<run id, percent-encoded>/<first>-<last>.jsonl``: stable, sortable, path-safe."""
    return f"{quote(run_id, safe='')}/{first_seq:010d}-{last_seq:010d}.jsonl"


class FileArchive:
    """Archive into a local directory (``file:///path``)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def uri(self) -> str:
        return self.root.absolute().as_uri()

    async def write(self, key: str, data: bytes) -> str:
        return await asyncio.to_thread(self._write, key, data)

    def _write(self, key: str, data: bytes) -> str:
        path = self.root / key
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with temporary.open("wb") as handle:
                handle.write(data)
                handle.flush()
                # The rows are deleted right after this returns: the bytes must be on disk.
                os.fsync(handle.fileno())
            temporary.replace(path)
        except OSError as error:
            temporary.unlink(missing_ok=True)
            raise ArchiveError(
                f"cannot write the archive file {path}: {error.strerror or error}"
            ) from error
        return path.absolute().as_uri()

    async def remove(self, key: str) -> None:
        await asyncio.to_thread((self.root / key).unlink, missing_ok=True)


class S3Archive:
    """Archive into an S3 (or S3-compatible) bucket under a key prefix."""

    def __init__(self, bucket: str, prefix: str, client: S3Client) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._client = client

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    async def write(self, key: str, data: bytes) -> str:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - see archive_for

        full_key = self._key(key)
        try:
            await asyncio.to_thread(
                self._client.put_object,
                Bucket=self.bucket,
                Key=full_key,
                Body=data,
                ContentType="application/x-ndjson",
            )
        except (BotoCoreError, ClientError) as error:
            raise ArchiveError(f"cannot write s3://{self.bucket}/{full_key}: {error}") from error
        return f"s3://{self.bucket}/{full_key}"

    async def remove(self, key: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - see archive_for

        # Best effort: an orphan object holds entries that are still in the database.
        with contextlib.suppress(BotoCoreError, ClientError):
            await asyncio.to_thread(
                self._client.delete_object, Bucket=self.bucket, Key=self._key(key)
            )


def archive_for(uri: str, *, s3_client: S3Client | None = None) -> Archive:
    """The archive a URI names: ``file:///dir``, ``file:relative/dir`` or ``s3://bucket/prefix``.

    For S3 without an explicit client, boto3's usual configuration applies (credentials,
    region, and ``AWS_ENDPOINT_URL_S3`` for an S3-compatible server).
    """
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise ArchiveError(f"archive URI {uri!r}: a file URI names no host (file:///path)")
        if not parsed.path:
            raise ArchiveError(f"archive URI {uri!r} names no directory")
        return FileArchive(Path(url2pathname(parsed.path)))
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise ArchiveError(f"archive URI {uri!r} names no bucket (s3://bucket/prefix)")
        if s3_client is None:
            # Imported here: boto3 takes ~0.2 s to import and only S3 archives need it.
            import boto3  # noqa: PLC0415

            s3_client = boto3.client("s3")
        return S3Archive(parsed.netloc, parsed.path, s3_client)
    raise ArchiveError(
        f"archive URI {uri!r}: unsupported scheme {parsed.scheme or '(none)'!r}; "
        "use file:///path/to/dir or s3://bucket/prefix"
    )


__all__ = ["Archive", "FileArchive", "S3Archive", "archive_for", "segment_key"]
