"""Pure builders of the Kubernetes runner: a run, its job spec and a pool in, plain manifests out.

The route (docs/decisions/0040-kubernetes-runner-driver-job.md): one batch/v1 Job per attempt,
owned by the PipelineRun, whose single pod is the Spark driver. The pod runs
`python -m spark_jobs.run`, whose SparkSession is launched through spark-submit in client mode
against `k8s://https://kubernetes.default.svc`, so Spark creates the executor pods itself from
the executor pod template in the run's ConfigMap. Nothing here does I/O; unit tests call every
builder without a cluster.

Credentials never appear in these objects: the pods get them from OpenBao agent annotations
(paths and templates, no values) or from a Secret reference (a name and keys, no values).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import yaml

from nidc.api.addressing import TenantNames
from nidc.api.schema import GROUP, VERSION
from nidc.api.spark_pool import POOL_LABEL, SparkPool
from operators.runs.kubernetes_lineage import build_lineage_files, build_lineage_mount
from operators.runs.runner import RunRef

RUN_LABEL = f"{GROUP}/run"
ATTEMPT_LABEL = f"{GROUP}/attempt"
TENANT_LABEL = f"{GROUP}/tenant"
COMPONENT_LABEL = "app.kubernetes.io/component"
DRIVER_COMPONENT = "spark-driver"
EXECUTOR_COMPONENT = "spark-executor"
MANAGED = {"app.kubernetes.io/part-of": "nidc", "app.kubernetes.io/managed-by": "nidc-operator"}

DRIVER_CONTAINER = "driver"
EXECUTOR_CONTAINER = "executor"
# Where the run's ConfigMap appears in the driver, and the files it holds.
JOB_DIR = "/etc/nidc/job"
SPEC_FILE = "spec.json"
SPARK_PROPERTIES_FILE = "spark.properties"
EXECUTOR_TEMPLATE_FILE = "executor-pod-template.yaml"
GPU_SCRIPT_FILE = "getGpusResources.sh"
# The run folder spark_jobs.run works in (an emptyDir: lock, pid, result.json).
RUN_DIR = "/nidc/run"
TERMINATION_LOG = "/dev/termination-log"
# Spark's own images run as user spark (uid 185); the nidc image keeps that user.
SPARK_UID = 185
# Longest name Spark accepts for spark.kubernetes.executor.podNamePrefix.
EXECUTOR_PREFIX_MAX = 47
MAX_NAME = 63
DRIVER_PORT = 7078
BLOCK_MANAGER_PORT = 7079


class CredentialsMode(StrEnum):
    """How driver and executors get the tenant's S3 credentials (never inline values)."""

    # The OpenBao agent injector renders <secrets dir>/s3.env from the tenant's KV path,
    # authenticating with the pod's service account (the tenant's Kubernetes auth role).
    OPENBAO_AGENT = "openbao-agent"
    # A Secret someone else keeps in the namespace (e.g. synced from OpenBao), referenced by
    # name: env valueFrom secretKeyRef.
    SECRET = "secret"  # noqa: S105 (a mode name, not a password)


@dataclass(frozen=True)
class KubernetesJobSettings:
    """Cluster-wide settings of the Kubernetes runner (from NIDC_* environment)."""

    image: str
    pools: Mapping[str, SparkPool]
    service_account: str = "nidc-spark"
    api_server: str = "https://kubernetes.default.svc"
    credentials: CredentialsMode = CredentialsMode.OPENBAO_AGENT
    credentials_secret: str = "nidc-s3-credentials"  # noqa: S105 (a Secret's name)
    openbao_annotation_prefix: str = "openbao.openbao.org"
    openbao_secrets_dir: str = "/openbao/secrets"
    openbao_kv_mount: str = "secret"
    extra_env: Mapping[str, str] = field(default_factory=dict)
    # The Secret in the tenant namespace with the lineage writers' certificate (tls.crt,
    # tls.key, ca.crt; the stack's Tenants component makes it) and the receiver's URL: the
    # driver mounts the one and posts to the other, as a local run does with its files.
    lineage_secret: str = ""
    lineage_url: str = ""

    def pool(self, run: RunRef) -> SparkPool:
        """The run's pool; a clear error naming the field when it is not published."""
        try:
            return self.pools[run.pool]
        except KeyError:
            known = ", ".join(sorted(self.pools)) or "none"
            raise ValueError(
                f"PipelineRun {run.namespace}/{run.name}: spec.pool {run.pool!r} is not a "
                f"published Spark pool (known: {known})"
            ) from None


