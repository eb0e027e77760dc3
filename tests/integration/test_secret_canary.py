"""Canary secrets must never leak: the tenant's S3 secret key (which the operator generates,
stores in OpenBao and hands to every job), a device password placed in a source's credentials
(which the operator hands to the source's collector) and the peer center's S3 secret key (which
a DataReplication's copy job gets to write the replica) appear in none of: operator log, events,
status or annotations of any object, run records, run folders' specs, collector folders, or
exported spans."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import hvac
import pytest
import requests

from nidc.kube import apply, delete, list_objects
from nidc.local.platform import LocalPlatform
from tests.cluster import condition
from tests.operator_process import OperatorProcess
from tests.peer_center import PeerObjectStore
from tests.shared_tenant import SharedTenant

pytestmark = pytest.mark.integration

KINDS = [
    ("nidc.io/v1alpha1", k)
    for k in (
        "Tenant",
        "DataSource",
        "DataProduct",
        "ClassificationPolicy",
        "DataGrant",
        "DataShare",
        "ExportApproval",
        "PipelineRun",
        "DataReplication",
    )
] + [("v1", "Event"), ("v1", "Namespace"), ("v1", "ConfigMap")]


def test_tenant_s3_secret_appears_nowhere(
    tenants: Any,
    operator: OperatorProcess,
    platform: LocalPlatform,
    platform_env: dict[str, Any],
    line_sensors: str,
    shared_tenant: SharedTenant,
    national: PeerObjectStore,
) -> None:
    bao = platform_env["servers"]["openbao"]
    vault = hvac.Client(
        url=bao["url"],
        token=Path(bao["root_token_file"]).read_text().strip(),
        verify=platform_env["ca_file"],
    )
    canary = vault.secrets.kv.v2.read_secret_version(
        path="tenants/steel-plant/s3", raise_on_deleted_version=True
    )["data"]["data"]["secretKey"]
    assert len(canary) >= 30

    # A source whose device login is a canary: the operator reads it and starts its collector.
    device_canary = f"canary-{uuid.uuid4().hex}"
    source = f"canary-cnc-{uuid.uuid4().hex[:5]}"
    vault.secrets.kv.v2.create_or_update_secret(
        path=f"tenants/steel-plant/{source}",
        secret={"username": "collector", "password": device_canary},
    )
    apply(
        tenants,
        {
            "apiVersion": "nidc.io/v1alpha1",
            "kind": "DataSource",
            "metadata": {"name": source, "namespace": "steel-plant"},
            "spec": {
                "type": "opcua",
                "endpoint": "opc.tcp://127.0.0.1:9/absent",
                "credentials": {"openBaoPath": f"secret/data/tenants/steel-plant/{source}"},
                "domain": "production-operation",
                "enterprisePrefix": "88.118.8",
                "continuous": True,
                "targetTable": f"bronze.{source.replace('-', '_')}",
                "points": [
                    {"name": "temp", "address": "ns=2;s=T", "identifier": "88.118.8/CNC.temp"}
                ],
            },
        },
    )

    # A run of this test's own uses the secret (and exports spans), so the check means something.
    name = f"canary-{uuid.uuid4().hex[:5]}"
    apply(
        tenants,
        {
            "apiVersion": "nidc.io/v1alpha1",
            "kind": "DataProduct",
            "metadata": {"name": name, "namespace": "steel-plant"},
            "spec": {
                "inputs": [{"kind": "DataSource", "name": "line-sensors"}],
                "transform": {"sql": "SELECT count(*) AS n FROM line_sensors"},
                "owner": {"name": "Wang Li", "email": "wang.li@steel.example.cn"},
                "targetTable": f"silver.{name.replace('-', '_')}",
            },
        },
    )
    deadline = time.monotonic() + 600
    while True:
        found = {
            p["metadata"]["name"]: p
            for p in list_objects(
                tenants, "nidc.io/v1alpha1", "DataProduct", namespace="steel-plant"
            )
        }
        if condition(found[name], "Ready").get("status") == "True":
            break
        assert time.monotonic() < deadline, f"{name} never became Ready"
        time.sleep(3)

    deadline = time.monotonic() + 120
    while True:
        sources = {
            s["metadata"]["name"]: s
            for s in list_objects(
                tenants, "nidc.io/v1alpha1", "DataSource", namespace="steel-plant"
            )
        }
        # Its device is absent: once the collector ran, the source is Ready, or (a minute on)
        # Degraded with the collector's report that the device is unreachable (decision 0180).
        if condition(sources[source], "Ready").get("status") == "True" or (
            condition(sources[source], "Degraded").get("reason") == "DeviceUnreachable"
        ):
            break
        assert time.monotonic() < deadline, f"{source}'s collector never ran"
        time.sleep(2)
    collectors = platform.state.root / "collectors"
    assert any(collectors.glob(f"*{source}*/config.json")), "no collector was started"
    for item in collectors.rglob("*"):
        if item.is_file():
            assert device_canary not in item.read_text(errors="replace"), item
    delete(tenants, "nidc.io/v1alpha1", "DataSource", source, "steel-plant")

    # The shared replica's copy job wrote to the peer with the peer's key: it did run.
    assert shared_tenant.replicated["status"]["destinationPath"].startswith("s3a://replica-grade")
    assert len(national.secret_key) >= 30
    for secret in (canary, device_canary, national.secret_key):
        check_nowhere(secret, tenants, operator, platform, platform_env)


def check_nowhere(
    canary: str,
    tenants: Any,
    operator: OperatorProcess,
    platform: LocalPlatform,
    platform_env: dict[str, Any],
) -> None:
    """The secret is in no log, object, run spec or span."""
    assert canary not in operator.log.read_text()
    for api_version, kind in KINDS:
        for obj in list_objects(tenants, api_version, kind):
            text = json.dumps(
                {k: obj.get(k) for k in ("metadata", "status", "spec", "message", "data", "reason")}
            )
            assert canary not in text, f"{kind} {obj['metadata']['name']}"
    for spec in (platform.state.root / "runs").glob("*/spec.json"):
        assert canary not in spec.read_text(), spec
    query = platform_env["servers"]["jaeger"]["query_url"]
    # The native bronze writer's runs too, where the session ran any (device sources).
    services: list[tuple[str, bool]] = [
        ("nidc-operator", True),
        ("nidc-spark-job", True),
        ("nidc-native-job", False),
    ]
    for service, required in services:
        params: dict[str, str | int] = {"service": service, "limit": 1000, "lookback": "1h"}
        response = requests.get(
            f"{query}/api/traces",
            params=params,
            verify=platform_env["ca_file"],
            timeout=30,
        )
        if not required and response.status_code != 200:
            continue  # no native run in this session: the backend knows no such service
        assert response.status_code == 200
        assert response.json()["data"] or not required, f"no traces from {service}"
        assert canary not in response.text


def test_grant_credentials_appear_nowhere(
    tenants: Any,
    operator: OperatorProcess,
    platform: LocalPlatform,
    platform_env: dict[str, Any],
    shared_tenant: SharedTenant,
) -> None:
    """A grant's vended S3 secret (issued, stored in OpenBao, renewed by the operator) is in no
    log, status, event, annotation, run spec or span, before and after the grant is deleted."""
    bao = platform_env["servers"]["openbao"]
    vault = hvac.Client(
        url=bao["url"],
        token=Path(bao["root_token_file"]).read_text().strip(),
        verify=platform_env["ca_file"],
    )
    name = f"canary-grant-{uuid.uuid4().hex[:5]}"
    # The product's input does not exist: the grant waits for it with its credentials issued,
    # and starts no copy job (the shared tenant's runs give the span check its traces).
    apply(
        tenants,
        {
            "apiVersion": "nidc.io/v1alpha1",
            "kind": "DataProduct",
            "metadata": {"name": name, "namespace": "steel-plant"},
            "spec": {
                "inputs": [{"kind": "DataSource", "name": "no-such-source"}],
                "transform": {"sql": "SELECT 1 AS one FROM no_such_source"},
                "owner": {"name": "Wang Li", "email": "wang.li@steel.example.cn"},
                "grade": 1,
                "targetTable": f"silver.{name.replace('-', '_')}",
            },
        },
    )
    apply(
        tenants,
        {
            "apiVersion": "nidc.io/v1alpha1",
            "kind": "DataGrant",
            "metadata": {"name": name, "namespace": "steel-plant"},
            "spec": {
                "grantee": {"kind": "Tenant", "name": "equipment-maker"},
                "product": {"name": name},
                "purpose": "canary check of vended credentials",
                "expiresAt": "2099-01-01T00:00:00Z",
            },
        },
    )
    deadline = time.monotonic() + 120
    while True:
        found = next(
            g
            for g in list_objects(tenants, "nidc.io/v1alpha1", "DataGrant", namespace="steel-plant")
            if g["metadata"]["name"] == name
        )
        if (found.get("status") or {}).get("credentialPath"):
            break
        assert time.monotonic() < deadline, f"{name} issued no credentials: {found.get('status')}"
        time.sleep(1)
    path = found["status"]["credentialPath"].removeprefix("secret/data/")
    vended = vault.secrets.kv.v2.read_secret_version(path=path, raise_on_deleted_version=True)[
        "data"
    ]["data"]["secretKey"]
    assert len(vended) >= 30
    check_nowhere(vended, tenants, operator, platform, platform_env)
    delete(tenants, "nidc.io/v1alpha1", "DataGrant", name, "steel-plant")
    delete(tenants, "nidc.io/v1alpha1", "DataProduct", name, "steel-plant")
    check_nowhere(vended, tenants, operator, platform, platform_env)
