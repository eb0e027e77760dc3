"""The platform's StorageClass: a claim binds to a provisioned volume, which goes with the claim."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from nidc.kube import api_client
from nidc.local.servers.kube_controller_manager import STORAGE_CLASS

pytestmark = pytest.mark.integration


def test_claim_binds_and_its_volume_is_deleted_with_it(platform_env: dict[str, Any]) -> None:
    name = f"probe-{uuid.uuid4().hex[:6]}"
    with api_client(Path(platform_env["kubeconfig"]), context="platform-admin") as api:
        core = client.CoreV1Api(api)
        # No storageClassName: the platform's class is the default one, as on a cluster.
        core.create_namespaced_persistent_volume_claim(
            "default",
            {
                "metadata": {"name": name},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            },
        )
        deadline = time.monotonic() + 30
        while (
            claim := core.read_namespaced_persistent_volume_claim(name, "default")
        ).status.phase != "Bound":
            assert time.monotonic() < deadline, f"claim not bound: {claim.status}"
            time.sleep(0.5)
        assert claim.spec.storage_class_name == STORAGE_CLASS
        volume = core.read_persistent_volume(claim.spec.volume_name)
        path = Path(volume.spec.host_path.path)
        assert path.is_dir()

        core.delete_namespaced_persistent_volume_claim(name, "default")
        deadline = time.monotonic() + 30
        while volume.metadata.name in {
            v.metadata.name for v in core.list_persistent_volume().items
        }:
            assert time.monotonic() < deadline, "volume not deleted with its claim"
            time.sleep(0.5)
        assert not path.exists()
