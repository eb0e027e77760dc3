"""ObjectStore: MinIO as a StatefulSet (erasure-coded when distributed), its buckets, TLS."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import pulumi

from stacks.manifests import (
    GRADE_LABEL,
    REGION_LABEL,
    TLS_VOLUME,
    Resources,
    Tls,
    build_namespace,
    build_service,
    build_tls_secret,
    create_objects,
    labels,
    require,
    require_name,
    require_quantity,
)

BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
BUCKETS_CONFIG_LABEL = "nidc.io/config"
API_PORT = 9000
CERTS_DIR = "/etc/minio/certs"


@dataclass(frozen=True)
class Bucket:
    """One bucket: who may read it, its data grade and the region that must hold it."""

    name: str
    grade: int = 2
    access: str = "private"
    versioning: bool = True
    region: str = ""

    def __post_init__(self) -> None:
        require(
            bool(BUCKET_NAME.match(self.name)),
            f"buckets.{self.name}.name",
            "not an S3 bucket name (3-63 lower-case letters, digits, '.', '-')",
        )
        require(self.grade in (1, 2, 3), f"buckets.{self.name}.grade", "must be 1, 2 or 3")
        require(
            self.access in ("private", "public-read"),
            f"buckets.{self.name}.access",
            "must be private or public-read",
        )


@dataclass(frozen=True)
class ServiceUser:
    """A platform service's own MinIO login (policies/identities): its user, the one policy
    attached to it, and its secret key (a stack secret, kept in the `minio-users` Secret)."""

    user: str
    policy: dict[str, Any]
    secret_key: pulumi.Input[str]

    def __post_init__(self) -> None:
        require_name(self.user, f"objectStore.users.{self.user}")
        require(self.secret_key != "", f"objectStore.users.{self.user}", "needs a secret key")


@dataclass(frozen=True)
class ObjectStoreArgs:
    """Typed arguments of the ObjectStore component."""

    center: str
    region: str
    image: str
    client_image: str
    root_password: pulumi.Input[str]
    tls: Tls
    # MINIO_KMS_SECRET_KEY (<name>:<base64 of 32 bytes>): with it every bucket gets default
    # encryption SSE-S3; '' leaves objects unencrypted on disk (docs/encryption.md).
    kms_secret_key: pulumi.Input[str] = ""
    namespace: str = "nidc-storage"
    replicas: int = 4
    volume_size: str = "100Gi"
    storage_class: str | None = None
    root_user: str = "nidc-root"
    buckets: tuple[Bucket, ...] = field(default_factory=tuple)
    # The platform services' logins the provisioning sidecar keeps (sharing server, catalog).
    users: tuple[ServiceUser, ...] = field(default_factory=tuple)
    resources: Resources = field(default_factory=Resources)

    def __post_init__(self) -> None:
        require_name(self.namespace, "objectStore.namespace")
        users = [u.user for u in self.users]
        require(len(users) == len(set(users)), "objectStore.users", "duplicate user names")
        require_name(self.region, "center.region")
        # MinIO erasure coding needs at least four drives; one server is a single drive.
        require(
            self.replicas == 1 or self.replicas >= 4,
            "objectStore.replicas",
            f"{self.replicas}: use 1 (single drive) or at least 4 (erasure coding)",
        )
        require_quantity(self.volume_size, "objectStore.volumeSize")
        require(self.root_password != "", "objectStore.rootPassword", "required (a secret)")
        names = [b.name for b in self.buckets]
        require(len(names) == len(set(names)), "objectStore.buckets", "duplicate bucket names")

    @property
    def max_grade(self) -> int:
        """The highest grade of data any of its buckets holds."""
        return max((b.grade for b in self.buckets), default=1)


def _bucket_region(args: ObjectStoreArgs, bucket: Bucket) -> str:
    return bucket.region or args.region


def build_buckets_config(args: ObjectStoreArgs) -> dict[str, Any]:
    """The bucket definitions the provisioning sidecar applies (and the policy pack reads)."""
    buckets = [
        {
            "name": b.name,
            "grade": b.grade,
            "access": b.access,
            "versioning": b.versioning,
            "region": _bucket_region(args, b),
            "encryption": "sse-s3" if args.kms_secret_key != "" else "none",
        }
        for b in args.buckets
    ]
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "minio-buckets",
            "namespace": args.namespace,
            "labels": {
                **labels("object-store", "minio", args.center),
                BUCKETS_CONFIG_LABEL: "buckets",
                REGION_LABEL: args.region,
            },
        },
        "data": {"buckets.json": json.dumps(buckets, indent=2, sort_keys=True)},
    }


def build_users_config(args: ObjectStoreArgs) -> list[dict[str, Any]]:
    """The services' users and policies (ConfigMap `minio-users`) and their secret keys (Secret
    `minio-users`, one key per user); the sidecar reads the key from its file, never echoing it."""
    meta = {"namespace": args.namespace, "labels": labels("object-store", "minio", args.center)}
    policies = {
        f"{u.user}.json": json.dumps(u.policy, indent=2, sort_keys=True) for u in args.users
    }
    users = json.dumps([u.user for u in args.users])
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "minio-users", **meta},
            "data": {"users.json": users, **policies},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "minio-users", **meta},
            "type": "Opaque",
            "stringData": {u.user: u.secret_key for u in args.users},
        },
    ]


# Idempotent: `mc mb --ignore-existing`, versioning, an anonymous policy of none unless the
# bucket is declared public-read (which the policy pack refuses), default encryption SSE-S3
# when the server has a KMS key. Then each service user: its policy (re)written, the user
# (re)added with the key from its Secret file, the policy attached (an attach already in effect
# is not an error). Users run without `-x`: the traced line would carry the key.
PROVISION_SCRIPT = """set -eu
until mc alias set local "$MINIO_URL" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null; do
  sleep 5
