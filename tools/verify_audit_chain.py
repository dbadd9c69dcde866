#!/usr/bin/env python3
"""Verify exported DEE audit chains without the engine.

Needs only the Python standard library and ``rfc8785`` (``pip install rfc8785``), so
a third party can check an export on its own; checking signed checkpoints also needs
``cryptography``. It re-implements the documented byte layout (docs/audit.md) and
shares no code with DEE.

Usage::

    python tools/verify_audit_chain.py [--allow-partial] FILE [FILE ...]
    python tools/verify_audit_chain.py --public-key KEY.pem --checkpoints CPS [--complete] FILE ...

With ``--public-key`` (repeatable: rotated keys) every run must also match its signed
checkpoints (``dee audit checkpoints export``; ``--checkpoints`` takes files or
directories of them, repeatable): each checkpoint's Ed25519 signature, their chain
(n = 1, 2, … linked by prev), the signed head hash at each signed seq, and the end of
the chain (shorter: truncated; longer: unsigned entries; none: a fabricated run).
``--complete`` also reports runs the checkpoints sign that no FILE holds (deleted).

Each FILE is JSON Lines, one audit entry per line, as written by
``dee audit export RUN_ID`` or by retention's archive. Files are read in the order
given, so an archived segment followed by the later export verifies as one chain.
A file may hold several runs. For every entry::

    hash = sha256(RFC 8785 JSON of {action, detail, outcome, prev_hash, run_id,
                                    seq, step_id, tick}).hexdigest()

seq starts at 1 and grows by one; the first prev_hash is 64 "0"s, every later one
is the previous entry's hash. ``--allow-partial`` accepts a chain that starts after
seq 1 (its older part archived elsewhere), anchored at its first prev_hash.

Exit status: 0 every chain verifies; 1 a chain is broken (the first break of each
run is printed: run, seq, field) or contradicts a signed checkpoint (each problem is
printed: run, seq, what); 2 the input is unreadable or malformed.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import rfc8785

GENESIS_HASH = "0" * 64
HASHED_FIELDS = ("run_id", "seq", "tick", "step_id", "action", "outcome", "detail", "prev_hash")
TEXT_FIELDS = ("run_id", "step_id", "action", "outcome", "prev_hash", "hash")
INT_FIELDS = ("seq", "tick")
CHECKPOINT_KIND = "dee-audit-checkpoint/1"
CHECKPOINT_FIELDS = {
    "kind": str, "key_id": str, "run_id": str, "n": int, "seq": int, "head": str,
    "closed": bool, "time": str, "prev": str, "hash": str, "sig": str,
}  # fmt: skip


class MalformedExport(Exception):
    """A line is not an audit entry; the message names the file, line and problem."""


@dataclass(frozen=True)
class Break:
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


def entry_hash(entry: dict[str, Any]) -> str:
    """The SHA-256 hex digest of the RFC 8785 JSON of the hashed fields."""
    return hashlib.sha256(rfc8785.dumps({name: entry[name] for name in HASHED_FIELDS})).hexdigest()


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Duplicate keys make a line mean different things to different parsers.
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r}")
        seen[key] = value
    return seen


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_line(text: str, where: str) -> dict[str, Any]:
    """One export line as a dict, its field types checked."""
    try:
        entry = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise MalformedExport(f"{where}: not valid JSON: {exc}") from None
    except RecursionError:  # hostile nesting: json recurses per level
        raise MalformedExport(f"{where}: not valid JSON: nested too deeply") from None
    if not isinstance(entry, dict):
        raise MalformedExport(f"{where}: an entry is a JSON object, got {type(entry).__name__}")
    for name in (*HASHED_FIELDS, "hash"):
        if name not in entry:
            raise MalformedExport(f"{where}: field {name!r} is missing")
    for name in TEXT_FIELDS:
        if not isinstance(entry[name], str):
            raise MalformedExport(f"{where}: field {name!r} must be a string")
    for name in INT_FIELDS:
        if isinstance(entry[name], bool) or not isinstance(entry[name], int):
            raise MalformedExport(f"{where}: field {name!r} must be an integer")
    if not isinstance(entry["detail"], dict):
        raise MalformedExport(f"{where}: field 'detail' must be a JSON object")
    try:
        rfc8785.dumps(entry["detail"])
    except Exception as exc:  # rfc8785 raises its own errors for unsafe integers and such
        raise MalformedExport(f"{where}: field 'detail' cannot be canonicalized: {exc}") from None
    return entry


def read_runs(paths: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Every entry of every file, grouped by run in the order read."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for path in paths:
        try:
            with open(path, encoding="utf-8") as handle:
                for number, line in enumerate(handle, start=1):
                    if line.strip():
                        entry = parse_line(line, f"{path}:{number}")
                        runs.setdefault(entry["run_id"], []).append(entry)
        except OSError as exc:
            raise MalformedExport(f"{path}: cannot read: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise MalformedExport(f"{path}: not UTF-8 text: {exc}") from None
    return runs


def verify_run(entries: list[dict[str, Any]], *, allow_partial: bool = False) -> Break | None:
    """The first break of one run's chain, or ``None`` when every link and hash holds."""
    run_id = entries[0]["run_id"]
    expected_seq, prev_hash = 1, GENESIS_HASH
    if allow_partial:
        expected_seq, prev_hash = entries[0]["seq"], entries[0]["prev_hash"]
    for entry in entries:
        if entry["seq"] != expected_seq:
            return Break(run_id, expected_seq, "seq", str(expected_seq), str(entry["seq"]))
        if entry["prev_hash"] != prev_hash:
            return Break(run_id, expected_seq, "prev_hash", prev_hash, entry["prev_hash"])
        recomputed = entry_hash(entry)
        if entry["hash"] != recomputed:
            return Break(run_id, expected_seq, "hash", recomputed, entry["hash"])
        prev_hash = recomputed
        expected_seq += 1
    return None


