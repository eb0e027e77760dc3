"""The Kubernetes runner against the real local kube-apiserver, scheduler, controllers and kwok.

1. Server-side dry-run, as the operator's own service account, of everything a submit makes for
   both pools in a tenant namespace (quota, LimitRange, Pod Security and RBAC admission run),
   plus the driver pod and the executor template as pods; a GPU ask above the tenant's quota
   is refused by the server.
2. Executor pods made from the templates, as the driver's service account would make them, are
   scheduled by the real scheduler: the GPU one onto nidc-gpu-0, the CPU one onto nidc-cpu-0.
3. The operator, restarted with NIDC_RUNNER=kubernetes, drives a PipelineRun per pool to
   Succeeded: the Job controller makes the driver pod, kwok's pod-complete stage completes it,
   observe() reports it. The tenant's S3 secret appears in none of the objects made.
4. cancel() deletes a driver Job that cannot be scheduled; deleting the run collects its Jobs.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from nidc.api.spark_pool import GpuSettings, SparkPool, default_pools
from nidc.kube import ApiClient, ApiException, api_client, apply, delete, get, list_objects
from nidc.local.operator_access import build_token_kubeconfig
from nidc.local.platform import LocalPlatform
from operators.runs.gpu_quota import gpus_needed
from operators.runs.kubernetes_build import (
    KubernetesJobSettings,
    attempt_name,
    build_driver_identity,
    build_driver_pod,
    build_executor_pod_template,
)
from operators.runs.kubernetes_runner import KubernetesRunner
from operators.runs.runner import RunRef
from operators.runs.state_machine import Observed
from tests.operator_process import OperatorProcess

pytestmark = pytest.mark.integration

TENANT = "steel-plant"
SETTINGS = KubernetesJobSettings(
    image="registry.nidc.local/nidc/nidc-spark:0.1.0", pools=default_pools()
)
SPEC = {
    "job": "transform",
    "run": "probe",
    "storage": {"endpoint": "https://s3.nidc.local", "region": "us-east-1"},
    "jars": [],
}


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def pod_running(api: ApiClient, name: str) -> dict[str, Any] | None:
    """The pod when it runs, else None."""
    found = get(api, "v1", "Pod", name, TENANT)
    return found if found and found["status"].get("phase") == "Running" else None


def run_ended(api: ApiClient, name: str) -> dict[str, Any] | None:
    """The PipelineRun once it is Succeeded or Failed, else None."""
    found = get(api, "nidc.io/v1alpha1", "PipelineRun", name, TENANT)
    ended = found and (found.get("status") or {}).get("phase") in ("Succeeded", "Failed")
    return found if ended else None


@pytest.fixture(scope="module")
def operator_api(platform: LocalPlatform, tenants: Any) -> Iterator[ApiClient]:
    """The operator's own identity (token kubeconfig written when it started)."""
    kubeconfig = platform.state.root / "kubeconfigs" / "nidc-operator.yaml"
    with api_client(kubeconfig) as api:
        yield api


@pytest.fixture(scope="module")
def driver_api(
    platform_env: dict[str, Any], tenants: Any, operator_api: ApiClient, tmp_path_factory: Any
) -> Iterator[ApiClient]:
    """The driver's service account (nidc-spark) in the tenant namespace, as Spark uses it."""
    from nidc.kube import service_account_token

    for manifest in build_driver_identity(TENANT, SETTINGS):
        apply(operator_api, manifest, field_manager="nidc-operator")
    token = service_account_token(tenants, TENANT, SETTINGS.service_account, 600)
    path = Path(tmp_path_factory.mktemp("driver")) / "kubeconfig.yaml"
    server = platform_env["servers"]["kube-apiserver"]["url"]
    ca = Path(platform_env["ca_file"]).read_bytes()
    path.write_text(yaml.safe_dump(build_token_kubeconfig(server, ca, token)))
    with api_client(path) as api:
        yield api


def as_executor_pod(template: dict[str, Any], name: str) -> dict[str, Any]:
    """What Spark does with the template: a name, the image and its own container command."""
    pod: dict[str, Any] = json.loads(json.dumps(template))
    pod["metadata"] |= {"name": name, "namespace": TENANT}
    container = pod["spec"]["containers"][0]
    container |= {"image": SETTINGS.image, "args": ["executor"]}
    return pod


