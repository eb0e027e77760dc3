"""Must-show 5 of issue 13: the operator the national stack deploys, run on the local platform.

The national stack (Pulumi.national.yaml, through stacks.config.read_settings and the
ControlPlane's builders, the code `pulumi up` runs) renders the operator Deployment. The test
takes that container's environment and what it mounts (credentials Secret with the platform CA,
the spark-pools ConfigMap), writes the mounted files under a temporary root as the kubelet would
(so each path the environment names is re-rooted there), and starts the Deployment's command
(`python -m operators ...`) with that environment plus only KUBECONFIG: the operator's own service
account token, its identity on a cluster.

1. Cluster addresses mapped: the three variables that name in-cluster Services
   (*.svc.cluster.local: OpenBao, S3, the OTLP collector) point at the local platform's servers
   instead, as `kubectl port-forward` would; every other variable is byte-for-byte the
   Deployment's. A tenant, a continuous OPC UA DataSource and a DataProduct are applied; a driver
   Job (built with the national image and the national cpu pool read from the mounted pools
   file) and a collector Deployment appear, their pods are admitted, and the same manifests
   (under a fresh name, so as new objects) pass a `dryRun=All` server-side apply as the
   operator's identity. The driver Job mounts the lineage writers' Secret the stack's Tenants
   component renders for the tenant (applied here as the stack would), and its job spec names
   the mounted certificate and the catalog's receiver (issue 15). The Deployment's
   NIDC_LINEAGE_URL and NIDC_SHARING_ENDPOINT also name in-cluster Services; the operator only
   passes them on (to jobs and profiles), so they stay as the Deployment has them.
2. Exactly the Deployment's environment (no address changed): a second continuous device source
   still gets its collector Deployment, since that path needs only the API server.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
import yaml

from nidc.api.spark_pool import POOLS_FILE, pools_from_dict
from nidc.kube import ApiClient, api_client, apply, delete, get, list_objects
from nidc.local.identities import LINEAGE_WRITER
from nidc.local.operator_access import prepare as prepare_operator_access
from nidc.local.pki import CertificateAuthority
from nidc.local.platform import LocalPlatform
from nidc.local.ports import free_port
from nidc.local.state import PlatformState
from stacks.components.control_plane import build_control_plane
from stacks.components.tenants import LINEAGE_SECRET, build_tenant
from stacks.config import read_settings, read_stack_file
from tests.cluster import tenant_ready

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
STACK = REPO / "Pulumi.national.yaml"
EXAMPLES = REPO / "examples" / "demo-factory"
TENANT = "national-analytics"
# The variables that name in-cluster Services, and the platform server each stands for.
CLUSTER_ADDRESSES = {
    "NIDC_OPENBAO_URL": ("openbao", "url"),
    "NIDC_S3_ENDPOINT": ("minio", "url"),
    "OTEL_EXPORTER_OTLP_ENDPOINT": ("jaeger", "otlp_grpc"),
}
# Fields the API server fills in; a manifest re-applied from a live object leaves them out.
SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
)
# The Job controller's own selector and labels (it refuses a selector it did not generate).
JOB_CONTROLLER_LABELS = (
    "controller-uid",
    "batch.kubernetes.io/controller-uid",
    "job-name",
    "batch.kubernetes.io/job-name",
)


def wait_for(what: str, check: Callable[[], Any], timeout: float, log: Path) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; operator log {log}")
        time.sleep(0.5)
    return found


def example(kind: str, name: str) -> dict[str, Any]:
    for path in sorted(EXAMPLES.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] == kind and doc["metadata"]["name"] == name:
                return copy.deepcopy(doc)
    raise KeyError((kind, name))


def render_national(
    platform_env: dict[str, Any],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The national stack's control plane and the objects of its tenant TENANT, with this
    platform's CA and logins as the stack's per-stack secrets (the stack file holds none)."""
    servers = platform_env["servers"]
    values = read_stack_file(STACK)
    values["tlsCaCertificate"] = Path(platform_env["ca_file"]).read_text()
    values["tlsCertificate"] = "not used by the control plane"
    # The lineage writers' certificate, as nidc.local.pulumi_workspace.local_stack gives it.
    writer = CertificateAuthority(PlatformState(Path(platform_env["state_dir"])).pki).issue(
        f"client-{LINEAGE_WRITER.name}", LINEAGE_WRITER.user, LINEAGE_WRITER.groups, client=True
    )
    values["lineageWriterCertificate"] = writer.cert.read_text()
    secrets = {
        "objectStoreRootPassword": Path(servers["minio"]["secret_key_file"]).read_text().strip(),
        "openbaoOperatorToken": Path(servers["openbao"]["root_token_file"]).read_text().strip(),
        "secretSeed": "not used by the control plane",
        "tlsPrivateKey": "not used by the control plane",
        "lineageWriterPrivateKey": writer.key.read_text(),
    }
    settings = read_settings(values, secrets)
    assert settings.control_plane is not None and settings.control_plane.operator is not None
    (tenant,) = [t for t in settings.tenants if t.name == TENANT]
    return build_control_plane(settings.control_plane), build_tenant(
        tenant, settings.lineage_writer
    )


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def operator_container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    deployment = find(objects, "Deployment", "nidc-operator")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return dict(container)


