"""The center as one Pulumi program: `pulumi up -s national` (or region-east, region-west, local).

Each component is switched on by `nidc:components` in the stack file; docs/stacks.md describes
every key. Set `nidc:renderYamlTo` to write the manifests to a folder instead of a cluster
(bench/stack.py applies those with kubectl).
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from nidc.api.kinds import TENANT
from nidc.api.schema import GROUP
from stacks.components.catalog import Catalog
from stacks.components.control_plane import ControlPlane
from stacks.components.metrics import Metrics
from stacks.components.object_store import ObjectStore
from stacks.components.secrets_store import SecretsStore
from stacks.components.sharing import Sharing
from stacks.components.spark_pools import SparkPools
from stacks.components.telemetry import Telemetry
from stacks.components.tenants import Tenants, TenantsArgs
from stacks.config import SECRET_KEYS, cluster_endpoint, read_settings

OBJECT_KEYS = (
    "center",
    "components",
    "kubernetes",
    "images",
    "tls",
    "objectStore",
    "secretsStore",
    "sparkPools",
    "telemetry",
    "metrics",
    "controlPlane",
    "sharing",
    "catalog",
    "tenants",
    "replication",
)
STRING_KEYS = ("registry", "tlsCertificate", "tlsCaCertificate", "lineageWriterCertificate")


def main() -> None:
    """Read the stack config, then create the components it switches on."""
    config = pulumi.Config("nidc")
    values: dict[str, Any] = {}
    for key in OBJECT_KEYS:
        if (value := config.get_object(key)) is not None:
            values[key] = value
    for key in STRING_KEYS:
        if (text := config.get(key)) is not None:
            values[key] = text
    secrets = {k: v for k in SECRET_KEYS if (v := config.get_secret(k)) is not None}
    settings = read_settings(values, secrets)

    render_to = config.get("renderYamlTo")
    if render_to:
        # Rendering talks to no cluster (the provider refuses a kubeconfig alongside it).
        provider = k8s.Provider("kubernetes", render_yaml_to_directory=render_to)
    else:
        provider = k8s.Provider(
            "kubernetes", kubeconfig=settings.kubeconfig, context=settings.context
        )
    opts = pulumi.ResourceOptions(providers=[provider])
    endpoints: dict[str, pulumi.Output[str]] = {}
    if settings.object_store:
        endpoints["s3"] = ObjectStore("object-store", settings.object_store, opts).endpoint
    if settings.secrets_store:
        endpoints["openbao"] = SecretsStore("secrets-store", settings.secrets_store, opts).endpoint
    if settings.spark_pools:
        pulumi.export("sparkPools", SparkPools("spark-pools", settings.spark_pools, opts).pools)
    if settings.telemetry:
        endpoints["otlp"] = Telemetry("telemetry", settings.telemetry, opts).otlp_endpoint
    if settings.metrics:
        endpoints["prometheus"] = Metrics("metrics", settings.metrics, opts).query_url
    if settings.sharing:
        endpoints["deltaSharing"] = Sharing("sharing", settings.sharing, opts).endpoint
    if settings.catalog:
        endpoints["catalog"] = Catalog("catalog", settings.catalog, opts).endpoint
    # Tenant objects wait for the Tenant CRD alone, when this program makes it.
    tenant_crd: list[pulumi.Resource] = []
    if settings.control_plane:
        crds = ControlPlane("control-plane", settings.control_plane, opts).crds
        tenant_crd = [crds[f"{TENANT.plural}.{GROUP}"]]
    if "tenants" in settings.components:
        server, ca_data = cluster_endpoint(settings.kubeconfig, settings.context)
        tenants = Tenants(
            "tenants",
            TenantsArgs(settings.tenants, server, ca_data, settings.lineage_writer),
            crds=tenant_crd,
            opts=opts,
        )
        pulumi.export("tenantKubeconfigs", tenants.kubeconfigs)
        endpoints["kubernetes"] = pulumi.Output.from_input(server)
    pulumi.export("center", settings.center)
    pulumi.export("region", settings.region)
    pulumi.export("endpoints", endpoints)


main()