@pytest.mark.parametrize("pool", ["cpu", "gpu"])
def test_server_side_dry_run_of_everything_a_submit_makes(
    operator_api: ApiClient, driver_api: ApiClient, pool: str
) -> None:
    run = RunRef(
        TENANT, f"dry-run-{pool}-g1-0-0d0d0d0d", "00000000-0000-0000-0000-000000000001", pool
    )
    runner = KubernetesRunner(operator_api, SETTINGS)
    for manifest in runner.manifests(
        run, 1, SPEC, traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-01"
    ):
        stored = apply(operator_api, manifest, field_manager="nidc-operator", dry_run=True)
        assert stored["metadata"]["name"] == manifest["metadata"]["name"]
        if manifest["kind"] == "Job":
            template = stored["spec"]["template"]["spec"]
            assert template["containers"][0]["terminationMessagePolicy"] == "File"
            assert template["nodeSelector"] == {"nidc.io/pool": "cpu"}
    # Dry-run stored nothing.
    assert get(operator_api, "batch/v1", "Job", attempt_name(run, 1), TENANT) is None
    assert get(operator_api, "v1", "ConfigMap", attempt_name(run, 1), TENANT) is None

    # The pods themselves, through pod admission (quota, LimitRange, Pod Security, SA).
    driver = build_driver_pod(run, 1, SETTINGS.pools[pool], SETTINGS)
    driver["metadata"]["name"] += "-x7k2p"  # the Job controller's suffix
    stored = apply(operator_api, driver, field_manager="nidc-operator", dry_run=True)
    assert stored["spec"]["serviceAccountName"] == "nidc-spark"
    template = build_executor_pod_template(run, 1, SETTINGS.pools[pool], SETTINGS)
    executor = as_executor_pod(template, f"{run.name}-exec-1")
    stored = apply(driver_api, executor, field_manager="spark", dry_run=True)
    limits = stored["spec"]["containers"][0].get("resources", {}).get("limits", {})
    assert ("nvidia.com/gpu" in limits) is (pool == "gpu")


def test_the_server_refuses_more_gpus_than_the_tenant_quota(driver_api: ApiClient) -> None:
    greedy = SparkPool(
        name="gpu",
        node_selector={"nidc.io/pool": "gpu"},
        tolerations=default_pools()["gpu"].tolerations,
        gpu=GpuSettings(amount_per_executor=3),  # steel-plant's quota: 2 GPUs
    )
    run = RunRef(TENANT, "greedy-g1-0-0e0e0e0e", "00000000-0000-0000-0000-000000000002", "gpu")
    executor = as_executor_pod(
        build_executor_pod_template(run, 1, greedy, SETTINGS), "greedy-exec-1"
    )
    with pytest.raises(ApiException) as refused:
        apply(driver_api, executor, field_manager="spark", dry_run=True)
    assert refused.value.status == 403
    assert "nvidia.com/gpu" in str(refused.value.body)


def test_executor_pods_land_on_their_pool_nodes(driver_api: ApiClient) -> None:
    placed = {}
    for pool in ("cpu", "gpu"):
        run = RunRef(TENANT, f"placement-{pool}-g1-0-0f0f0f0f", "uid", pool)
        template = build_executor_pod_template(run, 1, SETTINGS.pools[pool], SETTINGS)
        name = f"placement-{pool}-exec-1"
        apply(driver_api, as_executor_pod(template, name), field_manager="spark")
        try:
            live = wait_for(
                f"{name} scheduled and running",
                functools.partial(pod_running, driver_api, name),
                timeout=30,
            )
            placed[pool] = live["spec"]["nodeName"]
        finally:
            delete(driver_api, "v1", "Pod", name, TENANT)
    assert placed == {"cpu": "nidc-cpu-0", "gpu": "nidc-gpu-0"}


