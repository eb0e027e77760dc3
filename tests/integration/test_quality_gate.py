"""The quality gate on the local platform (issue 20, must-show 2): a product's version that fails
a blocking rule is never read downstream (checked from the downstream table's contents), a
waiver lets it through, and the waiver's expiry holds it back again."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from pyspark.sql import SparkSession

from nidc.cli import main as cli_main
from nidc.kube import apply, get, list_objects
from tests.cluster import condition
from tests.operator_process import OperatorProcess

pytestmark = pytest.mark.integration

TENANT = "steel-plant"
SUFFIX = uuid.uuid4().hex[:5]  # a platform reused from an earlier session cannot confuse it
UPSTREAM, DOWNSTREAM = f"gated-lines-{SUFFIX}", f"line-peaks-{SUFFIX}"
UP_TABLE, DOWN_TABLE = f"silver.gated_lines_{SUFFIX}", f"gold.line_peaks_{SUFFIX}"
DOWN_PATH = f"s3a://tenant-{TENANT}/gold/line_peaks_{SUFFIX}"
OWNER = {"name": "Wang Li", "email": "wang.li@steel.example.cn"}
# line_sensors' values run 0..89; the rule allows at most 50.
RULE = {"name": "value-in-range", "check": "range", "column": "value", "maximum": 50}


# The products' SQL is built from test constants only.
def upstream(limit: int, waivers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "nidc.io/v1alpha1",
        "kind": "DataProduct",
        "metadata": {"name": UPSTREAM, "namespace": TENANT},
        "spec": {
            "inputs": [{"kind": "DataSource", "name": "line-sensors"}],
            "transform": {"sql": f"SELECT line, ts, value FROM line_sensors WHERE value < {limit}"},  # noqa: S608
            "qualityRules": [RULE],
            "waivers": waivers or [],
            "maxAttempts": 1,
            "owner": OWNER,
            "targetTable": UP_TABLE,
        },
    }


def downstream(history_limit: int) -> dict[str, Any]:
    """A spec change (historyLimit) is what makes the downstream product run again."""
    view = UP_TABLE.split(".")[1]
    return {
        "apiVersion": "nidc.io/v1alpha1",
        "kind": "DataProduct",
        "metadata": {"name": DOWNSTREAM, "namespace": TENANT},
        "spec": {
            "inputs": [{"kind": "DataProduct", "name": UPSTREAM}],
            "transform": {"sql": f"SELECT max(value) AS peak FROM {view}"},  # noqa: S608
            "historyLimit": history_limit,
            "maxAttempts": 1,
            "owner": OWNER,
            "targetTable": DOWN_TABLE,
        },
    }


def wait_for(api: Any, name: str, check: Any, what: str, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    item: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        item = get(api, "nidc.io/v1alpha1", "DataProduct", name, TENANT)
        if item and check(item):
            return item
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}: {item and item.get('status')}")


def ready_reason(item: dict[str, Any]) -> str:
    """The Ready condition's reason ('None' before the first status)."""
    return str(condition(item, "Ready").get("reason"))


def rerun_downstream(api: Any, history_limit: int, spark: SparkSession) -> tuple[float, int]:
    """Change the downstream spec, wait for its run; the peak it wrote and the upstream version
    its recorded job read."""
    apply(api, downstream(history_limit))
    done = wait_for(
        api,
        DOWNSTREAM,
        lambda p: (
            (p.get("status") or {}).get("observedGeneration") == p["metadata"]["generation"]
            and ready_reason(p) == "Succeeded"
        ),
        f"downstream run with historyLimit {history_limit}",
    )
    run = get(api, "nidc.io/v1alpha1", "PipelineRun", done["status"]["lastRun"]["name"], TENANT)
    assert run is not None
    (read,) = run["spec"]["job"]["inputs"]
    version = done["status"]["tableVersion"]
    row = spark.read.format("delta").option("versionAsOf", version).load(DOWN_PATH).collect()
    return float(row[0]["peak"]), int(read["version"])


def event_reasons(api: Any, name: str) -> set[str]:
    return {
        e["reason"]
        for e in list_objects(api, "v1", "Event", namespace=TENANT)
        if e["involvedObject"]["name"] == name
    }


def assert_gauges(platform_env: dict[str, Any], product: str) -> None:
    """The gate reads 0, the score below 1 and the data age is there, from the scrape endpoint."""
    label = f'product="{product}"'
    deadline = time.monotonic() + 90
    while True:
        scrape = requests.get(platform_env["servers"]["jaeger"]["metrics_url"], timeout=10).text
        ours = [line for line in scrape.splitlines() if label in line and line[:1] != "#"]
        gate = [line for line in ours if line.startswith("nidc_product_quality_gate")]
        score = [line for line in ours if line.startswith("nidc_product_quality_score")]
        age = [line for line in ours if line.startswith("nidc_product_data_age")]
        if gate and float(gate[-1].split()[-1]) == 0.0 and score and age:
            assert float(score[-1].split()[-1]) < 1.0, score
            assert float(age[-1].split()[-1]) >= 0.0, age
            return
        assert time.monotonic() < deadline, f"gauges of {product} not exported: {ours}"
        time.sleep(3)


