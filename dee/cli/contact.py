"""``dee contact erase`` and ``dee contact enroll``: a contact's personal data.

``erase`` cancels the contact's open runs, deletes their Temporal histories, destroys
its data key and refuses its later runs (``dee.contacts``); ``enroll`` lets runs
start for it again. Both need Temporal and the database of the configuration.
"""

from __future__ import annotations

from typing import Annotated

import typer

from dee.cli.common import ConfigOpt, JsonOpt, print_json, run_async, to_json
from dee.cli.run_view import ByOpt, call
from dee.contacts import Erasure
from dee.engine import Engine

app = typer.Typer(help="A contact's personal data: erasure, enrolment.", no_args_is_help=True)
ContactArg = Annotated[str, typer.Argument(metavar="CONTACT_ID", help="The contact's id.")]
TenantOpt = Annotated[
    str | None, typer.Option("--tenant", help="The tenant (default: the configured one).")
]


def _bound(engine: Engine, tenant: str | None) -> Engine:
    """The engine for ``--tenant``: when the settings name no tenant, one bound to the
    tenant given (the operator's tool for any tenant); when they name one, the engine as
    it is, which refuses another (docs/tenants.md)."""
    config = engine.config
    if tenant is None or tenant == config.tenant or "tenant" in config.model_fields_set:
        return engine
    return Engine(config.model_copy(update={"tenant": tenant}), engine.client, engine.database)


def _summary(done: Erasure) -> str:
    if done.already:
        return f"contact {done.contact_id} was already erased: nothing left to erase"
    s = done.scrubbed
    return (
        f"contact {done.contact_id} erased: key destroyed, {len(done.cancelled)} open run(s) "
        f"cancelled, {done.histories_deleted} Temporal execution(s) deleted, "
        f"{s.suppressions_pseudonymised} suppression(s) kept as pseudonyms, "
        f"audit entry {'erasures seq ' + str(done.audit_seq) if done.audit_seq else 'kept'}"
    )


@app.command("erase")
def erase(
    contact_id: ContactArg,
    tenant: TenantOpt = None,
    by: ByOpt = "operator",
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Erase a contact: cancel its runs, delete their histories, destroy its key."""

    async def act(engine: Engine) -> Erasure:
        return await _bound(engine, tenant).contacts.erase(contact_id, tenant=tenant, by=by)

    done = run_async(call(config, act))
    print(to_json(done) if as_json else _summary(done))


@app.command("enroll")
def enroll(
    contact_id: ContactArg,
    tenant: TenantOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Enrol a contact (again, after an erasure): runs may start for it."""

    async def act(engine: Engine) -> int:
        return await _bound(engine, tenant).contacts.enrol(contact_id, tenant=tenant)

    generation = run_async(call(config, act))
    if as_json:
        print_json({"contactId": contact_id, "generation": generation})
    else:
        print(f"contact {contact_id} enrolled (key generation {generation})")


__all__ = ["app"]
