"""``dee`` with the policy commands mounted, for the CLI tests.

``dee/cli/main.py`` belongs to the lead, who mounts ``consent``, ``suppress`` and
``budget`` there; until then (and harmlessly after) this entry point mounts them the
same way and runs the real ``dee.cli.main.run`` with its error handling.
"""

from __future__ import annotations

import sys

from dee.cli import main, policy

_MOUNTED = {group.name for group in main.app.registered_groups}
for name, sub_app in (
    ("consent", policy.consent_app),
    ("suppress", policy.suppress_app),
    ("budget", policy.budget_app),
):
    if name not in _MOUNTED:
        main.app.add_typer(sub_app, name=name)

if __name__ == "__main__":
    main.run(sys.argv[1:])
