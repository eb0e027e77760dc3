"""The operator survives a kube-apiserver restart: new resources are reconciled within 30 s."""

from __future__ import annotations

import os
import signal
import time
import uuid
from typing import Any

import pytest

from nidc.kube import apply, delete
from nidc.local.platform import LocalPlatform
from nidc.local.process import read_pid, reap
from tests.cluster import tenant_ready
from tests.operator_process import OperatorProcess

pytestmark = pytest.mark.integration


def test_resource_created_after_apiserver_restart_is_reconciled_in_30s(
    tenants: Any, operator: OperatorProcess, platform: LocalPlatform
) -> None:
    pid = read_pid(platform.state.pidfile("kube-apiserver"))
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    reap(pid)
    time.sleep(2)
    platform.up()  # brings kube-apiserver back on its port; the operator keeps running
    assert operator.proc is not None
    assert operator.proc.poll() is None, "the operator died with the API server"

    name = f"after-restart-{uuid.uuid4().hex[:5]}"
    apply(
        tenants,
        {
            "apiVersion": "nidc.io/v1alpha1",
            "kind": "Tenant",
            "metadata": {"name": name},
            "spec": {
                "displayName": name,
                "owner": {"name": "T", "email": "t@x.cn"},
                "region": "east",
                "deletionPolicy": "Delete",
            },
        },
    )
    created = time.monotonic()
    while not tenant_ready(tenants, name):
        assert time.monotonic() - created < 30, f"not reconciled within 30 s; see {operator}"
        time.sleep(0.5)
    delete(tenants, "nidc.io/v1alpha1", "Tenant", name)