def tenant_s3_secret(platform_env: dict[str, Any]) -> str:
    import hvac

    bao = platform_env["servers"]["openbao"]
    vault = hvac.Client(
        url=bao["url"],
        token=Path(bao["root_token_file"]).read_text().strip(),
        verify=platform_env["ca_file"],
    )
    data = vault.secrets.kv.v2.read_secret_version(
        path=f"tenants/{TENANT}/s3", raise_on_deleted_version=True
    )["data"]["data"]
    return str(data["secretKey"])


def pipeline_run(name: str, pool: str) -> dict[str, Any]:
    return {
        "apiVersion": "nidc.io/v1alpha1",
        "kind": "PipelineRun",
        "metadata": {"name": name, "namespace": TENANT},
        "spec": {
            "parent": {
                "kind": "DataProduct",
                "name": "k8s-probe",
                "uid": f"probe-{name}",
                "generation": 1,
            },
            "sequence": 0,
            "jobType": "transform",
            "pool": pool,
            "maxAttempts": 1,
            "timeoutSeconds": 120,
            # A TransformJob (nidc/api/job_specs.py): the runner parses what it submits.
            "job": {
                "job": "transform",
                "tenant": "steel-plant",
                "inputs": [],
                "sql": "SELECT 1",
                "target": "s3a://tenant-steel-plant/probe",
                "txnAppId": f"probe-{name}",
                "txnVersion": 0,
            },
        },
    }


@pytest.fixture
def kubernetes_operator(operator: OperatorProcess) -> Iterator[OperatorProcess]:
    """The session's operator restarted with the Kubernetes runner, restored afterwards."""
    operator.stop()
    operator.start({"NIDC_RUNNER": "kubernetes"})
    try:
        yield operator
    finally:
        operator.stop()
        operator.start()


def test_operator_drives_runs_to_succeeded_on_kubernetes(
    kubernetes_operator: OperatorProcess,
    tenants: ApiClient,
    operator_api: ApiClient,
    platform_env: dict[str, Any],
) -> None:
    started = time.monotonic()
    names = {pool: f"k8s-probe-{pool}-g1-0-{int(started) % 10**8:08d}" for pool in ("cpu", "gpu")}
    for pool, name in names.items():
        apply(tenants, pipeline_run(name, pool))
    secret = tenant_s3_secret(platform_env)
    try:
        for pool, name in names.items():
            run = wait_for(
                f"PipelineRun {name} Succeeded",
                functools.partial(run_ended, tenants, name),
                # Generous: kwok, the Job controller and the sweep share 2 cores with the suite.
                timeout=180,
            )
            assert run["status"]["phase"] == "Succeeded", run["status"]
            job_name = f"{name}-a1"
            assert run["status"]["logLocation"] == f"k8s://{TENANT}/jobs/{job_name}"
            job = get(tenants, "batch/v1", "Job", job_name, TENANT)
            assert job is not None
            (owner,) = job["metadata"]["ownerReferences"]
            assert (owner["kind"], owner["uid"]) == ("PipelineRun", run["metadata"]["uid"])
            (driver,) = list_objects(
                tenants, "v1", "Pod", TENANT, label_selector=f"nidc.io/run={name}"
            )
            assert driver["status"]["phase"] == "Succeeded"
            assert driver["spec"]["nodeName"] == "nidc-cpu-0"  # drivers stay on CPU nodes
            config_map = get(tenants, "v1", "ConfigMap", job_name, TENANT)
            assert config_map is not None
            assert ("getGpusResources.sh" in config_map["data"]) is (pool == "gpu")
            # Credentials were handed to submit(); none reached any object.
            for obj in (run, job, driver, config_map):
                assert secret not in json.dumps(obj), obj["kind"]
        elapsed = time.monotonic() - started
        print(f"two PipelineRuns Succeeded on kubernetes in {elapsed:.1f}s")
        cancel_a_waiting_attempt(operator_api, names["cpu"], secret)
    finally:
        for name in names.values():
            delete(tenants, "nidc.io/v1alpha1", "PipelineRun", name, TENANT)
    # Garbage collection follows the owner reference: the run's Jobs go with it.
    wait_for(
        "the runs' Jobs collected",
        lambda: (
            not [
                j
                for j in list_objects(tenants, "batch/v1", "Job", TENANT)
                if j["metadata"]["labels"].get("nidc.io/run") in names.values()
            ]
        ),
        timeout=30,
    )


