"""``dee policy ledger import FILE.csv --tenant T``: seed the contact ledger with a prior
dialer's attempts, so the compliance rules count them (Reg F's 7 calls in 7 days, a
conversation's 7 quiet days, the states' calls per subject). When the settings name a
tenant, only that tenant's ledger is seeded.

The file is CSV with a header row naming its columns: ``contact_id``, ``channel``
(``voice`` or ``email``) and ``at`` (ISO 8601 with an offset) are required;
``outcome`` (``answered`` is a conversation; ``voicemail``, ``busy``, ``no_answer``,
``failed``, ``completed``), ``debt_ref``, ``subject`` and ``caller_id`` are optional
(empty: unknown). An attempt after the import's own time is refused: a prior dialer's
attempts are past, and a mistyped year (9999) would hold the contact for ever. The
whole file is checked first: any bad row is reported with its line and column and
nothing is written. A file of more than ``MAX_ROWS`` rows or ``MAX_BYTES`` bytes is
refused (one import is one transaction, held in memory): split it. Re-importing a file
adds nothing twice (each row is stored under a key derived from its content).
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from dee.cli.common import JsonOpt, print_json
from dee.cli.db import run_storage, storage
from dee.errors import EngineError

if TYPE_CHECKING:
    from adapters.policy.ledger import ImportResult, LedgerRow

# The policy and storage packages are imported inside the helpers: see dee/cli/db.py.

policy_app = typer.Typer(help="The policy gate's compliance tools.", no_args_is_help=True)
ledger_app = typer.Typer(
    help="The contact ledger the compliance rules count.", no_args_is_help=True
)
policy_app.add_typer(ledger_app, name="ledger")

REQUIRED = ("contact_id", "channel", "at")
OPTIONAL = ("outcome", "debt_ref", "subject", "caller_id")
CHANNELS = ("voice", "email")
_MAX_TEXT = 255
# One import is one transaction held in memory: a file past these is refused unread
# (split it). 100,000 rows take about a minute and a half and 300 MB on SQLite.
MAX_ROWS = 100_000
MAX_BYTES = 32 * 1024 * 1024


@ledger_app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="The CSV file of earlier attempts.")],
    tenant: Annotated[str, typer.Option("--tenant", help="The tenant whose contacts these are.")],
    as_json: JsonOpt = False,
) -> None:
    """Import a prior dialer's attempts into the contact ledger (all rows or none)."""
    if not tenant:
        raise EngineError(["--tenant: must not be empty"])
    _check_bound(tenant)
    rows = parse_ledger_csv(file)
    result = run_storage(_import(tenant, rows))
    if as_json:
        print_json({"file": str(file), "tenant": tenant, "added": result.added,
                    "already": result.already})  # fmt: skip
        return
    print(
        f"imported {result.added} attempts from {file} for tenant {tenant}"
        f" ({result.already} already in the ledger)"
    )


def _check_bound(tenant: str) -> None:
    """Refuse another tenant when the settings name one, as the other policy commands do
    (docs/tenants.md); without one configured, any tenant is the operator's to seed."""
    from dee.config import load_config  # noqa: PLC0415 - loaded only by this command
    from dee.tenants import bound_tenant  # noqa: PLC0415

    config = load_config()
    if "tenant" in config.model_fields_set:
        bound_tenant(config.tenant, tenant, "policy ledger import")


async def _import(tenant: str, rows: list[LedgerRow]) -> ImportResult:
    from adapters.policy.ledger import import_attempts  # noqa: PLC0415

    async with storage() as database:
        return await import_attempts(database, tenant, rows)


