"""What every component shares: typed argument pieces, labels, and turning a manifest into a
Pulumi resource.

Components build plain manifests (dicts) with pure `build_*` functions, unit-tested without
Pulumi, and hand them to `create_objects`, which makes one typed pulumi-kubernetes resource per
manifest, parented to the component. Values may be Pulumi inputs (secrets from config), which
the builders only place, never read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

PART_OF = {"app.kubernetes.io/part-of": "nidc"}
PLATFORM_LABEL = "nidc.io/platform"
REGION_LABEL = "topology.kubernetes.io/region"
GRADE_LABEL = "nidc.io/max-grade"
CENTER_LABEL = "nidc.io/center"
TLS_VOLUME = "tls"

QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$")
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class ArgsError(ValueError):
    """A component argument is invalid; the message names the field."""


def require(condition: bool, field_name: str, message: str) -> None:
    """Raise ArgsError naming `field_name` unless `condition` holds."""
    if not condition:
        raise ArgsError(f"{field_name}: {message}")


def require_name(value: str, field_name: str) -> None:
    """A Kubernetes object name (RFC 1123 label), at most 63 characters."""
    require(
        bool(DNS_LABEL.match(value)) and len(value) <= 63,
        field_name,
        f"{value!r} is not a DNS label (lower-case letters, digits, '-')",
    )


def require_quantity(value: str, field_name: str) -> None:
    """A Kubernetes quantity such as 500m, 2Gi or 4."""
    require(bool(QUANTITY.match(value)), field_name, f"{value!r} is not a quantity")


NO_LIMIT = "none"


@dataclass(frozen=True)
class Resources:
    """Requests and limits of one container. A limit of "none" leaves it out (some teams run
    without CPU limits to avoid throttling); the policy pack refuses that for the platform."""

    cpu_request: str = "100m"
    memory_request: str = "128Mi"
    cpu_limit: str = "1"
    memory_limit: str = "1Gi"

    def __post_init__(self) -> None:
        for name in ("cpu_request", "memory_request", "cpu_limit", "memory_limit"):
            value = getattr(self, name)
            if not (name.endswith("_limit") and value == NO_LIMIT):
                require_quantity(value, f"resources.{name}")

    @classmethod
    def from_config(cls, data: Mapping[str, Any] | None, where: str) -> Resources:
        """From stack config: {requests: {cpu, memory}, limits: {cpu, memory}}."""
        data = data or {}
        requests, limits = data.get("requests", {}), data.get("limits", {})
        try:
            return cls(
                cpu_request=str(requests.get("cpu", cls.cpu_request)),
                memory_request=str(requests.get("memory", cls.memory_request)),
                cpu_limit=str(limits.get("cpu", cls.cpu_limit)),
                memory_limit=str(limits.get("memory", cls.memory_limit)),
            )
        except ArgsError as error:
            raise ArgsError(f"{where}.{error}") from error

    def manifest(self) -> dict[str, Any]:
        """The container's `resources` field."""
        limits = {"cpu": self.cpu_limit, "memory": self.memory_limit}
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {k: v for k, v in limits.items() if v != NO_LIMIT},
        }


@dataclass(frozen=True)
class Images:
    """Container images: a registry prefix (a private mirror) and `repository:tag` per name."""

    registry: str
    refs: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        require(
            bool(self.registry) and not self.registry.endswith("/"),
            "registry",
            "must be a host[/path] prefix without a trailing '/'",
        )
        for name, ref in self.refs.items():
            require(
                ":" in ref or "@" in ref,
                f"images.{name}",
                f"{ref!r} needs a tag or digest (no floating latest)",
            )

    def ref(self, name: str) -> str:
        """The full image reference of `name`, under the registry prefix."""
        require(name in self.refs, f"images.{name}", "missing from stack config")
        return f"{self.registry}/{self.refs[name]}"


@dataclass(frozen=True)
class Tls:
    """The serving certificate of a center's components (PEM; the key is a secret input)."""

    enabled: bool = True
    certificate: pulumi.Input[str] = ""
    private_key: pulumi.Input[str] = ""
    ca_certificate: pulumi.Input[str] = ""

    def __post_init__(self) -> None:
        if self.enabled:
            for name in ("certificate", "private_key", "ca_certificate"):
                require(getattr(self, name) != "", f"tls.{name}", "required when TLS is enabled")


def labels(component: str, name: str, center: str) -> dict[str, str]:
    """The standard labels of one workload."""
    return {
        **PART_OF,
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        CENTER_LABEL: center,
    }


def build_namespace(name: str, center: str) -> dict[str, Any]:
    """A platform namespace (tenants' network policies admit traffic from these)."""
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": name,
            "labels": {**PART_OF, PLATFORM_LABEL: "true", CENTER_LABEL: center},
        },
    }


