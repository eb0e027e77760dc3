"""DataProducts run for real: Spark jobs on the local platform, recorded as PipelineRuns."""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

import pytest
import requests
from pyspark.sql import SparkSession

from nidc.kube import apply, list_objects
from tests.cluster import condition
from tests.operator_process import OperatorProcess

pytestmark = pytest.mark.integration

TENANT = "steel-plant"
# Unique per test session, so a platform reused from an earlier session cannot confuse it.
NAME = f"line-hourly-{uuid.uuid4().hex[:5]}"
TARGET = f"s3a://tenant-{TENANT}/silver/{NAME.replace('-', '_')}"


def product(sql: str) -> dict[str, Any]:
    return {
        "apiVersion": "nidc.io/v1alpha1",
        "kind": "DataProduct",
        "metadata": {"name": NAME, "namespace": TENANT},
        "spec": {
            "inputs": [{"kind": "DataSource", "name": "line-sensors"}],
            "transform": {"sql": sql},
            "maxAttempts": 1,
            "owner": {"name": "Wang Li", "email": "wang.li@steel.example.cn"},
            "grade": 1,
            "targetTable": f"silver.{NAME.replace('-', '_')}",
        },
    }


def wait_for(api: Any, check: Any, what: str, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = {
            p["metadata"]["name"]: p
            for p in list_objects(api, "nidc.io/v1alpha1", "DataProduct", namespace=TENANT)
        }
        item = found.get(NAME)
        if item and check(item):
            return item
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what}: {item and item.get('status')}")


def assert_one_trace_per_run(api: Any, env: dict[str, Any], item: dict[str, Any]) -> None:
    """The run's trace, read back from Jaeger: operator and Spark job spans, one trace id."""
    (run,) = [
        r
        for r in list_objects(api, "nidc.io/v1alpha1", "PipelineRun", namespace=TENANT)
        if r["metadata"]["name"] == item["status"]["lastRun"]["name"]
    ]
    trace_id = run["spec"]["job"]["traceparent"].split("-")[1]
    wanted = {
        "reconcile DataProduct",
        "run submit",
        "openbao read tenant S3 credentials",
        "job transform",
        "spark session start",
        "delta write (s3a)",
    }
    deadline = time.monotonic() + 60
    while True:
        response = requests.get(
            f"{env['servers']['jaeger']['query_url']}/api/traces/{trace_id}",
            verify=env["ca_file"],
            timeout=10,
        )
        traces = (response.json().get("data") or []) if response.status_code == 200 else []
        spans = traces[0]["spans"] if traces else []
        names = {s["operationName"] for s in spans}
        if wanted <= names:
            break
        assert time.monotonic() < deadline, f"trace {trace_id} has only {sorted(names)}"
        time.sleep(2)
    assert {s["traceID"] for s in spans} == {trace_id}
    services = {p["serviceName"] for p in traces[0]["processes"].values()}
    assert services == {"nidc-operator", "nidc-spark-job"}


def assert_run_is_observable(
    api: Any, env: dict[str, Any], item: dict[str, Any], operator: OperatorProcess
) -> None:
    """Events on every transition, a JSON log line with the run's trace id, OTLP metrics."""
    name = item["status"]["lastRun"]["name"]
    (run,) = [
        r
        for r in list_objects(api, "nidc.io/v1alpha1", "PipelineRun", namespace=TENANT)
        if r["metadata"]["name"] == name
    ]
    trace_id = run["spec"]["job"]["traceparent"].split("-")[1]
    events = [
        e
        for e in list_objects(api, "v1", "Event", namespace=TENANT)
        if e["involvedObject"]["name"] == name
    ]
    reasons = {e["reason"] for e in events}
    assert {"Submitted", "Running", "Succeeded"} <= reasons, reasons

    lines = [json.loads(line) for line in operator.log.read_text().splitlines() if line[:1] == "{"]
    about_run = [line for line in lines if f"run {name}: Succeeded" in line.get("message", "")]
    assert about_run, f"no JSON log line about {name} in {operator.log}"
    assert about_run[-1]["trace_id"] == trace_id

    deadline = time.monotonic() + 60
    wanted = [
        re.compile(r'^nidc_run_transitions_total\{[^}]*job_type="transform"[^}]*phase="Succeeded"'),
        re.compile(r'^nidc_reconcile_duration_seconds_count\{[^}]*kind="DataProduct"'),
    ]
    while True:
        scrape = requests.get(env["servers"]["jaeger"]["metrics_url"], timeout=10).text
        missing = [w.pattern for w in wanted if not any(w.match(x) for x in scrape.splitlines())]
        if not missing:
            break
        assert time.monotonic() < deadline, f"metrics missing: {missing}"
        time.sleep(2)


