"""A DataProduct naming an analytic runs on the local platform: scores in its table, and its
status says the CPU path ran on the GPU pool (issue 17)."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any

import numpy as np
import pytest
from pyspark.sql import SparkSession

from nidc.kube import apply, list_objects
from tests.cluster import condition
from tests.operator_process import OperatorProcess

pytestmark = pytest.mark.integration

TENANT = "steel-plant"
SUFFIX = uuid.uuid4().hex[:5]
SOURCE = f"furnace-samples-{SUFFIX}"
BRONZE = f"bronze.furnace_samples_{SUFFIX}"
NAME = f"furnace-scores-{SUFFIX}"
GOLD = f"gold.furnace_scores_{SUFFIX}"
HOT_HOUR = 20


START = dt.datetime(2026, 11, 29, 0, 0)


def bronze_rows() -> list[tuple[str, dt.datetime, float]]:
    """Two furnaces, a sample a minute for a day; furnace-2 runs 60 degrees hot for one hour."""
    rng = np.random.default_rng(4)
    rows = []
    for furnace in ("furnace-1", "furnace-2"):
        for minute in range(24 * 60):
            hot = 60.0 if furnace == "furnace-2" and minute // 60 == HOT_HOUR else 0.0
            value = 1200.0 + float(rng.normal(0, 2)) + hot
            rows.append((furnace, START + dt.timedelta(minutes=minute), value))
    return rows


def wait_for(api: Any, check: Any, what: str, timeout: float = 300) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    item = None
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


def test_a_named_analytic_on_the_gpu_pool_runs_the_cpu_path_and_says_so(
    tenants: Any, tenant_spark: SparkSession, operator: OperatorProcess
) -> None:
    layer, table = BRONZE.split(".")
    tenant_spark.createDataFrame(
        bronze_rows(), "point string, ts timestamp, value double"
    ).write.format("delta").mode("overwrite").save(f"s3a://tenant-{TENANT}/{layer}/{table}")
    apply(
        tenants,
        {
            "apiVersion": "nidc.io/v1alpha1",
            "kind": "DataSource",
            "metadata": {"name": SOURCE, "namespace": TENANT},
            "spec": {
                "type": "files",
                "endpoint": f"s3://tenant-{TENANT}",
                "domain": "production-operation",
                "enterprisePrefix": "88.118.8",
                "schedule": "@hourly",
                "targetTable": BRONZE,
                "files": {"format": "parquet", "prefix": f"furnace-{SUFFIX}/"},
            },
        },
    )
    apply(
        tenants,
        {
            "apiVersion": "nidc.io/v1alpha1",
            "kind": "DataProduct",
            "metadata": {"name": NAME, "namespace": TENANT},
            "spec": {
                "inputs": [{"kind": "DataSource", "name": SOURCE}],
                "transform": {"job": "anomaly_detection@1", "parameters": {"threshold": 6}},
                "pool": "gpu",
                "maxAttempts": 1,
                "owner": {"name": "Zhao Min", "email": "zhao.min@steel.example.cn"},
                "grade": 2,
                "targetTable": GOLD,
            },
        },
    )
    ready = wait_for(tenants, lambda p: condition(p, "Ready").get("status") == "True", "Ready")
    assert ready["status"]["rows"] == 2 * 24  # one row per furnace and hour
    message = condition(ready, "Ready")["message"]
    assert "computed on the CPU path: no GPU was assigned to the run's tasks" in message

    (run,) = [
        r
        for r in list_objects(tenants, "nidc.io/v1alpha1", "PipelineRun", namespace=TENANT)
        if r["metadata"]["labels"].get("nidc.io/parent-uid") == ready["metadata"]["uid"]
    ]
    assert run["spec"]["job"]["analytic"] == "anomaly_detection@1"
    assert run["spec"]["job"]["parameters"] == {"windowSeconds": 3600, "threshold": 6.0}

    layer, table = GOLD.split(".")
    scores = tenant_spark.read.format("delta").load(f"s3a://tenant-{TENANT}/{layer}/{table}")
    flagged = [(r["point"], r["ts"]) for r in scores.where("anomalous").collect()]
    assert flagged == [("furnace-2", START + dt.timedelta(hours=HOT_HOUR))]
    assert {r["device"] for r in scores.select("device").distinct().collect()} == {"cpu"}
