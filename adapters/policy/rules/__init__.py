"""Compliance rules the policy gate applies per send: calling windows by jurisdiction,
legal frequency caps, email windows and opt-out clocks, grouped into presets.

Boundary: pure (no database, no clock, no I/O). The gate (``adapters.policy.gate``)
locates the contact (``locate``), reads the contact's attempts from the ledger
(``adapters.policy.ledger``) and asks ``engine.evaluate`` for a decision; the decision
names every rule it evaluated, its verdict and reason, the deciding rule, the next
permitted instant for a deferral, and the rules version (docs/compliance.md).

Modules, lowest first: ``model`` (the shared data types), ``geo`` and ``holidays``
(dated tables), ``locate`` (candidate zones and their sources), ``windows``,
``frequency`` and ``email`` (the rules), ``presets``, ``config`` and ``engine``.
"""
