"""Cross-engine: the native bronze writer (delta-rs) and the Spark ingest job, fed the same landing
batches, make the same tables, and each engine reads the other's (decision 0250).

The same three batches (duplicates within and across batches, every quarantine reason, a
string and a bool point, a point scaled and unit-converted) go through both paths into two table
pairs on the real MinIO. Spark then reads both pairs: the schemas, the partition columns, every
row and value of bronze and quarantine are equal; delta-rs reads the Spark pair the same. The
native table has one version per batch (each carrying the batch's application transaction),
and a second native run commits nothing.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest

from nidc.api.job_runtime import JobRuntime, Storage
from nidc.api.job_specs import IngestJob
from nidc.local.platform import LocalPlatform
from tests.delta_reader import delta_rows
from tests.landing import LandingWriter, admin_store, sample, txn_commits

pytestmark = pytest.mark.integration

BUCKET = "tenant-steel-plant"
NAMESPACE = "steel-plant"
POINTS = [
    {"name": "spindle_temp", "address": "ns=2;s=T", "identifier": "88.118.8/CNC-09.spindle_temp",
     "unit": "[degF]", "scale": 0.1, "minimum": -20, "maximum": 400},
    {"name": "pressure", "address": "ns=2;s=P", "identifier": "88.118.8/CNC-09.pressure",
     "dataType": "int", "unit": "kPa"},
    {"name": "door_open", "address": "ns=2;s=D", "identifier": "88.118.8/CNC-09.door_open",
     "dataType": "bool"},
    {"name": "program", "address": "ns=2;s=N", "identifier": "88.118.8/CNC-09.program",
     "dataType": "string"},
]  # fmt: skip


def batch(sequence: int) -> list[dict[str, Any]]:
    """Samples of one batch: 60 s of 4 points, overlapping the batch before by 10 s, and bad
    records of every kind."""
    start = (sequence - 1) * 50
    rows = []
    for second in range(start, start + 60):
        rows.append(sample("spindle_temp", second, str(1000 + second)))
        rows.append(sample("pressure", second, f'{{"value": {200 + second % 7}}}'))
        rows.append(sample("door_open", second, ["on", "off", "true", "0"][second % 4]))
        rows.append(sample("program", second, f"O{1000 + second // 30}"))
    rows += [
        sample("spindle_temp", start, "1000", received_at=None),  # a duplicate in the batch
        sample("spindle_temp", start + 1, "9999"),  # out of range
        sample("pressure", start + 2, "7.5"),  # wrong type
        sample("pressure", start + 3, "{oops"),  # unparseable
        sample("pressure", start + 4, '{"v": 1}'),  # schema mismatch
        sample("unmapped_tag", start + 5, "1"),  # unmapped
        sample("spindle_temp", start + 6, None, quality="Gap from=x to=y: restart"),
    ]
    for row in rows:
        if row.get("received_at") is None:
            row["received_at"] = row["ts"] + dt.timedelta(seconds=2)
    return rows


def as_set(rows: list[Any]) -> list[tuple[Any, ...]]:
    return sorted((tuple(r) for r in rows), key=repr)


@pytest.mark.timeout(900)
def test_native_and_spark_bronze_agree_and_read_each_other(
    platform: LocalPlatform, platform_env: dict[str, Any], tenant_spark: Any
) -> None:
    from spark_jobs.ingest import run_ingest
    from spark_jobs.ingest.native import run_native_ingest

    tag = uuid.uuid4().hex[:8]
    uid = str(uuid.uuid4())
    writer = LandingWriter(admin_store(platform_env), BUCKET, NAMESPACE, f"cnc-x-{tag}", uid)
    for sequence in (1, 2, 3):
        writer.write(sequence, batch(sequence))

    def job(engine: str) -> IngestJob:
        return IngestJob.model_validate(
            {
                "type": "opcua",
                "engine": engine,
                "source": writer.source,
                "namespace": NAMESPACE,
                "sourceUid": uid,
                "points": POINTS,
                "target": f"s3a://{BUCKET}/it-{tag}/{engine}/bronze",
                "quarantine": f"s3a://{BUCKET}/it-{tag}/{engine}/quarantine",
                "landing": {"prefix": writer.prefix},
            }
        )

    native, spark_job = job("native"), job("spark")
    runtime = JobRuntime(
        run=f"native-{tag}",
        storage=Storage(
            endpoint=platform_env["servers"]["minio"]["url"], ca_file=platform_env["ca_file"]
        ),
    )
    # tenant_spark put steel-plant's own S3 keys in this process's environment.
    result = run_native_ingest(native, runtime)
    spark_result = run_ingest(tenant_spark, spark_job, f"spark-{tag}")
    assert result["checkpoint"] == spark_result["checkpoint"] == {"batchSequence": 3}
    for key in ("rows", "quarantinedRows", "rowsAdded", "quarantinedAdded", "batches"):
        assert result[key] == spark_result[key], key
    assert result["rows"] == 4 * 160  # 4 points x 160 distinct seconds
    assert result["quarantinedRows"] == 3 * 6

    # One version per batch, each with the batch's key; the Spark job's table likewise.
    prefix = f"it-{tag}/native/bronze"
    assert txn_commits(writer.store, BUCKET, prefix, uid) == {1: 1, 2: 1, 3: 1}
    assert result["tableVersion"] == 2  # versions 0, 1, 2

    # Spark reads the native tables: same schema, partitioning, rows and values.
    spark = tenant_spark
    for table in ("bronze", "quarantine"):
        mine = spark.read.format("delta").load(f"s3a://{BUCKET}/it-{tag}/native/{table}")
        theirs = spark.read.format("delta").load(f"s3a://{BUCKET}/it-{tag}/spark/{table}")
        assert mine.schema == theirs.schema, table
        columns = sorted(mine.columns)
        assert as_set(mine.select(*columns).collect()) == as_set(
            theirs.select(*columns).collect()
        ), table
        details = {
            row["format"]: row["partitionColumns"]
            for row in spark.sql(
                f"DESCRIBE DETAIL delta.`s3a://{BUCKET}/it-{tag}/native/{table}`"
            ).collect()
        }
        assert details == {"delta": ["date", "source"]}
    values = {
        r["point"]: r
        for r in spark.read.format("delta")
        .load(native.target)
        .where("ts = timestamp'2026-11-25 08:00:10'")
        .collect()
    }
    assert values["spindle_temp"]["unit"] == "Cel"
    assert values["spindle_temp"]["value"] == pytest.approx((101.0 - 32.0) * 5 / 9)
    assert (
        values["pressure"]["value"] == pytest.approx(2.03) and values["pressure"]["unit"] == "bar"
    )
    assert values["door_open"]["value"] == 1.0  # "true" (second 10)
    assert values["program"]["value_text"] == "O1000"

    # delta-rs reads the Spark job's tables (the other direction).
    spark_rows = delta_rows(platform_env, spark_job.target)
    assert len(spark_rows) == result["rows"]

    # A second native run finds every batch committed and commits nothing.
    again = run_native_ingest(native, runtime)
    assert again["batches"] == 0 and again["tableVersion"] == result["tableVersion"]
    assert txn_commits(writer.store, BUCKET, prefix, uid) == {1: 1, 2: 1, 3: 1}


@pytest.mark.timeout(300)
def test_a_following_run_commits_what_lands_while_it_runs(
    platform_env: dict[str, Any], tenant_spark: Any
) -> None:
    """run_native_ingest(follow_seconds=...) (decision 0280): one run, one lease, and the
    batches that land while it follows are committed one version each, exactly once."""
    import threading
    import time

    from spark_jobs.ingest.native import run_native_ingest

    tag = uuid.uuid4().hex[:8]
    uid = str(uuid.uuid4())
    writer = LandingWriter(admin_store(platform_env), BUCKET, NAMESPACE, f"cnc-f-{tag}", uid)
    writer.write(1, batch(1))
    job = IngestJob.model_validate(
        {
            "type": "opcua",
            "engine": "native",
            "source": writer.source,
            "namespace": NAMESPACE,
            "sourceUid": uid,
            "points": POINTS,
            "target": f"s3a://{BUCKET}/it-{tag}/follow/bronze",
            "quarantine": f"s3a://{BUCKET}/it-{tag}/follow/quarantine",
            "landing": {"prefix": writer.prefix},
        }
    )
    runtime = JobRuntime(
        run=f"follow-{tag}",
        storage=Storage(
            endpoint=platform_env["servers"]["minio"]["url"], ca_file=platform_env["ca_file"]
        ),
    )

    def land_later() -> None:
        for sequence in (2, 3):
            time.sleep(1.5)
            writer.write(sequence, batch(sequence))

    lander = threading.Thread(target=land_later)
    lander.start()
    result = run_native_ingest(job, runtime, follow_seconds=6.0, poll_seconds=0.2)
    lander.join()
    assert result["checkpoint"] == {"batchSequence": 3} and result["batches"] == 3
    assert result["rows"] == 4 * 160 and result["quarantinedRows"] == 3 * 6
    assert txn_commits(writer.store, BUCKET, f"it-{tag}/follow/bronze", uid) == {1: 1, 2: 1, 3: 1}
    assert result["tableVersion"] == 2
    # A run after it finds nothing left.
    assert run_native_ingest(job, runtime)["batches"] == 0


@pytest.mark.timeout(300)
def test_ready_batches_grouped_into_one_commit_keep_every_row_once(
    platform_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """landing.batchesPerCommit (decision 0300): five ready batches in groups of two make three
    commits per table, keyed by each group's last sequence, with the same rows as a commit per
    batch. A run that dies between a group's quarantine and bronze commits, re-run with other
    groups, commits the bronze rows and no quarantine row twice."""
    from pathlib import Path

    from spark_jobs.ingest.native import commit, run_native_ingest

    s3 = platform_env["servers"]["minio"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3["access_key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", Path(s3["secret_key_file"]).read_text().strip())
    tag, uid = uuid.uuid4().hex[:8], str(uuid.uuid4())
    writer = LandingWriter(admin_store(platform_env), BUCKET, NAMESPACE, f"cnc-g-{tag}", uid)
    for sequence in range(1, 6):
        writer.write(sequence, batch(sequence))
    runtime = JobRuntime(
        run=f"group-{tag}",
        storage=Storage(endpoint=s3["url"], ca_file=platform_env["ca_file"]),
    )

    def job(name: str, per_commit: int) -> IngestJob:
        return IngestJob.model_validate(
            {
                "type": "opcua",
                "engine": "native",
                "source": writer.source,
                "namespace": NAMESPACE,
                "sourceUid": uid,
                "points": POINTS,
                "target": f"s3a://{BUCKET}/it-{tag}/{name}/bronze",
                "quarantine": f"s3a://{BUCKET}/it-{tag}/{name}/quarantine",
                "landing": {"prefix": writer.prefix, "batchesPerCommit": per_commit},
            }
        )

    def contents(name: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        tables = []
        for table in ("bronze", "quarantine"):
            rows = delta_rows(platform_env, f"s3a://{BUCKET}/it-{tag}/{name}/{table}")
            tables.append(sorted((tuple(sorted(r.items())) for r in rows), key=repr))
        return tables[0], tables[1]

    single = run_native_ingest(job("single", 1), runtime)
    grouped = run_native_ingest(job("grouped", 2), runtime)
    for key in ("checkpoint", "batches", "rows", "quarantinedRows", "rowsAdded"):
        assert grouped[key] == single[key], key
    assert single["rows"] == 4 * 260 and single["quarantinedRows"] == 5 * 6
    assert txn_commits(writer.store, BUCKET, f"it-{tag}/grouped/bronze", uid) == {2: 1, 4: 1, 5: 1}
    assert txn_commits(writer.store, BUCKET, f"it-{tag}/grouped/quarantine", uid) == {
        2: 1, 4: 1, 5: 1
    }  # fmt: skip
    assert grouped["tableVersion"] == 2
    assert contents("grouped") == contents("single")

    # The second group's bronze commit fails after its quarantine commit went in.
    real_append = commit.append

    def dies_at_second_bronze(table: Any, rows: Any, *args: Any, **kwargs: Any) -> Any:
        uri = table if isinstance(table, str) else table.table_uri
        if "/crash/bronze" in uri and args[2] == 4:
            raise RuntimeError("the run's process died here")
        return real_append(table, rows, *args, **kwargs)

    monkeypatch.setattr(commit, "append", dies_at_second_bronze)
    with pytest.raises(RuntimeError, match="died here"):
        run_native_ingest(job("crash", 2), runtime)
    monkeypatch.setattr(commit, "append", real_append)
    assert txn_commits(writer.store, BUCKET, f"it-{tag}/crash/quarantine", uid) == {2: 1, 4: 1}
    again = run_native_ingest(job("crash", 3), runtime)
    assert again["checkpoint"] == {"batchSequence": 5}
    assert txn_commits(writer.store, BUCKET, f"it-{tag}/crash/bronze", uid) == {2: 1, 5: 1}
    assert txn_commits(writer.store, BUCKET, f"it-{tag}/crash/quarantine", uid) == {
        2: 1, 4: 1, 5: 1
    }  # fmt: skip
    assert contents("crash") == contents("single")
