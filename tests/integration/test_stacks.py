"""`pulumi preview/up/up again/destroy` of the national and region-east stacks against the
local kube-apiserver (kwok nodes, file backend, passphrase secrets)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from nidc.kube import api_client, create, get, list_objects
from nidc.local.platform import LocalPlatform
from nidc.local.pulumi_workspace import StackWorkspace
from tests.stack_workspace import workspace

pytestmark = pytest.mark.integration

REGION_LABEL = "topology.kubernetes.io/region"


def leftovers(api: client.ApiClient) -> list[str]:
    """Every object a stack could have left behind on the cluster."""

    def names(api_version: str, kind: str) -> list[tuple[str, dict[str, Any]]]:
        return [(o["metadata"]["name"], o) for o in list_objects(api, api_version, kind)]

    rbac = "rbac.authorization.k8s.io/v1"
    found = [
        f"namespace/{name}"
        for name, ns in names("v1", "Namespace")
        if name.startswith("nidc-")
        or (ns["metadata"].get("labels") or {}).get("app.kubernetes.io/part-of") == "nidc"
    ]
    found += [
        f"crd/{name}"
        for name, _ in names("apiextensions.k8s.io/v1", "CustomResourceDefinition")
        if name.endswith((".nidc.io", ".kopf.dev"))
    ]
    found += [f"clusterrole/{n}" for n, _ in names(rbac, "ClusterRole") if n.startswith("nidc-")]
    found += [
        f"clusterrolebinding/{n}"
        for n, _ in names(rbac, "ClusterRoleBinding")
        if n.startswith("nidc-")
    ]
    found += [f"pv/{name}" for name, _ in names("v1", "PersistentVolume")]
    return found


@pytest.fixture(scope="module")
def fresh_platform(second_platform_dir: Path) -> LocalPlatform:
    """The session's second platform (tests/conftest.py), not the session's own: that cluster
    holds the operator's CRDs and the example tenants, and these tests prove that `destroy`
    leaves nothing behind. One `up`: each server waits for its readiness with a deadline sized
    for a loaded machine; a platform the lifecycle test left running is reused."""
    platform = LocalPlatform(state_dir=second_platform_dir)
    platform.up()
    return platform


@pytest.fixture
def kube(fresh_platform: LocalPlatform) -> Iterator[client.ApiClient]:
    kubeconfig = Path(fresh_platform.env()["kubeconfig"])
    with api_client(kubeconfig, context="platform-admin") as api:
        yield api


@pytest.fixture
def east_node(kube: client.ApiClient) -> Iterator[None]:
    """The CPU node stands in region east (grade-3 storage is pinned to its region)."""
    core = client.CoreV1Api(kube)
    core.patch_node("nidc-cpu-0", {"metadata": {"labels": {REGION_LABEL: "east"}}})
    yield
    core.patch_node("nidc-cpu-0", {"metadata": {"labels": {REGION_LABEL: None}}})


# What `nidc local up` itself makes (OpenBao's token reviewer lives in nidc-system).
PLATFORM_OWN = {"namespace/nidc-system"}


def wait_for_no_leftovers(api: client.ApiClient) -> list[str]:
    # Namespaces finish terminating (and volumes are released) shortly after the delete returns.
    deadline = time.monotonic() + 60
    while (left := stack_leftovers(api)) and time.monotonic() < deadline:
        time.sleep(1)
    return left


def stack_leftovers(api: client.ApiClient) -> list[str]:
    """Leftovers that are not the platform's own."""
    return [item for item in leftovers(api) if item not in PLATFORM_OWN]


def lifecycle(
    ws: StackWorkspace,
    api: client.ApiClient,
    after_up: Callable[[StackWorkspace, client.ApiClient, str], None] | None = None,
) -> dict[str, Any]:
    """preview, up, preview (nothing to change), destroy (nothing left); returns figures.
    `after_up` checks the cluster between up and destroy (given up's output)."""
    assert stack_leftovers(api) == [], "the cluster already holds stack objects"
    try:
        return checked_lifecycle(ws, api, after_up)
    finally:
        ws.run("destroy", "--stack", ws.stack, "--yes", "--skip-preview", check=False)


def checked_lifecycle(
    ws: StackWorkspace,
    api: client.ApiClient,
    after_up: Callable[[StackWorkspace, client.ApiClient, str], None] | None,
) -> dict[str, Any]:
    preview = ws.preview()
    planned = preview["changeSummary"].get("create", 0)
    assert planned > 30, preview["changeSummary"]
    up_output = ws.up()
    if after_up is not None:
        after_up(ws, api, up_output)
    for sts in list_objects(api, "apps/v1", "StatefulSet"):
        ready = sts.get("status", {}).get("readyReplicas")
        assert ready == sts["spec"]["replicas"], sts["metadata"]["name"]
    claims = list_objects(api, "v1", "PersistentVolumeClaim")
    assert claims and all(c.get("status", {}).get("phase") == "Bound" for c in claims)
    # Every table is graded from the first day: the control plane applies the baseline.
    baseline = list_objects(api, "nidc.io/v1alpha1", "ClusterClassificationPolicy")
    assert [p["metadata"]["name"] for p in baseline] == ["national-baseline"]
    again = ws.preview()
    assert set(again["changeSummary"]) == {"same"}, again["changeSummary"]
    assert again["changeSummary"]["same"] == planned  # both count the stack itself
    outputs = ws.outputs()
    ws.destroy()
    assert wait_for_no_leftovers(api) == []
    return {"resources": planned, "outputs": outputs, **ws.timings}


