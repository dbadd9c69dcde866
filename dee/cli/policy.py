"""``dee consent``, ``dee suppress``, ``dee budget``: the operator side of the policy gate.

Each command opens the configured database (``dee.settings``; see ``dee/cli/db.py``),
performs one ``PolicyAdmin`` action, and prints one confirmation line. Bad input and
policy errors become ``EngineError`` (``error: ...``, exit 1).

``dee limits set`` is missing on purpose: the schema has no table to persist a daily
limit in; limits are policy configuration until one exists.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from dee.cli.common import JsonOpt, print_json
from dee.cli.db import run_storage, storage
from dee.errors import EngineError

if TYPE_CHECKING:
    from adapters.policy import ConsentEntry, PolicyAdmin, SuppressionEntry

# The policy and storage packages are imported inside the helpers: see dee/cli/db.py.

T = TypeVar("T")

consent_app = typer.Typer(help="Record consent per contact and channel.", no_args_is_help=True)
suppress_app = typer.Typer(
    help="Suppression lists: global, per channel, per plan.", no_args_is_help=True
)
budget_app = typer.Typer(help="Cost budgets per tenant and period.", no_args_is_help=True)
limits_app = typer.Typer(help="Daily send limits per tenant and channel.", no_args_is_help=True)


def _bound_tenant(ctx: typer.Context, value: str) -> str:
    """``--tenant``, defaulting to the configured tenant (``DEE_TENANT``); when the
    settings name a tenant the CLI is bound to it, and another is refused
    (docs/tenants.md)."""
    from dee.config import load_config  # noqa: PLC0415 - loaded only by these commands
    from dee.tenants import bound_tenant  # noqa: PLC0415

    config = load_config()
    source = ctx.get_parameter_source("tenant")
    if source is None or source.name == "DEFAULT":  # typer may bundle its own click
        return config.tenant
    if "tenant" not in config.model_fields_set:
        return value  # no tenant configured: the operator's tool for any tenant
    return bound_tenant(config.tenant, value, f"policy {ctx.info_name}")


Tenant = Annotated[
    str,
    typer.Option(
        "--tenant",
        help="The tenant (default: the configured one; when one is configured, only it).",
        callback=_bound_tenant,
    ),
]
Channel = Annotated[str, typer.Option("--channel", help="email or voice.")]
At = Annotated[
    str | None, typer.Option("--at", help="When, ISO 8601 with an offset (default: now).")
]
ChannelScope = Annotated[
    str | None, typer.Option("--channel", help="Only on this channel (email or voice).")
]
PlanScope = Annotated[str | None, typer.Option("--plan", help="Only for this plan id.")]


def _admin_call(work: Coroutine[Any, Any, T]) -> T:
    """Run an admin coroutine; policy and storage errors become ``EngineError``."""
    from adapters.policy import PolicyError  # noqa: PLC0415

    try:
        return run_storage(work)
    except PolicyError as exc:
        raise EngineError([str(exc)]) from None


async def _admin(action: Callable[[PolicyAdmin], Awaitable[T]]) -> T:
    """Run ``action`` with an admin over the configured database."""
    from adapters.policy import PolicyAdmin  # noqa: PLC0415

    async with storage() as database:
        return await action(PolicyAdmin(database))


def _instant(option: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise EngineError([f"{option}: {value!r} is not an ISO 8601 date-time"]) from None
    if parsed.tzinfo is None:
        raise EngineError([f"{option}: {value!r} needs an offset, e.g. 2025-01-31T09:00:00Z"])
    return parsed


def _day(option: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise EngineError([f"{option}: {value!r} is not a date (YYYY-MM-DD)"]) from None


def _scope(channel: str | None, plan: str | None) -> tuple[str, str | None]:
    if channel is not None and plan is not None:
        raise EngineError(["give --channel or --plan, not both (one suppression has one scope)"])
    if channel is not None:
        return "channel", channel
    if plan is not None:
        return "plan", plan
    return "global", None


def _consent_line(verb: str, entry: ConsentEntry) -> str:
    wording = f", wording {entry.wording_version}" if entry.wording_version else ""
    return (
        f"consent {verb}: tenant {entry.tenant}, contact {entry.contact_id}, {entry.channel} "
        f"(source {entry.source}{wording}) at {entry.recorded_at.isoformat()}"
    )


def _where(entry: SuppressionEntry) -> str:
    return "global" if entry.scope == "global" else f"{entry.scope} {entry.scope_key}"


@consent_app.command("grant")
def consent_grant(
    contact_id: Annotated[str, typer.Argument(metavar="CONTACT_ID", help="The contact.")],
    channel: Channel,
    source: Annotated[str, typer.Option("--source", help="Where: form, import, api ...")],
    wording: Annotated[str, typer.Option("--wording", help="The consent wording's version.")],
    tenant: Tenant = "default",
    at: At = None,
    as_json: JsonOpt = False,
) -> None:
    """Record that a contact opted in to a channel."""
    when = _instant("--at", at)
    entry = _admin_call(
        _admin(lambda a: a.grant_consent(tenant, contact_id, channel, source, wording, when))
    )
    if as_json:
        print_json(entry)
    else:
        print(_consent_line("granted", entry))


@consent_app.command("revoke")
def consent_revoke(
    contact_id: Annotated[str, typer.Argument(metavar="CONTACT_ID", help="The contact.")],
    channel: Channel,
    source: Annotated[str, typer.Option("--source", help="Where: reply-stop, api ...")],
    wording: Annotated[
        str | None, typer.Option("--wording", help="The wording version, if any.")
    ] = None,
    tenant: Tenant = "default",
    at: At = None,
    as_json: JsonOpt = False,
) -> None:
    """Record that a contact opted out of a channel."""
    when = _instant("--at", at)
    entry = _admin_call(
        _admin(
            lambda a: a.revoke_consent(
                tenant, contact_id, channel, source, when, wording_version=wording
            )
        )
    )
    if as_json:
        print_json(entry)
    else:
        print(_consent_line("revoked", entry))


@suppress_app.command("add")
def suppress_add(
    contact_key: Annotated[
        str,
        typer.Argument(
            metavar="KEY",
            help="Contact id, one e-mail address, or a phone number as +<country code>...",
        ),
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why (shown in denials).")],
    channel: ChannelScope = None,
    plan: PlanScope = None,
    source: Annotated[str, typer.Option("--source", help="Who or what asked.")] = "operator",
    expires: Annotated[
        str | None, typer.Option("--expires", help="ISO 8601 end, with an offset.")
    ] = None,
    tenant: Tenant = "default",
    as_json: JsonOpt = False,
) -> None:
    """Suppress a contact key: globally, or only on --channel, or only for --plan."""
    scope, scope_key = _scope(channel, plan)
    until = _instant("--expires", expires)
    entry = _admin_call(
        _admin(lambda a: a.suppress(tenant, scope, scope_key, contact_key, reason, source, until))
    )
    if as_json:
        print_json(entry)
        return
    expiry = f" until {entry.expires_at.isoformat()}" if entry.expires_at else ""
    print(f"suppressed {entry.contact_key} ({_where(entry)}) for tenant {entry.tenant}{expiry}")


@suppress_app.command("remove")
def suppress_remove(
    contact_key: Annotated[str, typer.Argument(metavar="KEY", help="The suppressed key.")],
    channel: ChannelScope = None,
    plan: PlanScope = None,
    tenant: Tenant = "default",
    as_json: JsonOpt = False,
) -> None:
    """Remove a suppression (the same scope it was added with)."""
    scope, scope_key = _scope(channel, plan)
    entry = _admin_call(_admin(lambda a: a.unsuppress(tenant, scope, scope_key, contact_key)))
    if as_json:
        print_json(entry)
        return
    print(f"removed suppression of {entry.contact_key} ({_where(entry)}) for tenant {tenant}")


@suppress_app.command("list")
def suppress_list(
    tenant: Tenant = "default",
    scope: Annotated[str | None, typer.Option("--scope", help="global, channel or plan.")] = None,
    contact_key: Annotated[str | None, typer.Option("--key", help="Only this key.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List a tenant's suppressions (expired ones included, with their expiry)."""
    entries = _admin_call(
        _admin(lambda a: a.list_suppressions(tenant, scope=scope, contact_key=contact_key))
    )
    if as_json:
        print_json([_suppression_json(e) for e in entries])
        return
    if not entries:
        print(f"no suppressions for tenant {tenant}")
    for e in entries:
        expiry = f" until {e.expires_at.isoformat()}" if e.expires_at else ""
        print(f"{e.contact_key}  {_where(e)}  {e.reason} (source {e.source}){expiry}")


