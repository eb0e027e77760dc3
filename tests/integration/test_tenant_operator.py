"""The Tenant operator on real servers, and the isolation it gives (Kubernetes, S3, OpenBao)."""

from __future__ import annotations

import io
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import hvac
import pytest
import urllib3
import yaml
from kubernetes import client
from kubernetes.client.exceptions import ApiException
from minio import Minio
from minio.error import S3Error

from nidc.api.kinds import ALL_KINDS
from nidc.kube import (
    api_client,
    apply,
    dynamic_client,
    get,
    list_objects,
    service_account_token,
)
from nidc.local.tools.manifest import binary_path
from tests.cluster import tenant_ready

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "demo-factory"
A, B = "steel-plant", "equipment-maker"
NAMESPACED_KINDS = [
    "DataSource",
    "DataProduct",
    "ClassificationPolicy",
    "DataGrant",
    "DataShare",
    "ExportApproval",
    "PipelineRun",
]


@pytest.fixture(scope="module")
def admin(tenants: Any) -> Any:
    return tenants


def test_tenants_become_ready_with_their_children(admin: Any) -> None:
    tenant = next(
        t for t in list_objects(admin, "nidc.io/v1alpha1", "Tenant") if t["metadata"]["name"] == A
    )
    assert tenant["status"]["namespace"] == A
    assert tenant["status"]["bucket"] == f"tenant-{A}"
    quota = get(admin, "v1", "ResourceQuota", "nidc-tenant-quota", A)
    assert quota is not None and quota["spec"]["hard"]["requests.nvidia.com/gpu"] == "2"
    policies = {
        p["metadata"]["name"]
        for p in list_objects(admin, "networking.k8s.io/v1", "NetworkPolicy", namespace=A)
    }
    assert "default-deny" in policies
    namespace = get(admin, "v1", "Namespace", A)
    assert namespace is not None
    assert namespace["metadata"]["ownerReferences"][0]["kind"] == "Tenant"
    events = (
        client.CoreV1Api(admin)
        .list_namespaced_event(
            "default", field_selector=f"involvedObject.kind=Tenant,involvedObject.name={A}"
        )
        .items
    )
    assert any(e.reason == "Provisioned" and e.type == "Normal" for e in events), events


@pytest.mark.parametrize("identity", [f"{A}-admin", f"{A}-analyst"])
def test_kubernetes_isolation_matrix(
    admin: Any, platform_env: dict[str, Any], identity: str
) -> None:
    """Tenant A's people get 403 for every kind and verb in tenant B's namespace."""
    with api_client(Path(platform_env["kubeconfig"]), context=identity) as api:
        resources = dynamic_client(api).resources
        checked = 0
        for kind in NAMESPACED_KINDS:
            resource = resources.get(api_version="nidc.io/v1alpha1", kind=kind)
            body = {
                "apiVersion": "nidc.io/v1alpha1",
                "kind": kind,
                "metadata": {"name": "probe", "namespace": B},
                "spec": {},
            }
            calls: dict[str, Callable[[], object]] = {
                "list": partial(resource.get, namespace=B),
                "watch": partial(resource.get, namespace=B, watch=True, timeout_seconds=1),
                "get": partial(resource.get, name="probe", namespace=B),
                "create": partial(resource.create, body=body, namespace=B),
                "update": partial(resource.replace, body=body, namespace=B),
                "patch": partial(
                    resource.patch,
                    name="probe",
                    namespace=B,
                    body={"metadata": {"labels": {"x": "y"}}},
                    content_type="application/merge-patch+json",
                ),
                "delete": partial(resource.delete, name="probe", namespace=B),
            }
            for verb, call in calls.items():
                with pytest.raises(ApiException) as denied:
                    call()
                assert denied.value.status == 403, (identity, kind, verb, denied.value.status)
                checked += 1
        assert checked == len(NAMESPACED_KINDS) * 7
        with pytest.raises(ApiException) as denied:
            resources.get(api_version="nidc.io/v1alpha1", kind="Tenant").get(name=B)
        assert denied.value.status == 403
        # ...while in their own namespace the same identity can at least list.
        resources.get(api_version="nidc.io/v1alpha1", kind="DataSource").get(namespace=A)