def short_name(base: str, suffix: str, limit: int = MAX_NAME) -> str:
    """base + suffix within `limit` characters; a hash of base keeps truncated names apart."""
    if len(base) + len(suffix) <= limit:
        return base + suffix
    digest = hashlib.sha256(base.encode()).hexdigest()[:6]
    keep = limit - len(suffix) - len(digest) - 1
    return f"{base[:keep].rstrip('-')}-{digest}{suffix}"


def attempt_name(run: RunRef, attempt: int) -> str:
    """The Job and ConfigMap name of one attempt: deterministic, so submit is create-or-adopt."""
    if attempt < 1:
        raise ValueError(f"attempt must be >= 1, got {attempt}")
    return short_name(run.name, f"-a{attempt}")


def executor_prefix(run: RunRef, attempt: int) -> str:
    """spark.kubernetes.executor.podNamePrefix (Spark allows at most 47 characters)."""
    return short_name(run.name, f"-a{attempt}", EXECUTOR_PREFIX_MAX)


def owner_reference(run: RunRef) -> dict[str, Any]:
    """Owned by the PipelineRun: deleting the run garbage-collects Job, pods and ConfigMap."""
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "PipelineRun",
        "name": run.name,
        "uid": run.uid,
        "controller": True,
        "blockOwnerDeletion": False,
    }


def build_labels(run: RunRef, attempt: int, component: str, pool: str) -> dict[str, str]:
    """Labels every object of an attempt carries (observe() selects by run and attempt)."""
    return {
        **MANAGED,
        RUN_LABEL: run.name,
        ATTEMPT_LABEL: str(attempt),
        TENANT_LABEL: run.namespace,
        POOL_LABEL: pool,
        COMPONENT_LABEL: component,
    }


def build_openbao_annotations(run: RunRef, settings: KubernetesJobSettings) -> dict[str, str]:
    """Agent-injector annotations: role, KV path and a template; no secret value anywhere."""
    prefix = settings.openbao_annotation_prefix
    tenant = TenantNames(run.namespace)
    path = tenant.s3_credentials_api_path(settings.openbao_kv_mount)
    template = (
        f'{{{{- with secret "{path}" -}}}}\n'
        'export AWS_ACCESS_KEY_ID="{{ .Data.data.accessKey }}"\n'
        'export AWS_SECRET_ACCESS_KEY="{{ .Data.data.secretKey }}"\n'
        "{{- end }}\n"
    )
    return {
        f"{prefix}/agent-inject": "true",
        # Init container only: a sidecar agent would keep a finished driver's Job running.
        f"{prefix}/agent-pre-populate-only": "true",
        f"{prefix}/role": tenant.openbao_role,
        f"{prefix}/agent-inject-secret-s3.env": path,
        f"{prefix}/agent-inject-template-s3.env": template,
    }


def build_credentials_env(settings: KubernetesJobSettings) -> list[dict[str, Any]]:
    """Secret mode: S3 credentials by reference to a Secret's keys (the value never leaves it)."""
    if settings.credentials is not CredentialsMode.SECRET:
        return []
    return [
        {
            "name": variable,
            "valueFrom": {"secretKeyRef": {"name": settings.credentials_secret, "key": key}},
        }
        for variable, key in (
            ("AWS_ACCESS_KEY_ID", "accessKey"),
            ("AWS_SECRET_ACCESS_KEY", "secretKey"),
        )
    ]