def test_a_gpu_run_over_the_tenant_gpu_quota_waits(
    kubernetes_operator: OperatorProcess, tenants: ApiClient
) -> None:
    """steel-plant's quota is 2 GPUs (examples/demo-factory/00-tenants.yaml); runs applied
    together that need more than that: the ones over the quota wait, say why (event and status)
    and are submitted only after a holder ended."""
    tenant = get(tenants, "nidc.io/v1alpha1", "Tenant", TENANT)
    assert tenant is not None
    quota = int(tenant["spec"]["quotas"]["gpus"])
    need = gpus_needed(default_pools()["gpu"])  # the operator's pools on the local platform
    assert quota >= need > 0
    stamp = int(time.monotonic()) % 10**8
    names = [f"gpu-quota-{i}-g1-0-{stamp:08d}" for i in range(quota // need + 1)]
    for name in names:
        apply(tenants, pipeline_run(name, "gpu"))
    try:
        ended = {
            n: wait_for(f"PipelineRun {n} ended", functools.partial(run_ended, tenants, n), 180)
            for n in names
        }
        assert {r["status"]["phase"] for r in ended.values()} == {"Succeeded"}, ended
        waited = [
            e
            for e in list_objects(tenants, "v1", "Event", namespace=TENANT)
            if e["involvedObject"]["name"] in names and e["reason"] == "WaitingForGpuQuota"
        ]
        waiters = {e["involvedObject"]["name"] for e in waited}
        assert waiters and len(waiters) < len(names), waited
        assert all("GPUs" in e["message"] and "held by" in e["message"] for e in waited), waited
        for name in waiters:
            started = ended[name]["status"]["startedAt"]
            holders_ended = [
                r["status"]["finishedAt"] for n, r in ended.items() if n not in waiters
            ]
            # Submitted only once a holder had ended; the wait is no longer its reason.
            assert started >= min(holders_ended), (started, holders_ended)
            assert not (ended[name]["status"].get("reason") or "").startswith("WaitingFor")
    finally:
        for name in names:
            delete(tenants, "nidc.io/v1alpha1", "PipelineRun", name, TENANT)


def cancel_a_waiting_attempt(operator_api: ApiClient, name: str, secret: str) -> None:
    """cancel() on a second attempt whose driver cannot be scheduled (no node matches).

    The owner is the finished run above: a real PipelineRun (a missing owner would have the
    Job collected anyway) that no operator drives any more.
    """
    owner = get(operator_api, "nidc.io/v1alpha1", "PipelineRun", name, TENANT)
    assert owner is not None
    stuck = SparkPool(
        name="stuck",
        node_selector={"nidc.io/pool": "cpu"},
        driver_node_selector={"nidc.io/pool": "none"},
    )
    runner = KubernetesRunner(
        operator_api, KubernetesJobSettings(image=SETTINGS.image, pools={"stuck": stuck})
    )
    run = RunRef(TENANT, name, owner["metadata"]["uid"], "stuck")
    attempt = attempt_name(run, 2)
    runner.submit(run, 2, SPEC, {"TRACEPARENT": "", "AWS_SECRET_ACCESS_KEY": secret})
    # Submitting again (another trace context) adopts the Job instead of changing it.
    runner.submit(run, 2, SPEC, {"TRACEPARENT": "00-" + "3" * 32 + "-" + "4" * 16 + "-01"})
    assert runner.observe(run).state is Observed.RUNNING  # accepted; its pod is Pending
    job = get(operator_api, "batch/v1", "Job", attempt, TENANT)
    assert job is not None and secret not in json.dumps(job)
    runner.cancel(run)
    wait_for(
        "attempt 2's Job deleted",
        lambda: get(operator_api, "batch/v1", "Job", attempt, TENANT) is None,
        30,
    )
    wait_for(
        "attempt 2's driver pod deleted",
        lambda: (
            not list_objects(
                operator_api,
                "v1",
                "Pod",
                TENANT,
                label_selector=f"nidc.io/run={name},nidc.io/attempt=2",
            )
        ),
        30,
    )
    # The finished first attempt is untouched and is what observe() sees again.
    assert runner.observe(run).state is Observed.SUCCEEDED
