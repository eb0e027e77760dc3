"""Catalog: the asset catalog of a center (issue 15): its PostgreSQL (a StatefulSet with a volume)
and the catalog server (a Deployment: the indexer's sweep and the read-only HTTP API over TLS).

The server reads the resources as its own service account (nidc/catalog/rbac.py: read the kinds
that make tables, ask TokenReviews) and the Delta logs with an S3 login of its own; the database
password and that login are Secrets mounted as files, never environment values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi

from nidc.catalog.rbac import CLUSTER_ROLE, build_catalog_rbac, service_account_subject
from stacks.manifests import (
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

API_PORT = 8443
DB_PORT = 5432
SERVICE_ACCOUNT = "nidc-catalog"
TLS_DIR = "/etc/nidc/tls"
DB_SECRET_DIR = "/etc/nidc/catalog-db"  # noqa: S105 (a mount path)
S3_SECRET_DIR = "/etc/nidc/catalog-s3"  # noqa: S105 (a mount path)
PGDATA = "/var/lib/postgresql/data/pgdata"
CONSOLE_SECRET_DIR = "/etc/nidc/catalog-console"  # noqa: S105 (a mount path)
DB_TLS_DIR = "/etc/postgresql/tls"
POSTGRES_GID = 999


@dataclass(frozen=True)
class CatalogArgs:
    """Typed arguments of the Catalog component."""

    center: str
    image: str  # the nidc image (python -m nidc.catalog serve)
    postgres_image: str
    db_password: pulumi.Input[str]
    s3_endpoint: pulumi.Input[str]
    s3_access_key: str
    s3_secret_key: pulumi.Input[str]
    tls: Tls
    namespace: str = "nidc-catalog"
    api_replicas: int = 1
    volume_size: str = "20Gi"
    api_resources: Resources = field(default_factory=Resources)
    db_resources: Resources = field(default_factory=Resources)
    # The console (nidc/console, at /console of the API): the key that signs its session
    # cookies, the same in every replica; where its alerts page reads Prometheus and its trace
    # links point. Empty: each replica draws a key, no alerts, no trace links.
    console_session_key: pulumi.Input[str] = ""
    prometheus_url: str = ""
    trace_ui_url: str = ""

    def __post_init__(self) -> None:
        require_name(self.namespace, "catalog.namespace")
        require(1 <= self.api_replicas <= 5, "catalog.apiReplicas", "must be 1..5")
        require_quantity(self.volume_size, "catalog.volumeSize")
        require(self.db_password != "", "catalogDbPassword", "required (a secret)")
        require(self.s3_access_key != "", "catalog.s3AccessKey", "required")
        require(self.s3_secret_key != "", "catalogS3SecretKey", "required (a secret)")


def selector(args: CatalogArgs, name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": args.center}


def build_postgres(args: CatalogArgs) -> list[dict[str, Any]]:
    """The database: one replica with its own volume, password from the Secret."""
    ns, match = args.namespace, selector(args, "catalog-postgres")
    statefulset = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {
            "name": "catalog-postgres",
            "namespace": ns,
            "labels": labels("catalog", "catalog-postgres", args.center),
        },
        "spec": {
            "serviceName": "catalog-postgres",
            "replicas": 1,
            "selector": {"matchLabels": match},
            "template": {
                "metadata": {
                    "labels": {**match, **labels("catalog", "catalog-postgres", args.center)}
                },
                "spec": {
                    "containers": [
                        {
                            "name": "postgres",
                            "image": args.postgres_image,
                            # Clients reach it over TLS only (the stack's certificate, which
                            # names the service); the policy pack's tls-on holds it to that.
                            "args": [
                                "-c",
                                "ssl=on",
                                "-c",
                                f"ssl_cert_file={DB_TLS_DIR}/tls.crt",
                                "-c",
                                f"ssl_key_file={DB_TLS_DIR}/tls.key",
                            ],
                            "env": [
                                {"name": "PGDATA", "value": PGDATA},
                                {
                                    "name": "POSTGRES_PASSWORD_FILE",
                                    "value": f"{DB_SECRET_DIR}/password",
                                },
                            ],
                            "ports": [{"name": "postgres", "containerPort": DB_PORT}],
                            "readinessProbe": {
                                "exec": {"command": ["pg_isready", "-U", "postgres"]},
                                "periodSeconds": 10,
                            },
                            "resources": args.db_resources.manifest(),
                            "volumeMounts": [
                                {"name": "data", "mountPath": "/var/lib/postgresql/data"},
                                {"name": "db", "mountPath": DB_SECRET_DIR, "readOnly": True},
                                {"name": TLS_VOLUME, "mountPath": DB_TLS_DIR, "readOnly": True},
                            ],
                        }
                    ],
                    # The image's postgres user (999) reads the key through its group; the
                    # server accepts a root-owned key of mode 0640 or less.
                    "securityContext": {"fsGroup": POSTGRES_GID},
                    "volumes": [
                        {"name": "db", "secret": {"secretName": "catalog-db"}},
                        {
                            "name": TLS_VOLUME,
                            "secret": {"secretName": "catalog-tls", "defaultMode": 0o440},
                        },
                    ],
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": args.volume_size}},
                    },
                }
            ],
        },
    }
    return [statefulset, build_service("catalog-postgres", ns, match, {"postgres": DB_PORT})]


def build_api(args: CatalogArgs) -> list[dict[str, Any]]:
    """The catalog server, as its service account, settings in its environment."""
    ns, match = args.namespace, selector(args, "catalog-api")
    env = {
        "NIDC_CATALOG_DB_HOST": f"catalog-postgres.{ns}.svc",
        "NIDC_CATALOG_DB_PORT": str(DB_PORT),
        "NIDC_CATALOG_DB_PASSWORD_FILE": f"{DB_SECRET_DIR}/password",
        "NIDC_CATALOG_LISTEN_HOST": "0.0.0.0",  # noqa: S104 (inside its pod)
        "NIDC_CATALOG_LISTEN_PORT": str(API_PORT),
        "NIDC_CATALOG_TLS_CERT": f"{TLS_DIR}/tls.crt",
        "NIDC_CATALOG_TLS_KEY": f"{TLS_DIR}/tls.key",
        "NIDC_CA_FILE": f"{TLS_DIR}/ca.crt",
        "NIDC_S3_ACCESS_KEY": args.s3_access_key,
        "NIDC_S3_SECRET_KEY_FILE": f"{S3_SECRET_DIR}/secretKey",
        "NIDC_CATALOG_CENTER": args.center,
        # libpq's own variables: the database's certificate is checked against the CA and its
        # name (psycopg passes them through).
        "PGSSLMODE": "verify-full",
        "PGSSLROOTCERT": f"{TLS_DIR}/ca.crt",
    }
    if args.prometheus_url:
        env["NIDC_PROMETHEUS_URL"] = args.prometheus_url
    if args.trace_ui_url:
        env["NIDC_TRACE_UI_URL"] = args.trace_ui_url
    if args.console_session_key != "":
        env["NIDC_CONSOLE_SESSION_KEY_FILE"] = f"{CONSOLE_SECRET_DIR}/sessionKey"
    container_env: list[dict[str, Any]] = [{"name": k, "value": v} for k, v in env.items()]
    container_env.append({"name": "NIDC_S3_ENDPOINT", "value": args.s3_endpoint})
    mounts = [
        {"name": TLS_VOLUME, "mountPath": TLS_DIR, "readOnly": True},
        {"name": "db", "mountPath": DB_SECRET_DIR, "readOnly": True},
        {"name": "s3", "mountPath": S3_SECRET_DIR, "readOnly": True},
    ]
    volumes = [
        {"name": TLS_VOLUME, "secret": {"secretName": "catalog-tls"}},
        {"name": "db", "secret": {"secretName": "catalog-db"}},
        {"name": "s3", "secret": {"secretName": "catalog-s3"}},
    ]
    if args.console_session_key != "":
        mounts.append({"name": "console", "mountPath": CONSOLE_SECRET_DIR, "readOnly": True})
        volumes.append({"name": "console", "secret": {"secretName": "catalog-console"}})
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "catalog-api",
            "namespace": ns,
            "labels": labels("catalog", "catalog-api", args.center),
        },
        "spec": {
            "replicas": args.api_replicas,
            "selector": {"matchLabels": match},
            "template": {
                "metadata": {"labels": {**match, **labels("catalog", "catalog-api", args.center)}},
                "spec": {
                    "serviceAccountName": SERVICE_ACCOUNT,
                    "containers": [
                        {
                            "name": "catalog",
                            "image": args.image,
                            "command": ["python", "-m", "nidc.catalog", "serve"],
                            "env": container_env,
                            "ports": [{"name": "https", "containerPort": API_PORT}],
                            "readinessProbe": {
                                "httpGet": {
                                    "path": "/healthz",
                                    "port": API_PORT,
                                    "scheme": "HTTPS",
                                },
                                "periodSeconds": 10,
                            },
                            "resources": args.api_resources.manifest(),
                            "volumeMounts": mounts,
                        }
                    ],
                    "volumes": volumes,
                },
            },
        },
    }
    return [deployment, build_service("catalog-api", ns, match, {"https": API_PORT})]


def build_catalog(args: CatalogArgs) -> list[dict[str, Any]]:
    """Namespace, Secrets, identity and RBAC, the database, the server."""
    ns = args.namespace
    if not args.tls.enabled:
        # Client certificates are how people authenticate: the API is never plain HTTP.
        require(False, "tls.enabled", "the catalog API needs TLS (client certificates)")

    def secret(name: str, data: dict[str, pulumi.Input[str]]) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {
                "name": name,
                "namespace": ns,
                "labels": labels("catalog", name, args.center),
            },
            "type": "Opaque",
            "stringData": data,
        }

    identity = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": SERVICE_ACCOUNT, "namespace": ns},
    }
    return [
        build_namespace(ns, args.center),
        build_tls_secret("catalog-tls", ns, args.tls),
        secret("catalog-db", {"password": args.db_password}),
        secret("catalog-s3", {"secretKey": args.s3_secret_key}),
        *(
            [secret("catalog-console", {"sessionKey": args.console_session_key})]
            if args.console_session_key != ""
            else []
        ),
        identity,
        # Cluster-wide names of its own (the local platform's catalog holds `nidc:catalog`).
        *build_catalog_rbac(
            service_account_subject(ns, SERVICE_ACCOUNT), name=f"{CLUSTER_ROLE}:{ns}"
        ),
        *build_postgres(args),
        *build_api(args),
    ]


def endpoint(namespace: str = "nidc-catalog") -> str:
    """The catalog API's in-cluster base URL; the lineage receiver is its /api/v1/lineage."""
    return f"https://catalog-api.{namespace}.svc.cluster.local:{API_PORT}"


class Catalog(pulumi.ComponentResource):
    """The asset catalog of one center; `endpoint` is its API's in-cluster URL."""

    endpoint: pulumi.Output[str]

    def __init__(
        self, name: str, args: CatalogArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("nidc:catalog:Catalog", name, None, opts)
        self.children = create_objects(name, build_catalog(args), self)
        self.endpoint = pulumi.Output.from_input(f"{endpoint(args.namespace)}/api/v1")
        self.register_outputs({"endpoint": self.endpoint})
