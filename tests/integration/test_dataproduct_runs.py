"""DataProducts run for real: Spark jobs on the local platform, recorded as PipelineRuns."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hvac
import pytest
from pyspark.sql import SparkSession

from nidc.kube import apply, list_objects
from nidc.local.pki import TRUSTSTORE_PASSWORD
from nidc.local.platform import LocalPlatform
from spark_jobs.session import ObjectStore, build_spark_conf, create_session
from tests.cluster import condition

pytestmark = pytest.mark.integration

TENANT = "steel-plant"
BRONZE = f"s3a://tenant-{TENANT}/bronze/line_sensors"
TARGET = f"s3a://tenant-{TENANT}/silver/line_hourly"


@pytest.fixture(scope="module")
def tenant_spark(
    platform: LocalPlatform, platform_env: dict[str, Any], tenants: Any
) -> Iterator[SparkSession]:
    """A Spark session with the tenant's own S3 credentials (as a job of the tenant has)."""
    bao = platform_env["servers"]["openbao"]
    vault = hvac.Client(
        url=bao["url"],
        token=Path(bao["root_token_file"]).read_text().strip(),
        verify=platform_env["ca_file"],
    )
    creds = vault.secrets.kv.v2.read_secret_version(
        path=f"tenants/{TENANT}/s3", raise_on_deleted_version=True
    )["data"]["data"]
    mp = pytest.MonkeyPatch()
    mp.setenv("AWS_ACCESS_KEY_ID", creds["accessKey"])
    mp.setenv("AWS_SECRET_ACCESS_KEY", creds["secretKey"])
    store = ObjectStore(
        platform_env["servers"]["minio"]["url"],
        truststore=platform.ca.java_truststore(),
        truststore_password=TRUSTSTORE_PASSWORD,
    )
    session = create_session(
        build_spark_conf(store, [Path(j) for j in platform_env["spark_jars"]], "nidc-it-products")
    )
    start = dt.datetime(2026, 11, 25, 8, 0)
    rows = [
        (f"line{n % 2}", start + dt.timedelta(minutes=m), float(m))
        for n in range(2)
        for m in range(90)
    ]
    session.createDataFrame(rows, "line string, ts timestamp, value double").write.format(
        "delta"
    ).mode("overwrite").save(BRONZE)
    yield session
    session.stop()
    mp.undo()


def product(sql: str) -> dict[str, Any]:
    return {
        "apiVersion": "nidc.io/v1alpha1",
        "kind": "DataProduct",
        "metadata": {"name": "line-hourly", "namespace": TENANT},
        "spec": {
            "inputs": [{"kind": "DataSource", "name": "line-sensors"}],
            "transform": {"sql": sql},
            "maxAttempts": 1,
            "owner": {"name": "Wang Li", "email": "wang.li@steel.example.cn"},
            "grade": 1,
            "targetTable": "silver.line_hourly",
        },
    }


def wait_for(api: Any, check: Any, what: str, timeout: float = 240) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = {
            p["metadata"]["name"]: p
            for p in list_objects(api, "nidc.io/v1alpha1", "DataProduct", namespace=TENANT)
        }
        item = found.get("line-hourly")
        if item and check(item):
            return item
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what}: {item and item.get('status')}")


def test_runs_succeed_rerun_on_change_and_fail_safely(
    tenants: Any, tenant_spark: SparkSession
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
