"""The local runner's job processes: a finished job leaves no zombie, and a run submitted again
while its process is still starting gets no second process.

Runs a real job process (spark_jobs.run with a spec that does not parse: it fails the run at
once, naming the field, with no JVM) and checks that observing the run collected its exit.
"""

from __future__ import annotations

import os
import subprocess
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
    (child,) = runner._children.values()
    deadline = time.monotonic() + 60
    while not (zombie(child.pid) or child.returncode is not None):
        assert time.monotonic() < deadline, "the job process did not exit"
        time.sleep(0.1)
    assert runner.observe(run).state in (Observed.FAILED, Observed.ABSENT)
    assert runner._children == {}
    assert not zombie(child.pid)
    with pytest.raises(ChildProcessError):
        os.waitpid(child.pid, os.WNOHANG)  # nothing left to collect


def test_a_run_submitted_again_while_its_process_starts_is_adopted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The run's sweep submits again within the submit grace until the job holds the folder's
    # lock; on a loaded machine an interpreter's imports outlast several looks.
    started: list[subprocess.Popen[bytes]] = []
    real_popen = subprocess.Popen

    def spy(*args: object, **kwargs: object) -> subprocess.Popen[bytes]:
        child: subprocess.Popen[bytes] = real_popen(*args, **kwargs)  # type: ignore[call-overload]
        started.append(child)
        return child

    monkeypatch.setattr(subprocess, "Popen", spy)
    runner = LocalRunner(tmp_path)
    run = RunRef(namespace="ns", name="adopted-g1-0-aaaaaaaa", uid="u")
    for _ in range(3):
        runner.submit(run, 1, {"kind": "no-such-job"}, {})
    assert len(started) == 1
    started[0].wait(timeout=60)
    runner.reap()
    # Once that process is gone (here it failed), a submit starts the job again.
    runner.submit(run, 2, {"kind": "no-such-job"}, {})
    assert len(started) == 2
    started[1].wait(timeout=60)
