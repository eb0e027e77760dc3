"""Compaction of a native bronze table while batches are appended loses and doubles nothing
(issue 16, must-show 2b; spark_jobs/ingest/native/compaction.py).

On the real MinIO: 30 landing batches of 2 points x 120 s, each overlapping the one before by
20 s, are committed one run per batch by the native writer in a thread, while the test compacts
the table again and again. Afterwards: at least one compaction committed between two appends,
every batch has exactly one commit with its application transaction, and the table holds each
(point, ts) of the ground truth exactly once.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections import Counter
from typing import Any

import pytest

from nidc.api.job_specs import IngestJob
from tests.delta_reader import delta_rows
from tests.landing import (
    LandingWriter,
    admin_store,
    bucket_made,
    native_job_store,
    sample,
    txn_commits,
)

pytestmark = pytest.mark.integration

BUCKET = "tenant-compaction-it"
BATCHES = 30


@pytest.mark.timeout(600)
def test_compaction_beside_appends_loses_and_doubles_nothing(
    platform_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from deltalake import DeltaTable

    from spark_jobs.delta_rs_options import delta_uri
    from spark_jobs.ingest.native.batches import ingest_device_batches_natively
    from spark_jobs.ingest.native.compaction import compact

    store = native_job_store(platform_env, monkeypatch)
    client = bucket_made(admin_store(platform_env), BUCKET)
    tag, uid = uuid.uuid4().hex[:8], str(uuid.uuid4())
    writer = LandingWriter(client, BUCKET, "plant", f"press-{tag}", uid)
    truth: set[tuple[str, str]] = set()
    for sequence in range(1, BATCHES + 1):
        start = (sequence - 1) * 100
        rows = [
            sample(point, second, str(second % 50))
            for second in range(start, start + 120)
            for point in ("force", "stroke")
        ]
        writer.write(sequence, rows)
        truth |= {(r["point"], r["ts"].isoformat()) for r in rows}
    job = IngestJob.model_validate(
        {
            "type": "modbus",
            "source": writer.source,
            "namespace": "plant",
            "sourceUid": uid,
            "points": [
                {"name": p, "address": f"holding:{i}", "identifier": f"88.118.8/PRESS.{p}"}
                for i, p in enumerate(("force", "stroke"))
            ],
            "target": f"s3a://{BUCKET}/it-{tag}/bronze",
            "quarantine": f"s3a://{BUCKET}/it-{tag}/quarantine",
            "landing": {"prefix": writer.prefix, "maxBatches": 1},
        }
    )
    errors: list[BaseException] = []

    def append_all() -> None:
        try:
            for _ in range(BATCHES):
                ingest_device_batches_natively(store, job, lambda: None)
        except BaseException as error:  # reported by the test below
            errors.append(error)

    appender = threading.Thread(target=append_all)
    appender.start()
    compactions = 0
    while appender.is_alive():
        metrics = compact(store, job.target)
        compactions += int(bool(metrics.get("numFilesRemoved")))
    appender.join()
    assert errors == []
    assert compactions >= 1

    table = DeltaTable(delta_uri(job.target), storage_options=store.options)
    operations = [h["operation"] for h in reversed(table.history())]
    print(f"{compactions} compactions beside {BATCHES} appends: {Counter(operations)}")
    first_optimize = operations.index("OPTIMIZE")
    assert "WRITE" in operations[first_optimize:], "no append after a compaction: not concurrent"
    assert txn_commits(client, BUCKET, f"it-{tag}/bronze", uid) == dict.fromkeys(
        range(1, BATCHES + 1), 1
    )
    os.environ["SSL_CERT_FILE"] = platform_env["ca_file"]
    rows = delta_rows(platform_env, job.target, ["point", "ts"])
    landed = Counter((r["point"], r["ts"].isoformat()) for r in rows)
    assert set(landed) == truth and max(landed.values()) == 1
