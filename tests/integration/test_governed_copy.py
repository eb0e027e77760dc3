"""The governed-copy job on the platform: steel-plant's bronze.line_sensors (the session's table,
read, never changed) copied through the tenant's own Spark session into S3, then read back from
MinIO with delta-rs (tests/delta_reader.py), not with Spark: only the granted columns, only the
rows the filter keeps, each value masked as the grade bundle and the grant say."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from pathlib import Path
from typing import Any

import pytest

from nidc.api.job_environment import MASK_HASH_KEY_ENV
from nidc.api.job_specs import GovernedCopyJob
from spark_jobs.governed_copy import governed_copy
from tests.delta_reader import delta_rows

pytestmark = pytest.mark.integration

KEY = hashlib.sha256(b"test-governed-copy").digest()
TARGET = "s3a://tenant-steel-plant/governed/test-governed-copy/line_sensors"


def source_version(platform_env: dict[str, Any], path: str) -> int:
    """The table's latest version, by delta-rs (after delta_rows has set its CA)."""
    from deltalake import DeltaTable

    s3 = platform_env["servers"]["minio"]
    options = {
        "AWS_ENDPOINT_URL": s3["url"],
        "AWS_ACCESS_KEY_ID": s3["access_key"],
        "AWS_SECRET_ACCESS_KEY": Path(s3["secret_key_file"]).read_text().strip(),
        "AWS_REGION": "us-east-1",
        "AWS_FORCE_PATH_STYLE": "true",
    }
    return int(DeltaTable(path.replace("s3a://", "s3://"), storage_options=options).version())


def test_a_governed_copy_of_line_sensors_read_back_with_delta_rs(
    tenant_spark: Any,
    line_sensors: str,
    platform_env: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clear = delta_rows(platform_env, line_sensors)  # the source as delta-rs sees it
    version = source_version(platform_env, line_sensors)
    job = GovernedCopyJob.model_validate(
        {
            "tenant": "steel-plant",
            "source": line_sensors,
            "sourceVersion": version,
            "target": TARGET,
            "columns": [
                {"name": "line", "sparkType": "string", "grade": 1},
                {"name": "ts", "sparkType": "timestamp", "grade": 2},
                {"name": "value", "sparkType": "double", "grade": 3},
            ],
            "grantedColumns": ["line", "ts", "value"],
            "masks": [
                {"column": "line", "type": "HASH"},
                {"column": "value", "type": "SHOW_LAST_4"},  # below full: the bundle's NULL
            ],
            "rowFilter": "line = 'line1' AND value >= 30",
            "txnAppId": "test-governed-copy",
            "txnVersion": version,
        }
    )
    monkeypatch.setenv(MASK_HASH_KEY_ENV, KEY.hex())
    zone = tenant_spark.conf.get("spark.sql.session.timeZone")
    try:
        result = governed_copy(tenant_spark, job)
    finally:
        tenant_spark.conf.set("spark.sql.session.timeZone", zone)

    copy = delta_rows(platform_env, TARGET)
    kept = [r for r in clear if r["line"] == "line1" and r["value"] >= 30]
    assert len(kept) == 60 and result["rows"] == 60 and len(copy) == 60
    assert result["sourceVersion"] == version
    assert all(set(r) == {"line", "ts", "value"} for r in copy)
    line1 = hmac.new(KEY, b"line1", hashlib.sha256).hexdigest()
    assert {r["line"] for r in copy} == {line1}
    assert {r["value"] for r in copy} == {None}
    years = {r["ts"].replace(tzinfo=None) for r in copy}
    assert years == {dt.datetime(r["ts"].year, 1, 1) for r in kept}