def mount_as_kubelet(objects: list[dict[str, Any]], root: Path) -> dict[str, str]:
    """Write the pod's ConfigMap and Secret volumes under root; the container's environment with
    every path inside a mount re-rooted there (nothing else changed)."""
    pod = find(objects, "Deployment", "nidc-operator")["spec"]["template"]["spec"]
    container = operator_container(objects)
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounted = []
    for mount in container["volumeMounts"]:
        volume = volumes[mount["name"]]
        if "configMap" in volume:
            data = find(objects, "ConfigMap", volume["configMap"]["name"])["data"]
        elif "secret" in volume:
            data = find(objects, "Secret", volume["secret"]["secretName"])["stringData"]
        else:
            continue  # an emptyDir: nothing to write
        folder = root / mount["mountPath"].lstrip("/")
        folder.mkdir(parents=True, exist_ok=True)
        for key, text in data.items():
            (folder / key).write_text(text)
        mounted.append(mount["mountPath"])
    env = {}
    for item in container["env"]:
        value = item["value"]
        if any(value.startswith(path + "/") for path in mounted):
            value = str(root / value.lstrip("/"))
        env[item["name"]] = value
    return env


class DeployedOperator:
    """The Deployment's command and arguments with a given environment, only."""

    def __init__(self, container: dict[str, Any], env: dict[str, str], log: Path) -> None:
        command = list(container["command"])
        assert command[:3] == ["python", "-m", "operators"], command
        # The pod's liveness port is 8080 on its own network; here a free port on loopback.
        liveness = command.index("--liveness") + 1
        command[liveness] = f"http://127.0.0.1:{free_port()}/healthz"
        self.argv = [sys.executable, *command[1:]]
        self.env = env
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> DeployedOperator:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO
            )
        wait_for(
            "the operator to start",
            lambda: "operator running" in self.log.read_text() or self.proc.poll() is not None,  # type: ignore[union-attr]
            60,
            self.log,
        )
        assert self.proc.poll() is None, self.log.read_text()[-3000:]
        return self

    def __exit__(self, *_: object) -> None:
        assert self.proc is not None
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)


def dry_run_again(api: ApiClient, live: dict[str, Any]) -> None:
    """Server-side apply, dryRun=All, of the manifest the operator applied (the live object less
    what the server filled in) under a fresh name, so the server validates and admits it as a
    new object (an update of the live one would be a no-op); nothing is stored."""
    manifest = copy.deepcopy(live)
    manifest.pop("status", None)
    for key in SERVER_METADATA:
        manifest["metadata"].pop(key, None)
    manifest["metadata"].get("annotations", {}).pop("deployment.kubernetes.io/revision", None)
    if manifest["kind"] == "Job":
        manifest["spec"].pop("selector", None)
        labels = manifest["spec"]["template"]["metadata"]["labels"]
        for key in JOB_CONTROLLER_LABELS:
            labels.pop(key, None)
    name = f"{live['metadata']['name']}-dry"
    manifest["metadata"]["name"] = name
    stored = apply(api, manifest, field_manager="nidc-operator", dry_run=True)
    assert stored["metadata"]["name"] == name and stored["metadata"]["uid"]
    namespace = live["metadata"]["namespace"]
    assert get(api, live["apiVersion"], live["kind"], name, namespace) is None


def write_delta_table(platform_env: dict[str, Any], bucket: str, prefix: str, tmp: Path) -> None:
    """A real Delta table (delta-rs) copied to the tenant bucket with the platform's root login:
    the product's input must hold data before the operator plans a run."""
    import pyarrow as pa
    from deltalake import write_deltalake
    from minio import Minio

    folder = tmp / "table"
    write_deltalake(
        str(folder),
        pa.table(
            {
                "point": ["spindle_temperature", "spindle_speed"],
                "ts": pa.array([1_764_000_000_000_000, 1_764_000_001_000_000], pa.timestamp("us")),
                "value": [61.5, 12000.0],
            }
        ),
    )
    s3 = platform_env["servers"]["minio"]
    client = Minio(
        s3["url"].split("://", 1)[1],
        access_key=s3["access_key"],
        secret_key=Path(s3["secret_key_file"]).read_text().strip(),
        secure=True,
        region=s3["region"],
        http_client=urllib3.PoolManager(
            cert_reqs="CERT_REQUIRED", ca_certs=platform_env["ca_file"]
        ),
    )
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        client.fput_object(bucket, f"{prefix}{path.relative_to(folder)}", str(path))


