"""The DataProduct's quality gate as plain data: when a quality run is due, the gate with and
without a waiver, the last good version, pinned reads, waiver expiry in the sweep, events."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from nidc.api.data_product import DataProduct
from nidc.api.job_specs import QualityJob
from operators.dataproduct.build import build_job, build_quality_job, build_run, build_status
from operators.dataproduct.due import RESYNC, next_due
from operators.dataproduct.quality_gate import (
    decide,
    last_good_version,
    quality_events,
    quality_run_due,
    quality_runs_to_prune,
    split_runs,
)
from operators.runs.plan import Plan, RunHistory
from operators.runs.record import GENERATION, SEQUENCE

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
RULES = [
    {"name": "weight-range", "check": "range", "column": "weight", "minimum": 0},
    {"name": "lot-unique", "check": "unique", "column": "lot"},
    {"name": "fresh", "check": "freshness", "column": "ts", "maxAge": "1d", "blocking": False},
]
WAIVER: dict[str, Any] = {
    "rules": ["weight-range"],
    "reason": "scale recalibrated; values re-measured by hand",
    "approver": {"name": "Zhao Min", "email": "zhao.min@steel.example"},
    "expiresAt": "2026-11-25T10:00:00Z",
}


def product(rules: list[dict[str, Any]] | None = None, **spec: Any) -> DataProduct:
    return DataProduct.from_body(
        {
            "apiVersion": "nidc.io/v1alpha1",
            "kind": "DataProduct",
            "metadata": {"name": "lots", "namespace": "steel", "uid": "u-1", "generation": 1},
            "spec": {
                "inputs": [{"kind": "DataSource", "name": "s"}],
                "transform": {"sql": "SELECT 1"},
                "targetTable": "silver.lots",
                "owner": {"name": "Li Wei", "email": "li.wei@steel.example"},
                "qualityRules": RULES if rules is None else rules,
                **spec,
            },
        }
    )


def transform_run(sequence: int, phase: str, version: int | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase}
    if version is not None:
        status.update(tableVersion=version, rows=10)
    return {
        "metadata": {
            "name": f"lots-g1-{sequence}",
            "labels": {GENERATION: "1", SEQUENCE: str(sequence)},
        },
        "spec": {"jobType": "transform", "job": {}},
        "status": status,
    }


def quality_run(
    sequence: int, version: int, blocking: list[str], phase: str = "Succeeded"
) -> dict[str, Any]:
    status: dict[str, Any] = {"phase": phase}
    if phase == "Succeeded":
        status["quality"] = {
            "score": 0.5 if blocking else 1.0,
            "failingChecks": blocking,
            "blockingFailures": blocking,
            "checkedVersion": version,
        }
    return {
        "metadata": {
            "name": f"lots-g1-{sequence}-q",
            "labels": {GENERATION: "1", SEQUENCE: str(sequence)},
        },
        "spec": {"jobType": "quality", "job": {"version": version}},
        "status": status,
    }


def runs(*bodies: dict[str, Any]) -> tuple[RunHistory, list[Any]]:
    return split_runs(RunHistory.of(bodies, 1))


def reason(status: dict[str, Any]) -> tuple[str, str, str]:
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    degraded = next(c for c in status["conditions"] if c["type"] == "Degraded")
    return ready["status"], ready["reason"], degraded["status"]


def status_of(p: DataProduct, *bodies: dict[str, Any], now: dt.datetime = NOW) -> dict[str, Any]:
    transforms, quality = runs(*bodies)
    return build_status(p, transforms, Plan(), [], "", now, quality)


def test_a_quality_run_is_due_for_each_new_version_of_a_product_with_rules() -> None:
    transforms, quality = runs(transform_run(0, "Succeeded", 3))
    assert quality_run_due(product(), transforms, quality) == (1, 0)
    # Checked already, no rules, not finished, or failed: nothing to record.
    assert (
        quality_run_due(product(), *runs(transform_run(0, "Succeeded", 3), quality_run(0, 3, [])))
        is None
    )
    assert quality_run_due(product(rules=[]), transforms, quality) is None
    assert quality_run_due(product(), *runs(transform_run(0, "Running"))) is None
    # A failed newer run leaves the newest good version, which is already checked.
    done = runs(transform_run(0, "Succeeded", 3), quality_run(0, 3, []), transform_run(1, "Failed"))
    assert quality_run_due(product(), *done) is None
    newer = runs(
        transform_run(0, "Succeeded", 3), quality_run(0, 3, []), transform_run(1, "Succeeded", 4)
    )
    assert quality_run_due(product(), *newer) == (1, 1)


def test_the_quality_run_is_named_apart_from_the_transform_run_it_checks() -> None:
    p = product()
    job = build_quality_job(p, 4, 0.95, {}, 1, 1)
    record = build_run(p, job, 1, 1)
    transform = build_run(p, build_job(p, ["bronze.lots"], 1, 1), 1, 1)
    assert record["spec"]["jobType"] == "quality"
    assert record["spec"]["job"]["version"] == 4
    assert record["metadata"]["name"] != transform["metadata"]["name"]
    assert record["metadata"]["name"].startswith("lots-g1-1-q-")
    assert record == build_run(p, build_quality_job(p, 4, 0.95, {}, 1, 1), 1, 1)
    assert isinstance(job, QualityJob) and job.txn_version == 1_000_001


def test_a_failing_blocking_rule_degrades_the_product_and_publishes_nothing_new() -> None:
    status = status_of(
        product(),
        transform_run(0, "Succeeded", 3),
        quality_run(0, 3, []),
        transform_run(1, "Succeeded", 4),
        quality_run(1, 4, ["weight-range", "lot-unique"]),
    )
    assert reason(status) == ("False", "QualityGateFailed", "True")
    message = next(c for c in status["conditions"] if c["type"] == "Ready")["message"]
    assert "weight-range, lot-unique" in message
    assert "Li Wei <li.wei@steel.example>" in message
    assert status["tableVersion"] == 4
    assert status["lastGoodVersion"] == 3
    assert status["quality"]["checkedVersion"] == 4
    assert status["waivedRules"] == []


def test_a_non_blocking_failure_does_not_hold_the_version_back() -> None:
    assert decide({"blockingFailures": [], "failingChecks": ["fresh"]}, set()).passed
    status = status_of(product(), transform_run(0, "Succeeded", 3), quality_run(0, 3, []))
    assert reason(status) == ("True", "Succeeded", "False")
    assert status["lastGoodVersion"] == 3


def test_a_live_waiver_unblocks_its_rules_only_and_its_expiry_blocks_again() -> None:
    bodies = (
        transform_run(0, "Succeeded", 3),
        quality_run(0, 3, []),
        transform_run(1, "Succeeded", 4),
        quality_run(1, 4, ["weight-range"]),
    )
    waived = status_of(product(waivers=[WAIVER]), *bodies)
    assert reason(waived) == ("True", "Succeeded", "False")
    assert waived["lastGoodVersion"] == 4
    assert waived["waivedRules"] == ["weight-range"]
    expired = status_of(product(waivers=[WAIVER]), *bodies, now=NOW + dt.timedelta(hours=1))
    assert reason(expired) == ("False", "QualityGateFailed", "True")
    assert expired["lastGoodVersion"] == 3
    assert expired["waivedRules"] == []
    # A waiver of another rule lets nothing through.
    other = status_of(product(waivers=[{**WAIVER, "rules": ["lot-unique"]}]), *bodies)
    assert reason(other)[1] == "QualityGateFailed"


def test_checking_and_a_failed_quality_run_are_reported_and_publish_nothing() -> None:
    checking = status_of(product(), transform_run(0, "Succeeded", 3))
    assert reason(checking)[:2] == ("False", "CheckingQuality")
    assert checking["lastGoodVersion"] is None
    failed = status_of(product(), transform_run(0, "Succeeded", 3), quality_run(0, 3, [], "Failed"))
    assert reason(failed) == ("False", "QualityRunFailed", "True")
    assert failed["lastGoodVersion"] is None


def test_without_rules_every_written_version_is_good() -> None:
    transforms, quality = runs(transform_run(0, "Succeeded", 3), transform_run(1, "Succeeded", 4))
    assert last_good_version(product(rules=[]), transforms, quality, NOW) == 4


def test_downstream_reads_its_inputs_pinned_to_their_last_good_version() -> None:
    downstream = product(rules=[])
    job = build_job(downstream, ["silver.gated", "bronze.raw"], 1, 0, {"silver.gated": 3})
    assert [(i.view, i.version) for i in job.inputs] == [("gated", 3), ("raw", None)]
    assert build_job(downstream, ["silver.gated"], 1, 0).inputs[0].version is None


def test_the_sweep_makes_the_product_due_when_its_waiver_expires() -> None:
    body = {"spec": {"waivers": [WAIVER]}}
    expiry = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
    assert next_due(body, {}, expiry - dt.timedelta(minutes=2)) == expiry
    assert next_due(body, {}, expiry) == expiry + RESYNC


@pytest.mark.parametrize("missing", ["rules", "reason", "approver", "expiresAt"])
def test_a_waiver_without_a_field_is_refused_naming_it(missing: str) -> None:
    waiver = {k: v for k, v in WAIVER.items() if k != missing}
    with pytest.raises(ValidationError, match=missing):
        product(waivers=[waiver])
    crd = yaml.safe_load(Path("crds/dataproducts.yaml").read_text())
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    assert missing in spec["properties"]["waivers"]["items"]["required"]


def test_prune_keeps_the_newest_clean_quality_run() -> None:
    _, quality = runs(
        quality_run(0, 3, []),
        quality_run(1, 4, ["weight-range"]),
        quality_run(2, 5, ["weight-range"]),
    )
    assert quality_runs_to_prune(quality, 1) == ["lots-g1-1-q"]


def test_events_name_a_new_result_an_applied_and_an_ended_waiver() -> None:
    p = product(waivers=[WAIVER])
    failing = {"failingChecks": ["weight-range"], "checkedVersion": 4, "score": 0.5}
    before: dict[str, Any] = {"lastGoodVersion": 3, "waivedRules": []}
    after = {"quality": failing, "lastGoodVersion": 4, "waivedRules": ["weight-range"]}
    reasons = [e.reason for e in quality_events(p, before, after, NOW)]
    assert reasons == ["QualityChecked", "QualityWaiverApplied", "LastGoodVersionChanged"]
    applied = quality_events(p, before, after, NOW)[1]
    assert "Zhao Min" in applied.message and WAIVER["reason"] in applied.message
    later = NOW + dt.timedelta(hours=2)
    ended = quality_events(p, after, {**after, "waivedRules": [], "lastGoodVersion": 3}, later)
    assert [(e.reason, e.warning) for e in ended] == [
        ("QualityWaiverEnded", True),
        ("LastGoodVersionChanged", True),
    ]
    assert quality_events(p, after, after, NOW) == []
