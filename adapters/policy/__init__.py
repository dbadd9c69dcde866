"""The policy gate every send passes, and the operator actions on its data.

Boundary: decides whether one intended send may happen now (``PolicyGate``), and
administers consent, suppressions and budgets (``PolicyAdmin``), over the policy
tables of ``adapters.storage``. Pure pieces (``config``, ``hours``) know no database.
Nothing here reads the environment; configuration is passed in.

Policies, in evaluation order:

1. suppression: the contact's id, e-mail or phone is suppressed globally, on the
   channel, or for the plan (and the suppression has not expired) -> deny. Keys are
   compared in canonical form (``keys``, ``adapters.addresses``); a contact whose
   e-mail is not exactly one mailbox, or whose phone is no possible number, is
   refused (``PolicyInputError``, which the activity records as a denial).
2. consent: the latest consent record per contact and channel; ``required`` mode needs
   an opt-in, ``opt-out`` mode denies only on an explicit opt-out.
3. hours: outside the channel's local window in the contact's zone -> defer to the next
   opening (an unknown zone denies; it is never guessed).
4. contact cap: the contact's sends in the last days, across runs and channels (by
   default at most 10 in 7 days, ``contact_cap``) -> deny.
5. daily limit: an atomic counter per tenant, channel and UTC day, counted once per
   (run, step, visit) -> deny, or defer to the next UTC day (``on_daily_limit``).
6. budget: the estimate is reserved against the tenant's budget -> deny when it would
   exceed the limit; settled after the send (``PolicyAdmin.settle_budget``).

Known gap: daily limits cannot be set at run time (``dee limits set``): the schema has
no table for them; they are ``PolicyConfig.daily_limits``.
"""

from __future__ import annotations

from adapters.policy.admin import PolicyAdmin
from adapters.policy.config import (
    DEFAULT_CONTACT_CAP,
    VOICE_HOURS,
    Channel,
    ConsentMode,
    ContactCap,
    Costs,
    HoursWindow,
    LimitResolution,
    PolicyConfig,
)
from adapters.policy.errors import (
    PolicyConfigError,
    PolicyError,
    PolicyInputError,
    SettlementConflict,
    UnknownSuppression,
)
from adapters.policy.gate import PolicyGate
from adapters.policy.hours import NoOpening, is_open, next_opening
from adapters.policy.records import (
    SCOPES,
    BudgetStatus,
    ConsentEntry,
    Scope,
    Settlement,
    SuppressionEntry,
)
from adapters.policy.request import ORDER, Decision, GateRequest, PolicyDecision, PolicyName

__all__ = [
    "DEFAULT_CONTACT_CAP",
    "ORDER",
    "SCOPES",
    "VOICE_HOURS",
    "BudgetStatus",
    "Channel",
    "ConsentEntry",
    "ConsentMode",
    "ContactCap",
    "Costs",
    "Decision",
    "GateRequest",
    "HoursWindow",
    "LimitResolution",
    "NoOpening",
    "PolicyAdmin",
    "PolicyConfig",
    "PolicyConfigError",
    "PolicyDecision",
    "PolicyError",
    "PolicyGate",
    "PolicyInputError",
    "PolicyName",
    "Scope",
    "Settlement",
    "SettlementConflict",
    "SuppressionEntry",
    "UnknownSuppression",
    "is_open",
    "next_opening",
]