def root_openbao(platform_env: dict[str, Any]) -> hvac.Client:
    bao = platform_env["servers"]["openbao"]
    return hvac.Client(
        url=bao["url"],
        token=Path(bao["root_token_file"]).read_text().strip(),
        verify=platform_env["ca_file"],
    )


def test_s3_isolation(admin: Any, platform_env: dict[str, Any]) -> None:
    """Tenant A's S3 credentials (issued by the operator, held only by OpenBao) stop at A."""
    creds = root_openbao(platform_env).secrets.kv.v2.read_secret_version(
        path=f"tenants/{A}/s3", raise_on_deleted_version=True
    )["data"]["data"]
    s3 = platform_env["servers"]["minio"]
    store = Minio(
        s3["url"].removeprefix("https://"),
        access_key=creds["accessKey"],
        secret_key=creds["secretKey"],
        secure=True,
        region=s3["region"],
        http_client=urllib3.PoolManager(
            cert_reqs="CERT_REQUIRED", ca_certs=platform_env["ca_file"]
        ),
    )
    store.put_object(f"tenant-{A}", "landing/ok.txt", io.BytesIO(b"ok"), 2)
    assert store.get_object(f"tenant-{A}", "landing/ok.txt").read() == b"ok"
    for attempt in (
        lambda: list(store.list_objects(f"tenant-{B}")),
        lambda: store.put_object(f"tenant-{B}", "x.txt", io.BytesIO(b"x"), 1),
        lambda: store.get_object(f"tenant-{B}", "x.txt"),
    ):
        with pytest.raises(S3Error) as denied:
            attempt()
        assert denied.value.code == "AccessDenied"


def test_openbao_isolation(admin: Any, platform_env: dict[str, Any]) -> None:
    """A pod of tenant A logs in with its service account; B's secrets answer 403."""
    root = root_openbao(platform_env)
    root.secrets.kv.v2.create_or_update_secret(path=f"tenants/{B}/mes", secret={"pw": "b-only"})
    apply(
        admin,
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": "probe", "namespace": A},
        },
    )
    jwt = service_account_token(admin, A, "probe", seconds=600)
    bao = hvac.Client(url=platform_env["servers"]["openbao"]["url"], verify=platform_env["ca_file"])
    with pytest.raises(hvac.exceptions.VaultError):
        bao.auth.kubernetes.login(role=f"tenant-{B}", jwt=jwt)
    bao.auth.kubernetes.login(role=f"tenant-{A}", jwt=jwt)
    bao.secrets.kv.v2.create_or_update_secret(path=f"tenants/{A}/probe", secret={"k": "v"})
    with pytest.raises(hvac.exceptions.Forbidden):
        bao.secrets.kv.v2.read_secret_version(
            path=f"tenants/{B}/mes", raise_on_deleted_version=True
        )
    with pytest.raises(hvac.exceptions.Forbidden):
        bao.secrets.kv.v2.create_or_update_secret(path=f"tenants/{B}/mes", secret={"pw": "x"})


