"""The platform's StorageClass: a claim binds to a provisioned volume, which goes with the claim."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from nidc.kube import api_client, apply, delete, get

pytestmark = pytest.mark.integration


def test_claim_binds_and_its_volume_is_deleted_with_it(platform_env: dict[str, Any]) -> None:
    name = f"probe-{uuid.uuid4().hex[:6]}"
    with api_client(Path(platform_env["kubeconfig"]), context="platform-admin") as api:
        # No storageClassName: the platform's class is the default one, as on a cluster.
        apply(
            api,
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": name, "namespace": "default"},
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": "1Gi"}},
                },
            },
        )
        deadline = time.monotonic() + 30
        while (claim := get(api, "v1", "PersistentVolumeClaim", name, "default") or {}).get(
            "status", {}
        ).get("phase") != "Bound":
            assert time.monotonic() < deadline, f"claim not bound: {claim.get('status')}"
            time.sleep(0.5)
        # The default class by its documented name, written out (not the code's constant).
        assert claim["spec"]["storageClassName"] == "nidc-local"
        volume_name = claim["spec"]["volumeName"]
        volume = get(api, "v1", "PersistentVolume", volume_name)
        assert volume is not None
        path = Path(volume["spec"]["hostPath"]["path"])
        assert path.is_dir()

        delete(api, "v1", "PersistentVolumeClaim", name, "default")
        deadline = time.monotonic() + 30
        while get(api, "v1", "PersistentVolume", volume_name) is not None:
            assert time.monotonic() < deadline, "volume not deleted with its claim"
            time.sleep(0.5)
        assert not path.exists()
