"""The Temporal activities of ``PlanRunWorkflow``: thin shells around ``adapters``.

One activity per effect on the world: the policy check (the gate in
``adapters.policy``), the email and voice sends (the channel adapters, through the
send ledger, so a retried send is answered from what was recorded, never sent twice
blindly) and the audit append (``adapters.storage``). Each carries the audit entries
the workflow has not yet persisted and writes them first, so nothing is done
unrecorded. ``contracts`` holds the activity names and the request and result types the
workflow and the activities share; ``registry`` builds the activities a worker registers.
"""
