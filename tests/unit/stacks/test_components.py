"""Each component with Pulumi mocks: bad args are refused naming the field; children are
parented to the component; the manifests say what the component promises."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from nidc.api.spark_pool import POOL_LABEL, SparkPool, default_pools
from stacks.components.control_plane import (
    ControlPlane,
    ControlPlaneArgs,
    OperatorDeployment,
    build_control_plane,
)
from stacks.components.metrics import Metrics, MetricsArgs, build_metrics
from stacks.components.object_store import (
    Bucket,
    ObjectStore,
    ObjectStoreArgs,
    build_object_store,
)
from stacks.components.secrets_store import (
    SecretsStore,
    SecretsStoreArgs,
    Unseal,
    build_server_config,
)
from stacks.components.sharing import Sharing, SharingArgs, build_sharing
from stacks.components.spark_pools import SparkPools, SparkPoolsArgs, build_spark_pools
from stacks.components.telemetry import Telemetry, TelemetryArgs, build_telemetry
from stacks.components.tenants import TenantConfig, Tenants, TenantsArgs
from stacks.manifests import ArgsError
from tests.unit.stacks.conftest import TLS, RecordingMocks, check_parented, pulumi_test

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[3]
TENANT_SPEC: dict[str, Any] = {
    "displayName": "Steel",
    "owner": {"name": "Wang Li", "email": "wang.li@steel.example.cn"},
    "region": "east",
    "quotas": {"gpus": 2},
}


def store_args(**overrides: Any) -> ObjectStoreArgs:
    base: dict[str, Any] = dict(
        center="region-east",
        region="east",
        image="r/minio:1",
        client_image="r/mc:1",
        root_password="pw",
        tls=TLS,
        buckets=(Bucket("east-core", grade=3),),
    )
    return ObjectStoreArgs(**{**base, **overrides})


# ---- ObjectStore ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"replicas": 2}, "objectStore.replicas"),
        ({"volume_size": "lots"}, "objectStore.volumeSize"),
        ({"root_password": ""}, "objectStore.rootPassword"),
        ({"namespace": "Bad_NS"}, "objectStore.namespace"),
    ],
)
def test_object_store_refuses_bad_args(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ArgsError, match=field):
        store_args(**overrides)


def test_bucket_refuses_bad_names_and_access() -> None:
    with pytest.raises(ArgsError, match=r"buckets\.UP\.name"):
        Bucket("UP")
    with pytest.raises(ArgsError, match="access"):
        Bucket("ok-name", access="public-write")


def test_object_store_pins_grade3_servers_to_their_region() -> None:
    objects = {o["kind"]: o for o in build_object_store(store_args())}
    pod = objects["StatefulSet"]["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"topology.kubernetes.io/region": "east"}
    low = {o["kind"]: o for o in build_object_store(store_args(buckets=(Bucket("b-1", 1),)))}
    assert "nodeSelector" not in low["StatefulSet"]["spec"]["template"]["spec"]
    assert json.loads(objects["ConfigMap"]["data"]["buckets.json"])[0]["region"] == "east"


def test_object_store_distributed_volumes_and_tls() -> None:
    sts = next(o for o in build_object_store(store_args()) if o["kind"] == "StatefulSet")
    server = sts["spec"]["template"]["spec"]["containers"][0]
    assert server["args"][1] == "https://minio-{0...3}.minio-hl.nidc-storage.svc.cluster.local/data"
    assert any(m["name"] == "tls" for m in server["volumeMounts"])


@pulumi_test
def test_object_store_children_are_parented(mocks: RecordingMocks) -> Any:
    component = ObjectStore("object-store", store_args())
    return check_parented(
        component,
        "nidc:storage:ObjectStore",
        mocks,
        ("kubernetes:apps/v1:StatefulSet", "kubernetes:core/v1:Secret"),
    )


# ---- SecretsStore --------------------------------------------------------------------------
def test_secrets_store_refuses_even_replicas_and_bad_unseal() -> None:
    with pytest.raises(ArgsError, match=r"secretsStore.replicas"):
        SecretsStoreArgs(center="c", image="r/openbao:2", tls=TLS, replicas=2)
    with pytest.raises(ArgsError, match=r"secretsStore.unseal.mode"):
        Unseal(mode="auto")
    with pytest.raises(ArgsError, match="transitAddress"):
        Unseal(mode="transit", transit_address="http://plain")


def test_secrets_store_config_is_raft_with_tls_and_every_peer() -> None:
    hcl = build_server_config(SecretsStoreArgs(center="c", image="r/openbao:2", tls=TLS))
    assert 'storage "raft"' in hcl and hcl.count("retry_join") == 3
    assert "tls_disable" not in hcl and "tls_cert_file" in hcl
    transit = SecretsStoreArgs(
        center="c",
        image="i:1",
        tls=TLS,
        unseal=Unseal(mode="transit", transit_address="https://bao.example:8200"),
    )
    assert 'seal "transit"' in build_server_config(transit)


@pulumi_test
def test_secrets_store_children_are_parented(mocks: RecordingMocks) -> Any:
    component = SecretsStore("secrets-store", SecretsStoreArgs(center="c", image="i:1", tls=TLS))
    return check_parented(
        component,
        "nidc:secrets:SecretsStore",
        mocks,
        ("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding",),
    )


# ---- SparkPools ----------------------------------------------------------------------------
def test_spark_pools_refuse_bad_pools_naming_the_field() -> None:
    with pytest.raises(ArgsError, match=r"sparkPools.pools"):
        SparkPoolsArgs(center="c", pools=())
    bad = SparkPool(name="cpu", node_selector={POOL_LABEL: "not a label!"})
    with pytest.raises(ArgsError, match=r"sparkPools.pools.cpu.node_selector"):
        SparkPoolsArgs(center="c", pools=(bad,))
    twice = default_pools()["cpu"]
    with pytest.raises(ArgsError, match=r"sparkPools.pools.cpu: defined twice"):
        SparkPoolsArgs(center="c", pools=(twice, twice))


def test_spark_pools_publish_no_second_pool_format() -> None:
    args = SparkPoolsArgs(center="c", pools=tuple(default_pools().values()))
    # The operator's pools are the ControlPlane's ConfigMap (test_operator_deployment.py).
    assert [o for o in build_spark_pools(args) if "pools" in json.dumps(o.get("data", {}))] == []


@pulumi_test
def test_spark_pools_children_are_parented(mocks: RecordingMocks) -> Any:
    component = SparkPools(
        "spark-pools", SparkPoolsArgs(center="c", pools=(default_pools()["cpu"],))
    )
    return check_parented(component, "nidc:spark:SparkPools")


# ---- Telemetry -----------------------------------------------------------------------------
def test_telemetry_refuses_bad_args_and_wires_collector_to_jaeger() -> None:
    with pytest.raises(ArgsError, match=r"telemetry.collectorReplicas"):
        TelemetryArgs(
            center="c", collector_image="o:1", jaeger_image="j:1", tls=TLS, collector_replicas=0
        )
    args = TelemetryArgs(center="c", collector_image="o:1", jaeger_image="j:1", tls=TLS)
    config = next(
        o for o in build_telemetry(args) if o["metadata"]["name"] == "otel-collector-config"
    )["data"]["collector.yaml"]
    assert "jaeger.nidc-telemetry.svc:4317" in config and "cert_file" in config


@pulumi_test
def test_telemetry_children_are_parented(mocks: RecordingMocks) -> Any:
    component = Telemetry(
        "telemetry", TelemetryArgs(center="c", collector_image="o:1", jaeger_image="j:1", tls=TLS)
    )
    return check_parented(component, "nidc:telemetry:Telemetry")


# ---- ControlPlane --------------------------------------------------------------------------
def test_control_plane_refuses_missing_crds_and_token(tmp_path: Path) -> None:
    with pytest.raises(ArgsError, match=r"controlPlane.crdDir"):
        ControlPlaneArgs(center="c", crd_dir=tmp_path)
    with pytest.raises(ArgsError, match="openbaoOperatorToken"):
        OperatorDeployment(image="op:1")


def test_control_plane_applies_only_cluster_classification_policies(tmp_path: Path) -> None:
    with pytest.raises(ArgsError, match=r"controlPlane\.classificationPolicyDir"):
        ControlPlaneArgs("c", REPO / "crds", policy_dir=tmp_path / "absent")
    (tmp_path / "tenant.yaml").write_text("kind: ClassificationPolicy\nmetadata: {name: t}\n")
    with pytest.raises(ArgsError, match="holds a ClassificationPolicy"):
        build_control_plane(ControlPlaneArgs("c", REPO / "crds", policy_dir=tmp_path))
    graded = build_control_plane(
        ControlPlaneArgs("c", REPO / "crds", policy_dir=REPO / "policies" / "classification")
    )
    assert [
        o["metadata"]["name"] for o in graded if o["kind"] == "ClusterClassificationPolicy"
    ] == ["national-baseline"]


def test_control_plane_has_every_crd_rbac_pdb_and_network_policies() -> None:
    operator = OperatorDeployment(image="op:1", openbao_token="t")
    objects = build_control_plane(ControlPlaneArgs("c", REPO / "crds", operator))
    kinds = [o["kind"] for o in objects]
    # crds/ holds ours and kopf's peering CRD, each once.
    assert kinds.count("CustomResourceDefinition") == len(list((REPO / "crds").glob("*.yaml")))
    for kind in ("ClusterRole", "ClusterRoleBinding", "Deployment", "PodDisruptionBudget"):
        assert kind in kinds
    assert kinds.count("NetworkPolicy") == 2
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    command = deployment["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[command.index("--peering") + 1] == "nidc-operator"
    local = build_control_plane(ControlPlaneArgs("c", REPO / "crds"))
    assert "Deployment" not in [o["kind"] for o in local]


@pulumi_test
def test_control_plane_children_are_parented(mocks: RecordingMocks) -> Any:
    component = ControlPlane("control-plane", ControlPlaneArgs("c", REPO / "crds"))
    return check_parented(component, "nidc:control:ControlPlane")


# ---- Sharing -------------------------------------------------------------------------------
def test_sharing_runs_our_server_read_only_and_publishes_replication() -> None:
    with pytest.raises(ArgsError, match="replication"):
        SharingArgs(
            center="c",
            region="east",
            image="d:1",
            s3_secret_key="t",
            tls=TLS,
            s3_endpoint="https://s3",
            replication={"grades": [1]},
        )
    args = SharingArgs(
        center="c",
        region="east",
        image="d:1",
        s3_secret_key="tok-123",
        tls=TLS,
        s3_endpoint="https://s3",
        replication={
            "peers": [
                {
                    "center": "national",
                    "region": "national",
                    "endpoint": "https://s3.national",
                    "buckets": {"1": "replica-grade1"},
                    "credentialsPath": "secret/data/centers/national/s3",
                }
            ]
        },
    )
    objects = build_sharing(args)
    config_maps = [o for o in objects if o["kind"] == "ConfigMap"]
    # The S3 secret key is in its Secret only, mounted as a file; never in env or ConfigMaps.
    secret = next(o for o in objects if o["metadata"]["name"] == "sharing-s3")
    assert secret["kind"] == "Secret" and secret["stringData"]["secretKey"] == "tok-123"
    others = [o for o in objects if o is not secret]
    assert all("tok-123" not in json.dumps(o) for o in others)
    deployment = next(o for o in objects if o["kind"] == "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["command"] == ["python", "-m", "nidc.sharing"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["NIDC_S3_SECRET_KEY_FILE"] == "/etc/nidc/s3/secretKey"
    assert env["NIDC_OPENBAO_ROLE"] == pod["serviceAccountName"] == "nidc-sharing-server"
    assert env["NIDC_SHARING_TLS_CERT"].endswith("tls.crt")
    # Its only Kubernetes right: reading DataShares.
    role = next(o for o in objects if o["kind"] == "ClusterRole")
    assert role["rules"] == [
        {"apiGroups": ["nidc.io"], "resources": ["datashares"], "verbs": ["get", "list", "watch"]}
    ]
    binding = next(o for o in objects if o["kind"] == "ClusterRoleBinding")
    assert binding["subjects"][0]["name"] == pod["serviceAccountName"]
    published = json.loads(config_maps[0]["data"]["replication.json"])
    assert published["peers"][0]["center"] == "national"
    assert (published["center"], published["region"]) == ("c", "east")
    with pytest.raises(ArgsError, match=r"replication.peers\[0\].credentialsPath"):
        SharingArgs(
            center="c",
            region="east",
            image="d:1",
            s3_secret_key="t",
            tls=TLS,
            s3_endpoint="https://s3",
            replication={
                "peers": [
                    {
                        "center": "national",
                        "region": "national",
                        "endpoint": "https://s3.national",
                        "buckets": {"1": "replica-grade1"},
                        "credentialsPath": "plain-secret-key",
                    }
                ]
            },
        )


@pulumi_test
def test_sharing_children_are_parented(mocks: RecordingMocks) -> Any:
    component = Sharing(
        "sharing",
        SharingArgs(
            center="c", region="east", image="d:1", s3_secret_key="t", tls=TLS, s3_endpoint="x"
        ),
    )
    return check_parented(component, "nidc:sharing:Sharing")


# ---- Tenants -------------------------------------------------------------------------------
def test_tenant_spec_is_validated_by_the_api_model() -> None:
    with pytest.raises(ArgsError, match=r"tenants.steel.spec.owner.email"):
        TenantConfig("steel", {**TENANT_SPEC, "owner": {"name": "W", "email": "nope"}})
    with pytest.raises(ArgsError, match="tenants"):
        TenantsArgs(
            (TenantConfig("a", TENANT_SPEC), TenantConfig("a", TENANT_SPEC)), "https://k", "Q0E="
        )


@pulumi_test
def test_tenants_children_are_parented_and_kubeconfigs_made(mocks: RecordingMocks) -> Any:
    component = Tenants(
        "tenants", TenantsArgs((TenantConfig("steel", TENANT_SPEC),), "https://k:6443", "Q0E=")
    )

    def check_kubeconfig(configs: dict[str, str]) -> None:
        assert "token: token" in configs["steel"] and "namespace: steel" in configs["steel"]

    return pulumi.Output.all(
        check_parented(
            component, "nidc:tenants:Tenants", mocks, ("kubernetes:nidc.io/v1alpha1:Tenant",)
        ),
        component.kubeconfigs.apply(check_kubeconfig),
    )


# ---- Metrics -------------------------------------------------------------------------------
def test_metrics_refuses_bad_args_and_scrapes_the_collector_with_the_rules() -> None:
    with pytest.raises(ArgsError, match=r"metrics.retention"):
        MetricsArgs(center="c", image="p:1", tls=TLS, retention="forever")
    with pytest.raises(ArgsError, match=r"metrics.collectorTarget"):
        MetricsArgs(center="c", image="p:1", tls=TLS, collector_target="nowhere")
    objects = build_metrics(MetricsArgs(center="c", image="p:1", tls=TLS))
    by_name = {(o["kind"], o["metadata"]["name"]): o for o in objects}
    config = yaml.safe_load(by_name[("ConfigMap", "prometheus-config")]["data"]["prometheus.yml"])
    (job,) = config["scrape_configs"]
    assert job["static_configs"] == [{"targets": ["otel-collector.nidc-telemetry.svc:8889"]}]
    assert job["scheme"] == "https" and job["tls_config"]["ca_file"].endswith("ca.crt")
    rules = yaml.safe_load(by_name[("ConfigMap", "prometheus-rules")]["data"]["nidc.yaml"])
    alerts = {r["alert"]: r for g in rules["groups"] for r in g["rules"]}
    # The cluster profile: a product is stale after two hours, not the local minute.
    assert alerts["ProductStale"]["expr"].endswith("> 7200")
    assert {"ProductStale", "ProductQualityGateClosed", "RunFailed"} <= set(alerts)
    (container,) = by_name[("StatefulSet", "prometheus")]["spec"]["template"]["spec"]["containers"]
    assert any(a.startswith("--web.config.file=") for a in container["args"])
    assert ("Secret", "metrics-tls") in by_name


@pulumi_test
def test_metrics_children_are_parented(mocks: RecordingMocks) -> Any:
    component = Metrics("metrics", MetricsArgs(center="c", image="p:1", tls=TLS))
    return check_parented(component, "nidc:metrics:Metrics")
