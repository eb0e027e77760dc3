"""Two operator replicas: one active (kopf peering), failover on kill -9, and the liveness probe
that fails while the watch is silent (a frozen API server) and recovers after."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from nidc.kube import apply, delete
from nidc.local.platform import LocalPlatform
from nidc.local.ports import free_port
from nidc.local.process import read_pid
from tests.cluster import tenant_ready
from tests.operator_process import OperatorProcess

pytestmark = pytest.mark.integration


def wait_until(check: Callable[[], bool], what: str, timeout: float) -> float:
    """Seconds it took until `check()` held."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, f"timed out after {timeout} s: {what}"
        time.sleep(0.5)
    return time.monotonic() - started


def tenant(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "nidc.io/v1alpha1",
        "kind": "Tenant",
        "metadata": {"name": name},
        "spec": {
            "displayName": name,
            "owner": {"name": "T", "email": "t@x.cn"},
            "region": "east",
            "deletionPolicy": "Delete",
        },
    }


def handled(process: OperatorProcess, name: str) -> bool:
    """True when this replica's JSON log shows a handler run for the object `name`."""
    for line in process.log_since_start().splitlines():
        if line[:1] != "{":
            continue
        record = json.loads(line)
        if (record.get("object") or {}).get("name") == name and "Handler" in record["message"]:
            return True
    return False


def replica(platform: LocalPlatform, name: str) -> OperatorProcess:
    log = platform.state.log(f"operator-{name}")
    log.write_text("")
    return OperatorProcess(platform.state.root, log)


def test_one_replica_is_active_and_the_other_takes_over_after_kill(
    tenants: Any, operator: OperatorProcess, platform: LocalPlatform
) -> None:
    first = operator  # the session's operator: it was active until now
    second = replica(platform, "replica-b")
    name = f"peer-b-{uuid.uuid4().hex[:5]}"
    after = f"peer-a-{uuid.uuid4().hex[:5]}"
    second.start({"NIDC_OPERATOR_IDENTITY": "replica-b", "NIDC_PEERING_LIFETIME_SECONDS": "10"})
    try:
        wait_until(
            lambda: "Pausing operations in favour of" in first.log_since_start(),
            "the older replica pauses for the newer one",
            60,
        )
        apply(tenants, tenant(name))
        wait_until(lambda: tenant_ready(tenants, name), f"{name} Ready", 60)
        assert handled(second, name), "the active replica did not reconcile it"
        assert not handled(first, name), "the standby replica reconciled it too"

        second.kill()
        took = wait_until(
            lambda: "Resuming operations" in first.log_since_start(),
            "the standby takes over after the killed replica's lifetime",
            60,
        )
        assert took < 40, f"takeover took {took:.0f} s for a 10 s peering lifetime"
        apply(tenants, tenant(after))
        wait_until(lambda: tenant_ready(tenants, after), f"{after} Ready", 60)
        assert handled(first, after)
    finally:
        second.stop()
        for gone in (name, after):
            delete(tenants, "nidc.io/v1alpha1", "Tenant", gone)


def test_liveness_fails_while_the_watch_is_silent_and_recovers(
    tenants: Any, operator: OperatorProcess, platform: LocalPlatform
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/healthz"
    probe = replica(platform, "replica-liveness")
    probe.start(
        {"NIDC_OPERATOR_IDENTITY": "replica-liveness", "NIDC_WATCH_MAX_SILENCE_SECONDS": "15"},
        args=("--liveness", url),
    )

    def status() -> int:
        try:
            return requests.get(url, timeout=20).status_code
        except requests.RequestException:
            return 0

    apiserver = read_pid(platform.state.pidfile("kube-apiserver"))
    assert apiserver is not None
    try:
        wait_until(lambda: status() == 200, "healthy once its heartbeat came back", 60)
        assert "watching" in requests.get(url, timeout=10).text
        os.kill(apiserver, signal.SIGSTOP)  # a hung API server: watches go silent, no errors
        try:
            took = wait_until(lambda: status() == 500, "liveness fails", 90)
        finally:
            os.kill(apiserver, signal.SIGCONT)
        # 15 s allowed silence + up to 10 s of heartbeat interval + kopf's 10 s probe cache.
        assert took >= 5, f"failed after only {took:.0f} s"
        wait_until(lambda: status() == 200, "healthy again after the API server thawed", 90)
    finally:
        probe.stop()
