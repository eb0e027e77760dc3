"""Collectors as local processes (the embedded platform): `python -m nidc.collector <config>`.

One folder per collector, named from the source (namespace, name, uid): config.json, pid and
collector.log. Create-or-adopt: a process whose command line names this folder's config is the
collector, whoever started it, so an operator restart adopts it instead of starting a second
one; a changed configuration stops the old process and starts a new one. (On a cluster the same
configuration runs as a one-replica Deployment.)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


class LocalCollectors:
    """Supervises collector processes under one root folder."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def folder(self, name: str) -> Path:
        return self.root / name

    def pid(self, name: str) -> int | None:
        """The live collector process of `name`, if any."""
        folder = self.folder(name)
        try:
            pid = int((folder / "pid").read_text().strip())
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return None
        return pid if str(folder / "config.json") in cmdline else None

    def ensure(self, name: str, config: dict[str, Any], env: dict[str, str]) -> str:
        """Run the collector with exactly this configuration; returns what was done."""
        folder = self.folder(name)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "config.json"
        text = json.dumps(config, indent=2, sort_keys=True)
        running = self.pid(name)
        if running is not None and path.exists() and path.read_text() == text:
            return "running"
        if running is not None:
            self.stop(name)
        path.write_text(text)
        with (folder / "collector.log").open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "nidc.collector", str(path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **env},
                cwd=folder,
                start_new_session=True,
            )
        (folder / "pid").write_text(f"{process.pid}\n")
        return "restarted" if running is not None else "started"

    def stop(self, name: str, timeout: float = 15) -> None:
        """Stop the collector (SIGTERM, then SIGKILL); absent is fine."""
        pid = self.pid(name)
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.pid(name) is not None and time.monotonic() < deadline:
            time.sleep(0.2)
        if self.pid(name) is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
