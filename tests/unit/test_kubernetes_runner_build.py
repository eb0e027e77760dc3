"""The Kubernetes runner's pure parts: names, pools, pod/Job/ConfigMap builders, observation."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from nidc.api.spark_pool import (
    GpuSettings,
    PoolError,
    SparkPool,
    default_pools,
    load_pools,
    pools_document,
    pools_from_dict,
)
from nidc.kube import ApiClient
from operators.clients.context import make_runner
from operators.clients.settings import OperatorSettings
from operators.runs.kubernetes_build import (
    DRIVER_CONTAINER,
    EXECUTOR_PREFIX_MAX,
    EXECUTOR_TEMPLATE_FILE,
    GPU_SCRIPT_FILE,
    JOB_DIR,
    RUN_DIR,
    SPARK_PROPERTIES_FILE,
    SPEC_FILE,
    TERMINATION_LOG,
    CredentialsMode,
    KubernetesJobSettings,
    attempt_name,
    build_driver_pod,
    build_driver_script,
    build_executor_pod_template,
    build_gpu_discovery_script,
    build_job_config_map,
    build_spark_conf_for_kubernetes,
    executor_prefix,
    render_properties,
)
from operators.runs.kubernetes_runner import KubernetesRunner, read_observation
from operators.runs.local_runner import LocalRunner
from operators.runs.runner import RunRef
from operators.runs.state_machine import Observed

pytestmark = pytest.mark.unit

RUN = RunRef(namespace="steel-plant", name="line-kpis-g1-0-1a2b3c4d", uid="uid-1", pool="cpu")
GPU_RUN = RunRef(namespace="steel-plant", name="line-kpis-g1-0-1a2b3c4d", uid="uid-1", pool="gpu")
SETTINGS = KubernetesJobSettings(
    image="registry.example/nidc/nidc-spark:1.0", pools=default_pools()
)
SPEC = {
    "job": "transform",
    "run": RUN.name,
    "storage": {
        "endpoint": "https://s3.example",
        "region": "us-east-1",
        "truststore": "/home/op/pki/truststore.p12",
        "truststorePassword": "changeit",
    },
    "jars": ["/home/op/.cache/delta.jar"],
}


def gpu_pool() -> SparkPool:
    return default_pools()["gpu"]


def all_manifests(run: RunRef, settings: KubernetesJobSettings) -> list[dict[str, Any]]:
    runner = KubernetesRunner(ApiClient(), settings)
    return runner.manifests(run, 1, SPEC, traceparent="00-abc-def-01")


# --- names -----------------------------------------------------------------------------------


def test_attempt_names_are_deterministic_and_distinct() -> None:
    assert attempt_name(RUN, 1) == attempt_name(RUN, 1) == f"{RUN.name}-a1"
    assert attempt_name(RUN, 1) != attempt_name(RUN, 2)


def test_long_run_names_stay_within_limits_and_apart() -> None:
    a = RunRef("ns", "p" * 50 + "-g1-0-aaaaaaaa", "u")
    b = RunRef("ns", "p" * 50 + "-g1-0-bbbbbbbb", "u")
    assert len(attempt_name(a, 10)) <= 63
    assert attempt_name(a, 10) != attempt_name(b, 10)
    assert len(executor_prefix(a, 10)) <= EXECUTOR_PREFIX_MAX
    assert executor_prefix(a, 10) != executor_prefix(b, 10)


def test_attempt_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="attempt"):
        attempt_name(RUN, 0)


# --- pools -----------------------------------------------------------------------------------


def test_default_pools_match_the_kwok_nodes() -> None:
    pools = default_pools()
    assert pools["cpu"].node_selector == {"nidc.io/pool": "cpu"}
    assert pools["gpu"].node_selector == {"nidc.io/pool": "gpu"}
    toleration = pools["gpu"].tolerations[0].to_kubernetes()
    # nidc/local/servers/kwok.py taints the GPU node nvidia.com/gpu=present:NoSchedule.
    assert toleration == {
        "key": "nvidia.com/gpu",
        "operator": "Equal",
        "value": "present",
        "effect": "NoSchedule",
    }
    assert pools["gpu"].gpu is not None and not pools["gpu"].gpu.rapids


def test_pools_round_trip_through_plain_data(tmp_path: Path) -> None:
    path = tmp_path / "pools.json"
    path.write_text(pools_document(default_pools().values()))  # what the stack publishes
    assert load_pools(path) == default_pools()
    assert load_pools(None) == default_pools()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"executor_instances": 0}, "pools.gpu.executor_instances"),
        ({"gpu": {"amount_per_task": 2}}, "pools.gpu.gpu.amount_per_task"),
        ({"gpu": {"discovery_script": "relative.sh"}}, "pools.gpu.gpu.discovery_script"),
        ({"gpu": {"rapids": "yes"}}, "pools.gpu.gpu.rapids"),
        ({"node_selector": {"nidc.io/pool": "not valid!"}}, "pools.gpu.node_selector"),
        ({"tolerations": [{"value": "x"}]}, "pools.gpu.tolerations[0].key"),
    ],
)
def test_bad_pools_name_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(PoolError, match=field.replace("[", r"\[").replace("]", r"\]")):
        pools_from_dict({"pools": {"gpu": body}})


def test_unknown_pool_of_a_run_names_spec_pool() -> None:
    with pytest.raises(ValueError, match=r"spec.pool 'tpu' is not a published Spark pool"):
        SETTINGS.pool(RunRef("steel-plant", "r", "u", pool="tpu"))


# --- Spark configuration ---------------------------------------------------------------------


def test_cpu_conf_is_client_mode_on_the_cluster_without_gpus() -> None:
    conf = build_spark_conf_for_kubernetes(RUN, 1, default_pools()["cpu"], SETTINGS)
    assert conf["spark.master"] == "k8s://https://kubernetes.default.svc"
    assert conf["spark.submit.deployMode"] == "client"
    assert conf["spark.kubernetes.namespace"] == "steel-plant"
    assert conf["spark.kubernetes.container.image"] == SETTINGS.image
    assert (
        conf["spark.kubernetes.executor.podTemplateFile"] == f"{JOB_DIR}/{EXECUTOR_TEMPLATE_FILE}"
    )
    assert not [key for key in conf if "resource.gpu" in key or key == "spark.plugins"]


def test_gpu_conf_schedules_gpus_with_the_discovery_script() -> None:
    conf = build_spark_conf_for_kubernetes(GPU_RUN, 1, gpu_pool(), SETTINGS)
    assert conf["spark.executor.resource.gpu.amount"] == "1"
    assert conf["spark.task.resource.gpu.amount"] == "0.25"
    assert conf["spark.executor.resource.gpu.vendor"] == "nvidia.com"
    assert (
        conf["spark.executor.resource.gpu.discoveryScript"] == "/etc/nidc/gpu/getGpusResources.sh"
    )
    assert "spark.plugins" not in conf  # RAPIDS is off by default


def test_rapids_is_opt_in() -> None:
    pool = SparkPool(
        name="gpu", node_selector={"nidc.io/pool": "gpu"}, gpu=GpuSettings(rapids=True)
    )
    conf = build_spark_conf_for_kubernetes(GPU_RUN, 1, pool, SETTINGS)
    assert conf["spark.plugins"] == "com.nvidia.spark.SQLPlugin"
    assert conf["spark.rapids.sql.concurrentGpuTasks"] == "4"


def test_properties_file_refuses_values_that_would_break_it() -> None:
    assert render_properties({"b": "2", "a": "x=y"}) == "a=x=y\nb=2\n"
    with pytest.raises(ValueError, match="spark conf 'a'"):
        render_properties({"a": "one\nspark.evil=1"})


# --- executor template -----------------------------------------------------------------------


def test_gpu_executor_template_lands_on_gpu_nodes_with_gpu_limits() -> None:
    template = build_executor_pod_template(GPU_RUN, 1, gpu_pool(), SETTINGS)
    spec = template["spec"]
    assert spec["nodeSelector"] == {"nidc.io/pool": "gpu"}
    assert spec["tolerations"][0]["key"] == "nvidia.com/gpu"
    container = spec["containers"][0]
    assert container["resources"]["limits"] == {"nvidia.com/gpu": "1"}
    # The discovery script is mounted where spark.executor.resource.gpu.discoveryScript says.
    mount = container["volumeMounts"][0]
    item = spec["volumes"][0]["configMap"]["items"][0]
    assert f"{mount['mountPath']}/{item['path']}" == gpu_pool().gpu.discovery_script  # type: ignore[union-attr]
    assert spec["volumes"][0]["configMap"]["name"] == attempt_name(GPU_RUN, 1)
    assert template["metadata"]["labels"]["nidc.io/run"] == GPU_RUN.name


def test_cpu_executor_template_has_no_gpu_and_no_toleration() -> None:
    template = build_executor_pod_template(RUN, 1, default_pools()["cpu"], SETTINGS)
    assert template["spec"]["nodeSelector"] == {"nidc.io/pool": "cpu"}
    assert "tolerations" not in template["spec"]
    assert "resources" not in template["spec"]["containers"][0]


# --- driver pod, Job, ConfigMap --------------------------------------------------------------


def test_driver_job_and_config_map_are_owned_by_the_run_and_labelled() -> None:
    manifests = {m["kind"]: m for m in all_manifests(RUN, SETTINGS)}
    for kind in ("Job", "ConfigMap"):
        meta = manifests[kind]["metadata"]
        assert meta["name"] == attempt_name(RUN, 1)
        assert meta["namespace"] == "steel-plant"
        (owner,) = meta["ownerReferences"]
        assert (owner["kind"], owner["name"], owner["uid"]) == ("PipelineRun", RUN.name, "uid-1")
        assert meta["labels"]["nidc.io/run"] == RUN.name
        assert meta["labels"]["nidc.io/tenant"] == "steel-plant"
    job = manifests["Job"]["spec"]
    assert job["backoffLimit"] == 0  # retries belong to the run state machine
    pod = job["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["nodeSelector"] == {"nidc.io/pool": "cpu"}
    assert pod["serviceAccountName"] == "nidc-spark"
    assert manifests["ConfigMap"]["immutable"] is True


def test_gpu_runs_keep_the_driver_on_cpu_nodes() -> None:
    pod = build_driver_pod(GPU_RUN, 1, gpu_pool(), SETTINGS)
    assert pod["spec"]["nodeSelector"] == {"nidc.io/pool": "cpu"}
    assert "tolerations" not in pod["spec"]


def test_config_map_holds_spec_properties_template_and_gpu_script() -> None:
    cm = build_job_config_map(GPU_RUN, 2, SPEC, gpu_pool(), SETTINGS)
    data = cm["data"]
    spec = json.loads(data[SPEC_FILE])
    assert spec["attempt"] == 2
    assert spec["master"] == "k8s://https://kubernetes.default.svc"
    # The operator's host paths and the truststore password stay out of the pod.
    assert spec["jars"] == [] and spec["storage"]["truststore"] == ""
    assert "truststorePassword" not in spec["storage"]
    assert "spark.executor.resource.gpu.amount=1" in data[SPARK_PROPERTIES_FILE]
    assert yaml.safe_load(data[EXECUTOR_TEMPLATE_FILE])["spec"]["nodeSelector"] == {
        "nidc.io/pool": "gpu"
    }
    assert data[GPU_SCRIPT_FILE].startswith("#!/bin/sh")
    assert (
        GPU_SCRIPT_FILE
        not in build_job_config_map(RUN, 1, SPEC, default_pools()["cpu"], SETTINGS)["data"]
    )


def test_driver_pod_passes_pod_name_and_ip_to_spark() -> None:
    pod = build_driver_pod(RUN, 1, default_pools()["cpu"], SETTINGS, traceparent="00-t-s-01")
    env = {e["name"]: e for e in pod["spec"]["containers"][0]["env"]}
    args = env["PYSPARK_SUBMIT_ARGS"]["value"]
    assert f"--properties-file {JOB_DIR}/{SPARK_PROPERTIES_FILE}" in args
    assert "spark.driver.host=$(POD_IP)" in args and args.endswith("pyspark-shell")
    assert env["POD_IP"]["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    assert env["TRACEPARENT"]["value"] == "00-t-s-01"
    container = pod["spec"]["containers"][0]
    assert container["terminationMessagePolicy"] == "File"  # never the log tail


def test_openbao_mode_puts_paths_not_values_in_annotations() -> None:
    for manifest in all_manifests(RUN, SETTINGS):
        if manifest["kind"] != "Job":
            continue
        annotations = manifest["spec"]["template"]["metadata"]["annotations"]
        assert annotations["openbao.openbao.org/role"] == "tenant-steel-plant"
        assert annotations["openbao.openbao.org/agent-pre-populate-only"] == "true"
        assert (
            annotations["openbao.openbao.org/agent-inject-secret-s3.env"]
            == "secret/data/tenants/steel-plant/s3"
        )
        env_names = {
            e["name"] for e in manifest["spec"]["template"]["spec"]["containers"][0]["env"]
        }
        assert not env_names & {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}


def test_secret_mode_references_the_secret_by_name_only() -> None:
    settings = KubernetesJobSettings(
        image="i:1", pools=default_pools(), credentials=CredentialsMode.SECRET
    )
    pod = build_driver_pod(GPU_RUN, 1, gpu_pool(), settings)
    template = build_executor_pod_template(GPU_RUN, 1, gpu_pool(), settings)
    for container in (pod["spec"]["containers"][0], template["spec"]["containers"][0]):
        env = {e["name"]: e for e in container["env"]}
        ref = env["AWS_SECRET_ACCESS_KEY"]
        assert "value" not in ref
        assert ref["valueFrom"]["secretKeyRef"] == {
            "name": "nidc-s3-credentials",
            "key": "secretKey",
        }
    assert "annotations" not in pod["metadata"]


# --- the driver's wrapper and the GPU discovery script, executed -----------------------------


def run_driver_script(tmp_path: Path, job_body: str) -> tuple[int, str]:
    """The driver command with its paths moved into tmp_path and a stand-in for the job."""
    job_dir, run_dir, log = tmp_path / "job", tmp_path / "work" / "run", tmp_path / "termination"
    job_dir.mkdir()
    (job_dir / SPEC_FILE).write_text("{}")
    stand_in = tmp_path / "job.sh"
    stand_in.write_text(job_body)
    script = (
        build_driver_script(SETTINGS)
        .replace(f"python -m spark_jobs.run {RUN_DIR}", f"sh {stand_in} {run_dir}")
        .replace(RUN_DIR, str(run_dir))
        .replace(JOB_DIR, str(job_dir))
        .replace(TERMINATION_LOG, str(log))
        .replace("/openbao/secrets", str(tmp_path / "no-secrets"))
    )
    done = subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, check=False)
    return done.returncode, log.read_text() if log.exists() else ""


def test_driver_script_leaves_the_result_as_termination_message(tmp_path: Path) -> None:
    code, message = run_driver_script(
        tmp_path, 'echo \'{"rows": 180, "tableVersion": 3}\' > "$1/result.json"\n'
    )
    assert code == 0
    pod = {
        "metadata": {"name": "p"},
        "status": {
            "phase": "Succeeded",
            "containerStatuses": [
                {
                    "name": DRIVER_CONTAINER,
                    "state": {"terminated": {"exitCode": 0, "message": message}},
                }
            ],
        },
    }
    seen = read_observation({"metadata": {"name": "j"}}, [pod])
    assert seen.state is Observed.SUCCEEDED
    assert seen.result == {"rows": 180, "tableVersion": 3}


def test_driver_script_leaves_the_failure_reason_and_exit_code(tmp_path: Path) -> None:
    code, message = run_driver_script(
        tmp_path, 'echo \'{"reason": "AnalysisException: no table"}\' > "$1/failure.json"\nexit 1\n'
    )
    assert code == 1
    assert json.loads(message) == {"failure": {"reason": "AnalysisException: no table"}}


@pytest.mark.parametrize(
    ("visible", "expected"), [("0,1", ["0", "1"]), ("GPU-9f2a", ["GPU-9f2a"]), ("", [])]
)
def test_gpu_discovery_script_prints_what_spark_expects(
    tmp_path: Path, visible: str, expected: list[str]
) -> None:
    script = tmp_path / GPU_SCRIPT_FILE
    script.write_text(build_gpu_discovery_script())
    script.chmod(0o755)
    # PATH without nvidia-smi: the variable alone decides.
    env = {"PATH": "/usr/bin:/bin", "NVIDIA_VISIBLE_DEVICES": visible}
    if os.path.exists("/usr/bin/nvidia-smi"):
        pytest.skip("this machine has nvidia-smi; the gpu test covers it")
    out = subprocess.run([str(script)], env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == {"name": "gpu", "addresses": expected}


# --- observe(): Job and pod to Observation ---------------------------------------------------


def pod(phase: str, terminated: dict[str, Any] | None = None, reason: str = "") -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase}
    if terminated is not None:
        status["containerStatuses"] = [
            {"name": DRIVER_CONTAINER, "state": {"terminated": terminated}}
        ]
    if reason:
        status["reason"] = reason
    return {"metadata": {"name": "run-a1-x7k2p"}, "status": status}


JOB = {"metadata": {"name": "run-a1"}, "status": {}}


def job_with(condition: str, reason: str = "", message: str = "") -> dict[str, Any]:
    return {
        "metadata": {"name": "run-a1"},
        "status": {
            "conditions": [
                {"type": condition, "status": "True", "reason": reason, "message": message}
            ]
        },
    }


def test_no_job_is_absent() -> None:
    assert read_observation(None, []).state is Observed.ABSENT


@pytest.mark.parametrize("phase", ["Pending", "Running", "Unknown"])
def test_live_pods_and_jobs_without_pods_are_running(phase: str) -> None:
    assert read_observation(JOB, [pod(phase)]).state is Observed.RUNNING
    assert read_observation(JOB, []).state is Observed.RUNNING


def test_failed_pod_reports_the_jobs_own_reason() -> None:
    message = json.dumps({"failure": {"reason": "ValueError: unknown job 'x'"}})
    seen = read_observation(JOB, [pod("Failed", {"exitCode": 1, "message": message})])
    assert (seen.state, seen.reason) == (Observed.FAILED, "ValueError: unknown job 'x'")


def test_failed_pod_without_message_reports_exit_code() -> None:
    seen = read_observation(JOB, [pod("Failed", {"exitCode": 137, "reason": "OOMKilled"})])
    assert seen.state is Observed.FAILED
    assert "OOMKilled (exit code 137)" in seen.reason


def test_evicted_pod_reports_the_eviction() -> None:
    seen = read_observation(JOB, [pod("Failed", reason="Evicted")])
    assert seen.reason.endswith(": Evicted")


def test_failed_job_without_pods_reports_its_condition() -> None:
    seen = read_observation(job_with("Failed", "DeadlineExceeded", "active too long"), [])
    assert seen.state is Observed.FAILED
    assert "DeadlineExceeded active too long" in seen.reason


def test_complete_job_whose_pod_is_gone_succeeds_without_result() -> None:
    seen = read_observation(job_with("Complete"), [])
    assert (seen.state, seen.result) == (Observed.SUCCEEDED, {})


def test_unreadable_termination_message_is_no_result() -> None:
    seen = read_observation(JOB, [pod("Succeeded", {"exitCode": 0, "message": "not json"})])
    assert (seen.state, seen.result) == (Observed.SUCCEEDED, {})


# --- settings choose the runner --------------------------------------------------------------


def settings(**extra: Any) -> OperatorSettings:
    return OperatorSettings(
        kube_api_url="https://127.0.0.1:6443",
        ca_file=Path("/ca.pem"),
        openbao_url="https://127.0.0.1:8200",
        openbao_token_file=Path("/token"),
        s3_endpoint="https://127.0.0.1:9000",
        s3_access_key="admin",
        s3_secret_key_file=Path("/s3"),
        **extra,
    )


def test_nidc_runner_selects_the_runner() -> None:
    assert isinstance(make_runner(settings(), ApiClient()), LocalRunner)
    runner = make_runner(
        settings(runner="kubernetes", spark_image_registry="reg.example/", spark_image_tag="7"),
        ApiClient(),
    )
    assert isinstance(runner, KubernetesRunner)
    assert runner.settings.image == "reg.example/nidc-spark:7"


@pytest.mark.parametrize(
    ("extra", "field"),
    [({"runner": "slurm"}, "NIDC_RUNNER"), ({"k8s_credentials": "inline"}, "NIDC_K8S_CREDENTIALS")],
)
def test_bad_runner_settings_name_the_variable(extra: dict[str, Any], field: str) -> None:
    with pytest.raises(ValueError, match=field):
        settings(**extra)


@pytest.mark.gpu
def test_gpu_discovery_script_on_a_real_gpu(tmp_path: Path) -> None:
    """On a machine with NVIDIA GPUs: the script finds exactly the GPUs nvidia-smi lists."""
    listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=True)
    count = len([line for line in listed.stdout.splitlines() if line.startswith("GPU ")])
    script = tmp_path / GPU_SCRIPT_FILE
    script.write_text(build_gpu_discovery_script())
    script.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "NVIDIA_VISIBLE_DEVICES"}
    out = subprocess.run([str(script)], env=env, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == {"name": "gpu", "addresses": [str(i) for i in range(count)]}
