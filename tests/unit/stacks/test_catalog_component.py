"""The Catalog component with Pulumi mocks: bad args are refused naming the field; secrets are
mounted as files, never environment values; the server reads as its own service account with
the catalog's RBAC; children are parented to the component."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.components.catalog import (
    API_PORT,
    SERVICE_ACCOUNT,
    Catalog,
    CatalogArgs,
    build_catalog,
)
from stacks.manifests import ArgsError, Tls
from tests.unit.stacks.conftest import TLS, RecordingMocks, check_parented, pulumi_test

pytestmark = pytest.mark.unit


def catalog_args(**overrides: Any) -> CatalogArgs:
    base: dict[str, Any] = dict(
        center="region-east",
        image="r/nidc:1",
        postgres_image="r/postgres:15-bookworm",
        db_password="db-secret-1",
        s3_endpoint="https://s3.region-east",
        s3_access_key="catalog-reader",
        s3_secret_key="s3-secret-2",
        tls=TLS,
    )
    return CatalogArgs(**{**base, **overrides})


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"db_password": ""}, "catalogDbPassword"),
        ({"s3_secret_key": ""}, "catalogS3SecretKey"),
        ({"s3_access_key": ""}, "catalog.s3AccessKey"),
        ({"api_replicas": 0}, "catalog.apiReplicas"),
        ({"volume_size": "lots"}, "catalog.volumeSize"),
        ({"namespace": "Not_A_Name"}, "catalog.namespace"),
    ],
)
def test_bad_args_are_refused_naming_the_field(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ArgsError, match=field):
        catalog_args(**overrides)


def test_the_api_is_never_served_without_tls() -> None:
    with pytest.raises(ArgsError, match=r"tls\.enabled"):
        build_catalog(catalog_args(tls=Tls(enabled=False)))


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def test_secrets_are_files_and_the_server_has_its_own_identity() -> None:
    objects = build_catalog(catalog_args())
    rendered = repr([o for o in objects if o["kind"] != "Secret"])
    assert "db-secret-1" not in rendered and "s3-secret-2" not in rendered
    secrets = {o["metadata"]["name"]: o for o in by_kind(objects, "Secret")}
    assert secrets["catalog-db"]["stringData"] == {"password": "db-secret-1"}
    assert secrets["catalog-s3"]["stringData"] == {"secretKey": "s3-secret-2"}

    (deployment,) = by_kind(objects, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == SERVICE_ACCOUNT
    (container,) = pod["containers"]
    assert container["command"] == ["python", "-m", "nidc.catalog", "serve"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["NIDC_CATALOG_DB_PASSWORD_FILE"].startswith("/etc/nidc/catalog-db/")
    assert env["NIDC_S3_SECRET_KEY_FILE"].startswith("/etc/nidc/catalog-s3/")
    assert env["NIDC_CATALOG_DB_HOST"] == "catalog-postgres.nidc-catalog.svc"
    assert container["readinessProbe"]["httpGet"] == {
        "path": "/healthz",
        "port": API_PORT,
        "scheme": "HTTPS",
    }
    mounted = {v["secret"]["secretName"] for v in pod["volumes"]}
    assert mounted == {"catalog-tls", "catalog-db", "catalog-s3"}

    (statefulset,) = by_kind(objects, "StatefulSet")
    claim = statefulset["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["resources"]["requests"]["storage"] == "20Gi"
    postgres = statefulset["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "POSTGRES_PASSWORD_FILE", "value": "/etc/nidc/catalog-db/password"} in (
        postgres["env"]
    )

    bindings = by_kind(objects, "ClusterRoleBinding")
    # Names of its own: the local platform's catalog already holds `nidc:catalog`.
    assert {b["roleRef"]["name"] for b in bindings} == {
        "nidc:catalog:nidc-catalog",
        "system:auth-delegator",
    }
    (role,) = by_kind(objects, "ClusterRole")
    assert role["metadata"]["name"] == "nidc:catalog:nidc-catalog"
    for binding in bindings:
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "namespace": "nidc-catalog", "name": SERVICE_ACCOUNT}
        ]
    (role,) = by_kind(objects, "ClusterRole")
    verbs = {verb for rule in role["rules"] for verb in rule["verbs"]}
    assert verbs == {"get", "list", "watch"}  # the catalog never writes a resource
    services = {s["metadata"]["name"] for s in by_kind(objects, "Service")}
    assert services == {"catalog-api", "catalog-postgres"}


@pulumi_test
def test_catalog_children_are_parented(mocks: RecordingMocks) -> Any:
    component = Catalog("catalog", catalog_args())
    return check_parented(
        component,
        "nidc:catalog:Catalog",
        mocks,
        ("kubernetes:apps/v1:StatefulSet", "kubernetes:apps/v1:Deployment"),
    )


def test_stack_config_switches_the_catalog_on() -> None:
    from stacks.config import read_settings

    config: dict[str, Any] = {
        "center": {"name": "region-east", "region": "east"},
        "components": ["catalog"],
        "registry": "registry.example.cn/mirror",
        "images": {"catalog": "nidc/nidc:0.1.0", "postgres": "postgres:15.10-bookworm"},
        "catalog": {"s3AccessKey": "catalog-reader", "volumeSize": "50Gi"},
        "tlsCertificate": "CERT",
        "tlsCaCertificate": "CA",
    }
    secrets = {"catalogDbPassword": "p", "catalogS3SecretKey": "s", "tlsPrivateKey": "k"}
    settings = read_settings(config, secrets)
    assert settings.catalog is not None
    assert settings.catalog.volume_size == "50Gi"
    assert settings.catalog.image == "registry.example.cn/mirror/nidc/nidc:0.1.0"
    with pytest.raises(ArgsError, match="catalogDbPassword"):
        read_settings(config, {**secrets, "catalogDbPassword": ""})


def test_the_console_gets_one_session_key_for_all_replicas_alerts_and_traces() -> None:
    objects = build_catalog(
        catalog_args(
            api_replicas=2,
            console_session_key="console-key-3",
            prometheus_url="https://prometheus.nidc-metrics.svc.cluster.local:9090",
            trace_ui_url="https://traces.region-east.example.cn",
        )
    )
    assert "console-key-3" not in repr([o for o in objects if o["kind"] != "Secret"])
    secrets = {o["metadata"]["name"]: o for o in by_kind(objects, "Secret")}
    assert secrets["catalog-console"]["stringData"] == {"sessionKey": "console-key-3"}
    (deployment,) = by_kind(objects, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["NIDC_CONSOLE_SESSION_KEY_FILE"] == "/etc/nidc/catalog-console/sessionKey"
    assert env["NIDC_PROMETHEUS_URL"].startswith("https://prometheus.nidc-metrics.svc")
    assert env["NIDC_TRACE_UI_URL"] == "https://traces.region-east.example.cn"
    assert "catalog-console" in {v["secret"]["secretName"] for v in pod["volumes"]}

    # From stack config: the key derived from the seed, Prometheus from the metrics component.
    from stacks.config import read_settings

    config: dict[str, Any] = {
        "center": {"name": "region-east", "region": "east"},
        "components": ["catalog", "metrics"],
        "registry": "registry.example.cn/mirror",
        "images": {
            "catalog": "nidc/nidc:0.1.0",
            "postgres": "postgres:15.10-bookworm",
            "prometheus": "prom/prometheus:v3.16.0",
        },
        "tlsCertificate": "CERT",
        "tlsCaCertificate": "CA",
    }
    settings = read_settings(config, {"secretSeed": "seed", "tlsPrivateKey": "k"})
    assert settings.catalog is not None and settings.metrics is not None
    key = settings.catalog.console_session_key
    assert isinstance(key, str) and len(key) == 32 and key != settings.catalog.db_password
    assert settings.catalog.prometheus_url.startswith("https://prometheus.")