def parse_ledger_csv(path: Path, *, now: datetime | None = None) -> list[LedgerRow]:
    """The file's rows as ledger rows; ``EngineError`` naming every bad line and column.

    Args:
        now: The import's time (default: the clock); a later attempt is refused.
    """
    now = datetime.now(UTC) if now is None else now
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            raise EngineError([f"{path}: larger than {MAX_BYTES} bytes: split it"])
        content = raw.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise EngineError([f"{path}: cannot read the file: {exc}"]) from None
    reader = csv.reader(io.StringIO(content, newline=""))
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise EngineError([f"{path}: the file is empty (a header row is required)"]) from None
    except csv.Error as exc:
        raise EngineError([f"{path}: line 1: {exc}"]) from None
    problems = _header_problems(path, header)
    if problems:
        raise EngineError(problems)
    rows: list[LedgerRow] = []
    count = 0
    try:
        for values in reader:
            if not any(v.strip() for v in values):
                continue  # a blank line
            line = reader.line_num
            count += 1
            if count > MAX_ROWS:
                raise EngineError([f"{path}: line {line}: more than {MAX_ROWS} rows: split it"])
            if len(values) != len(header):
                problems.append(
                    f"{path}: line {line}: {len(values)} fields where the header has {len(header)}"
                )
                continue
            row = _row(path, line, dict(zip(header, (v.strip() for v in values), strict=True)), now)
            if isinstance(row, list):
                problems += row
            else:
                rows.append(row)
    except csv.Error as exc:
        problems.append(f"{path}: line {reader.line_num}: {exc}")
    if problems:
        raise EngineError(problems)
    return rows


def _header_problems(path: Path, header: list[str]) -> list[str]:
    known = (*REQUIRED, *OPTIONAL)
    problems = [
        f"{path}: line 1, column {name!r}: unknown column (known: {', '.join(known)})"
        for name in header
        if name not in known
    ]
    problems += [
        f"{path}: line 1: column {name!r} is required" for name in REQUIRED if name not in header
    ]
    seen = [name for i, name in enumerate(header) if name in header[:i]]
    problems += [f"{path}: line 1, column {name!r}: named twice" for name in seen]
    return problems


def _row(path: Path, line: int, values: dict[str, str], now: datetime) -> LedgerRow | list[str]:
    """One row, or its problems (each naming the line and column)."""
    from adapters.policy.ledger import OUTCOMES, LedgerRow  # noqa: PLC0415
    from adapters.policy.rules.model import Attempt  # noqa: PLC0415

    problems: list[str] = []

    def bad(column: str, why: str) -> None:
        problems.append(f"{path}: line {line}, column {column}: {why}")

    for column in (*REQUIRED, *OPTIONAL):
        if len(values.get(column, "")) > _MAX_TEXT:
            bad(column, f"longer than {_MAX_TEXT} characters")
    if not values["contact_id"]:
        bad("contact_id", "must not be empty")
    if values["channel"] not in CHANNELS:
        bad("channel", f"{values['channel']!r} is not one of {', '.join(CHANNELS)}")
    at: datetime | None = None
    try:
        at = datetime.fromisoformat(values["at"])
    except ValueError:
        bad("at", f"{values['at']!r} is not an ISO 8601 date-time")
    if at is not None and at.utcoffset() is None:
        bad("at", f"{values['at']!r} needs an offset, e.g. 2027-01-31T09:00:00Z")
    elif at is not None and at > now:
        bad("at", f"{values['at']!r} is in the future (the import runs at {now:%Y-%m-%dT%H:%MZ})")
    outcome = values.get("outcome") or None
    if outcome is not None and outcome not in OUTCOMES:
        bad("outcome", f"{outcome!r} is not one of {', '.join(sorted(OUTCOMES))} (or empty)")
    if problems or at is None:
        return problems
    attempt = Attempt(
        channel=values["channel"],
        at=at,
        outcome=outcome,
        debt_ref=values.get("debt_ref") or None,
        subject=values.get("subject") or None,
        caller_id=values.get("caller_id") or None,
        source="import",
    )
    return LedgerRow(values["contact_id"], attempt)


__all__ = ["MAX_BYTES", "MAX_ROWS", "ledger_app", "parse_ledger_csv", "policy_app"]
