"""Schema policies on the native writer, on the real MinIO (decision 0030's rules, 0250's engine).

addColumns: a landing column the table lacks (vibration, double) is added by the batch that
brings it, earlier rows read it as null; a batch lacking contract columns is quarantined whole
(schema-mismatch) and still gets its bronze commit (the key alone). fail: a drifting batch fails
the run before any commit of the run, naming the batch and the column, and the table stays at
its last good version.
"""

from __future__ import annotations

import uuid
from typing import Any

import pyarrow as pa
import pytest

from nidc.api.job_specs import IngestJob
from tests.landing import (
    LANDING_SCHEMA,
    LandingWriter,
    admin_store,
    bucket_made,
    native_job_store,
    sample,
    txn_commits,
)

pytestmark = pytest.mark.integration

BUCKET = "tenant-native-schema-it"
WIDER = LANDING_SCHEMA.append(pa.field("vibration", pa.float64()))
NARROW = pa.schema([f for f in LANDING_SCHEMA if f.name not in ("raw", "quality")])


@pytest.mark.timeout(300)
def test_schema_policies_natively(
    platform_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from deltalake import DeltaTable

    from spark_jobs.delta_rs_options import delta_uri
    from spark_jobs.ingest.native.batches import ingest_device_batches_natively
    from spark_jobs.ingest.values import SchemaDriftError

    store = native_job_store(platform_env, monkeypatch)
    client = bucket_made(admin_store(platform_env), BUCKET)

    def source(policy: str) -> tuple[LandingWriter, IngestJob]:
        tag, uid = uuid.uuid4().hex[:8], str(uuid.uuid4())
        writer = LandingWriter(client, BUCKET, "plant", f"mill-{tag}", uid)
        job = IngestJob.model_validate(
            {
                "type": "mqtt",
                "source": writer.source,
                "namespace": "plant",
                "sourceUid": uid,
                "schemaPolicy": policy,
                "points": [{"name": "load", "address": "m/load", "identifier": "88.118.8/M.load"}],
                "target": f"s3a://{BUCKET}/it-{tag}/bronze",
                "quarantine": f"s3a://{BUCKET}/it-{tag}/quarantine",
                "landing": {"prefix": writer.prefix},
            }
        )
        writer.write(1, [sample("load", s, str(s)) for s in range(10)])
        return writer, job

    # addColumns
    writer, job = source("addColumns")
    writer.write(2, [sample("load", s, str(s), vibration=0.5) for s in range(10, 20)], WIDER)
    writer.write(3, [{"point": "load", "ts": sample("load", 30, "1")["ts"]}], NARROW)
    renewals: list[int] = []
    done = ingest_device_batches_natively(store, job, lambda: renewals.append(1))
    assert done["batches"] == 3 and done["rowsAdded"] == 20 and done["quarantinedAdded"] == 1
    # The writer lease is renewed once before each commit: three of bronze, one of quarantine.
    assert len(renewals) == 4
    table = DeltaTable(delta_uri(job.target), storage_options=store.options)
    rows = table.to_pyarrow_table(columns=["ts", "vibration"]).to_pylist()
    assert sorted(r["vibration"] is None for r in rows) == [False] * 10 + [True] * 10
    prefix = job.target.split("/", 3)[3]
    assert txn_commits(client, BUCKET, prefix, job.source_uid) == {1: 1, 2: 1, 3: 1}
    quarantined = DeltaTable(delta_uri(job.quarantine), storage_options=store.options)
    [bad] = quarantined.to_pyarrow_table().to_pylist()
    assert bad["reason"] == "schema-mismatch" and "raw, quality" in bad["detail"]
    assert bad["batch_sequence"] == 3

    # fail: batch 2 drifts; nothing of the run is committed, batch 1 included
    writer, job = source("fail")
    first = ingest_device_batches_natively(store, job, lambda: None)
    assert first["batches"] == 1
    version = DeltaTable(delta_uri(job.target), storage_options=store.options).version()
    writer.write(2, [sample("load", 50, "5")])
    writer.write(3, [sample("load", 60, "6", vibration=0.1)], WIDER)
    with pytest.raises(SchemaDriftError, match=r"batch 3: .*new column vibration"):
        ingest_device_batches_natively(store, job, lambda: None)
    after = DeltaTable(delta_uri(job.target), storage_options=store.options)
    assert after.version() == version and after.transaction_version(job.source_uid) == 1
