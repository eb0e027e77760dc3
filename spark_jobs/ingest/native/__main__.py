"""`python -m spark_jobs.ingest.native <run-dir>`: a native ingest or maintenance run, no JVM."""

from __future__ import annotations

import sys
from pathlib import Path

from spark_jobs.ingest.native.run import main

if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
