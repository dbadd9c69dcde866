"""Replay: a recorded run re-run offline and compared with what was recorded.

Each module is named by what it reads: ``from_history`` decodes a run from its
Temporal history (fetched, or an exported file) and ``history_inputs`` the inputs
that history records for re-execution; ``from_audit`` reads the run's audit chain as
the database stores it. ``comparison`` replays a decoded run with the pure
interpreter, ``reexecution`` (with ``stand_ins``) re-executes today's workflow code
in an isolated time-skipping server, and ``what_if`` plays runs through another plan
version. ``flow`` is the one sequence ``Engine.replay`` and ``dee replay`` share.

Importing this package loads nothing: the modules bring Temporal's worker and test
server, so only what replays imports them.
"""
