"""ControlPlane: the CRDs of crds/, the operator's identity and RBAC, its Deployment (kopf
peering between replicas), a PodDisruptionBudget and NetworkPolicies."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

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


@dataclass(frozen=True)
class OperatorDeployment:
    """The operator as a Deployment (left out on the local profile, where it is a process)."""

    image: str
    replicas: int = 2
    openbao_url: pulumi.Input[str] = ""
    openbao_token: pulumi.Input[str] = ""
    s3_endpoint: pulumi.Input[str] = ""
    s3_access_key: pulumi.Input[str] = "nidc-root"
    s3_secret_key: pulumi.Input[str] = ""
    otlp_endpoint: pulumi.Input[str] = ""
    api_server_cidr: str = "0.0.0.0/0"
    resources: Resources = field(default_factory=lambda: Resources("200m", "256Mi", "1", "1Gi"))

    def __post_init__(self) -> None:
        require(1 <= self.replicas <= 5, "controlPlane.operator.replicas", "must be 1..5")
        require(self.openbao_token != "", "openbaoOperatorToken", "required (a secret)")


@dataclass(frozen=True)
class ControlPlaneArgs:
    """Typed arguments of the ControlPlane component."""

    center: str
    crd_dir: Path
    operator: OperatorDeployment | None = None

    def __post_init__(self) -> None:
        require(self.crd_dir.is_dir(), "controlPlane.crdDir", f"{self.crd_dir} is not a folder")
        require(
            any(self.crd_dir.glob("*.yaml")), "controlPlane.crdDir", f"no *.yaml in {self.crd_dir}"
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
    """Credentials Secret, Deployment, PodDisruptionBudget and NetworkPolicies."""
    ns = OPERATOR_NAMESPACE
    selector = {"app.kubernetes.io/name": OPERATOR_NAME}
    env = [
        {"name": "NIDC_KUBE_API_URL", "value": "https://kubernetes.default.svc"},
        {"name": "NIDC_CA_FILE", "value": "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"},
        {"name": "NIDC_OPENBAO_URL", "value": operator.openbao_url},
        {"name": "NIDC_OPENBAO_TOKEN_FILE", "value": "/var/run/nidc/openbao-token"},
        {"name": "NIDC_S3_ENDPOINT", "value": operator.s3_endpoint},
        {"name": "NIDC_S3_ACCESS_KEY", "value": operator.s3_access_key},
        {"name": "NIDC_S3_SECRET_KEY_FILE", "value": "/var/run/nidc/s3-secret-key"},
        {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": operator.otlp_endpoint},
        {"name": "OTEL_SERVICE_NAME", "value": OPERATOR_NAME},
    ]
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
                    "labels": {**selector, **labels("control-plane", OPERATOR_NAME, center)}
                },
                "spec": {
                    "serviceAccountName": OPERATOR_NAME,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 10001},
                    "containers": [
                        {
                            "name": "operator",
                            "image": operator.image,
                            "command": [
                                "python",
                                "-m",
                                "nidc.cli",
                                "operator",
                                "run",
                                "--peering",
                                OPERATOR_NAME,
                                "--liveness",
                                f"http://0.0.0.0:{LIVENESS_PORT}/healthz",
                            ],
                            "env": env,
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
                                    "mountPath": "/var/run/nidc",
                                    "readOnly": True,
                                }
                            ],
                        }
                    ],
                    "volumes": [
                        {
                            "name": "credentials",
                            "secret": {"secretName": f"{OPERATOR_NAME}-credentials"},
                        }
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
            },
        },
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
