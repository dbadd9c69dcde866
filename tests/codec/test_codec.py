"""The payload codec and its key ring, without a server: what each promise refuses."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter

from adapters.codec import (
    ENCODING,
    KEY_ID,
    EncryptionCodec,
    KeyRing,
    KeyRingError,
    TamperedPayload,
    UnknownKeyId,
    decode_history_payloads,
    generate_key_line,
    load_or_create_key_file,
)
from adapters.codec.history import _payloads
from dee.config import load_config
from dee.connection import KEY_FILE_NAME, data_converter, payload_codec, reading_codec
from dee.errors import DocumentError

ROOT = Path(__file__).resolve().parents[2]
PII = "ada.lovelace-7f3@analytical.example"
OLD = generate_key_line("2026-01")
NEW = generate_key_line("2026-07")


def _payload(value: object) -> Payload:
    return DataConverter.default.payload_converter.to_payloads([value])[0]


def _codec(*lines: str) -> EncryptionCodec:
    return EncryptionCodec(KeyRing.parse(lines))


async def test_a_payload_is_encrypted_under_the_newest_key_and_decodes_back() -> None:
    codec = _codec(OLD, NEW)
    plain = _payload({"email": PII})
    [sealed] = await codec.encode([plain])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID] == b"2026-07"
    assert PII.encode() not in sealed.SerializeToString()
    assert b"json/plain" not in sealed.SerializeToString()  # the value's encoding is hidden too
    [again] = await codec.decode([sealed])
    assert again == plain
    [other] = await codec.encode([plain])
    assert other.data != sealed.data  # a fresh nonce per payload


async def test_rotation_keeps_payloads_under_an_older_key_readable() -> None:
    [sealed] = await _codec(OLD).encode([_payload("written before the rotation")])
    rotated = _codec(OLD, NEW)
    [plain] = await rotated.decode([sealed])
    assert DataConverter.default.payload_converter.from_payload(plain) == (
        "written before the rotation"
    )
    [fresh] = await rotated.encode([plain])
    assert fresh.metadata[KEY_ID] == b"2026-07"


async def test_a_key_id_the_ring_lacks_is_named() -> None:
    [sealed] = await _codec(OLD).encode([_payload(1)])
    with pytest.raises(UnknownKeyId) as refused:
        await _codec(NEW).decode([sealed])
    assert "'2026-01'" in str(refused.value) and "2026-07" in str(refused.value)
    assert refused.value.key_id == "2026-01"


@pytest.mark.parametrize("where", ["first", "middle", "last", "truncated", "nonce"])
async def test_any_change_to_the_ciphertext_is_caught_naming_the_key(where: str) -> None:
    codec = _codec(OLD)
    [sealed] = await codec.encode([_payload({"email": PII})])
    data = bytearray(sealed.data)
    if where == "truncated":
        data = data[:-1]
    else:
        index = {"first": 12, "middle": len(data) // 2, "last": -1, "nonce": 0}[where]
        data[index] ^= 0x01
    forged = Payload(metadata=dict(sealed.metadata), data=bytes(data))
    with pytest.raises(TamperedPayload, match="'2026-01'"):
        await codec.decode([forged])


async def test_a_payload_relabelled_with_another_key_id_fails_authentication() -> None:
    # Two ids with the same key: the id is bound as associated data, so a relabel is caught.
    key = OLD.partition(":")[2]
    codec = _codec(f"a:{key}", f"b:{key}")
    [sealed] = await codec.encode([_payload("x")])
    relabelled = Payload(metadata={**sealed.metadata, KEY_ID: b"a"}, data=sealed.data)
    with pytest.raises(TamperedPayload, match="'a'"):
        await codec.decode([relabelled])


async def test_unencrypted_payloads_pass_through_so_old_histories_still_decode() -> None:
    plain = _payload({"email": PII})
    assert await _codec(OLD).decode([plain]) == [plain]
    assert await EncryptionCodec(KeyRing(())).decode([plain]) == [plain]


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("no-colon", "entry 1 is not ID:KEY"),
        ("bad id!:" + base64.b64encode(bytes(32)).decode(), "entry 1 is not ID:KEY"),
        ("k:not base64 at all", "key 'k' is not base64"),
        ("k:" + base64.b64encode(bytes(16)).decode(), "key 'k' is 16 bytes; AES-256 needs 32"),
    ],
)
def test_a_malformed_key_entry_is_refused_without_echoing_the_key(entry: str, problem: str) -> None:
    with pytest.raises(KeyRingError) as refused:
        KeyRing.parse([entry], source="DEE_CODEC_KEYS")
    assert problem in str(refused.value)
    secret = entry.partition(":")[2]
    assert not secret or secret not in str(refused.value)


def test_a_repeated_key_id_and_an_empty_ring_are_refused() -> None:
    with pytest.raises(KeyRingError, match="given twice: 2026-01"):
        KeyRing.parse([OLD, OLD])
    with pytest.raises(KeyRingError, match="no keys"):
        KeyRing.parse(["", "# only a comment"])
    with pytest.raises(KeyRingError, match="no key to encrypt with"):
        EncryptionCodec(KeyRing(())).encrypt_one(_payload(1))


def test_the_key_file_is_created_once_with_mode_0600_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "data" / KEY_FILE_NAME
    first = load_or_create_key_file(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_key_file(path) == first
    assert len(first.newest[1]) == 32


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / KEY_FILE_NAME
    load_or_create_key_file(path)
    os.chmod(path, 0o644)
    with pytest.raises(KeyRingError, match="readable by others"):
        load_or_create_key_file(path)


async def test_the_embedded_default_makes_its_key_at_the_first_write_beside_the_database(
    tmp_path: Path,
) -> None:
    config = load_config(env={"DEE_DATA_DIR": str(tmp_path)})
    worker = payload_codec(config)  # started before any key exists
    reader = reading_codec(config)
    assert not (tmp_path / KEY_FILE_NAME).exists()  # refused or read-only commands make none
    starter = payload_codec(config)
    [sealed] = await starter.encode([_payload({"email": PII})])
    path = tmp_path / KEY_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert PII not in path.read_text()
    assert not (tmp_path / "dee.db").exists()  # nothing of it went to a database
    # the worker and an offline reader re-read the file when a payload names its key
    assert await worker.decode([sealed]) == [_payload({"email": PII})]
    assert await reading_codec(config).decode([sealed]) == [_payload({"email": PII})]
    assert await reader.decode([sealed]) == [_payload({"email": PII})]
    # every later process uses the same key
    [again] = await payload_codec(config).encode([_payload(1)])
    assert again.metadata[KEY_ID] == sealed.metadata[KEY_ID]
    assert data_converter(config).payload_codec is not None


def test_keys_from_the_environment_win_and_a_bad_one_is_a_clean_error(tmp_path: Path) -> None:
    config = load_config(env={"DEE_DATA_DIR": str(tmp_path), "DEE_CODEC_KEYS": f"{OLD},{NEW}"})
    assert payload_codec(config).ring.ids == ("2026-01", "2026-07")
    bad = load_config(env={"DEE_CODEC_KEYS": "k:short"})
    with pytest.raises(DocumentError, match=r"key 'k' is not base64"):
        payload_codec(bad)


async def test_an_offline_reader_without_keys_names_the_key_id_and_creates_no_file(
    tmp_path: Path,
) -> None:
    codec = reading_codec(load_config(env={"DEE_DATA_DIR": str(tmp_path)}))
    assert codec.ring.ids == ()
    [sealed] = await _codec(OLD).encode([_payload(1)])
    with pytest.raises(UnknownKeyId, match=r"'2026-01'.*holds: none"):
        await codec.decode([sealed])
    assert not (tmp_path / KEY_FILE_NAME).exists()


async def test_every_payload_of_a_corpus_history_is_found_and_decoded_back() -> None:
    path = sorted((ROOT / "tests" / "histories").glob("*.json"))[0]
    history = WorkflowHistory.from_json(path.stem, json.loads(path.read_text()))
    codec = _codec(OLD)
    encrypted = WorkflowHistory(history.workflow_id, [type(e)() for e in history.events])
    for copy, event in zip(encrypted.events, history.events, strict=True):
        copy.CopyFrom(event)
    found = [p for e in encrypted.events for p in _payloads(e)]
    assert len(found) > 5
    for payload in found:
        payload.CopyFrom(codec.encrypt_one(payload))
    assert all(p.metadata["encoding"] == ENCODING for e in encrypted.events for p in _payloads(e))
    decoded = await decode_history_payloads(encrypted, codec)
    assert decoded.events == history.events
    # and a plain history comes back unchanged
    assert (await decode_history_payloads(history, codec)).events == history.events
