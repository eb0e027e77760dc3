"""ControlPlane: the CRDs of crds/, the operator's identity and RBAC, its Deployment (kopf
peering between replicas), a PodDisruptionBudget and NetworkPolicies.

The Deployment runs the program `nidc operator run` becomes (`python -m operators`), wired for
a cluster: the Kubernetes runner (driver Jobs), collectors as Deployments, the Spark pools read
from the `spark-pools` ConfigMap published here in the operator's own namespace (a pod mounts
ConfigMaps of its own namespace only) in the one format of nidc/api/spark_pool.py, and traces,
metrics and logs sent to the stack's OpenTelemetry collector. Every variable it sets is one
OperatorSettings.from_env reads (tests/unit/stacks/test_operator_deployment.py starts there).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

from nidc.api.spark_pool import POOLS_FILE, SparkPool, default_pools, pools_document
from nidc.operator_rbac import OPERATOR_NAME, OPERATOR_NAMESPACE, build_operator_identity
from stacks.manifests import (
    PART_OF,
    PLATFORM_LABEL,
    Resources,
    create_objects,
    labels,
    require,
    resource_name,
)

PEERING_GROUP = "kopf.dev"
LIVENESS_PORT = 8080
POOLS_CONFIG_MAP = "spark-pools"
POOLS_DIR = "/etc/nidc/pools"
CREDENTIALS_DIR = "/var/run/nidc"
SERVICE_ACCOUNT_CA = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"


def split_image(ref: str) -> tuple[str, str, str]:
    """registry, name and tag of `registry/path/name:tag` (how the operator names its image)."""
    path, _, tag = ref.rpartition(":")
    registry, _, name = path.rpartition("/")
    require(
        bool(registry and name and tag) and "/" not in tag,
        "images",
        f"{ref!r} must be <registry>/<name>:<tag>",
    )
    return registry, name, tag


@dataclass(frozen=True)
class OperatorDeployment:
    """The operator as a Deployment (left out on the local profile, where it is a process)."""

    image: str
    # The nidc images the operator starts: Spark drivers and executors, and device collectors.
    spark_image: str = "registry.nidc.local/nidc/nidc-spark:0.1.0"
    collector_image: str = "registry.nidc.local/nidc/nidc-collector:0.1.0"
    spark_pools: tuple[SparkPool, ...] = tuple(default_pools().values())
    replicas: int = 2
    openbao_url: pulumi.Input[str] = ""
    openbao_token: pulumi.Input[str] = ""
    s3_endpoint: pulumi.Input[str] = ""
    s3_access_key: pulumi.Input[str] = "nidc-root"
    s3_secret_key: pulumi.Input[str] = ""
    otlp_endpoint: pulumi.Input[str] = ""
    # PEM of the CA that signed the platform services' certificates (OpenBao, S3, telemetry);
    # without it the operator trusts the cluster's own CA only.
    ca_certificate: str = ""
    api_server_cidr: str = "0.0.0.0/0"
    # This center's name in the audit log (nidc/audit): records and checkpoints live under it.
    audit_center: str = "local"
    # The lineage receiver (the catalog API's base URL) and the Secret in each tenant namespace
    # holding the writers' certificate driver Jobs mount; '' when the center has no catalog.
    lineage_url: str = ""
    lineage_secret: str = ""
    # The Delta Sharing server's URL written into recipients' profiles ('' : no sharing).
    sharing_endpoint: str = ""
    resources: Resources = field(default_factory=lambda: Resources("200m", "256Mi", "1", "1Gi"))

    def __post_init__(self) -> None:
        require(1 <= self.replicas <= 5, "controlPlane.operator.replicas", "must be 1..5")
        require(self.openbao_token != "", "openbaoOperatorToken", "required (a secret)")
        split_image(self.spark_image)
        require(":" in self.collector_image, "images.collector", "needs a tag")
        require(bool(self.spark_pools), "sparkPools.pools", "at least one pool")


def build_operator_environment(operator: OperatorDeployment) -> list[dict[str, Any]]:
    """The operator container's environment: every name is one OperatorSettings.from_env reads,
    and paths point into the container's mounts (credentials, CA, pools)."""
    registry, name, tag = split_image(operator.spark_image)
    ca_file = f"{CREDENTIALS_DIR}/ca.crt" if operator.ca_certificate else SERVICE_ACCOUNT_CA
    env: list[dict[str, Any]] = [
        {"name": "NIDC_KUBE_API_URL", "value": "https://kubernetes.default.svc"},
        {"name": "NIDC_CA_FILE", "value": ca_file},
        {"name": "NIDC_OPENBAO_URL", "value": operator.openbao_url},
        {"name": "NIDC_OPENBAO_TOKEN_FILE", "value": f"{CREDENTIALS_DIR}/openbao-token"},
        {"name": "NIDC_S3_ENDPOINT", "value": operator.s3_endpoint},
        {"name": "NIDC_S3_ACCESS_KEY", "value": operator.s3_access_key},
        {"name": "NIDC_S3_SECRET_KEY_FILE", "value": f"{CREDENTIALS_DIR}/s3-secret-key"},
        # A pod has no local processes to run jobs or collectors in: both go to the cluster.
        {"name": "NIDC_RUNNER", "value": "kubernetes"},
        {"name": "NIDC_COLLECTOR_MODE", "value": "kubernetes"},
        {"name": "NIDC_COLLECTOR_IMAGE", "value": operator.collector_image},
        {"name": "NIDC_SPARK_IMAGE_REGISTRY", "value": registry},
        {"name": "NIDC_SPARK_IMAGE_NAME", "value": name},
        {"name": "NIDC_SPARK_IMAGE_TAG", "value": tag},
        {"name": "NIDC_SPARK_POOLS_FILE", "value": f"{POOLS_DIR}/{POOLS_FILE}"},
        {"name": "NIDC_AUDIT_CENTER", "value": operator.audit_center},
        {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": operator.otlp_endpoint},
        {"name": "OTEL_SERVICE_NAME", "value": OPERATOR_NAME},
        # Logs go over OTLP too (opt-in: see nidc/telemetry/logs.py).
        {"name": "OTEL_LOGS_EXPORTER", "value": "otlp"},
    ]
    if operator.ca_certificate:
        env.append({"name": "OTEL_EXPORTER_OTLP_CERTIFICATE", "value": ca_file})
    optional = {
        "NIDC_LINEAGE_URL": operator.lineage_url,
        "NIDC_LINEAGE_SECRET": operator.lineage_secret,
        "NIDC_SHARING_ENDPOINT": operator.sharing_endpoint,
    }
    env += [{"name": k, "value": v} for k, v in optional.items() if v]
    return env


def build_pools_config_map(operator: OperatorDeployment) -> dict[str, Any]:
    """The pools the operator reads, in the pool model's own document."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": POOLS_CONFIG_MAP,
            "namespace": OPERATOR_NAMESPACE,
            "labels": {**PART_OF, "nidc.io/config": POOLS_CONFIG_MAP},
        },
        "data": {POOLS_FILE: pools_document(operator.spark_pools)},
    }


@dataclass(frozen=True)
class ControlPlaneArgs:
    """Typed arguments of the ControlPlane component."""

    center: str
    crd_dir: Path
    operator: OperatorDeployment | None = None
    # The center's ClusterClassificationPolicies (the national baseline), applied with the CRDs
    # so every table is graded from the first day; None applies none.
    policy_dir: Path | None = None

    def __post_init__(self) -> None:
        require(self.crd_dir.is_dir(), "controlPlane.crdDir", f"{self.crd_dir} is not a folder")
        require(
            any(self.crd_dir.glob("*.yaml")), "controlPlane.crdDir", f"no *.yaml in {self.crd_dir}"
        )
        if self.policy_dir is not None:
            require(
                self.policy_dir.is_dir(),
                "controlPlane.classificationPolicyDir",
                f"{self.policy_dir} is not a folder",
            )


def load_crds(crd_dir: Path) -> list[dict[str, Any]]:
    """Every CustomResourceDefinition in crd_dir (generated from nidc/api; sorted by file)."""
    crds = []
    # libyaml's loader where PyYAML has it: the CRDs' schemas are most of the program's YAML and
    # the pure-Python loader spent about 0.1 s of CPU on them at every `pulumi up`.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    for path in sorted(crd_dir.glob("*.yaml")):
        for doc in yaml.load_all(path.read_text(), Loader=loader):
            if doc and doc.get("kind") == "CustomResourceDefinition":
                crds.append(doc)
    return crds


def load_cluster_policies(policy_dir: Path) -> list[dict[str, Any]]:
    """Every ClusterClassificationPolicy in policy_dir (sorted by file); other kinds refused."""
    policies = []
    for path in sorted(policy_dir.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if not doc:
                continue
            require(
                doc.get("kind") == "ClusterClassificationPolicy",
                "controlPlane.classificationPolicyDir",
                f"{path.name} holds a {doc.get('kind')}, not a ClusterClassificationPolicy",
            )
            policies.append(doc)
    return policies


def build_peering(operator: OperatorDeployment) -> list[dict[str, Any]]:
    """The peering object and the operator's right to use it."""
    return [
        {
            "apiVersion": f"{PEERING_GROUP}/v1",
            "kind": "ClusterKopfPeering",
            "metadata": {"name": OPERATOR_NAME},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": f"{OPERATOR_NAME}-peering", "labels": dict(PART_OF)},
            "rules": [
                {
                    "apiGroups": [PEERING_GROUP],
                    "resources": ["clusterkopfpeerings"],
                    "verbs": ["get", "list", "watch", "patch"],
                }
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"{OPERATOR_NAME}-peering", "labels": dict(PART_OF)},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": f"{OPERATOR_NAME}-peering",
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": OPERATOR_NAME, "namespace": OPERATOR_NAMESPACE}
            ],
        },
    ]