def secret_value(api: client.ApiClient, namespace: str, name: str, key: str) -> str:
    found = get(api, "v1", "Secret", name, namespace)
    assert found is not None, f"Secret {namespace}/{name}"
    return base64.b64decode(found["data"][key]).decode()


def check_service_identities(ws: StackWorkspace, api: client.ApiClient, up_output: str) -> None:
    """Issue 15: the sharing server's own S3 login and OpenBao role, the catalog with the
    secrets the stack derived, the lineage writers' certificate in each tenant namespace; no
    secret value in the outputs or in what `up` printed."""
    sharing_key = secret_value(api, "nidc-sharing", "sharing-s3", "secretKey")
    # The key the server logs in with is the one the object store's sidecar gives its user.
    assert secret_value(api, "nidc-storage", "minio-users", "nidc-sharing-server") == sharing_key
    users = get(api, "v1", "ConfigMap", "minio-users", "nidc-storage")
    assert users is not None
    policy = json.loads(users["data"]["nidc-sharing-server.json"])
    assert all("bronze" not in r for st in policy["Statement"] for r in st["Resource"])
    roles = get(api, "v1", "ConfigMap", "openbao-roles", "nidc-secrets")
    assert roles is not None
    assert "auth/kubernetes/role/nidc-sharing-server" in roles["data"]["provision.sh"]
    sts = get(api, "apps/v1", "StatefulSet", "openbao", "nidc-secrets")
    assert sts is not None
    containers = [c["name"] for c in sts["spec"]["template"]["spec"]["containers"]]
    assert containers == ["openbao", "roles"]
    db_password = secret_value(api, "nidc-catalog", "catalog-db", "password")
    assert len(db_password) == 32
    writer = secret_value(api, "national-analytics", "nidc-lineage-writer", "tls.crt")
    assert "BEGIN CERTIFICATE" in writer
    outputs = json.dumps(ws.outputs(show_secrets=True))
    for value in (sharing_key, db_password):
        assert value not in outputs and value not in up_output


def test_national_stack(fresh_platform: LocalPlatform, kube: client.ApiClient) -> None:
    ws = workspace(fresh_platform, "national")
    figures = lifecycle(ws, kube, check_service_identities)
    outputs = figures["outputs"]
    assert outputs["center"] == "national"
    assert outputs["endpoints"]["s3"].startswith("https://minio.nidc-storage.svc")
    assert outputs["tenantKubeconfigs"] == "[secret]"
    assert outputs["endpoints"]["catalog"].startswith("https://catalog-api.nidc-catalog.svc")
    print(
        f"national: {figures['resources']} resources, up {figures['up']:.1f}s, "
        f"destroy {figures['destroy']:.1f}s"
    )


def test_region_east_stack(
    fresh_platform: LocalPlatform, kube: client.ApiClient, east_node: None, tmp_path: Path
) -> None:
    ws = workspace(fresh_platform, "region-east")
    assert stack_leftovers(kube) == [], "the cluster already holds stack objects"
    try:
        check_region_east(ws, kube, tmp_path)
    finally:
        ws.run("destroy", "--stack", ws.stack, "--yes", "--skip-preview", check=False)
    assert wait_for_no_leftovers(kube) == []


def check_region_east(ws: StackWorkspace, kube: client.ApiClient, tmp_path: Path) -> None:
    ws.preview()
    ws.up()
    # Core data stays in region east: the object store's servers run only there.
    sts = get(kube, "apps/v1", "StatefulSet", "minio", "nidc-storage")
    assert sts is not None
    assert sts["spec"]["template"]["spec"]["nodeSelector"] == {REGION_LABEL: "east"}
    pods = list_objects(kube, "v1", "Pod", "nidc-storage")
    assert pods and {p["spec"]["nodeName"] for p in pods} == {"nidc-cpu-0"}
    # Tenant kubeconfigs authenticate as the tenant's admin account.
    kubeconfigs = ws.outputs(show_secrets=True)["tenantKubeconfigs"]
    assert set(kubeconfigs) == {"steel-plant", "equipment-maker"}
    path = tmp_path / "steel-plant.kubeconfig"
    path.write_text(kubeconfigs["steel-plant"])
    with api_client(path) as tenant_api:
        review = create(
            tenant_api,
            {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview", "metadata": {}},
        )
        assert review["status"]["userInfo"]["username"] == (
            "system:serviceaccount:steel-plant:tenant-admin"
        )
    again = ws.preview()
    assert set(again["changeSummary"]) == {"same"}, again["changeSummary"]
