#!/usr/bin/env python3
"""Verify exported DEE audit chains without the engine.

Needs only the Python standard library and ``rfc8785`` (``pip install rfc8785``), so
a third party can check an export on its own. It re-implements the documented byte
layout (docs/audit.md) and shares no code with DEE.

Usage::

    python tools/verify_audit_chain.py [--allow-partial] FILE [FILE ...]

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
run is printed: run, seq, field); 2 the input is unreadable or malformed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from typing import Any

import rfc8785

GENESIS_HASH = "0" * 64
HASHED_FIELDS = ("run_id", "seq", "tick", "step_id", "action", "outcome", "detail", "prev_hash")
TEXT_FIELDS = ("run_id", "step_id", "action", "outcome", "prev_hash", "hash")
INT_FIELDS = ("seq", "tick")


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Verify exported DEE audit chains.")
    parser.add_argument("files", nargs="+", metavar="FILE", help="JSON Lines exports, in order")
    parser.add_argument(
        "--allow-partial",
        action="store_true",
        help="accept chains that start after seq 1 (anchored at their first prev_hash)",
    )
    args = parser.parse_args(argv)
    try:
        runs = read_runs(args.files)
    except MalformedExport as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not runs:
        print("error: no entries in the given files", file=sys.stderr)
        return 2
    status = 0
    for run_id, entries in runs.items():
        broken = verify_run(entries, allow_partial=args.allow_partial)
        if broken is not None:
            print(f"BROKEN {broken.describe()}")
            status = 1
            continue
        first, last = entries[0], entries[-1]
        anchor = f", anchored at prev_hash {first['prev_hash']}" if first["seq"] != 1 else ""
        print(
            f"ok run {run_id}: {len(entries)} entries (seq {first['seq']}..{last['seq']}){anchor}"
        )
    return status


if __name__ == "__main__":
    sys.exit(main())