def build_operator_deployment(center: str, operator: OperatorDeployment) -> list[dict[str, Any]]:
    """Credentials Secret, pools ConfigMap, Deployment, PodDisruptionBudget, NetworkPolicies."""
    ns = OPERATOR_NAMESPACE
    selector = {"app.kubernetes.io/name": OPERATOR_NAME}
    pools = build_pools_config_map(operator)
    # The operator reads its pools once at start: a changed document rolls its pods.
    pools_hash = hashlib.sha256(pools["data"][POOLS_FILE].encode()).hexdigest()[:16]
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": OPERATOR_NAME,
            "namespace": ns,
            "labels": labels("control-plane", OPERATOR_NAME, center),
        },
        "spec": {
            "replicas": operator.replicas,
            "selector": {"matchLabels": selector},
            # One active peer at a time (kopf peering); a rollout never runs two old ones down.
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {
                "metadata": {
                    "labels": {**selector, **labels("control-plane", OPERATOR_NAME, center)},
                    "annotations": {"nidc.io/spark-pools-hash": pools_hash},
                },
                "spec": {
                    "serviceAccountName": OPERATOR_NAME,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001},
                    "containers": [
                        {
                            "name": "operator",
                            "image": operator.image,
                            "command": [
                                # The operator program itself (`nidc operator run`
                                # prepares a local platform, then becomes this).
                                "python",
                                "-m",
                                "operators",
                                "--peering",
                                OPERATOR_NAME,
                                "--liveness",
                                f"http://0.0.0.0:{LIVENESS_PORT}/healthz",
                            ],
                            "env": build_operator_environment(operator),
                            "ports": [{"name": "health", "containerPort": LIVENESS_PORT}],
                            "livenessProbe": {
                                "httpGet": {"path": "/healthz", "port": LIVENESS_PORT}
                            },
                            "resources": operator.resources.manifest(),
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                            },
                            "volumeMounts": [
                                {
                                    "name": "credentials",
                                    "mountPath": CREDENTIALS_DIR,
                                    "readOnly": True,
                                },
                                {"name": "pools", "mountPath": POOLS_DIR, "readOnly": True},
                                # The root file system is read-only; Python and kopf want /tmp.
                                {"name": "tmp", "mountPath": "/tmp"},
                            ],
                        }
                    ],
                    "volumes": [
                        {
                            "name": "credentials",
                            "secret": {"secretName": f"{OPERATOR_NAME}-credentials"},
                        },
                        {"name": "pools", "configMap": {"name": POOLS_CONFIG_MAP}},
                        {"name": "tmp", "emptyDir": {}},
                    ],
                },
            },
        },
    }
    return [
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": f"{OPERATOR_NAME}-credentials", "namespace": ns},
            "type": "Opaque",
            "stringData": {
                "openbao-token": operator.openbao_token,
                "s3-secret-key": operator.s3_secret_key,
                **({"ca.crt": operator.ca_certificate} if operator.ca_certificate else {}),
            },
        },
        pools,
        deployment,
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": OPERATOR_NAME, "namespace": ns},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": selector}},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny", "namespace": ns},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        },
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": f"{OPERATOR_NAME}-egress", "namespace": ns},
            "spec": {
                "podSelector": {"matchLabels": selector},
                "policyTypes": ["Egress"],
                "egress": [
                    # The platform's services: object store, OpenBao, telemetry.
                    {"to": [{"namespaceSelector": {"matchLabels": {PLATFORM_LABEL: "true"}}}]},
                    {"ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}]},
                    # The API server (its address is outside any pod network).
                    {
                        "to": [{"ipBlock": {"cidr": operator.api_server_cidr}}],
                        "ports": [
                            {"protocol": "TCP", "port": 443},
                            {"protocol": "TCP", "port": 6443},
                        ],
                    },
                ],
            },
        },
    ]


