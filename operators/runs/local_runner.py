"""Runs jobs as local processes (the embedded platform): spark_jobs.run in a run folder (or
the native bronze writer, spark_jobs.ingest.native, for a native ingest: no JVM).

Create-or-adopt by run name: the folder <root>/<run> belongs to exactly one run; submitting
again while its process holds the folder's lock adopts it, and once a result is there nothing is
started again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from operators.runs.due import LOCAL_POLL
from operators.runs.runner import RunRef, job_module
from operators.runs.state_machine import Observation, Observed


class LocalRunner:
    """A process per run; state lives in files, so an operator restart loses nothing."""

    poll: dt.timedelta = LOCAL_POLL  # nothing to watch: the runs' sweep polls the files

    def __init__(self, root: Path) -> None:
        self.root = root
        # The processes this operator started, by run, reaped as the sweep observes runs;
        # without it a finished job stayed a zombie until the next submit let subprocess reap it.
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._children_lock = threading.Lock()

    def reap(self) -> None:
        """Collect the exit status of every finished job process this runner started."""
        with self._children_lock:
            self._children = {
                run: child for run, child in self._children.items() if child.poll() is None
            }

    def _starting(self, run: str) -> bool:
        """A process this runner started for the run is still alive (it may not hold the
        folder's lock yet: an interpreter's imports take seconds on a loaded machine)."""
        with self._children_lock:
            child = self._children.get(run)
            return child is not None and child.poll() is None

    def folder(self, run: str) -> Path:
        return self.root / run

    def log_location(self, run: RunRef, attempt: int) -> str:
        return str(self.folder(run.name) / f"attempt-{attempt}.log")

    def _locked_by_a_job(self, folder: Path) -> bool:
        lock_path = folder / "lock"
        if not lock_path.exists():
            return False
        with lock_path.open("a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(lock, fcntl.LOCK_UN)
        return False

    def observe(self, run: RunRef) -> Observation:
        self.reap()
        folder = self.folder(run.name)
        if (folder / "result.json").exists():
            return Observation(
                Observed.SUCCEEDED, result=json.loads((folder / "result.json").read_text())
            )
        if self._locked_by_a_job(folder):
            return Observation(Observed.RUNNING)
        if (folder / "failure.json").exists():
            reason = json.loads((folder / "failure.json").read_text())["reason"]
            return Observation(Observed.FAILED, reason=reason)
        return Observation(Observed.ABSENT)

    def submit(self, run: RunRef, attempt: int, spec: dict[str, Any], env: dict[str, str]) -> str:
        """Start the run's job unless it runs or finished already; returns the log path."""
        folder = self.folder(run.name)
        folder.mkdir(parents=True, exist_ok=True)
        log = folder / f"attempt-{attempt}.log"
        seen = self.observe(run).state
        if seen in (Observed.RUNNING, Observed.SUCCEEDED):
            return str(log)
        if self._starting(run.name):
            # Submitted again within the grace (the run's sweep looks every few seconds) while
            # the process started last time is still starting: a second one would only find
            # the lock taken and exit, after paying for its imports.
            return str(log)
        # A new attempt: the previous one's failure is history, not this attempt's outcome.
        (folder / "failure.json").unlink(missing_ok=True)
        (folder / "spec.json").write_text(json.dumps({**spec, "attempt": attempt}, indent=2))
        with log.open("ab") as out:
            child = subprocess.Popen(
                [sys.executable, "-m", job_module(spec), str(folder)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **env},
                cwd=folder,
                start_new_session=True,
            )
        with self._children_lock:
            self._children[run.name] = child
        return str(log)

    def cancel(self, run: RunRef) -> None:
        """Stop the run's job, if one runs."""
        pid_file = self.folder(run.name) / "pid"
        if not pid_file.exists() or not self._locked_by_a_job(self.folder(run.name)):
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(int(pid_file.read_text().strip()), signal.SIGTERM)