def load_keys(paths: list[str]) -> dict[str, Any]:
    """Trusted Ed25519 public keys (PEM) by key id: sha256(raw key)[:16] in hex."""
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415 - optional
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: PLC0415
        Ed25519PublicKey,
    )

    keys: dict[str, Any] = {}
    for path in paths:
        try:
            key = serialization.load_pem_public_key(Path(path).read_bytes())
        except (OSError, ValueError) as exc:
            raise MalformedExport(f"{path}: not a readable PEM public key: {exc}") from None
        if not isinstance(key, Ed25519PublicKey):
            raise MalformedExport(f"{path}: not an Ed25519 public key")
        raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        keys[hashlib.sha256(raw).hexdigest()[:16]] = key
    return keys


def read_checkpoints(paths: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Every checkpoint in the export files (directories: their ``*.jsonl``), by run."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for given in paths:
        path = Path(given)
        for file in sorted(path.glob("*.jsonl")) if path.is_dir() else [path]:
            try:
                lines = file.read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError) as exc:
                raise MalformedExport(f"{file}: cannot read: {exc}") from None
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                where = f"{file}:{number}"
                try:
                    cp = json.loads(line, object_pairs_hook=_no_duplicates)
                except ValueError as exc:
                    raise MalformedExport(f"{where}: not valid JSON: {exc}") from None
                except RecursionError:
                    raise MalformedExport(f"{where}: not valid JSON: nested too deeply") from None
                if not isinstance(cp, dict):
                    raise MalformedExport(f"{where}: a checkpoint is a JSON object")
                for name, kind in CHECKPOINT_FIELDS.items():
                    if type(cp.get(name)) is not kind:
                        raise MalformedExport(f"{where}: field {name!r} must be a {kind.__name__}")
                if cp["kind"] != CHECKPOINT_KIND:
                    raise MalformedExport(f"{where}: kind is not {CHECKPOINT_KIND!r}")
                runs.setdefault(cp["run_id"], []).append(cp)
    return runs


def forgery(cp: dict[str, Any], keys: dict[str, Any]) -> str | None:
    """Why a checkpoint is not authentic (None when its signature holds)."""
    from cryptography.exceptions import InvalidSignature  # noqa: PLC0415 - optional

    key = keys.get(cp["key_id"])
    if key is None:
        return f"signed with key {cp['key_id']!r}, which is not a trusted public key"
    signed = {k: cp[k] for k in CHECKPOINT_FIELDS if k not in ("hash", "sig")}
    message = rfc8785.dumps(signed)
    if hashlib.sha256(message).hexdigest() != cp["hash"]:
        return "its hash does not match its fields"
    try:
        key.verify(base64.b64decode(cp["sig"], validate=True), message)
    except (InvalidSignature, binascii.Error, ValueError):
        return "its signature does not verify"
    return None


