"""Fail points for the crash tests (in the manner of etcd's gofail), for operators and jobs alike.

`NIDC_CRASH_AT=<point>` makes the process kill itself with SIGKILL the first time it reaches
that point, exactly as `kill -9` at that line would. Unset (always, outside the crash tests) it
costs one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

# Every point where a reconciler has done, or is about to do, a side effect.
POINTS = (
    "datasource:after-collector-start",
    "datasource:before-run-record",
    "datasource:after-run-record",
    "dataproduct:before-run-record",
    "dataproduct:after-run-record",
    "run:after-status-record",
    "run:after-submit",
)
# The DataReplication reconciler's points (the same record_run): its own test kills there.
REPLICATION_POINTS = ("datareplication:before-run-record", "datareplication:after-run-record")
# The replicate job's points: a version's files copied but not its commit, and right after a
# commit (tests/integration/test_replication.py).
JOB_CRASH_POINTS = ("replicate:before-commit", "replicate:after-commit")


def crash_point(name: str) -> None:
    """Die here, now, without cleanup, when the crash tests ask for it."""
    if os.environ.get("NIDC_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