def _suppression_json(entry: SuppressionEntry) -> dict[str, Any]:
    data = asdict(entry)
    data["created_at"] = entry.created_at.isoformat()
    data["expires_at"] = entry.expires_at.isoformat() if entry.expires_at else None
    return data


@budget_app.command("set")
def budget_set(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The budget's name.")],
    start: Annotated[str, typer.Option("--from", help="First day, YYYY-MM-DD.")],
    end: Annotated[str, typer.Option("--to", help="Last day (inclusive), YYYY-MM-DD.")],
    limit: Annotated[str, typer.Option("--limit", help="The amount, e.g. 250.00.")],
    currency: Annotated[str, typer.Option("--currency", help="ISO 4217 code.")] = "USD",
    tenant: Tenant = "default",
    as_json: JsonOpt = False,
) -> None:
    """Create a budget for a period, or change its end, currency or limit."""
    try:
        amount = Decimal(limit)
    except InvalidOperation:
        raise EngineError([f"--limit: {limit!r} is not a decimal amount"]) from None
    first, last = _day("--from", start), _day("--to", end)
    status = _admin_call(
        _admin(lambda a: a.set_budget(tenant, name, first, last, currency, amount))
    )
    if as_json:
        print_json(status)
        return
    print(
        f"budget {status.name} of tenant {status.tenant}: {status.period_start} to "
        f"{status.period_end}, limit {status.limit.normalize():f} {status.currency} "
        f"(reserved {status.reserved.normalize():f}, spent {status.spent.normalize():f})"
    )


@limits_app.command("set")
def limits_set(
    channel: Channel,
    daily: Annotated[
        int | None, typer.Option("--daily", help="Sends per UTC day (0 stops the channel).")
    ] = None,
    clear: Annotated[
        bool, typer.Option("--clear", help="Remove the stored limit: configuration decides.")
    ] = False,
    tenant: Tenant = "default",
    as_json: JsonOpt = False,
) -> None:
    """Store a daily send limit for a tenant's channel (overrides the configuration)."""
    if (daily is None) == (not clear):
        raise EngineError(["give exactly one of --daily N or --clear"])
    stored = _admin_call(_admin(lambda a: a.set_daily_limit(tenant, channel, daily)))
    if as_json:
        # null: the stored limit was cleared and the configuration decides.
        print_json({"tenant": tenant, "channel": channel, "daily": stored})
    elif stored is None:
        print(f"daily limit for {tenant}/{channel} cleared: the configuration decides")
    else:
        print(f"daily limit for {tenant}/{channel}: {stored} sends per UTC day")


__all__ = ["budget_app", "consent_app", "limits_app", "suppress_app"]