def _pod_security() -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": SPARK_UID,
        "fsGroup": SPARK_UID,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def _container_security() -> dict[str, Any]:
    return {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def build_spark_conf_for_kubernetes(
    run: RunRef, attempt: int, pool: SparkPool, settings: KubernetesJobSettings
) -> dict[str, str]:
    """Spark on Kubernetes, client mode inside the driver pod, for one pool.

    The two values only the running pod knows (its name and IP) are added by the driver's
    environment (PYSPARK_SUBMIT_ARGS); everything else is here.
    """
    conf = {
        "spark.master": f"k8s://{settings.api_server}",
        "spark.submit.deployMode": "client",
        "spark.app.name": run.name,
        "spark.kubernetes.namespace": run.namespace,
        "spark.kubernetes.container.image": settings.image,
        "spark.kubernetes.container.image.pullPolicy": "IfNotPresent",
        "spark.kubernetes.authenticate.driver.serviceAccountName": settings.service_account,
        "spark.kubernetes.executor.podTemplateFile": f"{JOB_DIR}/{EXECUTOR_TEMPLATE_FILE}",
        "spark.kubernetes.executor.podTemplateContainerName": EXECUTOR_CONTAINER,
        "spark.kubernetes.executor.podNamePrefix": executor_prefix(run, attempt),
        "spark.kubernetes.executor.deleteOnTermination": "true",
        "spark.executor.instances": str(pool.executor_instances),
        "spark.executor.cores": str(pool.executor_cores),
        "spark.executor.memory": f"{pool.executor_memory_mib}m",
        "spark.driver.cores": str(pool.driver_cores),
        "spark.driver.memory": f"{pool.driver_memory_mib}m",
        # Fixed ports, so that network policies and debugging name them.
        "spark.driver.port": str(DRIVER_PORT),
        "spark.driver.blockManager.port": str(BLOCK_MANAGER_PORT),
        "spark.driver.bindAddress": "0.0.0.0",  # noqa: S104 (inside the pod's own network)
    }
    if pool.gpu is not None:
        gpu = pool.gpu
        conf |= {
            "spark.executor.resource.gpu.amount": str(gpu.amount_per_executor),
            "spark.task.resource.gpu.amount": str(gpu.amount_per_task),
            "spark.executor.resource.gpu.discoveryScript": gpu.discovery_script,
            # With a vendor, Spark itself adds the <vendor>/gpu limit to executor pods.
            "spark.executor.resource.gpu.vendor": gpu.vendor,
        }
        if gpu.rapids:
            conf |= {
                "spark.plugins": "com.nvidia.spark.SQLPlugin",
                "spark.rapids.sql.enabled": "true",
                "spark.rapids.sql.concurrentGpuTasks": str(max(1, round(1 / gpu.amount_per_task))),
            }
    return conf


def render_properties(conf: Mapping[str, str]) -> str:
    """A Java properties file (spark-submit --properties-file), sorted for stable diffs."""
    lines = []
    for key, value in sorted(conf.items()):
        if any(c in key + value for c in "\n\r\\") or any(c in key for c in "=: "):
            raise ValueError(f"spark conf {key!r}: key or value cannot go in a properties file")
        lines.append(f"{key}={value}")
    return "\n".join(lines) + "\n"


def build_gpu_discovery_script() -> str:
    """Spark's GPU discovery contract: print {"name": "gpu", "addresses": [...]} on stdout.

    Reads the GPUs this container was given (NVIDIA_VISIBLE_DEVICES, set by the device plugin)
    and falls back to nvidia-smi's indexes; prints an empty list rather than failing, so an
    executor without GPUs is refused by Spark's own resource check with a clear message.
    """
    return """#!/bin/sh
# nidc GPU discovery for Spark executors: one JSON object on stdout.
set -eu
addresses=""
case "${NVIDIA_VISIBLE_DEVICES:-}" in
  ""|all|none|void) ;;
  *) addresses="$NVIDIA_VISIBLE_DEVICES" ;;
esac
if [ -z "$addresses" ] && command -v nvidia-smi >/dev/null 2>&1; then
  addresses="$(nvidia-smi --query-gpu=index --format=csv,noheader | tr -d ' ' | paste -sd, -)"
fi
if [ -z "$addresses" ]; then
  printf '{"name": "gpu", "addresses": []}\\n'
  exit 0
fi
printf '{"name": "gpu", "addresses": ["%s"]}\\n' "$(printf '%s' "$addresses" | sed 's/,/", "/g')"
"""


def build_executor_pod_template(
    run: RunRef, attempt: int, pool: SparkPool, settings: KubernetesJobSettings
) -> dict[str, Any]:
    """The pod template Spark starts executors from: placement, GPUs, credentials, labels.

    Spark fills in image, command, CPU and memory; with a GPU vendor set it also adds the GPU
    limit, which the template states as well so the template alone is schedulable as written.
    """
    container: dict[str, Any] = {
        "name": EXECUTOR_CONTAINER,
        "env": build_credentials_env(settings),
        "securityContext": _container_security(),
        "volumeMounts": [],
    }
    volumes: list[dict[str, Any]] = []
    if pool.gpu is not None:
        count = str(pool.gpu.amount_per_executor)
        container["resources"] = {"limits": {pool.gpu.resource: count}}
        script_dir = pool.gpu.discovery_script.rsplit("/", 1)[0] or "/"
        volumes.append(
            {
                "name": "gpu-discovery",
                "configMap": {
                    "name": attempt_name(run, attempt),
                    "items": [
                        {
                            "key": GPU_SCRIPT_FILE,
                            "path": pool.gpu.discovery_script.rsplit("/", 1)[1],
                            "mode": 0o555,
                        }
                    ],
                },
            }
        )
        container["volumeMounts"].append(
            {"name": "gpu-discovery", "mountPath": script_dir, "readOnly": True}
        )
    metadata: dict[str, Any] = {
        "labels": build_labels(run, attempt, EXECUTOR_COMPONENT, pool.name),
    }
    if settings.credentials is CredentialsMode.OPENBAO_AGENT:
        metadata["annotations"] = build_openbao_annotations(run, settings)
    spec: dict[str, Any] = {
        "nodeSelector": dict(pool.node_selector),
        "securityContext": _pod_security(),
        "enableServiceLinks": False,
        "containers": [container],
    }
    if pool.tolerations:
        spec["tolerations"] = [t.to_kubernetes() for t in pool.tolerations]
    if volumes:
        spec["volumes"] = volumes
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec}


