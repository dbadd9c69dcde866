"""Start runs through the Temporal client: ``python starter.py PLAN --contact C.json``.

The same as ``dee start``; configuration from ``$DEE_CONFIG`` and ``DEE_*`` variables.
"""

import sys

from dee.cli.main import main

if __name__ == "__main__":
    main(["start", *sys.argv[1:]])