done
python3 - <<'PY' > /tmp/commands
import json
for b in json.load(open("/config/buckets.json")):
    print(f"mc mb --ignore-existing local/{b['name']}")
    print(f"mc version {'enable' if b['versioning'] else 'suspend'} local/{b['name']}")
    print(f"mc anonymous set {'download' if b['access'] == 'public-read' else 'none'} "
          f"local/{b['name']}")
    if b.get("encryption") == "sse-s3":
        print(f"mc encrypt set sse-s3 local/{b['name']}")
PY
sh -eux /tmp/commands
for user in $(python3 -c 'import json; print(" ".join(json.load(open("/users/users.json"))))'); do
  mc admin policy create local "$user" "/users/$user.json" >/dev/null
  mc admin user add local "$user" "$(cat "/user-keys/$user")" >/dev/null
  mc admin policy attach local "$user" --user "$user" >/dev/null 2>&1 || true
  echo "service user $user provisioned"
done
exec sleep infinity
"""


def build_statefulset(args: ObjectStoreArgs) -> dict[str, Any]:
    """MinIO servers (one drive each) and the bucket-provisioning sidecar."""
    selector = {"app.kubernetes.io/name": "minio", "app.kubernetes.io/instance": args.center}
    scheme = "https" if args.tls.enabled else "http"
    if args.replicas == 1:
        volumes_arg = "/data"
    else:
        volumes_arg = (
            f"{scheme}://minio-{{0...{args.replicas - 1}}}.minio-hl."
            f"{args.namespace}.svc.cluster.local/data"
        )
    env = [
        {
            "name": "MINIO_ROOT_USER",
            "valueFrom": {"secretKeyRef": {"name": "minio-root", "key": "user"}},
        },
        {
            "name": "MINIO_ROOT_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": "minio-root", "key": "password"}},
        },
        {"name": "MINIO_REGION", "value": args.region},
    ]
    if args.kms_secret_key != "":
        env.append(
            {
                "name": "MINIO_KMS_SECRET_KEY",
                "valueFrom": {"secretKeyRef": {"name": "minio-root", "key": "kms"}},
            }
        )
    server: dict[str, Any] = {
        "name": "minio",
        "image": args.image,
        "args": ["server", volumes_arg, "--certs-dir", CERTS_DIR, "--console-address", ":9001"],
        "env": env,
        "ports": [{"name": "s3", "containerPort": API_PORT}],
        "resources": args.resources.manifest(),
        "volumeMounts": [{"name": "data", "mountPath": "/data"}],
        "readinessProbe": {
            "httpGet": {"path": "/minio/health/ready", "port": API_PORT, "scheme": scheme.upper()},
        },
    }
    sidecar: dict[str, Any] = {
        "name": "buckets",
        "image": args.client_image,
        "command": ["sh", "-c", PROVISION_SCRIPT],
        "env": [*env[:2], {"name": "MINIO_URL", "value": f"{scheme}://127.0.0.1:{API_PORT}"}],
        "resources": Resources("10m", "32Mi", "200m", "128Mi").manifest(),
        "volumeMounts": [
            {"name": "buckets", "mountPath": "/config"},
            {"name": "users", "mountPath": "/users", "readOnly": True},
            {"name": "user-keys", "mountPath": "/user-keys", "readOnly": True},
        ],
    }
    volumes: list[dict[str, Any]] = [
        {"name": "buckets", "configMap": {"name": "minio-buckets"}},
        {"name": "users", "configMap": {"name": "minio-users"}},
        {"name": "user-keys", "secret": {"secretName": "minio-users", "defaultMode": 0o440}},
    ]
    if args.tls.enabled:
        server["volumeMounts"].append(
            {"name": TLS_VOLUME, "mountPath": CERTS_DIR, "readOnly": True}
        )
        sidecar["volumeMounts"].append(
            {"name": TLS_VOLUME, "mountPath": "/root/.mc/certs/CAs", "readOnly": True}
        )
        volumes.append(
            {
                "name": TLS_VOLUME,
                "secret": {
                    "secretName": "minio-tls",
                    "items": [
                        {"key": "tls.crt", "path": "public.crt"},
                        {"key": "tls.key", "path": "private.key"},
                        {"key": "ca.crt", "path": "CAs/ca.crt"},
                    ],
                },
            }
        )
    pod_spec: dict[str, Any] = {
        "containers": [server, sidecar],
        "volumes": volumes,
        "securityContext": {"runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000},
    }
    if args.max_grade >= 3:
        # Core data never leaves its region: the servers holding it are pinned there.
        pod_spec["nodeSelector"] = {REGION_LABEL: args.region}
    claim: dict[str, Any] = {
        "metadata": {"name": "data"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": args.volume_size}},
        },
    }
    if args.storage_class:
        claim["spec"]["storageClassName"] = args.storage_class
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {
            "name": "minio",
            "namespace": args.namespace,
            "labels": {
                **labels("object-store", "minio", args.center),
                GRADE_LABEL: str(args.max_grade),
                REGION_LABEL: args.region,
            },
        },
        "spec": {
            "serviceName": "minio-hl",
            "replicas": args.replicas,
            # Erasure-set members must all start together to form the set.
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {
                    "labels": {**selector, **labels("object-store", "minio", args.center)}
                },
                "spec": pod_spec,
            },
            "volumeClaimTemplates": [claim],
            "persistentVolumeClaimRetentionPolicy": {
                "whenDeleted": "Retain",
                "whenScaled": "Retain",
            },
        },
    }


def build_object_store(args: ObjectStoreArgs) -> list[dict[str, Any]]:
    """Every object of the object store, namespace first."""
    selector = {"app.kubernetes.io/name": "minio", "app.kubernetes.io/instance": args.center}
    objects = [
        build_namespace(args.namespace, args.center),
        # Before the root Secret and the buckets: tests and readers keyed by kind see those.
        *build_users_config(args),
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "minio-root", "namespace": args.namespace},
            "type": "Opaque",
            "stringData": {
                "user": args.root_user,
                "password": args.root_password,
                **({"kms": args.kms_secret_key} if args.kms_secret_key != "" else {}),
            },
        },
        build_buckets_config(args),
        build_service("minio-hl", args.namespace, selector, {"s3": API_PORT}, headless=True),
        build_service("minio", args.namespace, selector, {"s3": API_PORT}),
        build_statefulset(args),
    ]
    if args.tls.enabled:
        objects.insert(1, build_tls_secret("minio-tls", args.namespace, args.tls))
    return objects


class ObjectStore(pulumi.ComponentResource):
    """MinIO for one center: servers, buckets, TLS; `endpoint` is its in-cluster S3 URL."""

    endpoint: pulumi.Output[str]

    def __init__(
        self, name: str, args: ObjectStoreArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("nidc:storage:ObjectStore", name, None, opts)
        self.children = create_objects(name, build_object_store(args), self)
        scheme = "https" if args.tls.enabled else "http"
        self.endpoint = pulumi.Output.from_input(
            f"{scheme}://minio.{args.namespace}.svc.cluster.local:{API_PORT}"
        )
        self.register_outputs({"endpoint": self.endpoint})