def build_pod_spec_json(
    spec: Mapping[str, Any], attempt: int, settings: KubernetesJobSettings
) -> str:
    """The job spec as the pod reads it: no host paths, the cluster as master, never secrets."""
    storage = dict(spec.get("storage") or {})
    # Host paths of the operator's machine mean nothing in a pod: the image carries the jars
    # and trusts the object store's CA.
    storage.pop("truststorePassword", None)
    storage["truststore"] = ""
    lineage = spec.get("lineage")
    if lineage:
        # The operator's CA and client certificate files are host paths: the driver presents
        # the certificate mounted from the tenant namespace's Secret instead (and trusts the
        # CA beside it); without that Secret it sends no certificate and the receiver refuses.
        lineage = {**lineage, **build_lineage_files(settings.lineage_secret)}
    pod_spec = {
        **spec,
        "attempt": attempt,
        "master": f"k8s://{settings.api_server}",
        "jars": [],
        "storage": storage,
        **({"lineage": lineage} if lineage else {}),
    }
    return json.dumps(pod_spec, indent=2, sort_keys=True)


def build_job_config_map(
    run: RunRef,
    attempt: int,
    spec: Mapping[str, Any],
    pool: SparkPool,
    settings: KubernetesJobSettings,
) -> dict[str, Any]:
    """One immutable ConfigMap per attempt: job spec, Spark properties, executor template,
    and the GPU discovery script for the gpu pool."""
    data = {
        SPEC_FILE: build_pod_spec_json(spec, attempt, settings),
        SPARK_PROPERTIES_FILE: render_properties(
            build_spark_conf_for_kubernetes(run, attempt, pool, settings)
        ),
        EXECUTOR_TEMPLATE_FILE: yaml.safe_dump(
            build_executor_pod_template(run, attempt, pool, settings), sort_keys=True
        ),
    }
    if pool.gpu is not None:
        data[GPU_SCRIPT_FILE] = build_gpu_discovery_script()
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": attempt_name(run, attempt),
            "namespace": run.namespace,
            "labels": build_labels(run, attempt, DRIVER_COMPONENT, pool.name),
            "ownerReferences": [owner_reference(run)],
        },
        # What a job read is what was recorded: nobody edits an attempt's inputs mid-run.
        "immutable": True,
        "data": data,
    }


