"""`python -m nidc.catalog serve`: the catalog server (indexer + HTTP API)."""

from __future__ import annotations

import sys

from nidc.catalog.server import main

if __name__ == "__main__":
    # Further arguments (the local platform's --state=...) only mark the process as its own.
    if sys.argv[1:2] != ["serve"]:
        sys.exit("usage: python -m nidc.catalog serve (settings from the environment)")
    main()
