"""A small landing-batch writer for the ingest tests, following the landing contract
(docs/decisions/0020-landing-batches.md): the parquet first, then its manifest."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from minio import Minio

from nidc.api.job_runtime import Storage
from nidc.kube import ApiClient, ApiException, apply
from nidc.local.ports import free_port
from nidc.local.root_clients import root_minio

LANDING_SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("point", pa.string()),
        ("identifier", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("received_at", pa.timestamp("us", tz="UTC")),
        ("raw", pa.string()),
        ("quality", pa.string()),
    ]
)
T0 = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)


def admin_store(platform_env: dict[str, Any]) -> Minio:
    """The platform's S3 server as its root user, trusting the platform CA."""
    return root_minio(platform_env)


def native_job_store(platform_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    """The object store as a native job reaches it on the platform's MinIO
    (spark_jobs.ingest.native.store.ObjectStore): keys in the environment, a job's only source
    of them, and the platform CA trusted."""
    from spark_jobs.ingest.native.store import ObjectStore

    s3 = platform_env["servers"]["minio"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3["access_key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", Path(s3["secret_key_file"]).read_text().strip())
    return ObjectStore.from_storage(Storage(endpoint=s3["url"], ca_file=platform_env["ca_file"]))


def bucket_made(client: Minio, bucket: str) -> Minio:
    """The client, with `bucket` made if it is not there yet."""
    if not client.bucket_exists(bucket):
        client.make_bucket(bucket)
    return client


def sample(point: str, second: int, raw: str | None, **fields: Any) -> dict[str, Any]:
    """One landing row: `second` seconds after T0, received a second later."""
    ts = T0 + dt.timedelta(seconds=second)
    return {
        "point": point,
        "ts": ts,
        "received_at": ts + dt.timedelta(seconds=1),
        "raw": raw,
        "quality": "Good",
        **fields,
    }


@dataclass
class LandingWriter:
    """Writes batch-<seq>.parquet then batch-<seq>.json under a source's landing folder."""

    store: Minio
    bucket: str
    namespace: str
    source: str
    source_uid: str

    @property
    def folder(self) -> str:
        return f"landing/sources/{self.namespace}/{self.source}/"

    @property
    def prefix(self) -> str:
        return f"s3a://{self.bucket}/{self.folder}"

    def write(
        self,
        sequence: int,
        rows: list[dict[str, Any]],
        schema: pa.Schema = LANDING_SCHEMA,
        manifest: bool = True,
    ) -> None:
        """One batch; columns missing from a row are null, `source` defaults to ours."""
        columns = {
            f.name: [r.get(f.name, self.source if f.name == "source" else None) for r in rows]
            for f in schema
        }
        table = pa.Table.from_pydict(columns, schema=schema)
        sink = io.BytesIO()
        pq.write_table(table, sink)
        body = sink.getvalue()
        name = f"{self.folder}batch-{sequence:012d}"
        self.store.put_object(self.bucket, f"{name}.parquet", io.BytesIO(body), len(body))
        if not manifest:
            return
        stamps = [r["ts"] for r in rows if r.get("ts") is not None] or [T0]
        document = {
            "schemaVersion": 1,
            "source": self.source,
            "namespace": self.namespace,
            "sourceUid": self.source_uid,
            "sequence": sequence,
            "rows": len(rows),
            "sha256": hashlib.sha256(body).hexdigest(),
            "minTimestamp": min(stamps).isoformat(),
            "maxTimestamp": max(stamps).isoformat(),
            "createdAt": dt.datetime.now(dt.UTC).isoformat(),
            "collector": "tests",
        }
        data = json.dumps(document).encode()
        self.store.put_object(self.bucket, f"{name}.json", io.BytesIO(data), len(data))


def txn_commits(store: Minio, bucket: str, table_prefix: str, app_id: str) -> dict[int, int]:
    """txnVersion -> number of commits in the Delta log carrying that (appId, version).

    Read from the commit files themselves, so a commit written twice for one batch shows up.
    """
    counts: dict[int, int] = {}
    log = f"{table_prefix.rstrip('/')}/_delta_log/"
    for item in store.list_objects(bucket, log):
        name = item.object_name or ""
        if not name.endswith(".json"):
            continue
        response = store.get_object(bucket, name)
        try:
            lines = response.read().decode().splitlines()
        finally:
            response.close()
            response.release_conn()
        for line in lines:
            action = json.loads(line)
            txn = action.get("txn")
            if txn and txn["appId"] == app_id:
                counts[int(txn["version"])] = counts.get(int(txn["version"]), 0) + 1
    return counts


def idle_device_source(
    name: str, namespace: str, points: tuple[str, ...], **spec: Any
) -> dict[str, Any]:
    """A Modbus DataSource whose collector lands nothing of its own (nothing listens at its
    endpoint, a batch an hour): the test lands its batches with LandingWriter."""
    return {
        "apiVersion": "nidc.io/v1alpha1",
        "kind": "DataSource",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "type": "modbus",
            "endpoint": f"tcp://127.0.0.1:{free_port()}",
            "domain": "production-operation",
            "enterprisePrefix": "88.118.8",
            "targetTable": f"bronze.{name.replace('-', '_')}",
            "continuous": True,
            "batchSeconds": 3600,
            "points": [
                {"name": p, "address": f"holding:{i}", "identifier": f"88.118.8/PRESS.{p}"}
                for i, p in enumerate(points)
            ],
            **spec,
        },
    }


def admission_refusal(api: ApiClient, body: dict[str, Any]) -> str:
    """The API server's 422 body for a resource admission must refuse."""
    with pytest.raises(ApiException) as refused:
        apply(api, body)
    assert refused.value.status == 422, refused.value
    return str(refused.value.body)