def check_signed(
    run_id: str,
    entries: list[dict[str, Any]],
    checkpoints: list[dict[str, Any]],
    keys: dict[str, Any],
    broken: Break | None,
) -> list[tuple[int, str]]:
    """(seq, problem) for everything the run's signed checkpoints contradict."""
    problems: list[tuple[int, str]] = []
    chain: dict[int, dict[str, Any]] = {}
    for cp in checkpoints:
        name = f"checkpoint {cp['n']} (seq {cp['seq']})"
        why = forgery(cp, keys)
        if why is not None:
            problems.append((cp["seq"], f"{name} is forged: {why}"))
        elif cp["n"] in chain and chain[cp["n"]]["hash"] != cp["hash"]:
            problems.append((cp["seq"], f"two different checkpoints {cp['n']} are signed"))
        else:
            chain[cp["n"]] = cp
    # Numbers held only by checkpoints already named forged: not "deleted" as well.
    forged_ns = {cp["n"] for cp in checkpoints} - set(chain)
    want_n, prev, top = 1, GENESIS_HASH, None
    for n in sorted(chain):
        cp = chain[n]
        if n != want_n and forged_ns.issuperset(range(want_n, n)):
            pass
        elif n != want_n:
            after = 0 if top is None else top["seq"]
            problems.append(
                (
                    after + 1,
                    f"checkpoint {want_n} is missing (deleted): it signed a seq in "
                    f"{after + 1}..{cp['seq'] - 1}; checkpoint {n} follows",
                )
            )
        elif cp["prev"] != prev:
            problems.append((cp["seq"], f"checkpoint {n} does not link to checkpoint {n - 1}"))
        if top is not None and cp["seq"] <= top["seq"]:
            problems.append((cp["seq"], f"checkpoint {n} does not advance"))
        want_n, prev, top = n + 1, cp["hash"], cp
    first = entries[0]["seq"] if entries else 1
    if top is None:
        if entries:
            problems.append((first, "no signed checkpoint covers this run: fabricated"))
        return problems
    by_seq = {cp["seq"]: cp for cp in chain.values()}
    if first - 1 in by_seq and entries and by_seq[first - 1]["head"] != entries[0]["prev_hash"]:
        problems.append((first - 1, "the chain's anchor differs from the signed head"))
    good = first - 1
    usable = entries if broken is None else [e for e in entries if e["seq"] < broken.seq]
    for entry in usable:
        cp = by_seq.get(entry["seq"])
        if cp is None:
            continue
        if entry["hash"] == cp["head"]:
            good = entry["seq"]
        else:
            problems.append(
                (
                    entry["seq"],
                    f"hash is {entry['hash']!r}, but checkpoint {cp['n']} signed {cp['head']!r}: "
                    f"the chain was rewritten after seq {good}",
                )
            )
    if broken is not None:
        return problems
    last = entries[-1]["seq"] if entries else 0
    if top["seq"] > last:
        problems.append(
            (
                last + 1,
                f"entries seq {last + 1}..{top['seq']} are missing, but checkpoint {top['n']} "
                f"signed the chain through seq {top['seq']}: the tail was truncated",
            )
        )
    elif top["seq"] < last:
        closed = ", which closed the run" if top["closed"] else ""
        problems.append(
            (
                top["seq"] + 1,
                f"entries seq {top['seq'] + 1}..{last} are not signed (the newest is checkpoint "
                f"{top['n']}{closed}): appended without a signature",
            )
        )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify exported DEE audit chains.")
    parser.add_argument("files", nargs="+", metavar="FILE", help="JSON Lines exports, in order")
    parser.add_argument(
        "--allow-partial",
        action="store_true",
        help="accept chains that start after seq 1 (anchored at their first prev_hash)",
    )
    parser.add_argument(
        "--public-key", action="append", default=[], metavar="PEM", help="a trusted public key"
    )
    parser.add_argument(
        "--checkpoints", action="append", default=[], metavar="PATH", help="checkpoint exports"
    )
    parser.add_argument(
        "--complete", action="store_true", help="every signed run must be among the FILEs"
    )
    args = parser.parse_args(argv)
    try:
        runs = read_runs(args.files)
        keys = load_keys(args.public_key)
        signed = read_checkpoints(args.checkpoints)
    except MalformedExport as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if signed and not keys:
        print("error: --checkpoints needs --public-key to check them", file=sys.stderr)
        return 2
    if not runs:
        print("error: no entries in the given files", file=sys.stderr)
        return 2
    if not keys:
        # "ok" then means only "linked": a cut tail, appended entries or a consistently
        # rewritten chain all pass, so say so where an auditor will see it.
        print(
            "warning: no --public-key: the signed checkpoints are not checked, so a "
            "truncated tail, appended entries or a chain rewritten with recomputed "
            "hashes are not detected",
            file=sys.stderr,
        )
    status = 0
    if args.complete:
        for run_id in sorted(set(signed) - set(runs)):
            print(f"BROKEN run {run_id}: entry seq 1: the run is signed but no FILE holds it")
            status = 1
    for run_id, entries in runs.items():
        broken = verify_run(entries, allow_partial=args.allow_partial)
        problems = []
        if keys:
            problems = check_signed(run_id, entries, signed.get(run_id, []), keys, broken)
        if broken is not None:
            print(f"BROKEN {broken.describe()}")
        for seq, text in problems:
            print(f"BROKEN run {run_id}: entry seq {seq}: {text}")
        if broken is not None or problems:
            status = 1
            continue
        first, last = entries[0], entries[-1]
        anchor = f", anchored at prev_hash {first['prev_hash']}" if first["seq"] != 1 else ""
        sealed = ", signed" if keys else ""
        print(
            f"ok run {run_id}: {len(entries)} entries (seq {first['seq']}..{last['seq']})"
            f"{anchor}{sealed}"
        )
    return status


if __name__ == "__main__":
    sys.exit(main())
