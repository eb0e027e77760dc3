"""Bad resources are refused by the API server itself, with a message naming the field.

Every case starts from a valid example, breaks one thing, and sends it with server-side dry run
and strict field validation (what `kubectl apply` does by default).
"""

from __future__ import annotations

import copy
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client.exceptions import ApiException

from nidc.api.generate import render_crd
from nidc.api.kinds import ALL_KINDS
from nidc.api.schema import GROUP, VERSION
from nidc.kube import api_client, apply, dynamic_client

pytestmark = pytest.mark.integration

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "demo-factory"
Mutation = Callable[[dict[str, Any]], None]


def example(kind: str, name: str) -> dict[str, Any]:
    for path in sorted(EXAMPLES.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] == kind and doc["metadata"]["name"] == name:
                return copy.deepcopy(doc)
    raise KeyError((kind, name))


WAIVER = {
    "rules": ["weight-range"],
    "reason": "scale recalibrated",
    "approver": {"name": "Zhao Min", "email": "zhao.min@steel.example.cn"},
    "expiresAt": "2026-12-01T00:00:00Z",
}


def setter(path: str, value: Any) -> Mutation:
    """Set spec.a.b (or spec.list[0].x) to a value."""

    def mutate(obj: dict[str, Any]) -> None:
        node: Any = obj
        parts = path.replace("]", "").replace("[", ".").split(".")
        for part in parts[:-1]:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        last = parts[-1]
        if last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value

    return mutate


def deleter(path: str) -> Mutation:
    """Remove spec.a.b (or spec.list[0].x)."""

    def mutate(obj: dict[str, Any]) -> None:
        node: Any = obj
        parts = path.replace("]", "").replace("[", ".").split(".")
        for part in parts[:-1]:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[parts[-1]]

    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(obj: dict[str, Any]) -> None:
        for m in mutations:
            m(obj)

    return mutate


SOURCE = ("DataSource", "cnc-spindles")
MODBUS = ("DataSource", "furnace-plc")
JDBC = ("DataSource", "mes-work-orders")
FILES = ("DataSource", "erp-exports")
PRODUCT = ("DataProduct", "spindle-health")
ANALYTIC = ("DataProduct", "furnace-anomalies")
TENANT = ("Tenant", "steel-plant")
POLICY = ("ClassificationPolicy", "steel-recipes")
BASELINE = ("ClusterClassificationPolicy", "baseline")
GRANT = ("DataGrant", "maker-reads-spindle-health")
SHARE = ("DataShare", "spindle-health-share")
APPROVAL = ("ExportApproval", "spindle-health-to-maker")

