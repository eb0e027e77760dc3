"""Each policy rule, on the manifests the components build: the good configuration passes, a
configuration that breaks the rule is reported naming the object and field."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from stacks.components.control_plane import (
    ControlPlaneArgs,
    OperatorDeployment,
    build_control_plane,
)
from stacks.components.object_store import Bucket, ObjectStoreArgs, build_object_store
from stacks.components.secrets_store import SecretsStoreArgs, build_secrets_store
from stacks.components.sharing import SharingArgs, build_sharing
from stacks.components.tenants import TenantConfig, build_tenant
from stacks.manifests import Resources, Tls
from stacks.policy_rules import (
    RULES,
    check_grade3_in_region,
    check_no_public_buckets,
    check_resource_limits,
    check_tenant_gpu_quota,
    check_tls,
)
from tests.unit.stacks.conftest import TLS

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[3]

TYPES = {
    ("apps/v1", "StatefulSet"): "kubernetes:apps/v1:StatefulSet",
    ("apps/v1", "Deployment"): "kubernetes:apps/v1:Deployment",
    ("v1", "ConfigMap"): "kubernetes:core/v1:ConfigMap",
    ("nidc.io/v1alpha1", "Tenant"): "kubernetes:nidc.io/v1alpha1:Tenant",
}


def violations(check: Any, manifests: Iterable[dict[str, Any]]) -> list[str]:
    """Run one rule over manifests as the engine would show them (type token, properties)."""
    found = []
    for m in manifests:
        token = TYPES.get((m["apiVersion"], m["kind"]), f"kubernetes:x:{m['kind']}")
        found += check(token, m)
    return found


def store(**overrides: Any) -> list[dict[str, Any]]:
    base: dict[str, Any] = dict(
        center="region-east",
        region="east",
        image="r/minio:1",
        client_image="r/mc:1",
        root_password="pw",
        tls=TLS,
        buckets=(Bucket("east-core", grade=3),),
    )
    return build_object_store(ObjectStoreArgs(**{**base, **overrides}))


def test_every_rule_is_in_the_pack() -> None:
    assert [r.name for r in RULES] == [
        "tls-on",
        "no-public-buckets",
        "tenant-gpu-quota",
        "grade3-in-region",
        "resource-limits",
    ]


def test_tls_on() -> None:
    assert violations(check_tls, store()) == []
    found = violations(check_tls, store(tls=Tls(enabled=False)))
    assert found == [
        "nidc-storage/minio: serves a port without a TLS certificate "
        "(no `tls` volume from a Secret)"
    ]
    bao = build_secrets_store(SecretsStoreArgs(center="c", image="b:1", tls=Tls(False)))
    assert any("tls_disable = true" in v for v in violations(check_tls, bao))
    # The operator's health port is for the kubelet only and does not count.
    operator = OperatorDeployment(image="op:1", openbao_token="t")
    assert (
        violations(check_tls, build_control_plane(ControlPlaneArgs("c", REPO / "crds", operator)))
        == []
    )


def test_no_public_buckets() -> None:
    assert violations(check_no_public_buckets, store()) == []
    found = violations(
        check_no_public_buckets,
        store(buckets=(Bucket("open-data", grade=1, access="public-read"),)),
    )
    assert found == [
        "nidc-storage/minio-buckets: bucket open-data is public-read; buckets must be private"
    ]


def test_tenant_gpu_quota() -> None:
    spec: dict[str, Any] = {
        "displayName": "S",
        "region": "east",
        "owner": {"name": "W", "email": "w@s.example.cn"},
    }
    good = build_tenant(TenantConfig("steel", {**spec, "quotas": {"gpus": 0}}))
    assert violations(check_tenant_gpu_quota, good) == []
    bad = build_tenant(TenantConfig("steel", {**spec, "quotas": {"cpu": "8"}}))
    assert violations(check_tenant_gpu_quota, bad) == [
        "tenant steel: spec.quotas.gpus is not set (GPU quota required)"
    ]


def test_grade3_in_region() -> None:
    assert violations(check_grade3_in_region, store()) == []
    elsewhere = store(buckets=(Bucket("east-core", grade=3, region="west"),))
    assert violations(check_grade3_in_region, elsewhere) == [
        "nidc-storage/minio-buckets: grade-3 bucket east-core is in region 'west', "
        "not the center's 'east'"
    ]
    # A workload labelled as holding grade-3 data but not pinned to the region.
    sts = next(m for m in store() if m["kind"] == "StatefulSet")
    del sts["spec"]["template"]["spec"]["nodeSelector"]
    assert "not pinned to region 'east'" in violations(check_grade3_in_region, [sts])[0]
    # A replication peer in another region that would take grade-3 copies.
    peer = {
        "center": "national",
        "region": "national",
        "endpoint": "https://s3.national",
        "buckets": {"1": "replica-grade1"},
        "credentialsPath": "secret/data/centers/national/s3",
    }

    def sharing(peer: dict[str, Any]) -> list[dict[str, Any]]:
        return build_sharing(
            SharingArgs(
                center="region-east",
                region="east",
                image="d:1",
                s3_secret_key="t",
                tls=TLS,
                s3_endpoint="https://s3",
                replication={"peers": [peer]},
            )
        )

    assert violations(check_grade3_in_region, sharing(peer)) == []
    core_out = sharing({**peer, "buckets": {"1": "replica-grade1", "3": "core-copies"}})
    assert violations(check_grade3_in_region, core_out) == [
        "nidc-sharing/nidc-replication: replication peer national (region 'national') offers a "
        "grade-3 bucket; core data never leaves region 'east'"
    ]


def test_resource_limits() -> None:
    assert violations(check_resource_limits, store()) == []
    found = violations(check_resource_limits, store(resources=Resources("1", "1Gi", "none", "2Gi")))
    assert found == ["nidc-storage/minio: container minio has no cpu limit"]
