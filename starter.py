"""Start runs through the Temporal client: ``python starter.py PLAN --contact C.json``.

The same as ``dee start``; configuration from ``$DEE_CONFIG`` and ``DEE_*`` variables.
"""

import sys

from dee.cli.main import run

if __name__ == "__main__":
    run(["start", *sys.argv[1:]])
