"""The fuzz harness: hostile inputs for every door DEE has, and the oracle that judges them.

One place for the generators and the judging, used by both the bounded suite in
``tests/fuzz`` (a few dozen derandomized examples per target, seconds of CI time)
and the long run ``python -m bench.fuzz`` (thousands per target, ``make fuzz``).

* ``seeds``: the valid documents inputs start from (the example plans, the test
  fixtures' contact and variables) and issue 18's exact reproductions.
* ``hostile`` / ``mutation``: pools of hostile values and the Hypothesis strategies
  that mutate a valid document (drop, duplicate, retype, blow up, nest, corrupt
  its text).
* ``cases`` / ``calls``: one strategy per target (``strategies.STRATEGIES``): plans,
  CEL conditions, templates, contacts, events, suppressed addresses; CLI calls and
  webhook requests.
* ``targets``: runs one input of a synchronous target and judges it (``Verdict``);
  ``isolation`` runs targets in a child process under a per-input time cap, so a
  hang is counted (and the child replaced) instead of stalling the run.
* ``webhooks``: the receiver in-process over a real database and Temporal server,
  and the judging of one request (status, and nothing written for a refusal).

The oracle, per input: either accepted or refused with the layer's typed error (a
CLI exit with ``error:`` lines and no traceback, an HTTP 2xx/4xx with a JSON error),
within the time cap, and a refusal leaves nothing behind (no run, plan, audit or
policy row, no event in a run's history).
"""
