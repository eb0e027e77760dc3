"""Stack config (Pulumi.<stack>.yaml, namespace `nidc`) turned into typed component arguments.

`read_settings` is pure: it takes the config as plain values (and the secret inputs) and raises
ArgsError naming the config key at the first thing wrong, before any resource is registered.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml

from nidc.api.spark_pool import PoolError, SparkPool, default_pools, pools_from_dict
from nidc.service_identity import CATALOG, SHARING_SERVER, service_identity
from stacks.components.catalog import CatalogArgs
from stacks.components.catalog import endpoint as catalog_endpoint
from stacks.components.control_plane import ControlPlaneArgs, OperatorDeployment
from stacks.components.metrics import MetricsArgs
from stacks.components.metrics import query_url as metrics_url
from stacks.components.object_store import Bucket, ObjectStoreArgs, ServiceUser
from stacks.components.secrets_store import SecretsStoreArgs, ServiceRole, Unseal
from stacks.components.sharing import SharingArgs
from stacks.components.sharing import endpoint as sharing_endpoint
from stacks.components.spark_pools import SparkPoolsArgs
from stacks.components.telemetry import TelemetryArgs
from stacks.components.tenants import LINEAGE_SECRET, LineageWriter, TenantConfig
from stacks.derived_secrets import SEED_KEY, stack_secret
from stacks.manifests import ArgsError, Images, Resources, Tls, require, require_name

COMPONENTS = (
    "objectStore",
    "secretsStore",
    "sparkPools",
    "telemetry",
    "metrics",
    "controlPlane",
    "sharing",
    "catalog",
    "tenants",
)
REPO = Path(__file__).resolve().parents[1]
SECRET_KEYS = (
    "objectStoreRootPassword",
    "objectStoreKmsKey",
    "openbaoOperatorToken",
    "sharingS3SecretKey",
    "catalogDbPassword",
    "catalogS3SecretKey",
    "catalogConsoleSessionKey",
    "tlsPrivateKey",
    "lineageWriterPrivateKey",
    SEED_KEY,
)


@dataclass(frozen=True)
class Settings:
    """Everything the program needs, typed; components that are off are None."""

    center: str
    region: str
    components: tuple[str, ...]
    context: str | None
    kubeconfig: str | None
    object_store: ObjectStoreArgs | None = None
    secrets_store: SecretsStoreArgs | None = None
    spark_pools: SparkPoolsArgs | None = None
    telemetry: TelemetryArgs | None = None
    metrics: MetricsArgs | None = None
    control_plane: ControlPlaneArgs | None = None
    sharing: SharingArgs | None = None
    catalog: CatalogArgs | None = None
    tenants: tuple[TenantConfig, ...] = ()
    # The lineage writers' certificate the Tenants component puts in each tenant namespace.
    lineage_writer: LineageWriter | None = None
    replication: Mapping[str, Any] = field(default_factory=dict)


def _section(config: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = config.get(key) or {}
    require(isinstance(value, dict), key, "must be a mapping")
    return dict(value)


def _in(where: str, build: Any, **kwargs: Any) -> Any:
    """Build a typed value, prefixing any error with the config key it came from."""
    try:
        return build(**kwargs)
    except ArgsError as error:
        message = str(error)
        raise ArgsError(message if message.startswith(where) else f"{where}.{message}") from error
    except TypeError as error:
        raise ArgsError(f"{where}: {error}") from error


def _pools(section: Mapping[str, Any]) -> dict[str, SparkPool]:
    """`sparkPools.pools` by the pool model's reader; the embedded platform's pools if absent."""
    if not section.get("pools"):
        return default_pools()
    try:
        return pools_from_dict(section)
    except PoolError as error:
        raise ArgsError(f"sparkPools.{error}") from error


def read_settings(config: Mapping[str, Any], secrets: Mapping[str, pulumi.Input[str]]) -> Settings:
    """Typed settings from the `nidc:*` config values and the secret inputs."""
    center = _section(config, "center")
    name, region = str(center.get("name", "")), str(center.get("region", ""))
    require_name(name, "center.name")
    require_name(region, "center.region")
    components = tuple(config.get("components") or ())
    unknown = set(components) - set(COMPONENTS)
    require(not unknown, "components", f"unknown {sorted(unknown)}; known: {list(COMPONENTS)}")
    kube = _section(config, "kubernetes")
    settings: dict[str, Any] = {
        "center": name,
        "region": region,
        "components": components,
        "context": kube.get("context"),
        "kubeconfig": kube.get("kubeconfig"),
        "replication": _section(config, "replication"),
    }
    needs_images = set(components) - {"controlPlane", "tenants"}
    images = (
        Images(str(config.get("registry", "")), dict(_section(config, "images")))
        if needs_images or _section(config, "controlPlane").get("operator")
        else None
    )
    tls_conf = _section(config, "tls")
    tls = (
        _in(
            "tls",
            Tls,
            enabled=bool(tls_conf.get("enabled", True)),
            certificate=str(config.get("tlsCertificate", "")),
            private_key=secrets.get("tlsPrivateKey", ""),
            ca_certificate=str(config.get("tlsCaCertificate", "")),
        )
        if needs_images
        else Tls(False)
    )

    def resources(section: dict[str, Any], where: str) -> Resources:
        return Resources.from_config(section.get("resources"), where)

    scheme = "https" if tls.enabled else "http"
    # The services' own S3 logins and OpenBao roles (policies/identities), provisioned by the
    # ObjectStore and SecretsStore of this center; their keys are stack secrets or derived.
    sharing_key = stack_secret(secrets, "sharingS3SecretKey", "sharing-s3-secret-key/v1")
    catalog_key = stack_secret(secrets, "catalogS3SecretKey", "catalog-s3-secret-key/v1")
    for key, value in (("sharing", sharing_key), ("catalog", catalog_key)):
        secret = f"{key}S3SecretKey"
        require(key not in components or value != "", secret, f"required, or set {SEED_KEY}")
    catalog_user = str(_section(config, "catalog").get("s3AccessKey", "")) or _s3_user(CATALOG)
    service_users: list[ServiceUser] = []
    service_roles: list[ServiceRole] = []
    if "sharing" in components:
        service_users.append(_service_user(SHARING_SERVER, sharing_key))
        service_roles.append(_service_role(SHARING_SERVER))
    if "catalog" in components:
        service_users.append(_service_user(CATALOG, catalog_key, catalog_user))
    if "objectStore" in components:
        c = _section(config, "objectStore")
        buckets = tuple(
            _in(f"objectStore.buckets[{i}]", Bucket, **b)
            for i, b in enumerate(c.get("buckets") or [])
        )
        assert images is not None
        settings["object_store"] = _in(
            "objectStore",
            ObjectStoreArgs,
            center=name,
            region=region,
            image=images.ref("minio"),
            client_image=images.ref("mc"),
            root_password=secrets.get("objectStoreRootPassword", ""),
            kms_secret_key=secrets.get("objectStoreKmsKey", ""),
            tls=tls,
            replicas=int(c.get("replicas", 4)),
            volume_size=str(c.get("volumeSize", "100Gi")),
            storage_class=c.get("storageClass"),
            buckets=buckets,
            users=tuple(service_users),
            resources=resources(c, "objectStore"),
        )
    s3_endpoint = f"{scheme}://minio.nidc-storage.svc.cluster.local:9000"
    if "secretsStore" in components:
        c = _section(config, "secretsStore")
        u = _section(c, "unseal")
        unseal = _in(
            "secretsStore.unseal",
            Unseal,
            mode=u.get("mode", "shamir"),
            transit_address=u.get("transitAddress", ""),
            transit_key=u.get("transitKey", "nidc-unseal"),
        )
        assert images is not None
        settings["secrets_store"] = _in(
            "secretsStore",
            SecretsStoreArgs,
            center=name,
            image=images.ref("openbao"),
            tls=tls,
            replicas=int(c.get("replicas", 3)),
            volume_size=str(c.get("volumeSize", "10Gi")),
            storage_class=c.get("storageClass"),
            unseal=unseal,
            roles=tuple(service_roles),
            operator_token=secrets.get("openbaoOperatorToken", ""),
            resources=resources(c, "secretsStore"),
        )
    # The pools are the operator's pool model (nidc/api/spark_pool.py), read by its own reader:
    # the operator gets them in exactly this document.
    pools = _pools(_section(config, "sparkPools"))
    if "sparkPools" in components:
        settings["spark_pools"] = _in(
            "sparkPools", SparkPoolsArgs, center=name, pools=tuple(pools.values())
        )
    if "telemetry" in components:
        c = _section(config, "telemetry")
        assert images is not None
        settings["telemetry"] = _in(
            "telemetry",
            TelemetryArgs,
            center=name,
            collector_image=images.ref("otelCollector"),
            jaeger_image=images.ref("jaeger"),
            tls=tls,
            collector_replicas=int(c.get("collectorReplicas", 2)),
            resources=resources(c, "telemetry"),
        )
    if "metrics" in components:
        c = _section(config, "metrics")
        assert images is not None
        settings["metrics"] = _in(
            "metrics",
            MetricsArgs,
            center=name,
            image=images.ref("prometheus"),
            tls=tls,
            retention=str(c.get("retention", "15d")),
            volume_size=str(c.get("volumeSize", "20Gi")),
            scrape_interval=str(c.get("scrapeInterval", "15s")),
            resources=resources(c, "metrics"),
        )
    if "controlPlane" in components:
        c = _section(config, "controlPlane")
        operator = None
        if c.get("operator"):
            o = dict(c["operator"])
            assert images is not None
            operator = _in(
                "controlPlane.operator",
                OperatorDeployment,
                image=images.ref("operator"),
                spark_image=images.ref("nidcSpark"),
                collector_image=images.ref("collector"),
                spark_pools=tuple(pools.values()),
                replicas=int(o.get("replicas", 2)),
                openbao_url=f"{scheme}://openbao.nidc-secrets.svc.cluster.local:8200",
                openbao_token=secrets.get("openbaoOperatorToken", ""),
                s3_endpoint=s3_endpoint,
                s3_secret_key=secrets.get("objectStoreRootPassword", ""),
                otlp_endpoint=f"{scheme}://otel-collector.nidc-telemetry.svc.cluster.local:4317",
                ca_certificate=str(config.get("tlsCaCertificate", "")) if tls.enabled else "",
                api_server_cidr=str(o.get("apiServerCidr", "0.0.0.0/0")),
                audit_center=name,
                # Jobs post lineage to the catalog API and mount the writers' certificate;
                # DataShare profiles name the sharing server.
                lineage_url=catalog_endpoint() if "catalog" in components else "",
                lineage_secret=LINEAGE_SECRET if "catalog" in components else "",
                sharing_endpoint=(
                    str(_section(config, "sharing").get("publicEndpoint", ""))
                    or sharing_endpoint(tls.enabled)
                )
                if "sharing" in components
                else "",
                resources=Resources.from_config(o.get("resources"), "controlPlane.operator"),
            )
        crd_dir = Path(c.get("crdDir", REPO / "crds"))
        policy_dir = Path(c.get("classificationPolicyDir", REPO / "policies" / "classification"))
        settings["control_plane"] = _in(
            "controlPlane",
            ControlPlaneArgs,
            center=name,
            crd_dir=crd_dir if crd_dir.is_absolute() else REPO / crd_dir,
            operator=operator,
            policy_dir=policy_dir if policy_dir.is_absolute() else REPO / policy_dir,
        )
    if "sharing" in components:
        c = _section(config, "sharing")
        assert images is not None
        settings["sharing"] = _in(
            "sharing",
            SharingArgs,
            center=name,
            region=region,
            image=images.ref("operator"),  # the nidc image: `python -m nidc.sharing`
            s3_secret_key=sharing_key,
            s3_access_key=_s3_user(SHARING_SERVER),
            openbao_url=f"{scheme}://openbao.nidc-secrets.svc.cluster.local:8200",
            tls=tls,
            s3_endpoint=s3_endpoint,
            replicas=int(c.get("replicas", 2)),
            replication=settings["replication"],
            resources=resources(c, "sharing"),
        )
    if "catalog" in components:
        c = _section(config, "catalog")
        assert images is not None
        settings["catalog"] = _in(
            "catalog",
            CatalogArgs,
            center=name,
            image=images.ref("catalog"),
            postgres_image=images.ref("postgres"),
            db_password=stack_secret(secrets, "catalogDbPassword", "catalog-db-password/v1"),
            s3_endpoint=s3_endpoint,
            s3_access_key=catalog_user,
            s3_secret_key=catalog_key,
            tls=tls,
            api_replicas=int(c.get("apiReplicas", 1)),
            volume_size=str(c.get("volumeSize", "20Gi")),
            api_resources=resources(c, "catalog"),
            console_session_key=stack_secret(
                secrets, "catalogConsoleSessionKey", "catalog-console-session-key/v1"
            ),
            prometheus_url=metrics_url(settings["metrics"]) if settings.get("metrics") else "",
            trace_ui_url=str(c.get("traceUiUrl", "")),
        )
    if "catalog" in components and "tenants" in components:
        # The catalog API is the lineage receiver: tenants' jobs need the writers' certificate.
        settings["lineage_writer"] = _in(
            "lineageWriterCertificate",
            LineageWriter,
            certificate=str(config.get("lineageWriterCertificate", "")),
            private_key=secrets.get("lineageWriterPrivateKey", ""),
            ca_certificate=str(config.get("tlsCaCertificate", "")),
        )
    if "tenants" in components:
        settings["tenants"] = tuple(
            _in(f"tenants[{i}]", TenantConfig, name=t.get("name", ""), spec=t.get("spec", {}))
            for i, t in enumerate(config.get("tenants") or [])
        )
    return Settings(**settings)


def _s3_user(service: str) -> str:
    access = service_identity(service).s3
    assert access is not None, f"policies/identities/{service}.yaml has no s3 section"
    return access.user


def _service_user(service: str, key: pulumi.Input[str], user: str = "") -> ServiceUser:
    access = service_identity(service).s3
    assert access is not None, f"policies/identities/{service}.yaml has no s3 section"
    user_: ServiceUser = _in(
        "objectStore.users",
        ServiceUser,
        user=user or access.user,
        policy=access.policy,
        secret_key=key,
    )
    return user_


def _service_role(service: str) -> ServiceRole:
    access = service_identity(service).openbao
    assert access is not None, f"policies/identities/{service}.yaml has no openbao section"
    role: ServiceRole = _in(
        "secretsStore.roles",
        ServiceRole,
        name=service,
        policy=access.policy,
        service_account=access.service_account,
        namespace=access.namespace,
        token_ttl=access.token_ttl,
    )
    return role


def read_stack_file(path: Path) -> dict[str, Any]:
    """The `nidc:*` values of a Pulumi.<stack>.yaml, keyed without the namespace (what
    `read_settings` takes; secrets are set per stack and are not in the file)."""
    config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
    return {k.removeprefix("nidc:"): v for k, v in config.items() if k.startswith("nidc:")}


def cluster_endpoint(kubeconfig: str | None, context: str | None) -> tuple[str, str]:
    """API server URL and base64 CA of a kubeconfig context ($KUBECONFIG by default)."""
    path = Path(kubeconfig or os.environ.get("KUBECONFIG", "~/.kube/config")).expanduser()
    data = yaml.safe_load(path.read_text())
    ctx_name = context or data.get("current-context")
    ctx = next((c["context"] for c in data.get("contexts", []) if c["name"] == ctx_name), None)
    require(ctx is not None, "kubernetes.context", f"{ctx_name!r} is not in {path}")
    assert ctx is not None
    cluster = next(c["cluster"] for c in data["clusters"] if c["name"] == ctx["cluster"])
    ca = cluster.get("certificate-authority-data")
    if ca is None and cluster.get("certificate-authority"):
        ca = base64.b64encode(Path(cluster["certificate-authority"]).read_bytes()).decode()
    return str(cluster["server"]), str(ca or "")
