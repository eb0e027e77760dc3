"""Loopback ports handed out so that nothing else takes them between choice and bind.

Binding port 0 and closing the socket (the usual trick) leaves two races: the kernel gives the
same port to the next outgoing connection of any process (it comes from the ephemeral range),
and a second test process asking at the same moment can be told the same number. So ports come
from below the kernel's ephemeral range, which it never hands out on its own, and each one is
claimed first, under a lock, by a file in a folder every nidc process on the machine shares. A
claim lasts CLAIM_SECONDS, long enough for the server it was chosen for to bind the port; after
that the bind itself holds it. A port is handed out only if it can be bound right then.
"""

from __future__ import annotations

import errno
import fcntl
import os
import random
import socket
import tempfile
import time
from pathlib import Path

EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
# Below the usual ephemeral range (32768-60999) and above the well-known and most registered
# service ports a developer's machine may already run.
HANDOUT_RANGE = (20000, 32767)
CLAIM_SECONDS = 600.0
CLAIMS_DIR_VARIABLE = "NIDC_PORT_CLAIMS_DIR"


def claims_dir() -> Path:
    """The folder of claims, shared by every nidc process of this user on the machine."""
    configured = os.environ.get(CLAIMS_DIR_VARIABLE)
    folder = (
        Path(configured)
        if configured
        else Path(tempfile.gettempdir()) / f"nidc-port-claims-{os.getuid()}"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def handout_range() -> range:
    """HANDOUT_RANGE, cut below the kernel's ephemeral range where that starts lower."""
    low, high = HANDOUT_RANGE
    try:
        ephemeral_low = int(EPHEMERAL_RANGE_FILE.read_text().split()[0])
        high = min(high, ephemeral_low - 1)
    except (OSError, ValueError, IndexError):
        pass
    return range(low, high + 1)


def _claim(port: int, folder: Path, now: float) -> bool:
    """Claim `port` unless a claim younger than CLAIM_SECONDS holds it (under the handout lock)."""
    path = folder / str(port)
    try:
        if now - path.stat().st_mtime < CLAIM_SECONDS:
            return False
    except FileNotFoundError:
        pass
    path.write_text(f"{os.getpid()}\n")
    os.utime(path, (now, now))
    return True


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on, claimed for this caller for a while."""
    folder = claims_dir()
    ports = handout_range()
    start = random.randrange(len(ports))  # noqa: S311  (spreads callers, not a secret)
    # One handout at a time on the machine: a claim is checked and written under this lock.
    with (folder / "lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        now = time.time()
        for offset in range(len(ports)):
            port = ports[(start + offset) % len(ports)]
            if _bindable(port) and _claim(port, folder, now):
                return port
    raise RuntimeError(f"no free port left in {ports.start}-{ports.stop - 1}")