def build_tls_secret(name: str, namespace: str, tls: Tls) -> dict[str, Any]:
    """The serving certificate as a `kubernetes.io/tls` Secret (plus the CA that signed it)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(PART_OF)},
        "type": "kubernetes.io/tls",
        "stringData": {
            "tls.crt": tls.certificate,
            "tls.key": tls.private_key,
            "ca.crt": tls.ca_certificate,
        },
    }


def build_service(
    name: str,
    namespace: str,
    selector: Mapping[str, str],
    ports: Mapping[str, int],
    headless: bool = False,
) -> dict[str, Any]:
    """A ClusterIP Service (never a LoadBalancer: nothing here waits for an address)."""
    spec: dict[str, Any] = {
        "selector": dict(selector),
        "ports": [{"name": p, "port": n, "targetPort": n} for p, n in ports.items()],
    }
    if headless:
        # Peers find each other by stable DNS names before they are Ready (raft, erasure sets).
        spec.update(clusterIP="None", publishNotReadyAddresses=True)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace, "labels": dict(selector)},
        "spec": spec,
    }


# Top-level manifest fields and the keyword the typed pulumi-kubernetes classes take for them.
_FIELDS = {
    "metadata": "metadata",
    "spec": "spec",
    "data": "data",
    "stringData": "string_data",
    "type": "type",
    "rules": "rules",
    "roleRef": "role_ref",
    "subjects": "subjects",
    "provisioner": "provisioner",
    "reclaimPolicy": "reclaim_policy",
    "volumeBindingMode": "volume_binding_mode",
}

_CLASSES: dict[tuple[str, str], Any] = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("v1", "Service"): k8s.core.v1.Service,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "Secret"): k8s.core.v1.Secret,
    ("v1", "PersistentVolumeClaim"): k8s.core.v1.PersistentVolumeClaim,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("apps/v1", "StatefulSet"): k8s.apps.v1.StatefulSet,
    ("rbac.authorization.k8s.io/v1", "Role"): k8s.rbac.v1.Role,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): k8s.rbac.v1.RoleBinding,
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): k8s.rbac.v1.ClusterRole,
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): k8s.rbac.v1.ClusterRoleBinding,
    ("policy/v1", "PodDisruptionBudget"): k8s.policy.v1.PodDisruptionBudget,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
    (
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
    ): k8s.apiextensions.v1.CustomResourceDefinition,
}

WORKLOAD_KINDS = ("Deployment", "StatefulSet")
SKIP_AWAIT = "pulumi.com/skipAwait"


def selects(selector: Mapping[str, str], pod_labels: Mapping[str, str]) -> bool:
    """A Service's (equality) selector picks pods carrying these labels."""
    return bool(selector) and all(pod_labels.get(k) == v for k, v in selector.items())


def awaiting_workload(service: Mapping[str, Any], manifests: Sequence[Mapping[str, Any]]) -> str:
    """`Kind/name` of a Deployment or StatefulSet among `manifests`, in the Service's namespace,
    whose pods the Service selects; "" when there is none."""
    namespace = service["metadata"].get("namespace")
    selector = service.get("spec", {}).get("selector") or {}
    for manifest in manifests:
        if (
            manifest["kind"] in WORKLOAD_KINDS
            and manifest["metadata"].get("namespace") == namespace
        ):
            template = manifest["spec"]["template"]["metadata"].get("labels", {})
            if selects(selector, template):
                return f"{manifest['kind']}/{manifest['metadata']['name']}"
    return ""


def skip_awaits_done_elsewhere(
    manifests: Sequence[Mapping[str, Any]],
) -> list[Mapping[str, Any]]:
    """The manifests, with `pulumi.com/skipAwait` on every Service whose pods a workload in the
    same list already awaits (pure; the other manifests are returned unchanged).

    The provider awaits a Service until its endpoints list ready pods and then holds it another
    ten seconds for them to settle (await/service.go). The pods' readiness is what the workload's
    own await checks (every replica ready, or available); what the Service's await adds is that
    its selector picks those pods, which `awaiting_workload` proves from the manifests before
    anything is created. A Service selecting no workload here keeps its await.
    """
    marked: list[Mapping[str, Any]] = []
    for manifest in manifests:
        if manifest["kind"] == "Service" and awaiting_workload(manifest, manifests):
            meta = dict(manifest["metadata"])
            meta["annotations"] = {**meta.get("annotations", {}), SKIP_AWAIT: "true"}
            manifest = {**manifest, "metadata": meta}
        marked.append(manifest)
    return marked


def _defines(crd: Mapping[str, Any], manifest: Mapping[str, Any]) -> bool:
    """`crd` is the CustomResourceDefinition of `manifest`'s kind."""
    spec = crd["spec"]
    group = manifest["apiVersion"].rpartition("/")[0]
    return bool(spec["group"] == group and spec["names"]["kind"] == manifest["kind"])


