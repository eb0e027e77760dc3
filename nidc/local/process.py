"""Start, find and stop the platform's server processes (detached, one pid file each)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

STOP_GRACE_SECONDS = 10.0


def start_detached(
    command: list[str],
    env: Mapping[str, str],
    log: Path,
    pidfile: Path,
    cwd: Path,
    user: str | None = None,
) -> subprocess.Popen[bytes]:
    """Start a server in its own session (it outlives `nidc`), logging to `log`; as another
    account when `user` is given (PostgreSQL will not run as root)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n=== starting: {' '.join(command)}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **env},
            cwd=cwd,
            start_new_session=True,
            user=user,
        )
    pidfile.write_text(f"{proc.pid}\n")
    return proc


def read_pid(pidfile: Path) -> int | None:
    """The pid recorded in a pid file, or None."""
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def process_state(pid: int) -> str | None:
    """The kernel's one-letter state of a process (R, S, Z, ...), or None when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces; the state follows the last ')'.
    return stat.rsplit(")", 1)[1].split()[0]


def cmdline(pid: int) -> list[str]:
    """The argument vector of a running process ([] when it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def is_running(pid: int | None, binary: str) -> bool:
    """True when `pid` is alive (not a zombie) and still runs `binary` (guards pid reuse)."""
    if pid is None:
        return False
    state = process_state(pid)
    if state is None or state in ("Z", "X"):
        return False
    args = cmdline(pid)
    return bool(args) and Path(args[0]).name == Path(binary).name


def processes_mentioning(marker: str) -> list[int]:
    """Pids of every live process whose command line mentions `marker` (our state folder)."""
    found = []
    own = os.getpid()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == own:
            continue
        pid = int(entry.name)
        if process_state(pid) in (None, "Z", "X"):
            continue
        if any(marker in arg for arg in cmdline(pid)):
            found.append(pid)
    return found


def stop(pid: int, grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM the process (and its group), wait up to `grace` seconds, then SIGKILL."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except (ProcessLookupError, PermissionError):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            reap(pid)
            if process_state(pid) in (None, "Z", "X"):
                reap(pid)
                return
            time.sleep(0.1)


def reap(pid: int) -> None:
    """Collect a child that exited, if it is ours (no-op for processes we did not start)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
