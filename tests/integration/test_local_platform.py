"""The embedded platform's servers, each used for real through the client our code uses."""

from __future__ import annotations

import io
import json
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import hvac
import pytest
import requests
import urllib3
from minio import Minio

from nidc.kube import api_client, apply, delete, get, list_objects
from nidc.local.tools.manifest import binary_path

pytestmark = pytest.mark.integration


def kubectl(env: dict[str, Any], *args: str, context: str = "platform-admin") -> str:
    """Run the kubectl we built against the platform, as one of the kubeconfig identities."""
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
        timeout=60,
    )
    return result.stdout.strip() + result.stderr.strip()


def wait_until(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="module")
def admin_api(platform_env: dict[str, Any]) -> Any:
    with api_client(Path(platform_env["kubeconfig"]), context="platform-admin") as api:
        yield api


def test_apiserver_readyz(platform_env: dict[str, Any]) -> None:
    assert kubectl(platform_env, "get", "--raw", "/readyz") == "ok"


def test_can_i_differs_by_identity(platform_env: dict[str, Any]) -> None:
    as_admin = kubectl(platform_env, "auth", "can-i", "create", "secrets", "-n", "default")
    as_analyst = kubectl(
        platform_env,
        "auth",
        "can-i",
        "create",
        "secrets",
        "-n",
        "default",
        context="steel-plant-analyst",
    )
    assert as_admin == "yes"
    assert as_analyst.startswith("no")
    whoami = kubectl(platform_env, "auth", "whoami", "-o", "json", context="steel-plant-analyst")
    groups = json.loads(whoami)["status"]["userInfo"]["groups"]
    assert "nidc:tenant:steel-plant:analysts" in groups


def test_both_kwok_nodes_ready_one_with_gpus(admin_api: Any) -> None:
    nodes = {n["metadata"]["name"]: n for n in list_objects(admin_api, "v1", "Node")}
    assert set(nodes) >= {"nidc-cpu-0", "nidc-gpu-0"}
    for name, node in nodes.items():
        ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
        assert ready and ready[0]["status"] == "True", name
    assert nodes["nidc-gpu-0"]["status"]["capacity"].get("nvidia.com/gpu") == "4"
    assert "nvidia.com/gpu" not in nodes["nidc-cpu-0"]["status"]["capacity"]


def test_deployment_available_and_gpu_pod_on_gpu_node(admin_api: Any) -> None:
    namespace = f"it-{uuid.uuid4().hex[:6]}"
    apply(admin_api, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    try:
        labels = {"app": "web"}
        apply(
            admin_api,
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "web", "namespace": namespace},
                "spec": {
                    "replicas": 2,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "containers": [
                                {
                                    "name": "web",
                                    "image": "registry.local/web:1",
                                    "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}},
                                }
                            ]
                        },
                    },
                },
            },
        )
        wait_until(
            lambda: (
                (get(admin_api, "apps/v1", "Deployment", "web", namespace) or {})
                .get("status", {})
                .get("availableReplicas")
                == 2
            ),
            60,
            "Deployment web to have 2 available replicas",
        )
        apply(
            admin_api,
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "trainer", "namespace": namespace},
                "spec": {
                    "tolerations": [
                        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
                    ],
                    "containers": [
                        {
                            "name": "trainer",
                            "image": "registry.local/trainer:1",
                            "resources": {"limits": {"nvidia.com/gpu": "1"}},
                        }
                    ],
                },
            },
        )
        pod = wait_until(
            lambda: (
                (p := get(admin_api, "v1", "Pod", "trainer", namespace))
                and p.get("status", {}).get("phase") == "Running"
                and p
            ),
            60,
            "the GPU pod to run",
        )
        assert pod["spec"]["nodeName"] == "nidc-gpu-0"
        # Web pods had no GPU toleration, so the taint kept them off the GPU node.
        web_pods = list_objects(admin_api, "v1", "Pod", namespace, label_selector="app=web")
        assert {p["spec"]["nodeName"] for p in web_pods} == {"nidc-cpu-0"}
    finally:
        delete(admin_api, "v1", "Namespace", namespace)


def test_namespace_deletion_completes(admin_api: Any) -> None:
    namespace = f"it-del-{uuid.uuid4().hex[:6]}"
    apply(admin_api, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    apply(
        admin_api,
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": namespace},
            "data": {"k": "v"},
        },
    )
    delete(admin_api, "v1", "Namespace", namespace)
    wait_until(
        lambda: get(admin_api, "v1", "Namespace", namespace) is None,
        60,
        f"namespace {namespace} to be deleted",
    )


def test_minio_put_and_get_over_tls(platform_env: dict[str, Any]) -> None:
    s3 = platform_env["servers"]["minio"]
    assert s3["url"].startswith("https://")
    http = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=platform_env["ca_file"])
    store = Minio(
        s3["url"].removeprefix("https://"),
        access_key=s3["access_key"],
        secret_key=Path(s3["secret_key_file"]).read_text().strip(),
        secure=True,
        region=s3["region"],
        http_client=http,
    )
    bucket = f"it-{uuid.uuid4().hex[:8]}"
    store.make_bucket(bucket)
    payload = b"spindle-temperature,42.5\n"
    store.put_object(bucket, "landing/a.csv", io.BytesIO(payload), len(payload))
    assert store.get_object(bucket, "landing/a.csv").read() == payload


def test_openbao_kv_write_and_read(platform_env: dict[str, Any]) -> None:
    bao = platform_env["servers"]["openbao"]
    vault = hvac.Client(
        url=bao["url"],
        token=Path(bao["root_token_file"]).read_text().strip(),
        verify=platform_env["ca_file"],
    )
    assert vault.is_authenticated()
    assert not vault.sys.read_seal_status()["sealed"]
    path = f"it/{uuid.uuid4().hex[:8]}"
    vault.secrets.kv.v2.create_or_update_secret(path=path, secret={"user": "mes-reader"})
    read = vault.secrets.kv.v2.read_secret_version(path=path, raise_on_deleted_version=True)
    assert read["data"]["data"] == {"user": "mes-reader"}


def test_otlp_span_found_through_query_api(platform_env: dict[str, Any]) -> None:
    import grpc
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    jaeger = platform_env["servers"]["jaeger"]
    credentials = grpc.ssl_channel_credentials(Path(platform_env["ca_file"]).read_bytes())
    exporter = OTLPSpanExporter(
        endpoint=jaeger["otlp_grpc"].removeprefix("https://"), credentials=credentials
    )
    service = f"nidc-it-{uuid.uuid4().hex[:6]}"
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("nidc.tests").start_as_current_span("probe") as span:
        trace_id = format(span.get_span_context().trace_id, "032x")
    provider.shutdown()

    def found() -> Any:
        response = requests.get(
            f"{jaeger['query_url']}/api/traces/{trace_id}",
            verify=platform_env["ca_file"],
            timeout=5,
        )
        return response.status_code == 200 and response.json()["data"]

    traces = wait_until(found, 30, f"trace {trace_id} in the query API")
    spans = traces[0]["spans"]
    assert [s["operationName"] for s in spans] == ["probe"]