def kubectl(env: dict[str, Any], *args: str, context: str = "platform-admin") -> str:
    result = subprocess.run(
        [
            str(binary_path("kubernetes", "kubectl")),
            "--kubeconfig",
            env["kubeconfig"],
            "--context",
            context,
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_every_example_applies_and_get_nidc_lists_them(
    admin: Any, platform_env: dict[str, Any]
) -> None:
    kubectl(platform_env, "apply", "-f", str(EXAMPLES))
    listing = kubectl(platform_env, "get", "nidc", "-A")
    for doc_path in sorted(EXAMPLES.glob("*.yaml")):
        for doc in yaml.safe_load_all(doc_path.read_text()):
            assert f"{doc['kind'].lower()}.nidc.io/{doc['metadata']['name']}" in listing, doc
    headers = {
        line.split()[2] if line.startswith("NAMESPACE") else "" for line in listing.splitlines()
    }
    assert "READY" in headers
    products = kubectl(platform_env, "get", "dataproducts", "-n", A)
    assert products.split("\n")[0].split() == [
        "NAME",
        "READY",
        "GRADE",
        "ROWS",
        "QUALITY",
        "LAST",
        "RUN",
        "AGE",
    ]
    # Tenants' own people see their resources with the same columns.
    assert "cnc-spindles" in kubectl(platform_env, "get", "dsrc", "-n", A, context=f"{A}-analyst")


def test_explain_describes_every_field_of_every_kind(
    admin: Any, platform_env: dict[str, Any]
) -> None:
    """What `kubectl explain` shows comes from the server's OpenAPI: check all of it."""
    document = json.loads(
        kubectl(platform_env, "get", "--raw", "/openapi/v3/apis/nidc.io/v1alpha1")
    )
    schemas = document["components"]["schemas"]
    kinds = [
        name
        for name in schemas
        if name.startswith("io.nidc.v1alpha1.") and not name.endswith("List")
    ]
    assert len(kinds) == len(ALL_KINDS)

    def walk(node: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
        for name, child in node.get("properties", {}).items():
            if path == "" and name == "metadata":
                continue
            yield f"{path}.{name}", child
            yield from walk(child, f"{path}.{name}")
            items = child.get("items", {})
            yield from walk(items, f"{path}.{name}[]")

    undescribed = [
        f"{kind}{path}"
        for kind in kinds
        for path, node in walk(schemas[kind], "")
        if not node.get("description")
    ]
    assert undescribed == []
    explained = kubectl(platform_env, "explain", "datasources.spec.credentials")
    assert "never the secret itself" in explained or "OpenBao path only" in explained


def root_minio(platform_env: dict[str, Any]) -> Minio:
    s3 = platform_env["servers"]["minio"]
    return Minio(
        s3["url"].removeprefix("https://"),
        access_key=s3["access_key"],
        secret_key=Path(s3["secret_key_file"]).read_text().strip(),
        secure=True,
        region=s3["region"],
        http_client=urllib3.PoolManager(
            cert_reqs="CERT_REQUIRED", ca_certs=platform_env["ca_file"]
        ),
    )


def test_tenant_deletion_follows_the_policy(admin: Any, platform_env: dict[str, Any]) -> None:
    """Delete removes the bucket; Retain keeps it; neither holds the namespace back."""
    for name, policy in (("tmp-delete", "Delete"), ("tmp-retain", "Retain")):
        apply(
            admin,
            {
                "apiVersion": "nidc.io/v1alpha1",
                "kind": "Tenant",
                "metadata": {"name": name},
                "spec": {
                    "displayName": name,
                    "owner": {"name": "T", "email": "t@x.cn"},
                    "region": "east",
                    "deletionPolicy": policy,
                },
            },
        )
    deadline = time.monotonic() + 60
    while not (tenant_ready(admin, "tmp-delete") and tenant_ready(admin, "tmp-retain")):
        assert time.monotonic() < deadline, "temporary tenants not Ready"
        time.sleep(1)
    store = root_minio(platform_env)
    for name in ("tmp-delete", "tmp-retain"):
        store.put_object(f"tenant-{name}", "bronze/data.parquet", io.BytesIO(b"rows"), 4)
    tenants = dynamic_client(admin).resources.get(api_version="nidc.io/v1alpha1", kind="Tenant")
    for name in ("tmp-delete", "tmp-retain"):
        tenants.delete(name=name)
    deadline = time.monotonic() + 90
    while {n["metadata"]["name"] for n in list_objects(admin, "v1", "Namespace")} & {
        "tmp-delete",
        "tmp-retain",
    }:
        assert time.monotonic() < deadline, "tenant namespaces were not deleted"
        time.sleep(1)
    assert not store.bucket_exists("tenant-tmp-delete")
    assert store.bucket_exists("tenant-tmp-retain")
    assert store.get_object("tenant-tmp-retain", "bronze/data.parquet").read() == b"rows"
