"""Run a DEE worker: ``python worker.py`` (the same as ``dee worker``).

Configuration comes from ``$DEE_CONFIG`` and ``DEE_*`` variables (see docs/configuration.md).
"""

from dee.cli.main import main

if __name__ == "__main__":
    main(["worker"])
