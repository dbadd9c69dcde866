"""Runs: starting them, reading them, and the operator actions that steer them.

Each owner is built from the Temporal client, the stores and the configuration, never
from the ``Engine`` (``dee.engine`` is the façade over them):

* ``starter.RunStarter``: single and bulk starts (bulk enrolment), with the start
  values made canonical (``start_values``), the workflow input encoded once per batch
  (``start_payload``) and the search attributes a start carries (``start_attributes``);
  run ids in ``ids``;
* ``reading.RunReader``: the read model (the run row, the live workflow, and what
  Temporal says of executions that died, ``execution_status``);
* ``operator.OperatorActions``: pause, resume, cancel, retry and resolve.
"""
