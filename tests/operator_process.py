"""The operator as a real process the tests can start, crash and restart."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path


class OperatorProcess:
    """`nidc operator run` against one platform state folder; one process at a time."""

    def __init__(self, state_dir: Path, log: Path) -> None:
        self.state_dir = state_dir
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._prepared: dict[str, str] | None = None

    def __str__(self) -> str:
        return str(self.log)

    def prepared(self) -> dict[str, str]:
        """The operator's environment, prepared once (CRDs, identity, token): a restart then
        costs only the process start, as a restarted pod would."""
        if self._prepared is None:
            from nidc.local import operator_access
            from nidc.local.platform import LocalPlatform

            platform = LocalPlatform(state_dir=self.state_dir)
            self._prepared = operator_access.prepare(platform.env())
        return self._prepared

    def start(
        self,
        extra_env: dict[str, str] | None = None,
        timeout: float = 60,
        args: tuple[str, ...] = (),
    ) -> None:
        """Start and wait until its handlers are registered (or it died at a crash point)."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        env = {
            **os.environ,
            "NIDC_STATE_DIR": str(self.state_dir),
            **self.prepared(),
            **(extra_env or {}),
        }
        marker = f"=== operator start {self.starts}"
        with self.log.open("a") as out:
            out.write(f"{marker} {extra_env or ''}\n")
            out.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "nidc.cli", "operator", "run", *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while "operator running" not in self.log.read_text().split(marker, 1)[1]:
            if self.proc.poll() is not None:
                return  # it may have died on purpose (a crash point) before it got that far
            if time.monotonic() > deadline:
                raise RuntimeError(f"operator did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.2)

    def wait_exit(self, timeout: float) -> int:
        """Wait for the process to end by itself; its return code (-9 for SIGKILL)."""
        assert self.proc is not None
        return self.proc.wait(timeout=timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)

    def log_since_start(self) -> str:
        """The log of the most recent start only."""
        return self.log.read_text().split(f"=== operator start {self.starts - 1}", 1)[-1]

    def kill(self) -> None:
        """SIGKILL, as a node failure would."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(timeout=30)

    def log_size(self) -> int:
        """Where the log ends now: a test scans what is written after it."""
        return self.log.stat().st_size if self.log.exists() else 0

    def tracebacks(
        self, since: int = 0, context_lines: int = 12, until: int | None = None
    ) -> list[str]:
        """Each traceback in the log between bytes `since` and `until` (the end when None), with
        the lines that follow it."""
        with self.log.open("rb") as log:
            log.seek(since)
            text = log.read() if until is None else log.read(max(0, until - since))
            lines = text.decode(errors="replace").splitlines()
        return [
            "\n".join(lines[n : n + context_lines])
            for n, line in enumerate(lines)
            if "Traceback" in line
        ]