@pytest.fixture(scope="module")
def admin(platform_env: dict[str, Any]) -> Iterator[ApiClient]:
    with api_client(Path(platform_env["kubeconfig"]), context="platform-admin") as api:
        yield api


@pytest.fixture(scope="module")
def operator_kubeconfig(platform: LocalPlatform, platform_env: dict[str, Any]) -> Path:
    """CRDs and the operator's identity installed; its service account's token kubeconfig."""
    return Path(prepare_operator_access(platform_env)["KUBECONFIG"])


def test_the_national_operator_makes_a_driver_job_and_a_collector(
    platform_env: dict[str, Any],
    admin: ApiClient,
    operator_kubeconfig: Path,
    tmp_path: Path,
) -> None:
    objects, tenant_objects = render_national(platform_env)
    container = operator_container(objects)
    # What the stack renders for the operator is accepted by the API server as it stands.
    for kind, name in (
        ("Secret", "nidc-operator-credentials"),
        ("ConfigMap", "spark-pools"),
        ("Deployment", "nidc-operator"),
    ):
        apply(admin, find(objects, kind, name), field_manager="pulumi", dry_run=True)

    deployed_env = mount_as_kubelet(objects, tmp_path / "pod")
    assert deployed_env["NIDC_RUNNER"] == "kubernetes"
    assert deployed_env["NIDC_COLLECTOR_MODE"] == "kubernetes"
    pools_file = Path(deployed_env["NIDC_SPARK_POOLS_FILE"])
    national_pools = pools_from_dict(read_stack_file(STACK)["sparkPools"])
    assert pools_file.name == POOLS_FILE and pools_file.is_file()

    servers = platform_env["servers"]
    mapped = {
        **deployed_env,
        **{name: servers[server][key] for name, (server, key) in CLUSTER_ADDRESSES.items()},
    }
    for name in CLUSTER_ADDRESSES:
        assert ".svc.cluster.local:" in deployed_env[name], deployed_env[name]
    env = {**mapped, "KUBECONFIG": str(operator_kubeconfig)}
    assert set(env) == {*deployed_env, "KUBECONFIG"}
    assert {k: v for k, v in env.items() if k not in {*CLUSTER_ADDRESSES, "KUBECONFIG"}} == {
        k: v for k, v in deployed_env.items() if k not in CLUSTER_ADDRESSES
    }

    log = tmp_path / "operator.log"
    tenant = next(t for t in read_stack_file(STACK)["tenants"] if t["name"] == TENANT)
    source = example("DataSource", "cnc-spindles")
    source["metadata"]["namespace"] = TENANT
    source["spec"].pop("credentials")  # no device login stored in this platform's OpenBao
    product = example("DataProduct", "spindle-health")
    product["metadata"]["namespace"] = TENANT
    with api_client(operator_kubeconfig) as operator_api, DeployedOperator(container, env, log):
        apply(
            admin,
            {
                "apiVersion": "nidc.io/v1alpha1",
                "kind": "Tenant",
                "metadata": {"name": TENANT},
                "spec": tenant["spec"],
            },
        )
        wait_for(f"Tenant {TENANT} Ready", lambda: tenant_ready(admin, TENANT), 120, log)
        # What the stack's Tenants component puts in the namespace beside the Tenant.
        apply(admin, find(tenant_objects, "Secret", LINEAGE_SECRET))
        bucket = f"tenant-{TENANT}"
        write_delta_table(platform_env, bucket, "bronze/cnc_spindles/", tmp_path)
        apply(admin, source)
        apply(admin, product)
        check_collector(admin, operator_api, TENANT, "cnc-spindles", log)
        check_driver_job(admin, operator_api, national_pools["cpu"].executor_instances, log)
        tracebacks = [line for line in log.read_text().splitlines() if "Traceback" in line]
        assert not tracebacks, f"{len(tracebacks)} tracebacks in {log}"

    # 2. Exactly the Deployment's environment: no address reachable from here but the API
    # server's (through KUBECONFIG); a collector needs nothing else.
    strict = {**deployed_env, "KUBECONFIG": str(operator_kubeconfig)}
    gateway = example("DataSource", "line-gateway")
    gateway["metadata"]["namespace"] = TENANT
    gateway["spec"].pop("credentials")
    with (
        api_client(operator_kubeconfig) as operator_api,
        DeployedOperator(container, strict, tmp_path / "operator-strict.log"),
    ):
        apply(admin, gateway)
        check_collector(
            admin, operator_api, TENANT, "line-gateway", tmp_path / "operator-strict.log"
        )
    for kind, name in (("DataProduct", "spindle-health"), ("DataSource", "cnc-spindles")):
        delete(admin, "nidc.io/v1alpha1", kind, name, TENANT)
    delete(admin, "nidc.io/v1alpha1", "DataSource", "line-gateway", TENANT)


