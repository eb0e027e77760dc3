"""Issue 22, must-show 3: a grade-3 column holding a canary lands through a DataSource ingest, and
no file under the S3 server's data directory holds the canary in any form; every Parquet page of
the table, read through the S3 API and decompressed by pyarrow, holds only ciphertext; the Delta
log and checksum files hold no clear value; an authorised job reads it back in clear, a token
without the tenant's column key cannot; a transit key rotation rewraps the table's data key and
leaves the data files as they were; the canary is in no log, run folder or span.

Real servers throughout: the operator records the ingest run (its job grades the incoming
columns with the national baseline before the first write: docs/decisions/0160-*), Spark runs it
(local runner) with a token the operator issued for the tenant's column-key policy, MinIO stores
every object under SSE-S3, OpenBao's transit engine makes and wraps the data key.
"""

from __future__ import annotations

import base64
import io
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hvac
import pyarrow.parquet as pq
import pytest
import requests
from minio import Minio

from nidc.api.job_runtime import OpenBaoRuntime
from nidc.encryption.table_key import ENCRYPTION_PROPERTY, table_key_of
from nidc.encryption.transit import KeyAccessDeniedError, Transit
from nidc.kube import apply, delete, get, list_objects
from nidc.local.platform import LocalPlatform
from nidc.local.root_clients import root_minio
from spark_jobs.column_encryption import read_decrypted, rewrap_table_key, table_properties
from tests.operator_process import OperatorProcess

pytestmark = pytest.mark.integration

TENANT = "steel-plant"
OTHER = "equipment-maker"
API = "nidc.io/v1alpha1"


def forms(canary: str) -> list[bytes]:
    """The canary as bytes in every form a careless writer might leave it: UTF-8, UTF-16,
    hex, and base64 at each of the three byte alignments (the stable middle of each)."""
    raw = canary.encode()
    found = [raw, canary.encode("utf-16-le"), raw.hex().encode(), raw.hex().upper().encode()]
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)
        found.append(encoded[4 : len(encoded) - 4])
    return found


def holds(data: bytes, canary: str) -> bool:
    return any(form in data for form in forms(canary))


@pytest.fixture
def admin_s3(platform_env: dict[str, Any]) -> Minio:
    return root_minio(platform_env)


@pytest.fixture
def vault(platform_env: dict[str, Any]) -> hvac.Client:
    bao = platform_env["servers"]["openbao"]
    return hvac.Client(
        url=bao["url"],
        token=Path(bao["root_token_file"]).read_text().strip(),
        verify=platform_env["ca_file"],
    )


def wait_for(what: str, probe: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what}")


def put_csv(s3: Minio, key: str, text: str) -> None:
    data = text.encode()
    s3.put_object(f"tenant-{TENANT}", key, io.BytesIO(data), len(data))


def token_for(vault: hvac.Client, policies: list[str]) -> str:
    """A token with exactly these policies, as the operator issues a job's."""
    created = vault.auth.token.create(policies=policies, no_default_policy=True, ttl="15m")
    return str(created["auth"]["client_token"])