def build_control_plane(args: ControlPlaneArgs) -> list[dict[str, Any]]:
    """CRDs, the operator's identity and RBAC, and (when asked) its Deployment."""
    identity = build_operator_identity()
    namespace = identity[0]
    namespace["metadata"]["labels"] = {**namespace["metadata"]["labels"], PLATFORM_LABEL: "true"}
    objects = [*load_crds(args.crd_dir), *identity]
    if args.policy_dir is not None:
        objects += load_cluster_policies(args.policy_dir)
    if args.operator is not None:
        objects += [
            *build_peering(args.operator),
            *build_operator_deployment(args.center, args.operator),
        ]
    return objects


class ControlPlane(pulumi.ComponentResource):
    """The tenant API and its operator; `crds` maps each CRD's name (`tenants.nidc.io`) to its
    resource, for the custom resources other components make (a Tenant needs its CRD)."""

    crds: dict[str, pulumi.Resource]

    def __init__(
        self, name: str, args: ControlPlaneArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("nidc:control:ControlPlane", name, None, opts)
        manifests = build_control_plane(args)
        # One set: the peering object waits for its CRD alone (see manifests.prerequisites).
        self.children = create_objects(name, manifests, self)
        crds = [m for m in manifests if m["kind"] == "CustomResourceDefinition"]
        self.crds = {m["metadata"]["name"]: self.children[resource_name(name, m)] for m in crds}
        self.register_outputs({"crds": [m["metadata"]["name"] for m in crds]})