def test_a_failing_version_is_held_back_until_waived_and_again_when_the_waiver_expires(
    tenants: Any,
    tenant_spark: SparkSession,
    line_sensors: str,
    operator: OperatorProcess,
    platform_env: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    api = tenants
    # 1. A clean version passes its gate and becomes the last good version.
    apply(api, upstream(40))
    clean = wait_for(api, UPSTREAM, lambda p: ready_reason(p) == "Succeeded", "a clean version")
    assert clean["status"]["lastGoodVersion"] == 0
    assert clean["status"]["quality"]["checkedVersion"] == 0
    assert clean["status"]["quality"]["failingChecks"] == []

    # 2. A version with values over the maximum fails the blocking rule: Degraded, naming the
    #    rule and the owner, and nothing new is published.
    apply(api, upstream(80))
    held = wait_for(
        api, UPSTREAM, lambda p: ready_reason(p) == "QualityGateFailed", "the gate to fail"
    )
    degraded = condition(held, "Degraded")
    assert degraded["status"] == "True"
    assert "value-in-range" in degraded["message"]
    assert "Wang Li" in degraded["message"]
    assert held["status"]["tableVersion"] == 1
    assert held["status"]["lastGoodVersion"] == 0
    assert held["status"]["quality"]["blockingFailures"] == ["value-in-range"]

    # An alert can see it: the product's gate and score gauges, exported over OpenTelemetry.
    assert_gauges(platform_env, UPSTREAM)

    # The downstream product reads the last good version, not the failing one.
    assert rerun_downstream(api, 5, tenant_spark) == (39.0, 0)

    # 3. A waiver lets the failing version through while it lasts.
    expires = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(seconds=75)
    waiver = {
        "rules": ["value-in-range"],
        "reason": "sensor recalibration; values checked by hand",
        "approver": {"name": "Zhao Min", "email": "zhao.min@steel.example.cn"},
        "expiresAt": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    apply(api, upstream(80, [waiver]))
    waived = wait_for(
        api,
        UPSTREAM,
        lambda p: (p.get("status") or {}).get("lastGoodVersion") == 1,
        "the waiver to apply",
    )
    assert waived["status"]["waivedRules"] == ["value-in-range"]
    # Not degraded: the product is Ready, or running the transform its spec change started.
    assert condition(waived, "Degraded").get("status") != "True"
    # The waiver is a spec change, so the upstream also writes and checks a version 2 (the same
    # rows); the downstream run is pinned to a waived version when it is recorded.
    peak, read = rerun_downstream(api, 6, tenant_spark)
    assert peak == 79.0
    assert read in (1, 2)

    # 4. The waiver expires: the sweep looks at the product then and the gate closes again.
    expired = wait_for(
        api,
        UPSTREAM,
        # The waiver's spec change may still be checking its version 2; wait for its verdict.
        lambda p: (
            (p.get("status") or {}).get("lastGoodVersion") == 0
            and ready_reason(p) != "CheckingQuality"
        ),
        "the waiver to expire",
        timeout=max(0.0, (expires - dt.datetime.now(dt.UTC)).total_seconds()) + 120,
    )
    assert ready_reason(expired) == "QualityGateFailed"
    assert expired["status"]["waivedRules"] == []
    assert rerun_downstream(api, 7, tenant_spark) == (39.0, 0)

    reasons = event_reasons(api, UPSTREAM)
    assert {
        "QualityChecked",
        "QualityGateFailed",
        "QualityWaiverApplied",
        "QualityWaiverEnded",
        "LastGoodVersionChanged",
    } <= reasons, reasons

    # 5. `nidc quality history` shows the rule's metric per run, read back from the tenant's
    #    metrics history with delta-rs: the clean version passed, the failing one did not.
    chart = tmp_path / "quality.svg"
    capsys.readouterr()
    assert cli_main(["quality", "history", f"{TENANT}/{UPSTREAM}", "--chart", str(chart)]) == 0
    table = capsys.readouterr().out
    lines = [line.split() for line in table.splitlines() if line.startswith("value-in-range ")]
    by_version = {line[4]: line[-1] for line in lines}
    assert by_version.get("0") == "pass" and by_version.get("1") == "FAIL", table
    assert any(line.startswith("rows ") for line in table.splitlines()), table
    drawn = chart.read_text()
    assert drawn.startswith("<?xml") and "value-in-range" in drawn