def prerequisites(manifests: Sequence[Mapping[str, Any]]) -> list[list[int]]:
    """For each manifest, the indices of the manifests that must exist before it is created.

    Only orderings the API server or a controller needs: an object's namespace (the API refuses
    objects in a namespace that does not exist yet); a custom resource's CRD; a workload's
    service account (pods are refused without it); a service-account token Secret's account
    (the token controller deletes a token whose account does not exist, which we hit). Anything
    else (ConfigMaps a pod mounts, bindings to roles) may come in any order, as with `kubectl
    apply`: a kubelet retries a missing volume, RBAC binds a role by name.
    """
    index = {
        (m["kind"], m["metadata"].get("namespace"), m["metadata"]["name"]): i
        for i, m in enumerate(manifests)
    }
    crds = [i for i, m in enumerate(manifests) if m["kind"] == "CustomResourceDefinition"]
    needs: list[list[int]] = []
    for manifest in manifests:
        meta = manifest["metadata"]
        namespace = meta.get("namespace")
        wanted: list[tuple[str, str | None, str]] = []
        if namespace:
            wanted.append(("Namespace", None, namespace))
        if manifest["kind"] in WORKLOAD_KINDS:
            account = manifest["spec"]["template"]["spec"].get("serviceAccountName")
            if account:
                wanted.append(("ServiceAccount", namespace, account))
        if manifest.get("type") == "kubernetes.io/service-account-token":
            account = meta.get("annotations", {}).get("kubernetes.io/service-account.name")
            if account:
                wanted.append(("ServiceAccount", namespace, account))
        found = [index[key] for key in wanted if key in index]
        found += [i for i in crds if _defines(manifests[i], manifest)]
        needs.append(found)
    return needs


def resource_name(prefix: str, manifest: Mapping[str, Any]) -> str:
    """The Pulumi name of an object: the component's name, the kind, namespace and name."""
    meta = manifest["metadata"]
    parts = [prefix, manifest["kind"].lower()]
    if meta.get("namespace"):
        parts.append(meta["namespace"])
    parts.append(meta["name"])
    return "-".join(parts)


def create_object(
    prefix: str, manifest: Mapping[str, Any], opts: pulumi.ResourceOptions
) -> pulumi.CustomResource:
    """One typed resource for one manifest (custom resources through CustomResource)."""
    key = (manifest["apiVersion"], manifest["kind"])
    name = resource_name(prefix, manifest)
    unknown = set(manifest) - set(_FIELDS) - {"apiVersion", "kind"}
    require(not unknown, f"{name}", f"fields this helper cannot pass: {sorted(unknown)}")
    kwargs = {_FIELDS[k]: v for k, v in manifest.items() if k in _FIELDS}
    if key in _CLASSES:
        resource: pulumi.CustomResource = _CLASSES[key](name, opts=opts, **kwargs)
        return resource
    return k8s.apiextensions.CustomResource(
        name, api_version=key[0], kind=key[1], opts=opts, **kwargs
    )


def is_custom_resource(manifest: Mapping[str, Any]) -> bool:
    """An object of a kind defined by a CRD (no typed class of the provider)."""
    return (manifest["apiVersion"], manifest["kind"]) not in _CLASSES


def create_objects(
    prefix: str,
    manifests: Sequence[Mapping[str, Any]],
    parent: pulumi.Resource,
    before_custom: Sequence[pulumi.Resource] = (),
) -> dict[str, pulumi.CustomResource]:
    """Create every manifest as a child of `parent`, each after its `prerequisites` only, so the
    engine runs everything else at once; `before_custom` (made elsewhere in the program: their
    CRDs, say) come before every custom resource here. Services whose pods a workload awaits
    skip their own await (`skip_awaits_done_elsewhere`).

    Explicit object names (no auto-naming) keep what the cluster holds predictable, so a
    replacement deletes the old object before it creates the new one.
    """
    manifests = skip_awaits_done_elsewhere(manifests)
    needs = prerequisites(manifests)
    made: dict[int, pulumi.CustomResource] = {}
    created: dict[str, pulumi.CustomResource] = {}
    # Prerequisites come first in creation order; a cycle would be a builder bug.
    pending = list(range(len(manifests)))
    while pending:
        ready = [i for i in pending if all(n in made for n in needs[i])]
        require(bool(ready), prefix, "manifests depend on each other in a cycle")
        for i in ready:
            manifest = manifests[i]
            before: list[pulumi.Resource] = [made[n] for n in needs[i]]
            if is_custom_resource(manifest):
                before += before_custom
            opts = pulumi.ResourceOptions(
                parent=parent, depends_on=before, delete_before_replace=True
            )
            resource = create_object(prefix, manifest, opts)
            made[i] = resource
            created[resource_name(prefix, manifest)] = resource
        pending = [i for i in pending if i not in made]
    return created
