"""A failed `up` that leaves nothing running, then `up`, `status` after a kill -9 and `up`
again, on the session's second platform (shared with the stack tests, which find it running;
its `down` is checked when the session ends, in tests/conftest.py)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import hvac
import pytest

from nidc.local import process
from nidc.local.platform import LocalPlatform
from nidc.local.state import port_is_open

pytestmark = pytest.mark.integration


def nidc(state_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real command line, pointed at the test's own state folder."""
    return subprocess.run(
        [sys.executable, "-m", "nidc.cli", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NIDC_STATE_DIR": str(state_dir)},
    )


def bao_client(platform: LocalPlatform) -> hvac.Client:
    bao = platform.env()["servers"]["openbao"]
    return hvac.Client(
        url=bao["url"],
        token=Path(bao["root_token_file"]).read_text().strip(),
        verify=str(platform.ca.ensure().cert),
    )


def up_with_openbao_port_taken(state_dir: Path) -> None:
    """`up` on a new state folder fails at OpenBao, after six servers started, and stops them."""
    # The port `up` will give OpenBao is recorded first, so the test can take it before `up` runs.
    state = LocalPlatform(state_dir).state
    state.ensure_dirs()
    port = state.port("openbao")
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        failed = nidc(state_dir, "local", "up")
    assert failed.returncode != 0
    assert f"openbao: port(s) openbao={port} are taken" in failed.stderr, failed.stderr[-3000:]
    started = [ln.split()[0] for ln in failed.stderr.splitlines() if "started," in ln]
    assert started == [
        "etcd",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kwok",
        "minio",
    ], failed.stderr[-3000:]
    assert "up failed: stopping" in failed.stderr
    assert process.processes_mentioning(str(state_dir)) == []
    ports = LocalPlatform(state_dir).state.read_endpoints()["ports"]
    assert [name for name, p in ports.items() if p != port and port_is_open(p)] == []
    assert not any((state_dir / "pids").glob("*.pid"))


def test_failed_up_then_kill_status_up(second_platform_dir: Path) -> None:
    state_dir = second_platform_dir
    if state_dir.exists():  # the stack tests ran first and left it running
        stopped = nidc(state_dir, "local", "down")
        assert stopped.returncode == 0, stopped.stderr[-3000:]
    up_with_openbao_port_taken(state_dir)
    first = nidc(state_dir, "local", "up")
    assert first.returncode == 0, first.stderr[-3000:]
    platform = LocalPlatform(state_dir)
    # Something stored before the crash must survive it (persistent raft storage).
    bao_client(platform).secrets.kv.v2.create_or_update_secret(
        path="survives", secret={"token": "x"}
    )
    # `up` twice is harmless: nothing restarted.
    pids = {row.name: row.pid for row in platform.status()}
    again = nidc(state_dir, "local", "up")
    assert again.returncode == 0, again.stderr[-3000:]
    assert {row.name: row.pid for row in platform.status()} == pids

    victim = pids["openbao"]
    assert victim is not None
    os.kill(victim, signal.SIGKILL)
    process.reap(victim)
    status = nidc(state_dir, "local", "status")
    assert status.returncode == 1
    line = next(ln for ln in status.stdout.splitlines() if ln.startswith("openbao"))
    assert "down" in line and "died" in line
    healthy = [ln.split()[0] for ln in status.stdout.splitlines()[1:] if "healthy" in ln.split()]
    assert "openbao" not in healthy and len(healthy) == len(pids) - 1

    back = nidc(state_dir, "local", "up")
    assert back.returncode == 0, back.stderr[-3000:]
    rows = platform.status()
    assert all(row.healthy for row in rows), rows
    assert next(r for r in rows if r.name == "openbao").pid != victim
    # Restarted sealed, unsealed by `up` with the stored key; data kept.
    read = bao_client(platform).secrets.kv.v2.read_secret_version(
        path="survives", raise_on_deleted_version=True
    )
    assert read["data"]["data"] == {"token": "x"}