# (id, base example, mutation, text the API server's message must contain)
CREATE_CASES: list[tuple[str, tuple[str, str], Mutation, str]] = [
    # wrong types
    ("source-points-not-a-list", SOURCE, setter("spec.points", "spindle"), "spec.points"),
    ("source-continuous-not-bool", SOURCE, setter("spec.continuous", "yes"), "spec.continuous"),
    (
        "source-scale-not-number",
        MODBUS,
        setter("spec.points[0].scale", "ten"),
        "spec.points[0].scale",
    ),
    ("product-grade-not-int", PRODUCT, setter("spec.grade", "high"), "spec.grade"),
    ("tenant-gpus-not-int", TENANT, setter("spec.quotas.gpus", "two"), "spec.quotas.gpus"),
    ("grant-columns-not-list", GRANT, setter("spec.columns", "point"), "spec.columns"),
    ("share-recipients-not-list", SHARE, setter("spec.recipients", "maker"), "spec.recipients"),
    # missing required fields
    ("source-no-type", SOURCE, deleter("spec.type"), "spec.type"),
    ("source-no-endpoint", SOURCE, deleter("spec.endpoint"), "spec.endpoint"),
    ("source-no-target-table", SOURCE, deleter("spec.targetTable"), "spec.targetTable"),
    ("source-no-domain", SOURCE, deleter("spec.domain"), "spec.domain"),
    ("product-no-owner", PRODUCT, deleter("spec.owner"), "spec.owner"),
    ("product-no-inputs", PRODUCT, deleter("spec.inputs"), "spec.inputs"),
    ("tenant-no-region", TENANT, deleter("spec.region"), "spec.region"),
    ("grant-no-purpose", GRANT, deleter("spec.purpose"), "spec.purpose"),
    ("grant-no-expiry", GRANT, deleter("spec.expiresAt"), "spec.expiresAt"),
    ("approval-no-evidence", APPROVAL, deleter("spec.evidence"), "spec.evidence"),
    (
        "point-no-identifier",
        SOURCE,
        deleter("spec.points[0].identifier"),
        "spec.points[0].identifier",
    ),
    # bad enums and formats
    ("source-bad-type", SOURCE, setter("spec.type", "profibus"), "spec.type"),
    ("source-bad-domain", SOURCE, setter("spec.domain", "marketing"), "spec.domain"),
    ("product-bad-pool", PRODUCT, setter("spec.pool", "tpu"), "spec.pool"),
    (
        "product-bad-check",
        PRODUCT,
        setter("spec.qualityRules[0].check", "vibes"),
        "spec.qualityRules[0].check",
    ),
    (
        "tenant-bad-deletion-policy",
        TENANT,
        setter("spec.deletionPolicy", "Shred"),
        "spec.deletionPolicy",
    ),
    ("product-grade-4", PRODUCT, setter("spec.grade", 4), "spec.grade"),
    ("tenant-clearance-0", TENANT, setter("spec.clearance", 0), "spec.clearance"),
    ("grant-bad-expiry-format", GRANT, setter("spec.expiresAt", "next tuesday"), "spec.expiresAt"),
    ("tenant-bad-email", TENANT, setter("spec.owner.email", "wang.li"), "spec.owner.email"),
    ("tenant-bad-cpu-quantity", TENANT, setter("spec.quotas.cpu", "lots"), "spec.quotas.cpu"),
    (
        "source-bad-table-name",
        SOURCE,
        setter("spec.targetTable", "cnc_spindles"),
        "spec.targetTable",
    ),
    (
        "source-bad-identifier",
        SOURCE,
        setter("spec.points[0].identifier", "CNC-01"),
        "spec.points[0].identifier",
    ),
    ("share-ttl-too-long", SHARE, setter("spec.tokenTTL", "90d"), "spec.tokenTTL"),
    (
        "share-duplicate-recipient",
        SHARE,
        setter("spec.recipients", [{"kind": "Tenant", "name": "equipment-maker"}] * 2),
        "spec.recipients",
    ),
    (
        "product-mostly-above-1",
        PRODUCT,
        setter("spec.qualityRules[1].mostly", 1.5),
        "spec.qualityRules[1].mostly",
    ),
    # quality rules: CEL on each rule names the missing field (issue 20)
    (
        "product-regex-without-pattern",
        PRODUCT,
        setter("spec.qualityRules[0]", {"name": "code-shape", "check": "regex", "column": "c"}),
        "spec.qualityRules[0].pattern",
    ),
    (
        "product-referential-without-reference",
        PRODUCT,
        setter("spec.qualityRules[0]", {"name": "known", "check": "referential", "column": "c"}),
        "spec.qualityRules[0].reference",
    ),
    (
        "product-mostly-on-table-check",
        PRODUCT,
        setter("spec.qualityRules[2].mostly", 0.9),
        "spec.qualityRules[2].mostly",
    ),
    # quality waivers: every field is required, the expiry is a timestamp (issue 20)
    *(
        (
            f"product-waiver-no-{field}",
            PRODUCT,
            setter("spec.waivers", [{k: v for k, v in WAIVER.items() if k != field}]),
            f"spec.waivers[0].{field}",
        )
        for field in ("rules", "reason", "approver", "expiresAt")
    ),
    (
        "product-waiver-bad-expiry",
        PRODUCT,
        setter("spec.waivers", [{**WAIVER, "expiresAt": "when it is fixed"}]),
        "spec.waivers[0].expiresAt",
    ),
    # bad cron
    (
        "jdbc-bad-cron-words",
        JDBC,
        setter("spec.schedule", "every five minutes"),
        "spec.schedule",
    ),
    ("jdbc-bad-cron-fields", JDBC, setter("spec.schedule", "*/5 * *"), "spec.schedule"),
    (
        "product-bad-cron",
        ("DataProduct", "furnace-anomalies"),
        setter("spec.schedule", "@often"),
        "spec.schedule",
    ),
    # inline secrets
    (
        "source-inline-password",
        SOURCE,
        setter("spec.credentials.password", "s3cr3t"),
        "spec.credentials.password",
    ),
    ("source-inline-token-field", SOURCE, setter("spec.token", "abc"), "spec.token"),
    (
        "source-userinfo-in-endpoint",
        JDBC,
        setter("spec.endpoint", "jdbc:postgresql://mes:hunter2@mes-db:5432/mes"),
        "spec.endpoint",
    ),
    (
        "source-password-in-query",
        JDBC,
        setter("spec.endpoint", "jdbc:postgresql://mes-db:5432/mes?user=a&password=b"),
        "spec.endpoint",
    ),
    (
        "source-credentials-outside-tenant-prefix",
        SOURCE,
        setter("spec.credentials.openBaoPath", "secret/data/platform/root"),
        "spec.credentials.openBaoPath",
    ),
    # cross-field rules
    ("source-schedule-and-continuous", SOURCE, setter("spec.schedule", "@hourly"), "spec.schedule"),
    ("source-neither-schedule-nor-continuous", SOURCE, deleter("spec.continuous"), "spec.schedule"),
    ("opcua-without-points", SOURCE, setter("spec.points", []), "spec.points"),
    ("jdbc-without-table", JDBC, deleter("spec.table"), "spec.table"),
    ("files-without-files", FILES, deleter("spec.files"), "spec.files"),
    # equipment as it is (decision 0180)
    ("modbus-bad-address", MODBUS, setter("spec.points[0].address", "register:7"), "spec.points"),
    (
        "modbus-ring-with-input-register",
        MODBUS,
        both(setter("spec.modbus.mode", "ring"), setter("spec.points[0].address", "input:1")),
        "spec.modbus.mode",
    ),
    ("opcua-settings-on-modbus", MODBUS, setter("spec.opcua", {"queueSize": 5}), "spec.opcua"),
    ("opcua-queue-size-zero", SOURCE, setter("spec.opcua.queueSize", 0), "spec.opcua.queueSize"),
    (
        "point-min-above-max",
        MODBUS,
        both(setter("spec.points[0].minimum", 100), setter("spec.points[0].maximum", 10)),
        "spec.points",
    ),
    (
        "product-sql-and-job",
        PRODUCT,
        setter("spec.transform.job", "anomaly_detection@1"),
        "spec.transform",
    ),
    ("product-neither-sql-nor-job", PRODUCT, setter("spec.transform", {}), "spec.transform"),
    (
        "range-check-without-bounds",
        PRODUCT,
        both(deleter("spec.qualityRules[1].minimum"), deleter("spec.qualityRules[1].maximum")),
        "spec.qualityRules",
    ),
    (
        "dictionary-detector-without-words",
        BASELINE,
        deleter("spec.detectors[0].words"),
        "spec.detectors",
    ),
    (
        "regex-detector-without-pattern",
        POLICY,
        deleter("spec.detectors[0].pattern"),
        "spec.detectors",
    ),
    (
        "override-reason-too-short",
        POLICY,
        setter("spec.overrides[0].reason", "ok"),
        "spec.overrides[0].reason",
    ),
    # named analytics (issue 17, decision 0110)
    (
        "analytic-unknown-version",
        ANALYTIC,
        setter("spec.transform.job", "anomaly_detection@9"),
        "spec.transform.job",
    ),
    (
        "analytic-unknown-name",
        ANALYTIC,
        setter("spec.transform.job", "oee@1"),
        "spec.transform.job",
    ),
    (
        "analytic-threshold-out-of-bounds",
        ANALYTIC,
        setter("spec.transform.parameters", {"threshold": 1000}),
        "spec.transform.parameters.threshold",
    ),
    (
        "analytic-parameter-it-does-not-take",
        ANALYTIC,
        setter("spec.transform.parameters", {"bandEdgesHz": [0, 10]}),
        "spec.transform.parameters.bandEdgesHz",
    ),
    (
        "analytic-unknown-parameter",
        ANALYTIC,
        setter("spec.transform.parameters", {"windowSecs": 60}),
        "spec.transform.parameters.windowSecs",
    ),
    (
        "analytic-bands-not-ascending",
        ANALYTIC,
        both(
            setter("spec.transform.job", "vibration_health@1"),
            setter("spec.transform.parameters", {"bandEdgesHz": [0, 50, 10]}),
        ),
        "spec.transform.parameters.bandEdgesHz",
    ),
    (
        "parameters-without-an-analytic",
        PRODUCT,
        setter("spec.transform.parameters", {"threshold": 3}),
        "spec.transform.parameters",
    ),
]

