"""The local runner reaps the job processes it started: a finished job leaves no zombie.

Runs a real job process (spark_jobs.run with a spec that does not parse: it fails the run at
once, naming the field, with no JVM) and checks that observing the run collected its exit.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from operators.runs.local_runner import LocalRunner
from operators.runs.runner import RunRef
from operators.runs.state_machine import Observed

pytestmark = pytest.mark.unit


def zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except FileNotFoundError:
        return False


def test_a_finished_job_is_reaped_when_its_run_is_observed(tmp_path: Path) -> None:
    runner = LocalRunner(tmp_path)
    run = RunRef(namespace="ns", name="reaped-g1-0-aaaaaaaa", uid="u")
    runner.submit(run, 1, {"kind": "no-such-job"}, {})
    (child,) = runner._children
    deadline = time.monotonic() + 60
    while not (zombie(child.pid) or child.returncode is not None):
        assert time.monotonic() < deadline, "the job process did not exit"
        time.sleep(0.1)
    assert runner.observe(run).state in (Observed.FAILED, Observed.ABSENT)
    assert runner._children == []
    assert not zombie(child.pid)
    with pytest.raises(ChildProcessError):
        os.waitpid(child.pid, os.WNOHANG)  # nothing left to collect
