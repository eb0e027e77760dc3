"""Ports handed out by nidc.local.ports: never twice while claimed, never from the kernel's
ephemeral range, never one something listens on."""

from __future__ import annotations

import multiprocessing
import os
import socket
from pathlib import Path

import pytest

from nidc.local import ports


def _hand_out(count: int, folder: str) -> list[int]:
    os.environ[ports.CLAIMS_DIR_VARIABLE] = folder
    return [ports.free_port() for _ in range(count)]


def test_four_processes_asking_at_once_never_get_the_same_port(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    with context.Pool(4) as pool:
        handed = pool.starmap(_hand_out, [(50, str(tmp_path))] * 4)
    every = [port for batch in handed for port in batch]
    assert len(every) == 200 and len(set(every)) == 200
    low, high = (int(v) for v in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    assert not [port for port in every if low <= port <= high], "a port from the ephemeral range"


def test_a_listening_port_is_not_handed_out_and_a_stale_claim_is_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ports.CLAIMS_DIR_VARIABLE, str(tmp_path))
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        taken = listener.getsockname()[1]
        listener.listen()
        monkeypatch.setattr(ports, "handout_range", lambda: range(taken, taken + 1))
        with pytest.raises(RuntimeError, match="no free port"):
            ports.free_port()
    # The listener is gone: the port can be handed out once, then its claim holds it...
    assert ports.free_port() == taken
    with pytest.raises(RuntimeError, match="no free port"):
        ports.free_port()
    # ...until the claim is older than CLAIM_SECONDS.
    old = (tmp_path / str(taken)).stat().st_mtime - ports.CLAIM_SECONDS - 1
    os.utime(tmp_path / str(taken), (old, old))
    assert ports.free_port() == taken
