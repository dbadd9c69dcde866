"""DEE's adapters to the outside world, behind the pure ``interpreter``.

``storage`` (SQLAlchemy with Alembic migrations: plans, runs, the hash-chained
append-only audit log, the send ledger, retention and archive), ``policy`` (the policy
gate: suppression, consent, calling hours, contact cap, daily limits, cost budgets),
``channels`` (the channel ports and their providers: SMTP, Postmark, Twilio, Vonage),
``tracking`` (signed tracking tokens, Message-IDs and the webhook secret),
``addresses`` (the canonical form of contact addresses), and ``templates`` with the
``template_*`` modules (the Jinja2 sandbox, render limits and render processes).

Adapters never import ``workflows`` or ``dee``; the activities and the engine call them.
"""