def build_driver_script(settings: KubernetesJobSettings, module: str = "spark_jobs.run") -> str:
    """The driver container's command: run the job (`module`: spark_jobs.run, or the native
    bronze writer's spark_jobs.ingest.native, same image, no JVM), then leave its outcome as the
    termination message (kubelet copies it into the pod status, where observe() reads it)."""
    source_credentials = ""
    if settings.credentials is CredentialsMode.OPENBAO_AGENT:
        source_credentials = (
            f'for f in {settings.openbao_secrets_dir}/*.env; do [ -f "$f" ] && . "$f"; done\n'
        )
    return (
        f"mkdir -p {RUN_DIR}\n"
        f"cp {JOB_DIR}/{SPEC_FILE} {RUN_DIR}/{SPEC_FILE}\n"
        f"{source_credentials}"
        f"python -m {module} {RUN_DIR}\n"
        "code=$?\n"
        f"if [ -f {RUN_DIR}/result.json ]; then\n"
        f'  printf \'{{"result": %s}}\' "$(cat {RUN_DIR}/result.json)" > {TERMINATION_LOG}\n'
        f"elif [ -f {RUN_DIR}/failure.json ]; then\n"
        f'  printf \'{{"failure": %s}}\' "$(cat {RUN_DIR}/failure.json)" > {TERMINATION_LOG}\n'
        "fi\n"
        'exit "$code"\n'
    )


def _memory_with_overhead(mib: int) -> str:
    # Spark's default overhead: 10% of the heap, at least 384 MiB.
    return f"{mib + max(384, mib // 10)}Mi"