def check_collector(
    admin: ApiClient, operator_api: ApiClient, namespace: str, source_name: str, log: Path
) -> None:
    """The source's collector Deployment (national collector image), its pod admitted, and the
    same manifests accepted by a server-side dry-run as the operator's identity."""
    source = get(admin, "nidc.io/v1alpha1", "DataSource", source_name, namespace)
    assert source is not None
    uid = source["metadata"]["uid"]

    def deployment() -> dict[str, Any] | None:
        for found in list_objects(admin, "apps/v1", "Deployment", namespace):
            owners = found["metadata"].get("ownerReferences") or []
            if any(o["uid"] == uid for o in owners):
                return found
        return None

    live = wait_for(f"the collector Deployment of {source_name}", deployment, 60, log)
    name = live["metadata"]["name"]
    (collector,) = live["spec"]["template"]["spec"]["containers"]
    assert collector["image"] == "registry.nidc.example.cn/mirror/nidc/nidc-collector:0.1.0"
    wait_for(
        f"the collector pod of {source_name}",
        lambda: list_objects(
            admin, "v1", "Pod", namespace, label_selector=f"app.kubernetes.io/instance={name}"
        ),
        60,
        log,
    )
    config_map = get(admin, "v1", "ConfigMap", name, namespace)
    assert config_map is not None
    for manifest in (config_map, live):
        dry_run_again(operator_api, manifest)


def check_driver_job(admin: ApiClient, operator_api: ApiClient, executors: int, log: Path) -> None:
    """The product's run has a driver Job built from the national image and pools, its pod is
    admitted, and the same manifests pass a server-side dry-run as the operator's identity."""
    job = wait_for(
        "the driver Job of spindle-health",
        lambda: next(
            iter(
                list_objects(
                    admin,
                    "batch/v1",
                    "Job",
                    TENANT,
                    label_selector="app.kubernetes.io/component=spark-driver",
                )
            ),
            None,
        ),
        120,
        log,
    )
    (owner,) = job["metadata"]["ownerReferences"]
    run = get(admin, "nidc.io/v1alpha1", "PipelineRun", owner["name"], TENANT)
    assert run is not None and run["spec"]["parent"]["name"] == "spindle-health"
    (driver,) = job["spec"]["template"]["spec"]["containers"]
    assert driver["image"] == "registry.nidc.example.cn/mirror/nidc/nidc-spark:0.1.0"
    name = job["metadata"]["name"]
    config_map = get(admin, "v1", "ConfigMap", name, TENANT)
    assert config_map is not None
    # The national cpu pool (8 executors; the built-in default is 2), read from the mounted file.
    properties = config_map["data"]["spark.properties"].splitlines()
    assert f"spark.executor.instances={executors}" in properties, properties
    # Lineage as a local run posts it: the writers' certificate the stack put in the namespace,
    # mounted, named by the job spec, and the catalog API's receiver as the URL.
    pod_spec = job["spec"]["template"]["spec"]
    (volume,) = [v for v in pod_spec["volumes"] if v["name"] == "lineage"]
    assert volume["secret"]["secretName"] == LINEAGE_SECRET
    assert get(admin, "v1", "Secret", LINEAGE_SECRET, TENANT) is not None
    (mount,) = [m for m in driver["volumeMounts"] if m["name"] == "lineage"]
    env = {e["name"]: e.get("value") for e in driver["env"]}
    assert env["NIDC_LINEAGE_CLIENT_CERT"] == f"{mount['mountPath']}/tls.crt"
    assert env["NIDC_LINEAGE_URL"].startswith("https://catalog-api.nidc-catalog.svc")
    lineage = json.loads(config_map["data"]["spec.json"])["lineage"]
    assert lineage["clientCert"] == env["NIDC_LINEAGE_CLIENT_CERT"]
    assert lineage["clientKey"] == f"{mount['mountPath']}/tls.key"
    assert lineage["url"] == env["NIDC_LINEAGE_URL"]
    wait_for(
        "the driver pod",
        lambda: list_objects(admin, "v1", "Pod", TENANT, label_selector=f"job-name={name}"),
        60,
        log,
    )
    for manifest in (config_map, job):
        dry_run_again(operator_api, manifest)
