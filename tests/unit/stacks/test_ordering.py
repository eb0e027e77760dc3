"""What the stack waits for and in which order it creates (stacks.manifests): which Services skip
their own await because a workload awaits their pods, and which objects wait for which."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from nidc.api.kinds import TENANT
from nidc.api.schema import GROUP
from stacks.components.control_plane import (
    ControlPlane,
    ControlPlaneArgs,
    OperatorDeployment,
    build_control_plane,
)
from stacks.components.object_store import Bucket, ObjectStoreArgs, build_object_store
from stacks.components.secrets_store import SecretsStoreArgs, build_secrets_store
from stacks.components.sharing import SharingArgs, build_sharing
from stacks.components.telemetry import TelemetryArgs, build_telemetry
from stacks.components.tenants import TenantConfig, build_tenant
from stacks.manifests import (
    SKIP_AWAIT,
    awaiting_workload,
    build_service,
    prerequisites,
    skip_awaits_done_elsewhere,
)
from tests.unit.stacks.conftest import TLS, RecordingMocks, pulumi_test

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[3]
TENANT_SPEC: dict[str, Any] = {
    "displayName": "Steel",
    "owner": {"name": "Wang Li", "email": "wang.li@steel.example.cn"},
    "region": "east",
    "quotas": {"gpus": 2},
}


def serving_components() -> dict[str, list[dict[str, Any]]]:
    """The manifests of every component that has Services, as a center builds them."""
    return {
        "object-store": build_object_store(
            ObjectStoreArgs(
                center="c",
                region="east",
                image="m:1",
                client_image="mc:1",
                root_password="pw",
                tls=TLS,
                buckets=(Bucket("b-1", 1),),
                replicas=4,
            )
        ),
        "secrets-store": build_secrets_store(
            SecretsStoreArgs(center="c", image="o:1", tls=TLS, replicas=3)
        ),
        "telemetry": build_telemetry(
            TelemetryArgs(center="c", collector_image="o:1", jaeger_image="j:1", tls=TLS)
        ),
        "sharing": build_sharing(
            SharingArgs(
                center="c", region="east", image="d:1", s3_secret_key="t", tls=TLS, s3_endpoint="x"
            )
        ),
    }


def named(manifests: list[dict[str, Any]], kind: str, name: str) -> int:
    return next(
        i for i, m in enumerate(manifests) if m["kind"] == kind and m["metadata"]["name"] == name
    )


@pytest.mark.parametrize("component", sorted(serving_components()))
def test_every_service_is_awaited_through_its_workload(component: str) -> None:
    """The honesty of skipping a Service's await: its selector picks the pods of a workload
    the provider awaits (StatefulSet replicas ready, Deployment available)."""
    manifests = serving_components()[component]
    services = [m for m in manifests if m["kind"] == "Service"]
    assert services
    for service in services:
        workload = awaiting_workload(service, manifests)
        assert workload.split("/")[0] in ("Deployment", "StatefulSet"), service["metadata"]
    for marked in skip_awaits_done_elsewhere(manifests):
        annotations = marked["metadata"].get("annotations", {})
        assert (annotations.get(SKIP_AWAIT) == "true") == (marked["kind"] == "Service"), marked


def test_a_service_selecting_no_workload_here_keeps_its_await() -> None:
    manifests = serving_components()["telemetry"]
    before = copy.deepcopy(manifests)
    strays = [
        build_service("elsewhere", "nidc-telemetry", {"app.kubernetes.io/name": "nope"}, {"a": 1}),
        # Right labels, other namespace: a Service only selects pods of its own namespace.
        build_service("other-ns", "other", {"app.kubernetes.io/name": "jaeger"}, {"a": 1}),
        build_service("no-selector", "nidc-telemetry", {}, {"a": 1}),
    ]
    marked = skip_awaits_done_elsewhere([*manifests, *strays])
    for stray in marked[len(manifests) :]:
        assert SKIP_AWAIT not in stray["metadata"].get("annotations", {}), stray["metadata"]
    assert manifests == before, "the builders' manifests are not changed in place"


def test_prerequisites_are_what_the_api_server_needs_and_no_more() -> None:
    operator = OperatorDeployment(image="op:1", openbao_token="t")
    plane = build_control_plane(ControlPlaneArgs("c", REPO / "crds", operator))
    needs = prerequisites(plane)
    namespace = named(plane, "Namespace", "nidc-system")
    account = named(plane, "ServiceAccount", "nidc-operator")
    peering_crd = named(plane, "CustomResourceDefinition", "clusterkopfpeerings.kopf.dev")
    # Nothing waits for the other CRDs to be established but their own custom resources.
    assert needs[named(plane, "ClusterKopfPeering", "nidc-operator")] == [peering_crd]
    assert needs[namespace] == [] and needs[account] == [namespace]
    assert sorted(needs[named(plane, "Deployment", "nidc-operator")]) == [namespace, account]
    assert needs[named(plane, "ClusterRole", "nidc-operator")] == []
    assert needs[named(plane, "NetworkPolicy", "default-deny")] == [namespace]

    # The center's baseline policy waits for its CRD, nothing else.
    graded = build_control_plane(
        ControlPlaneArgs("c", REPO / "crds", policy_dir=REPO / "policies" / "classification")
    )
    needs = prerequisites(graded)
    policy_crd = named(graded, "CustomResourceDefinition", "clusterclassificationpolicies.nidc.io")
    baseline = named(graded, "ClusterClassificationPolicy", "national-baseline")
    assert needs[baseline] == [policy_crd]

    tenant = build_tenant(TenantConfig("steel", TENANT_SPEC))
    needs = prerequisites(tenant)
    namespace, account = (
        named(tenant, "Namespace", "steel"),
        named(tenant, "ServiceAccount", "tenant-admin"),
    )
    # The token controller deletes a token Secret whose account does not exist yet.
    assert sorted(needs[named(tenant, "Secret", "tenant-admin-token")]) == [namespace, account]
    assert needs[named(tenant, "RoleBinding", "tenant-admin-stack")] == [namespace]
    # Its CRD comes from the control plane (create_objects' `before_custom`), not this list.
    assert needs[named(tenant, "Tenant", "steel")] == []


@pulumi_test
def test_the_tenant_crd_is_found_by_name(mocks: RecordingMocks) -> Any:
    """The program hands Tenants the Tenant CRD alone (stacks/__main__.py), by this name."""
    plane = ControlPlane("control-plane", ControlPlaneArgs("c", REPO / "crds"))
    assert len(plane.crds) == len(list((REPO / "crds").glob("*.yaml")))

    def check(urn: str) -> None:
        assert urn.endswith("::control-plane-customresourcedefinition-tenants.nidc.io"), urn

    return plane.crds[f"{TENANT.plural}.{GROUP}"].urn.apply(check)