# (id, base example, mutation applied to the stored object, text the message must contain)
UPDATE_CASES: list[tuple[str, tuple[str, str], Mutation, str]] = [
    (
        "change-source-target-table",
        SOURCE,
        setter("spec.targetTable", "bronze.other"),
        "targetTable is immutable",
    ),
    (
        "change-product-target-table",
        PRODUCT,
        setter("spec.targetTable", "silver.other"),
        "targetTable is immutable",
    ),
    (
        "downgrade-without-approval",
        ("DataProduct", "furnace-anomalies"),
        setter("spec.grade", 1),
        "spec.gradeDowngradeApproval",
    ),
    ("edit-export-approval", APPROVAL, setter("spec.maxGrade", 3), "cannot change"),
]


@pytest.fixture(scope="module")
def api(platform_env: dict[str, Any]) -> Iterator[Any]:
    with api_client(Path(platform_env["kubeconfig"]), context="platform-admin") as client:
        for kind in ALL_KINDS:
            apply(client, yaml.safe_load(render_crd(kind)))
        wait_until_served(client)
        yield client


def wait_until_served(client: Any, timeout: float = 60) -> None:
    """Every kind answers a LIST: an applied CRD (even one whose managed fields alone changed)
    makes the API server re-initialise its storage, and it answers 429 "storage is
    (re)initializing" meanwhile (seen in CI as the first admission case's failure)."""
    deadline = time.monotonic() + timeout
    resources = dynamic_client(client).resources
    for kind in ALL_KINDS:
        while True:
            try:
                resources.get(api_version=f"{GROUP}/{VERSION}", kind=kind.kind).get()
                break
            except ApiException as error:
                if error.status not in (429, 503) or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)


