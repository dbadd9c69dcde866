"""``dee policy explain``: the decision the policy gate would give one send now, with
every policy and compliance rule it evaluated, computed without sending or writing.

Operators use it to answer "why was this call deferred?". Consent and suppressions come
from the configured database as for a real send; ``--history`` replaces the contact's
ledger, ``--preset`` the configured presets; ``--plan`` reads the stored plan's
``compliance`` block (its latest version). ``--json`` prints ``Explanation.as_json()``.
Bad input is ``error: ...`` naming the file and field, exit 1; any decision exits 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dee.cli.common import print_json
from dee.cli.db import run_storage, storage
from dee.cli.ledger import policy_app
from dee.config import EngineConfig, load_config
from dee.documents import read_document
from dee.errors import DocumentError, EngineError
from dee.presets import chosen_presets
from dee.settings import Settings
from interpreter.compliance import compliance_inputs
from interpreter.plan import ExecutionPlan, SendVoiceStep

if TYPE_CHECKING:
    from adapters.policy import GateRequest, PolicyGate
    from adapters.policy.explain import Explanation
    from adapters.policy.rules.model import Attempt
    from adapters.storage import Database

# The policy and storage packages are imported inside the helpers: see dee/cli/db.py.

CHANNELS = ("voice", "email")
# A call's cost is estimated from its longest duration; without a plan to read it from,
# a minute (the unit ``policies.costPerVoiceMinute`` is priced in).
DEFAULT_CALL_SECONDS = 60
_HISTORY_FIELDS = frozenset({"channel", "at", "outcome", "debtRef", "subject", "callerId"})


@dataclass(frozen=True, slots=True)
class _About:
    """What the send is about: from the plan's compliance block and the options."""

    presets: tuple[str, ...] = ()
    debt_ref: str | None = None
    subject: str | None = None
    max_duration_seconds: int = DEFAULT_CALL_SECONDS
    note: str | None = None


@policy_app.command("explain")
def explain(
    contact: Annotated[Path, typer.Option("--contact", help="The contact, a JSON file.")],
    channel: Annotated[str, typer.Option("--channel", help="voice or email.")],
    at: Annotated[
        str | None,
        typer.Option("--at", metavar="ISO-8601", help="When, with an offset (default: now)."),
    ] = None,
    plan: Annotated[
        str | None,
        typer.Option(
            "--plan",
            metavar="PLAN_ID",
            help="A stored plan: its compliance block (latest version) applies.",
        ),
    ] = None,
    history: Annotated[
        Path | None,
        typer.Option(
            "--history",
            metavar="ATTEMPTS.json",
            help="Earlier attempts [{channel, at, outcome, debtRef?, subject?}], replacing "
            "the ledger read from the database.",
        ),
    ] = None,
    debt_ref: Annotated[
        str | None, typer.Option("--debt-ref", help="The debt (overrides the plan's debtRef).")
    ] = None,
    preset: Annotated[
        list[str] | None,
        typer.Option("--preset", help="A preset (repeatable), replacing the configured ones."),
    ] = None,
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="The tenant (default: the settings').")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Explain the policy gate's decision for one send, writing nothing."""
    if channel not in CHANNELS:
        raise EngineError([f"--channel: {channel!r} is not one of {', '.join(CHANNELS)}"])
    when = _instant(at)
    person = _contact(contact)
    attempts = None if history is None else parse_history(history)
    override = None if preset is None else chosen_presets(preset)
    if debt_ref is not None and not debt_ref.strip():
        raise EngineError(["--debt-ref: must not be empty"])
    config = load_config()
    explanation, note = run_storage(
        _explain(config, contact, person, channel, when, plan, attempts, override, debt_ref, tenant)
    )
    if note is not None:
        typer.echo(f"note: {note}", err=True)
    if as_json:
        print_json(explanation.as_json())
    else:
        print(render(explanation))


