"""pyspark writes a small Delta table to s3a:// on the platform's S3 server and reads it back."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import urllib3
from minio import Minio
from pyspark.sql import SparkSession

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def spark(tenant_spark: SparkSession) -> SparkSession:
    # One JVM per test process: Spark reuses its session, and S3A read its credentials when the
    # JVM started, so every Spark test shares the session made with a tenant's own credentials.
    return tenant_spark


def test_delta_table_round_trip_on_s3a(spark: SparkSession, platform_env: dict[str, Any]) -> None:
    s3 = platform_env["servers"]["minio"]
    store = Minio(
        s3["url"].removeprefix("https://"),
        access_key=s3["access_key"],
        secret_key=Path(s3["secret_key_file"]).read_text().strip(),
        secure=True,
        http_client=urllib3.PoolManager(
            cert_reqs="CERT_REQUIRED", ca_certs=platform_env["ca_file"]
        ),
    )
    bucket = "tenant-steel-plant"
    prefix = f"it-{uuid.uuid4().hex[:8]}/bronze/spindle_temperature"
    path = f"s3a://{bucket}/{prefix}"
    rows = [("cnc-01", "spindle.temp", 41.5 + i) for i in range(25)]
    frame = spark.createDataFrame(rows, "asset string, point string, value double")
    frame.write.format("delta").mode("overwrite").save(path)
    frame.limit(5).write.format("delta").mode("append").save(path)

    back = spark.read.format("delta").load(path)
    assert back.count() == 30
    highest = back.agg({"value": "max"}).first()
    assert highest is not None and highest[0] == 65.5
    history = spark.sql(f"DESCRIBE HISTORY delta.`{path}`").select("version").collect()
    assert sorted(r.version for r in history) == [0, 1]
    # The Delta log really is on the S3 server.
    log = [o.object_name for o in store.list_objects(bucket, f"{prefix}/_delta_log/")]
    assert any(name.endswith("00000000000000000001.json") for name in log)
