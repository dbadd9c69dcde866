"""Replay-only: DEE's old CEL parser and the parts of the old evaluator built on it.

What it reproduces: how a run started before the ``conditions-on-google-cel`` patch
(issue 23) decided its conditions: the Rust ``cel`` package (``common-expression-
language``) over DEE's own parse (``lexer``, ``syntax``), ``&&``/``||`` rewritten to
evaluate left to right as text (``strict``), its run-time cost bound on that tree
(``cost``) and the missing field named from it (``paths``). The compile and evaluate
that use them are ``interpreter.conditions``' legacy path, the only importer of this
package (an import-linter contract).

Why it is kept: a ``workflow.patched`` branch must decide on replay exactly as the
recorded run did, or the replay is non-deterministic. The old evaluator differs from
Google's CEL where a condition can see it: ``size()`` counts UTF-8 bytes
(``size("Zoë")`` is 4), ``-(-9223372036854775808)`` does not overflow, some valid
expressions raise instead of answering, and its error messages (recorded in failed
runs) are its own. Nothing new runs on it: new runs, validation and the Google path
(``cel_env``, ``cel_branch``, ``cel_validate``) import none of it.

When it can be deleted: when no run started before the patch can still be open or
replayed, that is once the namespace's retention period has passed since the last
such run closed; then replace ``workflow.patched("conditions-on-google-cel")`` with
``workflow.deprecate_patch`` and delete this package, the legacy path of
``conditions`` and the histories of tests/histories recorded before the patch.
"""