@pytest.fixture(scope="module")
def namespace(api: Any) -> Iterator[str]:
    name = f"adm-{uuid.uuid4().hex[:6]}"
    apply(api, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    yield name
    dynamic_client(api).resources.get(api_version="v1", kind="Namespace").delete(name=name)


def prepare(base: tuple[str, str], namespace: str) -> dict[str, Any]:
    obj = example(*base)
    if "namespace" in obj["metadata"]:
        obj["metadata"]["namespace"] = namespace
    obj["metadata"]["name"] = f"{obj['metadata']['name']}-{uuid.uuid4().hex[:5]}"
    return obj


def submit(api: Any, obj: dict[str, Any], method: str = "create", dry_run: bool = True) -> Any:
    resource = dynamic_client(api).resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
    params: list[tuple[str, str]] = [("fieldValidation", "Strict")]
    if dry_run:
        params.append(("dryRun", "All"))
    call = resource.create if method == "create" else resource.replace
    return call(body=obj, namespace=obj["metadata"].get("namespace"), query_params=params)


def update_rejection(api: Any, base: tuple[str, str], namespace: str, mutation: Mutation) -> str:
    """Store the example, change it and send the change: the server's refusal message.

    The operator may write the stored object (status, a finalizer) between our read and our
    replace; the API server then answers 409 Conflict, so the change is made again on the
    object as it is now (seen in CI).
    """
    stored = submit(api, prepare(base, namespace), dry_run=False).to_dict()
    resource = dynamic_client(api).resources.get(
        api_version=stored["apiVersion"], kind=stored["kind"]
    )
    for _ in range(5):
        changed = copy.deepcopy(stored)
        mutation(changed)
        try:
            submit(api, changed, "replace")
        except ApiException as error:
            if error.status != 409:
                return rejection_message(error)
            meta = stored["metadata"]
            stored = resource.get(name=meta["name"], namespace=meta.get("namespace")).to_dict()
            continue
        raise AssertionError(f"the change was accepted: {changed}")
    raise AssertionError("the stored object kept changing under the test")


def rejection_message(error: ApiException) -> str:
    assert error.status in (400, 422), error.body
    assert error.body is not None
    body = json.loads(error.body)
    causes = " ".join(
        f"{c.get('field', '')}: {c.get('message', '')}"
        for c in body.get("details", {}).get("causes", [])
    )
    return f"{body['message']} {causes}"


def rejection(api: Any, obj: dict[str, Any], method: str = "create") -> str:
    with pytest.raises(ApiException) as refused:
        submit(api, obj, method)
    assert refused.value.status in (400, 422), refused.value.body
    assert refused.value.body is not None
    body = json.loads(refused.value.body)
    causes = " ".join(
        f"{c.get('field', '')}: {c.get('message', '')}"
        for c in body.get("details", {}).get("causes", [])
    )
    return f"{body['message']} {causes}"


def test_the_server_refuses_at_least_forty_invalid_resources_each_naming_its_field(
    api: Any, namespace: str
) -> None:
    """Counted from the API server's answers, not from the list of cases: every case is sent,
    and each must come back refused (400/422) naming its own field."""
    named: dict[str, str] = {}
    for case, base, mutation, field in CREATE_CASES:
        obj = prepare(base, namespace)
        mutation(obj)
        message = rejection(api, obj)
        if field in message:
            named[case] = message
    for case, base, mutation, expected in UPDATE_CASES:
        message = update_rejection(api, base, namespace, mutation)
        if expected in message:
            named[case] = message
    assert len(named) >= 40, sorted(named)


@pytest.mark.parametrize(
    "base",
    [
        SOURCE,
        MODBUS,
        JDBC,
        FILES,
        PRODUCT,
        ANALYTIC,
        TENANT,
        POLICY,
        BASELINE,
        GRANT,
        SHARE,
        APPROVAL,
    ],
    ids=lambda b: b[1],
)
def test_the_unbroken_examples_are_accepted(
    api: Any, namespace: str, base: tuple[str, str]
) -> None:
    submit(api, prepare(base, namespace))


@pytest.mark.parametrize(
    ("case", "base", "mutation", "field"), CREATE_CASES, ids=[c[0] for c in CREATE_CASES]
)
def test_invalid_resource_is_rejected_naming_the_field(
    api: Any, namespace: str, case: str, base: tuple[str, str], mutation: Mutation, field: str
) -> None:
    obj = prepare(base, namespace)
    mutation(obj)
    message = rejection(api, obj)
    assert field in message, message


def test_an_analytic_with_its_parameters_is_accepted(api: Any, namespace: str) -> None:
    product = prepare(ANALYTIC, namespace)
    product["spec"]["transform"] = {
        "job": "vibration_health@1",
        "parameters": {"windowSeconds": 10, "bandEdgesHz": [0, 40, 60.5, 500], "threshold": 4},
    }
    submit(api, product)


@pytest.mark.parametrize(
    "base", [SOURCE, MODBUS, ("DataSource", "line-gateway")], ids=lambda b: b[1]
)
def test_a_device_source_on_a_schedule_is_refused_saying_why(
    api: Any, namespace: str, base: tuple[str, str]
) -> None:
    """Decision 0130: devices are collected continuously; a schedule used to land nothing."""
    continuous = prepare(base, namespace)
    submit(api, continuous)  # the example as it is: continuous
    scheduled = prepare(base, namespace)
    del scheduled["spec"]["continuous"]
    scheduled["spec"]["schedule"] = "*/5 * * * *"
    message = rejection(api, scheduled)
    assert "spec.schedule" in message, message
    assert "collected continuously, not on a schedule" in message, message
    assert "set spec.continuous: true" in message, message


@pytest.mark.parametrize(
    ("case", "base", "mutation", "expected"), UPDATE_CASES, ids=[c[0] for c in UPDATE_CASES]
)
def test_illegal_change_is_rejected(
    api: Any, namespace: str, case: str, base: tuple[str, str], mutation: Mutation, expected: str
) -> None:
    message = update_rejection(api, base, namespace, mutation)
    assert expected in message, message
