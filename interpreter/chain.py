"""The audit hash chain: how an entry's hash is computed and how a chain is checked.

This module depends on the standard library and ``rfc8785`` only, so that a third
party can verify an exported chain with it (or with the few lines it documents)
without installing the engine.

Byte layout of one entry's hash::

    hash = sha256(JCS({"action", "detail", "outcome", "prev_hash", "run_id",
                       "seq", "step_id", "tick"})).hexdigest()

where JCS is RFC 8785 JSON canonicalization (sorted keys, no whitespace, UTF-8,
ECMAScript number formatting). ``seq`` starts at 1 and increases by one per entry;
the first entry's ``prev_hash`` is 64 ``"0"`` characters and every later entry's
``prev_hash`` is the previous entry's ``hash``. ``recorded_at`` (wall-clock time of
storage) is deliberately *not* hashed: the workflow computes hashes during replay,
where no wall clock exists.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import rfc8785

GENESIS_HASH = "0" * 64
HASHED_FIELDS = ("run_id", "seq", "tick", "step_id", "action", "outcome", "detail", "prev_hash")


@dataclass(slots=True)
class ChainedEntry:
    """One audit entry with its position in the run's chain and its hash.

    A value: never mutated after ``chain`` makes it (not frozen only because frozen
    dataclasses cost several times as much to construct, one per audit entry).
    """

    run_id: str
    seq: int
    tick: int
    step_id: str
    action: str
    outcome: str
    detail: Mapping[str, Any]
    prev_hash: str
    hash: str

    def as_dict(self) -> dict[str, Any]:
        """The entry as a plain JSON-ready dict (the export and storage layout)."""
        return {
            "run_id": self.run_id,
            "seq": self.seq,
            "tick": self.tick,
            "step_id": self.step_id,
            "action": self.action,
            "outcome": self.outcome,
            "detail": dict(self.detail),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """Where a chain stops verifying: the first bad entry and which field is wrong."""

    run_id: str
    seq: int
    field: str
    expected: str
    actual: str

    def describe(self) -> str:
        return (
            f"run {self.run_id}: entry seq {self.seq}: {self.field} is {self.actual!r}, "
            f"expected {self.expected!r}"
        )


_MAX_SAFE_INT = 2**53 - 1
_string = json.encoder.encode_basestring  # JSON string escaping as JCS does it (C speedup)
_encoder = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
)
# JSONEncoder.encode builds a new C encoder on every call; build it once. Where the C
# accelerator is missing, fall back to the encoder's own (identical) output.
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
_c_encode = (
    None
    if _c_make_encoder is None
    else _c_make_encoder(None, _encoder.default, _string, None, ":", ",", True, False, False)
)


def _compact(value: Any) -> str:
    if _c_encode is None:  # pragma: no cover - CPython always has the accelerator
        return _encoder.encode(value)
    return "".join(_c_encode(value, 0))


def _plain(value: Any) -> bool:
    """Whether JCS of ``value`` equals the C JSON encoder's compact sorted output.

    True for strings, safe integers, booleans, null, and lists/dicts of those whose
    keys are below U+D800 (where UTF-16 and code-point key order agree). Floats
    and anything else take the reference implementation (ECMAScript numbers).
    Written as plain loops: this runs once per audit entry.
    """
    kind = type(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not (key.isascii() or max(key) < "\ud800"):
                return False
            item_kind = type(item)
            if item_kind is str or item_kind is bool or item is None:
                continue
            if item_kind is int:
                if not -_MAX_SAFE_INT <= item <= _MAX_SAFE_INT:
                    return False
            elif not _plain(item):
                return False
        return True
    if kind is str or kind is bool or value is None:
        return True
    if kind is int:
        return bool(-_MAX_SAFE_INT <= value <= _MAX_SAFE_INT)
    if kind is list or kind is tuple:
        return all(_plain(v) for v in value)
    return False


def canonical_json(value: Any) -> bytes:
    """RFC 8785 canonical JSON bytes of ``value``.

    The common case (no floats) is encoded by the standard library's C encoder,
    which produces exactly the JCS bytes there; a property test pins that equality
    against ``rfc8785``. Everything else goes to ``rfc8785`` itself.
    """
    if _plain(value):
        return _compact(value).encode("utf-8")
    return bytes(rfc8785.dumps(value))


def entry_hash(
    *,
    run_id: str,
    seq: int,
    tick: int,
    step_id: str,
    action: str,
    outcome: str,
    detail: Mapping[str, Any],
    prev_hash: str,
) -> str:
    """The SHA-256 hex digest of the RFC 8785 canonical JSON of the hashed fields.

    The outer object has fixed keys, so its canonical form is written directly in
    JCS key order with the C string escaper; only ``detail`` goes through
    ``canonical_json``. Unusual values (non-string ids, unsafe integers) take the
    reference path, so the bytes are always exactly JCS.
    """
    if (
        type(seq) is int
        and type(tick) is int
        and -_MAX_SAFE_INT <= tick <= _MAX_SAFE_INT
        and 0 <= seq <= _MAX_SAFE_INT
        and all(type(s) is str for s in (run_id, step_id, action, outcome, prev_hash))
    ):
        text = (
            '{"action":' + _string(action)
            + ',"detail":' + canonical_json(detail).decode("utf-8")
            + ',"outcome":' + _string(outcome)
            + ',"prev_hash":' + _string(prev_hash)
            + ',"run_id":' + _string(run_id)
            + ',"seq":' + str(seq)
            + ',"step_id":' + _string(step_id)
            + ',"tick":' + str(tick) + "}"
        )  # fmt: skip
        return hashlib.sha256(text.encode("utf-8")).hexdigest()
    body: dict[str, Any] = {
        "run_id": run_id,
        "seq": seq,
        "tick": tick,
        "step_id": step_id,
        "action": action,
        "outcome": outcome,
        "detail": detail,
        "prev_hash": prev_hash,
    }
    return hashlib.sha256(canonical_json(body)).hexdigest()


class Chainable(Protocol):
    """What ``chain`` needs of a trace entry."""

    @property
    def tick(self) -> int: ...
    @property
    def step_id(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def detail(self) -> Mapping[str, Any]: ...


def chain(
    run_id: str,
    entries: Iterable[Chainable],
    *,
    start_seq: int = 1,
    prev_hash: str = GENESIS_HASH,
) -> list[ChainedEntry]:
    """Chain trace entries (objects with tick, step_id, action, outcome, detail).

    ``start_seq`` and ``prev_hash`` continue an existing chain, which is how a
    workflow that appends in batches (or continues as new) keeps one chain per run.
    Each hash equals ``entry_hash`` of the entry's fields (a test pins it); the loop
    formats the fixed outer object itself because this is the engine's hottest path.
    """
    out: list[ChainedEntry] = []
    seq = start_seq
    run_json = _string(run_id) if type(run_id) is str else None
    sha256 = hashlib.sha256
    for e in entries:
        tick, step_id, action, outcome, detail = e.tick, e.step_id, e.action, e.outcome, e.detail
        if (
            run_json is not None
            and type(prev_hash) is str
            and type(tick) is int
            and -_MAX_SAFE_INT <= tick <= _MAX_SAFE_INT
            and seq <= _MAX_SAFE_INT
            and type(step_id) is str
            and type(action) is str
            and type(outcome) is str
            and _plain(detail)
        ):
            text = (
                '{"action":' + _string(action)
                + ',"detail":' + _compact(detail)
                + ',"outcome":' + _string(outcome)
                + ',"prev_hash":' + _string(prev_hash)
                + ',"run_id":' + run_json
                + ',"seq":' + str(seq)
                + ',"step_id":' + _string(step_id)
                + ',"tick":' + str(tick) + "}"
            )  # fmt: skip
            digest = sha256(text.encode("utf-8")).hexdigest()
        else:
            digest = entry_hash(
                run_id=run_id,
                seq=seq,
                tick=tick,
                step_id=step_id,
                action=action,
                outcome=outcome,
                detail=detail,
                prev_hash=prev_hash,
            )
        out.append(
            ChainedEntry(run_id, seq, tick, step_id, action, outcome, detail, prev_hash, digest)
        )
        prev_hash = digest
        seq += 1
    return out


def verify(
    entries: Sequence[Mapping[str, Any]],
    *,
    start_seq: int = 1,
    prev_hash: str = GENESIS_HASH,
) -> ChainBreak | None:
    """Check a run's entries (dicts in the export layout) in seq order.

    Returns the first break, or ``None`` when every link and hash holds. A chain
    whose older part was archived is verified from its recorded head by passing
    that head's ``seq + 1`` and ``hash``.
    """
    expected_seq = start_seq
    for raw in entries:
        run_id = str(raw.get("run_id", ""))
        seq = raw.get("seq")
        if seq != expected_seq:
            return ChainBreak(run_id, expected_seq, "seq", str(expected_seq), str(seq))
        if raw.get("prev_hash") != prev_hash:
            return ChainBreak(
                run_id, expected_seq, "prev_hash", prev_hash, str(raw.get("prev_hash"))
            )
        try:
            recomputed = entry_hash(**{name: raw[name] for name in HASHED_FIELDS})
        except KeyError as missing:
            return ChainBreak(run_id, expected_seq, str(missing.args[0]), "present", "missing")
        if raw.get("hash") != recomputed:
            return ChainBreak(run_id, expected_seq, "hash", recomputed, str(raw.get("hash")))
        prev_hash = recomputed
        expected_seq += 1
    return None