def test_runs_succeed_rerun_on_change_and_fail_safely(
    tenants: Any,
    tenant_spark: SparkSession,
    line_sensors: str,
    platform_env: dict[str, Any],
    operator: OperatorProcess,
) -> None:
    api = tenants
    apply(
        api,
        {
            "apiVersion": "nidc.io/v1alpha1",
            "kind": "DataSource",
            "metadata": {"name": "line-sensors", "namespace": TENANT},
            "spec": {
                "type": "files",
                "endpoint": f"s3://tenant-{TENANT}",
                "domain": "production-operation",
                "enterprisePrefix": "88.118.8",
                "schedule": "@hourly",
                "targetTable": "bronze.line_sensors",
                "files": {"format": "parquet", "prefix": "lines/"},
            },
        },
    )
    # 1. Runs to Succeeded and Ready.
    apply(
        api,
        product(
            "SELECT line, date_trunc('hour', ts) AS hour, avg(value) AS mean "
            "FROM line_sensors GROUP BY line, date_trunc('hour', ts)"
        ),
    )
    first = wait_for(api, lambda p: condition(p, "Ready").get("status") == "True", "Ready")
    assert first["status"]["tableVersion"] == 0
    assert first["status"]["rows"] == 4
    assert first["status"]["lastRun"]["phase"] == "Succeeded"
    assert "-g1-0-" in first["status"]["lastRun"]["name"]

    # One trace per run: the reconcile that recorded it, the run's steps, the Spark job.
    assert_one_trace_per_run(api, platform_env, first)
    assert_run_is_observable(api, platform_env, first, operator)

    # 2. A spec change starts a new run (generation 2) that commits a new version.
    apply(api, product("SELECT line, max(value) AS peak FROM line_sensors GROUP BY line"))
    second = wait_for(
        api,
        lambda p: (
            "-g2-" in p["status"]["lastRun"]["name"]
            and condition(p, "Ready").get("status") == "True"
        ),
        "the g2 run",
    )
    assert second["status"]["tableVersion"] == 1
    assert second["status"]["rows"] == 2

    # 3. A failing job: Degraded with the reason; the last good version stays.
    apply(api, product("SELECT no_such_column FROM line_sensors"))
    failed = wait_for(api, lambda p: condition(p, "Degraded").get("status") == "True", "Degraded")
    degraded = condition(failed, "Degraded")
    assert degraded["reason"] == "RunFailed"
    assert "no_such_column" in degraded["message"]
    assert "serving table version 1" in degraded["message"]
    assert condition(failed, "Ready")["status"] == "False"
    assert failed["status"]["tableVersion"] == 1
    table = tenant_spark.read.format("delta").load(TARGET)
    assert sorted(table.columns) == ["line", "peak"]
    assert table.count() == 2
    history = tenant_spark.sql(f"DESCRIBE HISTORY delta.`{TARGET}`").collect()
    assert max(r.version for r in history) == 1

    runs = list_objects(
        api,
        "nidc.io/v1alpha1",
        "PipelineRun",
        namespace=TENANT,
        label_selector=f"nidc.io/parent-uid={failed['metadata']['uid']}",
    )
    phases = sorted((r["spec"]["parent"]["generation"], r["status"]["phase"]) for r in runs)
    assert phases == [(1, "Succeeded"), (2, "Succeeded"), (3, "Failed")]