def test_a_grade3_canary_is_nowhere_in_clear_and_an_authorised_job_reads_it_back(
    tenants: Any,
    operator: OperatorProcess,
    platform: LocalPlatform,
    platform_env: dict[str, Any],
    tenant_spark: Any,
    admin_s3: Minio,
    vault: hvac.Client,
    national_baseline: dict[str, Any],
) -> None:
    tag = uuid.uuid4().hex[:6]
    canary = f"CANARY-{uuid.uuid4().hex}"
    name, table = f"recipes-{tag}", f"recipes_{tag}"
    prefix = f"landing/recipes/{tag}"
    bucket = f"tenant-{TENANT}"
    recipes = [f"{canary}:Cr18Ni8-{i}" for i in range(12)]
    # a.csv: ten rows; b.csv: two more, one of whose temperatures is no int (quarantined, its
    # raw payload carrying the canary).
    put_csv(
        admin_s3,
        f"{prefix}/a.csv",
        "batch_no,recipe,temperature\n"
        + "".join(f"B{i},{recipes[i]},{800 + i}\n" for i in range(10)),
    )
    put_csv(
        admin_s3,
        f"{prefix}/b.csv",
        f"batch_no,recipe,temperature\nB10,{recipes[10]},810\nB11,{recipes[11]},hot\n",
    )
    path = f"s3a://{bucket}/bronze/{table}"
    try:
        apply(
            tenants,
            {
                "apiVersion": API,
                "kind": "DataSource",
                "metadata": {"name": name, "namespace": TENANT},
                "spec": {
                    "type": "files",
                    "endpoint": f"s3://{bucket}",
                    "domain": "production-operation",
                    "enterprisePrefix": "88.118.8",
                    "schedule": "@hourly",
                    "grade": 1,
                    "targetTable": f"bronze.{table}",
                    "files": {"format": "csv", "prefix": f"recipes/{tag}/"},
                },
            },
        )

        def status() -> dict[str, Any]:
            found = get(tenants, API, "DataSource", name, TENANT) or {}
            return dict(found.get("status") or {})

        graded = wait_for(
            "the ingest and classify runs",
            lambda: status() if status().get("computedGrade") is not None else None,
            600,
        )
        assert graded["rows"] == 11 and graded["quarantinedRows"] == 1, graded
        assert graded["computedGrade"] == 3, graded
        recipe = next(c for c in graded["classification"]["columns"] if c["name"] == "recipe")
        assert recipe["grade"] == 3 and recipe["category"] == "recipe", recipe
        # Stop the source, so nothing else writes the table while this test does (rotation).
        delete(tenants, API, "DataSource", name, TENANT)

        # The table records the wrapped data key and the transit key version, no plaintext key.
        properties = table_properties(tenant_spark, path)
        recorded = table_key_of(properties)
        assert recorded is not None, properties
        assert set(recorded.columns) == {"recipe"}
        assert recorded.transit_key == f"tenant-{TENANT}"
        assert recorded.wrapped_key.startswith(f"vault:v{recorded.key_version}:")
        stored = tenant_spark.read.format("delta").load(path)
        assert dict(stored.dtypes)["recipe"] == "binary"
        quarantine = table_key_of(
            table_properties(tenant_spark, f"s3a://{bucket}/quarantine/{table}")
        )
        assert quarantine is not None and set(quarantine.columns) == {"raw", "detail"}

        # 1. Raw bytes of every file under the S3 server's data directory.
        data_dir = platform.state.data("minio")
        scanned = 0
        for item in data_dir.rglob("*"):
            if item.is_file():
                scanned += 1
                assert not holds(item.read_bytes(), canary), f"canary in clear on disk: {item}"
        assert scanned > 0

        # 2. Through the S3 API (SSE decrypts there): every object of the table and its
        # quarantine, Delta log and checksum files included; every Parquet page decompressed.
        objects = [
            o.object_name
            for key in (f"bronze/{table}/", f"quarantine/{table}/")
            for o in admin_s3.list_objects(bucket, prefix=key, recursive=True)
            if o.object_name
        ]
        parquet = [o for o in objects if o.endswith(".parquet")]
        logs = [o for o in objects if o.endswith((".json", ".crc")) and "_delta_log" in o]
        assert parquet and any(o.endswith(".crc") for o in logs), objects
        values = 0
        for key in objects:
            got = admin_s3.get_object(bucket, key)
            try:
                body = got.read()
            finally:
                got.close()
                got.release_conn()
            assert not holds(body, canary), f"canary in clear in s3://{bucket}/{key}"
            if key.endswith(".parquet"):
                for column in pq.read_table(io.BytesIO(body)).columns:
                    for value in column.to_pylist():
                        values += 1
                        text = value if isinstance(value, bytes) else str(value).encode()
                        assert not holds(text, canary), f"clear value in {key}"
        assert values > 0

        # 3. An authorised job (a token with the tenant's column-key policy) reads it in clear.
        bao = platform_env["servers"]["openbao"]
        runtime = OpenBaoRuntime(url=bao["url"], ca_file=platform_env["ca_file"])
        job = Transit.from_runtime(runtime, token_for(vault, [f"tenant-{TENANT}-column-key"]))
        clear = read_decrypted(tenant_spark, path, job)
        assert sorted(r["recipe"] for r in clear.collect()) == sorted(recipes[:11])
        quarantined = read_decrypted(tenant_spark, f"s3a://{bucket}/quarantine/{table}", job)
        assert [canary in r["raw"] for r in quarantined.collect()] == [True]

        # 4. Readers without the key: the tenant's own policy, another tenant's key, no token.
        for policies in ([f"tenant-{TENANT}"], [f"tenant-{OTHER}-column-key"]):
            denied = Transit.from_runtime(runtime, token_for(vault, policies))
            with pytest.raises(KeyAccessDeniedError):
                read_decrypted(tenant_spark, path, denied)
        with pytest.raises(KeyAccessDeniedError):
            Transit.from_runtime(runtime, "")
        assert all(canary.encode() not in bytes(r["recipe"]) for r in stored.collect())

        # 5. Rotation: a new transit key version, the data key rewrapped, the data untouched.
        files_before = sorted(stored.inputFiles())
        vault.write_data(f"transit/keys/tenant-{TENANT}/rotate", data={})
        rewrapped = rewrap_table_key(tenant_spark, path, job)
        assert rewrapped.key_version == recorded.key_version + 1
        assert rewrapped.wrapped_key != recorded.wrapped_key
        after = table_key_of(table_properties(tenant_spark, path))
        assert after == rewrapped and after.columns == recorded.columns
        reread = tenant_spark.read.format("delta").load(path)
        assert sorted(reread.inputFiles()) == files_before
        clear = read_decrypted(tenant_spark, path, job)
        assert sorted(r["recipe"] for r in clear.collect()) == sorted(recipes[:11])
        assert ENCRYPTION_PROPERTY in table_properties(tenant_spark, path)

        # 6. Not in logs, run folders or spans.
        for item in platform.state.root.rglob("*"):
            if data_dir in item.parents or not item.is_file():
                continue
            try:
                content = item.read_bytes()
            except (FileNotFoundError, PermissionError):
                continue  # a temporary file gone between listing and reading, or a socket
            assert canary.encode() not in content, f"canary in {item}"
        runs = list_objects(tenants, API, "PipelineRun", namespace=TENANT)
        assert canary not in json.dumps([r.get("status") for r in runs])
        query = platform_env["servers"]["jaeger"]["query_url"]
        response = requests.get(
            f"{query}/api/traces",
            params={"service": "nidc-spark-job", "limit": "1000", "lookback": "1h"},
            verify=platform_env["ca_file"],
            timeout=30,
        )
        assert response.status_code == 200 and response.json()["data"]
        assert canary not in response.text
    finally:
        delete(tenants, API, "DataSource", name, TENANT)
