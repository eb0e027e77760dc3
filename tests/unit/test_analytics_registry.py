"""The registry of named, versioned analytics: typed parameters, the CRD's view of it, the CLI."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from nidc.api.analytics import (
    ANALYTICS,
    AnalyticRef,
    AnalyticsParameters,
    AnomalyDetectionParameters,
    UnknownAnalyticError,
    VibrationHealthParameters,
    analytic,
    analytic_parameters,
)
from nidc.api.crd import build_crd
from nidc.api.data_product import DataProductSpec
from nidc.api.job_specs import TransformJob
from nidc.api.kinds import ALL_KINDS
from nidc.cli import main

pytestmark = pytest.mark.unit

PRODUCT = {
    "inputs": [{"kind": "DataSource", "name": "furnace-plc"}],
    "transform": {"job": "anomaly_detection@1"},
    "owner": {"name": "Zhao Min", "email": "zhao.min@steel.example.cn"},
    "targetTable": "gold.furnace_anomalies",
}


def test_the_enum_of_references_is_the_registry() -> None:
    assert sorted(r.value for r in AnalyticRef) == sorted(d.ref for d in ANALYTICS)
    assert len({d.ref for d in ANALYTICS}) == len(ANALYTICS)


def typed(schema: dict[str, object]) -> dict[str, object]:
    """A property's schema without its optionality, default and title."""
    options = schema.get("anyOf", [schema])
    chosen = next(o for o in options if o.get("type") != "null")  # type: ignore[attr-defined]
    return {k: v for k, v in chosen.items() if k not in ("default", "title")}


def test_the_admission_parameters_are_every_analytics_parameters_with_one_meaning() -> None:
    union = AnalyticsParameters.model_json_schema(by_alias=True)["properties"]
    seen: set[str] = set()
    for definition in ANALYTICS:
        own = definition.parameters.model_json_schema(by_alias=True)["properties"]
        for name, schema in own.items():
            seen.add(name)
            # The same name means the same type and bounds in every analytic (defaults aside).
            assert typed(schema) == typed(union[name]), name
    assert seen == set(union)


def test_parameters_get_the_analytics_defaults() -> None:
    vibration = analytic_parameters("vibration_health@1", {"windowSeconds": 10})
    assert isinstance(vibration, VibrationHealthParameters)
    assert vibration.window_seconds == 10
    assert vibration.band_edges_hz == [0.0, 10.0, 100.0, 1000.0]
    anomaly = analytic_parameters("anomaly_detection@1", AnalyticsParameters(threshold=5.0))
    assert isinstance(anomaly, AnomalyDetectionParameters)
    assert (anomaly.window_seconds, anomaly.threshold) == (3600, 5.0)


@pytest.mark.parametrize(
    ("ref", "given", "field"),
    [
        ("anomaly_detection@1", {"bandEdgesHz": [0, 10]}, "bandEdgesHz"),
        ("vibration_health@1", {"bandEdgesHz": [0, 50, 10]}, "bandEdgesHz"),
        ("vibration_health@1", {"threshold": 0.5}, "threshold"),
        ("anomaly_detection@1", {"windowSeconds": 0}, "windowSeconds"),
    ],
)
def test_bad_parameters_are_refused_naming_the_field(
    ref: str, given: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationError) as error:
        analytic_parameters(ref, given)
    assert field in str(error.value)


def test_an_unknown_name_or_version_is_refused_listing_the_known_ones() -> None:
    with pytest.raises(UnknownAnalyticError, match="anomaly_detection@1"):
        analytic("anomaly_detection@9")
    with pytest.raises(ValidationError) as error:
        DataProductSpec.model_validate({**PRODUCT, "transform": {"job": "anomaly_detection@9"}})
    assert error.value.errors()[0]["loc"] == ("transform", "job")


def test_the_crd_lists_the_references_and_refuses_foreign_parameters() -> None:
    kind = next(k for k in ALL_KINDS if k.kind == "DataProduct")
    spec = build_crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    job = spec["properties"]["transform"]["properties"]["job"]
    assert job["enum"] == [d.ref for d in ANALYTICS]
    paths = {r["fieldPath"] for r in spec["x-kubernetes-validations"]}
    # anomaly_detection takes no spectrum parameters: each is refused under its own name.
    assert {".transform.parameters.bandEdgesHz", ".transform.parameters.sampleRateHz"} <= paths
    assert ".transform.parameters.threshold" not in paths  # every analytic takes a threshold


def test_nidc_analytics_ls_lists_every_analytic(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analytics", "ls"]) == 0
    table = capsys.readouterr().out
    for definition in ANALYTICS:
        assert definition.ref in table
    assert main(["analytics", "ls", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    assert [a["ref"] for a in listing] == [d.ref for d in ANALYTICS]
    assert "windowSeconds" in listing[0]["parameters"]["properties"]


def test_a_transform_job_runs_exactly_one_of_sql_and_an_analytic() -> None:
    base = {
        "tenant": "steel-plant",
        "inputs": [{"view": "furnace_plc", "path": "s3a://tenant-steel-plant/bronze/furnace_plc"}],
        "target": "s3a://tenant-steel-plant/gold/furnace_anomalies",
        "txnAppId": "u-1",
        "txnVersion": 1_000_000,
    }
    job = TransformJob.from_spec({**base, "analytic": "anomaly_detection@1", "pool": "gpu"})
    assert (job.analytic, job.sql) == ("anomaly_detection@1", None)
    for broken in (
        base,
        {**base, "sql": "SELECT 1", "analytic": "anomaly_detection@1"},
        {**base, "sql": "SELECT 1", "parameters": {"threshold": 5}},
        {**base, "analytic": "anomaly_detection@7"},
    ):
        with pytest.raises(ValueError, match="invalid transform job spec"):
            TransformJob.from_spec(broken)


def exclusive_bounds(node: object) -> list[object]:
    if isinstance(node, dict):
        found = [v for k, v in node.items() if k in ("exclusiveMinimum", "exclusiveMaximum")]
        return found + [b for v in node.values() for b in exclusive_bounds(v)]
    if isinstance(node, list):
        return [b for item in node for b in exclusive_bounds(item)]
    return []


@pytest.mark.parametrize("kind", ALL_KINDS, ids=lambda k: k.kind)
def test_exclusive_bounds_are_kubernetes_booleans(kind: object) -> None:
    """OpenAPI v3's exclusiveMinimum is a flag beside minimum: kube-apiserver v1.37 refused the
    DataProduct CRD with "cannot unmarshal number into ... exclusiveMinimum of type bool"."""
    crd = build_crd(kind)  # type: ignore[arg-type]
    assert all(isinstance(b, bool) for b in exclusive_bounds(crd))