_AT_RANGE = timedelta(days=36_525)


def _instant(value: str | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise EngineError([f"--at: {value!r} is not an ISO 8601 date-time"]) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise EngineError([f"--at: {value!r} needs an offset, e.g. 2026-01-05T09:00:00Z"])
    # The rules read weeks back and search weeks ahead: near the calendar's ends those
    # instants do not exist. A century either way is room for any question.
    if abs(parsed - datetime.now(UTC)) > _AT_RANGE:
        raise EngineError([f"--at: {value!r} is more than 100 years from now"])
    return parsed.astimezone(UTC)


def _contact(path: Path) -> dict[str, Any]:
    data = read_document(path)
    if not isinstance(data, dict):
        raise DocumentError([f"{path}: a contact is a JSON object, got {type(data).__name__}"])
    contact_id = data.get("id")
    if not isinstance(contact_id, str) or not contact_id:
        raise DocumentError([f"{path}: id: a contact needs a non-empty string id"])
    return data


def parse_history(path: Path) -> list[Attempt]:
    """The attempts of a ``--history`` file, each checked (index and field named)."""

    data = read_document(path)
    if not isinstance(data, list):
        raise DocumentError([f"{path}: a history is a JSON list of attempts"])
    attempts: list[Attempt] = []
    problems: list[str] = []
    for i, item in enumerate(data):
        where = f"{path}: [{i}]"
        if not isinstance(item, Mapping):
            problems.append(f"{where}: an attempt is an object, got {type(item).__name__}")
            continue
        found = _attempt(item)
        if isinstance(found, str):
            problems.append(f"{where}.{found}")
            continue
        attempts.append(found)
    if problems:
        raise DocumentError(problems)
    return sorted(attempts, key=lambda a: a.at)


def _attempt(item: Mapping[str, Any]) -> Attempt | str:
    """The attempt, or ``"<field>: <problem>"``."""
    from adapters.policy.rules.model import Attempt  # noqa: PLC0415

    for key in item:
        if key not in _HISTORY_FIELDS:
            known = ", ".join(sorted(_HISTORY_FIELDS))
            return f"{key}: not a field of an attempt ({known})"
    channel = item.get("channel")
    if channel not in CHANNELS:
        return f"channel: {channel!r} is not one of {', '.join(CHANNELS)}"
    raw_at = item.get("at")
    if not isinstance(raw_at, str):
        return "at: an ISO 8601 date-time with an offset is required"
    try:
        at = datetime.fromisoformat(raw_at)
    except ValueError:
        return f"at: {raw_at!r} is not an ISO 8601 date-time"
    if at.tzinfo is None or at.utcoffset() is None:
        return f"at: {raw_at!r} needs an offset, e.g. 2026-01-05T09:00:00Z"
    if "outcome" not in item:
        return "outcome: required (answered, another outcome, or null when not known)"
    texts: dict[str, str | None] = {}
    for name in ("outcome", "debtRef", "subject", "callerId"):
        value = item.get(name)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            return f"{name}: a non-empty string or null, got {value!r}"
        texts[name] = value
    return Attempt(
        channel=str(channel),
        at=at.astimezone(UTC),
        outcome=texts["outcome"],
        debt_ref=texts["debtRef"],
        subject=texts["subject"],
        caller_id=texts["callerId"],
    )


async def _explain(
    config: EngineConfig,
    contact_file: Path,
    contact: dict[str, Any],
    channel: str,
    at: datetime,
    plan_id: str | None,
    attempts: list[Attempt] | None,
    presets: tuple[str, ...] | None,
    debt_ref: str | None,
    tenant: str | None,
) -> tuple[Explanation, str | None]:
    from adapters.policy import PolicyError  # noqa: PLC0415
    from adapters.storage import PlanStore  # noqa: PLC0415
    from dee.tenants import bound_tenant  # noqa: PLC0415

    if "tenant" in config.model_fields_set:  # a tenant's CLI explains only its sends
        tenant = bound_tenant(config.tenant, tenant, "policy explain")
    async with storage(Settings.from_config(config)) as database:
        about = _About()
        if plan_id is not None:
            # The tenant's own plan: another tenant's id is unknown here (docs/tenants.md).
            plans = PlanStore(database, tenant or config.tenant)
            about = _about(await plans.get(plan_id), contact)
        if debt_ref is not None:
            about = _About(about.presets, debt_ref, about.subject, about.max_duration_seconds)
        try:
            request = _request(
                tenant or config.tenant, plan_id or "explain", contact, channel, at, about
            )
        except PolicyError as exc:
            raise DocumentError([f"{contact_file}: {exc}"]) from None
        gate = _gate(config, database)
        try:
            found = await gate.explain(request, attempts=attempts, presets=presets)
        except PolicyError as exc:
            raise EngineError([str(exc)]) from None
        return found, about.note


def _about(plan: ExecutionPlan, contact: dict[str, Any]) -> _About:
    """The plan's compliance block on this contact (a ``vars.`` debt has no run to read
    it from: ``--debt-ref`` names it), and its first call's longest duration."""
    found = compliance_inputs(plan.compliance, contact, {})
    calls = [s for s in plan.steps if isinstance(s, SendVoiceStep)]
    seconds = calls[0].max_duration.total_seconds if calls else DEFAULT_CALL_SECONDS
    subject = found.subject
    return _About(found.presets, found.debt_ref, subject, seconds, found.debt_ref_problem)


def _request(
    tenant: str, plan_id: str, contact: dict[str, Any], channel: str, at: datetime, about: _About
) -> GateRequest:
    from adapters.policy import GateRequest  # noqa: PLC0415

    return GateRequest(
        tenant=tenant,
        run_id="explain",
        plan_id=plan_id,
        step_id="explain",
        visit=0,
        channel=channel,  # type: ignore[arg-type]  # checked against CHANNELS above
        contact=contact,
        at=at,
        max_duration_seconds=about.max_duration_seconds if channel == "voice" else 0,
        debt_ref=about.debt_ref,
        subject=about.subject,
        presets=about.presets,
    )


def _gate(config: EngineConfig, database: Database) -> PolicyGate:
    """The gate as the worker builds it (``dee.worker.wiring``), without creating a
    privacy key: with none configured or generated yet, nothing was pseudonymised."""
    from adapters.policy import PolicyGate  # noqa: PLC0415
    from adapters.privacy.master import KEY_FILE_NAME  # noqa: PLC0415
    from dee.privacy_keys import privacy_for  # noqa: PLC0415
    from dee.worker.policy_config import policy_config, rules_config  # noqa: PLC0415

    p = config.privacy
    keyed = p.master_key or p.master_key_file or (config.data_dir / KEY_FILE_NAME).exists()
    pseudonyms = privacy_for(config, database).pseudonyms if keyed else None
    return PolicyGate(
        database, policy_config(config), pseudonyms=pseudonyms, rules=rules_config(config)
    )


def render(explanation: Explanation) -> str:
    """The explanation as a table a person reads."""
    head = f"decision: {explanation.decision}"
    if explanation.until is not None:
        head += f" until {explanation.until.astimezone(UTC).isoformat()}"
    lines = [head]
    if explanation.policy is not None:
        lines.append(f"decided by: {explanation.policy}: {explanation.reason}")
    width = max([len("rule"), *(len(line.rule) for line in explanation.rules)])
    lines.append("")
    lines.append(f"{'rule':<{width}}  verdict  reason")
    lines += [f"{ln.rule:<{width}}  {ln.verdict:<7}  {ln.reason}" for ln in explanation.rules]
    lines.append("")
    lines.append(f"rules version: {explanation.rules_version}")
    return "\n".join(lines)


__all__ = ["explain", "parse_history", "render"]