def build_driver_pod(
    run: RunRef,
    attempt: int,
    pool: SparkPool,
    settings: KubernetesJobSettings,
    traceparent: str = "",
    module: str = "spark_jobs.run",
) -> dict[str, Any]:
    """The Spark driver pod of one attempt (as the Job's template makes it); `module` is the
    job's entry point (operators/runs/runner.py: job_module).

    Named after the attempt; the Job controller adds a suffix to the pods it creates.
    """
    name = attempt_name(run, attempt)
    env: list[dict[str, Any]] = [
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
        {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
        {"name": "HOME", "value": "/tmp"},
        {
            # Kubernetes expands $(POD_IP)/$(POD_NAME) from the variables above.
            "name": "PYSPARK_SUBMIT_ARGS",
            "value": (
                f"--properties-file {JOB_DIR}/{SPARK_PROPERTIES_FILE}"
                " --conf spark.driver.host=$(POD_IP)"
                " --conf spark.kubernetes.driver.pod.name=$(POD_NAME)"
                " pyspark-shell"
            ),
        },
        *({"name": k, "value": v} for k, v in sorted(settings.extra_env.items())),
        *build_credentials_env(settings),
    ]
    if traceparent:
        env.append({"name": "TRACEPARENT", "value": traceparent})
    lineage_env, lineage_mounts, lineage_volumes = build_lineage_mount(
        settings.lineage_secret, settings.lineage_url
    )
    env += lineage_env
    memory = _memory_with_overhead(pool.driver_memory_mib)
    container = {
        "name": DRIVER_CONTAINER,
        "image": settings.image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/sh", "-c", build_driver_script(settings, module)],
        "env": env,
        "resources": {
            "requests": {"cpu": str(pool.driver_cores), "memory": memory},
            "limits": {"cpu": str(pool.driver_cores), "memory": memory},
        },
        "ports": [
            {"name": "driver", "containerPort": DRIVER_PORT},
            {"name": "block-manager", "containerPort": BLOCK_MANAGER_PORT},
        ],
        # Only the file: falling back to the log tail could copy job output into the status.
        "terminationMessagePath": TERMINATION_LOG,
        "terminationMessagePolicy": "File",
        "securityContext": _container_security(),
        "volumeMounts": [
            {"name": "job", "mountPath": JOB_DIR, "readOnly": True},
            {"name": "work", "mountPath": RUN_DIR.rsplit("/", 1)[0]},
            {"name": "tmp", "mountPath": "/tmp"},
            *lineage_mounts,
        ],
    }
    metadata: dict[str, Any] = {
        "name": name,
        "namespace": run.namespace,
        "labels": build_labels(run, attempt, DRIVER_COMPONENT, pool.name),
    }
    if settings.credentials is CredentialsMode.OPENBAO_AGENT:
        metadata["annotations"] = build_openbao_annotations(run, settings)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {
            "restartPolicy": "Never",
            "serviceAccountName": settings.service_account,
            "nodeSelector": dict(pool.driver_node_selector),
            "securityContext": _pod_security(),
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": 30,
            "containers": [container],
            "volumes": [
                {"name": "job", "configMap": {"name": name}},
                {"name": "work", "emptyDir": {}},
                {"name": "tmp", "emptyDir": {}},
                *lineage_volumes,
            ],
        },
    }


def build_driver_job(run: RunRef, attempt: int, pod: Mapping[str, Any]) -> dict[str, Any]:
    """The Job that runs the driver pod exactly once (no Job-level retries: attempts are the
    run state machine's), owned by the PipelineRun."""
    metadata = pod["metadata"]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": metadata["name"],
            "namespace": metadata["namespace"],
            "labels": dict(metadata["labels"]),
            "ownerReferences": [owner_reference(run)],
        },
        "spec": {
            "backoffLimit": 0,
            "completions": 1,
            "parallelism": 1,
            # No second driver while a failed one is still terminating.
            "podReplacementPolicy": "Failed",
            "template": {
                "metadata": {
                    "labels": dict(metadata["labels"]),
                    **(
                        {"annotations": dict(metadata["annotations"])}
                        if metadata.get("annotations")
                        else {}
                    ),
                },
                "spec": dict(pod["spec"]),
            },
        },
    }


DRIVER_ROLE_RULES: list[dict[str, Any]] = [
    # Spark's driver creates, watches and deletes its executors and their ConfigMap.
    {
        "apiGroups": [""],
        "resources": ["pods"],
        "verbs": ["get", "list", "watch", "create", "patch", "delete", "deletecollection"],
    },
    {
        "apiGroups": [""],
        "resources": ["configmaps"],
        "verbs": ["get", "list", "watch", "create", "delete", "deletecollection"],
    },
]


def build_driver_identity(namespace: str, settings: KubernetesJobSettings) -> list[dict[str, Any]]:
    """ServiceAccount, Role and RoleBinding the driver pods of a namespace run as."""
    name = settings.service_account
    labels = {**MANAGED, TENANT_LABEL: namespace, COMPONENT_LABEL: DRIVER_COMPONENT}
    meta = {"name": name, "namespace": namespace, "labels": labels}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": dict(meta)},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": dict(meta),
            "rules": DRIVER_ROLE_RULES,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": dict(meta),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
        },
    ]
