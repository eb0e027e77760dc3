"""The ingest job on the real S3 server with real Spark (the session's one JVM).

Landing batches are written by tests/landing.py following the landing contract; the MES
database is a real PostgreSQL from the tool cache.
"""

from __future__ import annotations

import datetime as dt
import io
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest
from minio import Minio
from pyspark.sql import SparkSession
from pyspark.sql import functions as F  # noqa: N812

from nidc.api.job_specs import IngestJob
from nidc.simulators.mes_database import READER, MesDatabase
from spark_jobs import delta_log
from spark_jobs.ingest import ingest
from spark_jobs.ingest.landing import ingest_one_batch
from spark_jobs.ingest.values import SchemaDriftError, decide_schema
from spark_jobs.table_lease import LeaseBusyError, LeaseLostError, TableLease
from tests.landing import LANDING_SCHEMA, LandingWriter, admin_store, sample, txn_commits

pytestmark = pytest.mark.integration

BUCKET = "tenant-steel-plant"
NAMESPACE = "steel-plant"
POINTS = [
    {
        "name": "spindle_temp",
        "address": "ns=2;s=Spindle.Temp",
        "identifier": "88.118.8/CNC-01.spindle_temp",
        "dataType": "double",
        "unit": "Cel",
        "minimum": -20,
        "maximum": 200,
    },
    {
        "name": "spindle_speed",
        "address": "ns=2;s=Spindle.Speed",
        "identifier": "88.118.8/CNC-01.spindle_speed",
        "dataType": "int",
        "unit": "rpm",
        "minimum": 0,
        "maximum": 30000,
    },
    {
        "name": "coolant_temp",
        "address": "holding:40001",
        "identifier": "88.118.8/CNC-01.coolant_temp",
        "dataType": "double",
        "unit": "[degF]",
        "scale": 0.1,
    },
    {
        "name": "door_open",
        "address": "ns=2;s=Door",
        "identifier": "88.118.8/CNC-01.door_open",
        "dataType": "bool",
    },
]


@pytest.fixture(scope="module")
def store(platform_env: dict[str, Any]) -> Minio:
    return admin_store(platform_env)


@pytest.fixture
def tag() -> str:
    return uuid.uuid4().hex[:8]


def device_spec(writer: LandingWriter, tag: str, **changes: Any) -> dict[str, Any]:
    spec = {
        "job": "ingest",
        "type": "opcua",
        "source": writer.source,
        "namespace": NAMESPACE,
        "sourceUid": writer.source_uid,
        "points": POINTS,
        "target": f"s3a://{BUCKET}/it-{tag}/bronze/cnc",
        "quarantine": f"s3a://{BUCKET}/it-{tag}/quarantine/cnc",
        "landing": {"prefix": writer.prefix},
    }
    spec.update(changes)
    return spec


def rows_of(spark: SparkSession, path: str) -> list[dict[str, Any]]:
    return [r.asDict() for r in spark.read.format("delta").load(path).collect()]


def test_device_batches_land_once_with_quarantine(
    tenant_spark: SparkSession, store: Minio, tag: str
) -> None:
    spark = tenant_spark
    uid = str(uuid.uuid4())
    writer = LandingWriter(store, BUCKET, NAMESPACE, f"cnc-{tag}", uid)
    batch1 = []
    for s in range(10):
        batch1 += [
            sample("spindle_temp", s, str(40 + s)),
            sample("spindle_speed", s, f'{{"value": {1000 + s}}}'),
            sample("coolant_temp", s, str(700 + s)),  # tenths of degF: 70.0 degF = 21.1 Cel
            sample("door_open", s, "false"),
        ]
    # A duplicate inside the batch (the same sample received again) is dropped.
    batch1.append(sample("spindle_temp", 0, "40", received_at=None))
    bad1 = [
        sample("spindle_temp", 100, '{"value": 41'),  # unparseable
        sample("spindle_speed", 100, "fast"),  # wrong type
        sample("spindle_temp", 101, "250"),  # out of range
        sample("plant/line1/unknown", 100, "1", identifier="88.118.8/GW-01"),  # unmapped
    ]
    writer.write(1, batch1 + bad1)
    # Batch 2 overlaps batch 1 (at-least-once delivery): seconds 5..9 are duplicates.
    batch2 = [sample("spindle_temp", s, str(40 + s)) for s in range(5, 15)]
    writer.write(2, [*batch2, sample("spindle_speed", 101, "7.5")])
    # Batch 4 without batch 3: not ingested until 3 lands (sequences have no gaps).
    writer.write(4, [sample("spindle_temp", 50, "1")])
    spec = device_spec(writer, tag)

    result = ingest(spark, spec)

    assert result["checkpoint"] == {"batchSequence": 2}
    assert result["rows"] == 45  # 40 + 5 new from batch 2
    assert result["rowsAdded"] == 45
    assert result["quarantinedRows"] == 5
    bronze = rows_of(spark, spec["target"])
    keys = Counter((r["source"], r["point"], r["ts"]) for r in bronze)
    assert len(bronze) == 45 and max(keys.values()) == 1
    per_point = Counter(r["point"] for r in bronze)
    assert per_point == {
        "spindle_temp": 15,
        "spindle_speed": 10,
        "coolant_temp": 10,
        "door_open": 10,
    }
    coolant = next(r for r in bronze if r["point"] == "coolant_temp" and r["value"] < 21.2)
    assert coolant["unit"] == "Cel" and coolant["value"] == pytest.approx(21.1111, abs=1e-3)
    assert coolant["identifier"] == "88.118.8/CNC-01.coolant_temp"
    speed = next(r for r in bronze if r["point"] == "spindle_speed")
    assert speed["unit"] == "/min" and speed["value_type"] == "int"
    assert {r["batch_sequence"] for r in bronze} == {1, 2}
    # Partitioned by date and source.
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{spec['target']}`").first()
    assert detail is not None and list(detail["partitionColumns"]) == ["date", "source"]

    quarantine = rows_of(spark, spec["quarantine"])
    reasons = Counter(r["reason"] for r in quarantine)
    assert reasons == {
        "unparseable": 1,
        "wrong-type": 2,
        "out-of-range": 1,
        "unmapped-point": 1,
    }
    raw = {r["raw"] for r in quarantine}
    assert {'{"value": 41', "fast", "250", "7.5"} <= raw
    assert {r["batch_sequence"] for r in quarantine} == {1, 2}
    assert all(r["detail"] for r in quarantine)

    # One commit per batch, keyed (source uid, sequence), in both tables.
    prefix = spec["target"].removeprefix(f"s3a://{BUCKET}/")
    qprefix = spec["quarantine"].removeprefix(f"s3a://{BUCKET}/")
    assert txn_commits(store, BUCKET, prefix, uid) == {1: 1, 2: 1}
    assert txn_commits(store, BUCKET, qprefix, uid) == {1: 1, 2: 1}
    version = result["tableVersion"]

    # A re-run finds nothing new, even when the status lost its checkpoint (fromSequence 0).
    again = ingest(spark, spec)
    assert again["rowsAdded"] == 0 and again["batches"] == 0
    assert again["tableVersion"] == version and again["checkpoint"] == {"batchSequence": 2}
    # Re-processing batch 2 itself (a job killed after its commit, before its result) commits
    # nothing: Delta skips the MERGE whose (txnAppId, txnVersion) is already in the log.
    job = IngestJob.from_spec(spec)
    frame = spark.read.parquet(writer.prefix + "batch-000000000002.parquet")
    added, _bad = ingest_one_batch(
        spark,
        job,
        {p.name: p for p in job.points},
        2,
        {"rows": 11},
        frame,
        [],
        decide_schema(None, {}, "addColumns"),
    )
    assert added == 0
    assert delta_log.table_version(spark, spec["target"]) == version
    assert txn_commits(store, BUCKET, prefix, uid) == {1: 1, 2: 1}
    assert txn_commits(store, BUCKET, qprefix, uid) == {1: 1, 2: 1}

    # Batch 3 arrives: 3 and 4 land; batch 3 brings a new column (schema drift, addColumns).
    drift = LANDING_SCHEMA.append(pa.field("firmware", pa.string()))
    writer.write(3, [sample("spindle_temp", 20, "60", firmware="v2.1")], schema=drift)
    later = ingest(spark, spec)
    assert later["checkpoint"] == {"batchSequence": 4}
    assert later["rows"] == 47
    table = spark.read.format("delta").load(spec["target"])
    assert "firmware" in table.columns
    assert table.where(F.col("firmware") == "v2.1").count() == 1
    assert txn_commits(store, BUCKET, prefix, uid) == {1: 1, 2: 1, 3: 1, 4: 1}


def test_schema_policy_fail_keeps_the_last_good_version(
    tenant_spark: SparkSession, store: Minio, tag: str
) -> None:
    spark = tenant_spark
    uid = str(uuid.uuid4())
    writer = LandingWriter(store, BUCKET, NAMESPACE, f"press-{tag}", uid)
    spec = device_spec(writer, tag, schemaPolicy="fail")
    writer.write(1, [sample("spindle_temp", s, "50") for s in range(5)])
    first = ingest(spark, spec)
    assert first["rows"] == 5
    good_version = first["tableVersion"]

    writer.write(2, [sample("spindle_temp", s, "51") for s in range(5, 8)])  # fine on its own
    drift = LANDING_SCHEMA.append(pa.field("vibration", pa.float64()))
    writer.write(3, [sample("spindle_temp", 9, "52", vibration=0.3)], schema=drift)
    with pytest.raises(SchemaDriftError, match=r"batch 3: .*new column vibration \(double\)"):
        ingest(spark, spec)
    # Failed before any commit: batch 2 did not land either; the last good version stands.
    assert delta_log.table_version(spark, spec["target"]) == good_version
    assert spark.read.format("delta").load(spec["target"]).count() == 5
    prefix = spec["target"].removeprefix(f"s3a://{BUCKET}/")
    assert txn_commits(store, BUCKET, prefix, uid) == {1: 1}

    # The same batches under addColumns land (the operator's fix: change the policy).
    evolved = ingest(spark, {**spec, "schemaPolicy": "addColumns"})
    assert evolved["checkpoint"] == {"batchSequence": 3} and evolved["rows"] == 9


def test_batch_breaking_the_landing_contract_goes_to_quarantine(
    tenant_spark: SparkSession, store: Minio, tag: str
) -> None:
    spark = tenant_spark
    uid = str(uuid.uuid4())
    writer = LandingWriter(store, BUCKET, NAMESPACE, f"mill-{tag}", uid)
    spec = device_spec(writer, tag)
    no_raw = pa.schema([f for f in LANDING_SCHEMA if f.name != "raw"]).append(
        pa.field("value", pa.float64())
    )
    writer.write(1, [sample("spindle_temp", s, "", value=1.0) for s in range(3)], schema=no_raw)
    writer.write(2, [sample("spindle_temp", 9, "42")])
    result = ingest(spark, spec)
    assert result["checkpoint"] == {"batchSequence": 2}
    assert result["rows"] == 1 and result["quarantinedRows"] == 3
    quarantine = rows_of(spark, spec["quarantine"])
    assert {r["reason"] for r in quarantine} == {"schema-mismatch"}
    assert all('"value":1.0' in r["raw"] for r in quarantine)


def put_text(store: Minio, name: str, text: str) -> None:
    data = text.encode()
    store.put_object(BUCKET, name, io.BytesIO(data), len(data))


def test_files_csv_and_json(tenant_spark: SparkSession, store: Minio, tag: str) -> None:
    spark = tenant_spark
    uid = str(uuid.uuid4())
    folder = f"landing/it-{tag}/erp/orders/"
    spec: dict[str, Any] = {
        "type": "files",
        "source": f"erp-orders-{tag}",
        "namespace": NAMESPACE,
        "sourceUid": uid,
        "target": f"s3a://{BUCKET}/it-{tag}/bronze/erp_orders",
        "quarantine": f"s3a://{BUCKET}/it-{tag}/quarantine/erp_orders",
        "files": {"prefix": f"s3a://{BUCKET}/{folder}", "format": "csv"},
    }
    rows_a = "\n".join(f"{i},{i * 10},{i * 1.5}" for i in range(5))
    put_text(store, folder + "2026-11-25/a.csv", "order_id,qty,price\n" + rows_a + "\n")
    # b.csv: one qty is not a number (the column infers as string: cast per value, that row to
    # quarantine) and a new column `priority` (addColumns evolves the table).
    put_text(
        store,
        folder + "2026-11-25/b.csv",
        "order_id,qty,price,priority\n5,50,7.5,1\n6,many,9.0,2\n7,70,10.5,1\n8,80,12.0,3\n",
    )
    put_text(store, folder + "notes.txt", "not a data file")
    result = ingest(spark, spec)
    assert result["files"] == 2 and result["rows"] == 8 and result["quarantinedRows"] == 1
    table = spark.read.format("delta").load(spec["target"])
    assert dict(table.dtypes)["qty"] == "int" and "priority" in table.columns
    assert sorted(r["order_id"] for r in table.collect()) == [0, 1, 2, 3, 4, 5, 7, 8]
    bad = rows_of(spark, spec["quarantine"])
    assert [(r["reason"], r["origin"]) for r in bad] == [("wrong-type", "2026-11-25/b.csv")]
    assert '"qty":"many"' in bad[0]["raw"] and "qty" in bad[0]["detail"]
    version = result["tableVersion"]
    again = ingest(spark, spec)
    assert again["files"] == 0 and again["tableVersion"] == version
    put_text(store, folder + "2026-11-26/c.csv", "order_id,qty,price\n9,90,13.5\n")
    later = ingest(spark, spec)
    assert later["files"] == 1 and later["rows"] == 9
    assert later["checkpoint"] == {"watermark": "2026-11-26/c.csv"}

    json_folder = f"landing/it-{tag}/mes/events/"
    json_spec = {
        **spec,
        "source": f"mes-events-{tag}",
        "target": f"s3a://{BUCKET}/it-{tag}/bronze/mes_events",
        "files": {"prefix": f"s3a://{BUCKET}/{json_folder}", "format": "json"},
    }
    put_text(
        store,
        json_folder + "e1.json",
        '{"event": "start", "line": "hot-rolling-1"}\n'
        '{"event": "stop", "line": "hot-rolling-1"}\n'
        '{"event": "alarm", "line"\n'
        '{"event": "start", "line": "cold-rolling-1"}\n',
    )
    events = ingest(spark, json_spec)
    assert events["rows"] == 3 and events["quarantinedRows"] == 1
    corrupt = [r for r in rows_of(spark, spec["quarantine"]) if r["source"] == json_spec["source"]]
    assert corrupt[0]["reason"] == "unparseable"
    assert corrupt[0]["raw"] == '{"event": "alarm", "line"'


@pytest.fixture(scope="module")
def mes() -> Iterator[MesDatabase]:
    with MesDatabase() as database:
        yield database


def test_jdbc_incremental_by_watermark(
    tenant_spark: SparkSession, mes: MesDatabase, tag: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    spark = tenant_spark
    monkeypatch.setenv("JDBC_USER", READER)
    monkeypatch.setenv("JDBC_PASSWORD", mes.reader_password)
    uid = str(uuid.uuid4())
    spec: dict[str, Any] = {
        "type": "jdbc",
        "source": f"mes-orders-{tag}",
        "namespace": NAMESPACE,
        "sourceUid": uid,
        "target": f"s3a://{BUCKET}/it-{tag}/bronze/work_orders",
        "quarantine": f"s3a://{BUCKET}/it-{tag}/quarantine/work_orders",
        "jdbc": {"url": mes.jdbc_url, "table": "mes.work_orders", "watermarkColumn": "updated_at"},
    }
    mes.insert(120)
    first = ingest(spark, spec)
    assert first["rows"] == mes.count("work_orders") == mes.written["work_orders"]
    # Rows written while (and after) the job reads are picked up by the next run, once.
    mes.start_writing(40.0)
    second = ingest(spark, spec)
    mes.stop_writing()
    third = ingest(spark, spec)
    truth = mes.count("work_orders")
    assert truth == mes.written["work_orders"] > 120
    assert third["rows"] == truth
    ids = [r["order_id"] for r in spark.read.format("delta").load(spec["target"]).collect()]
    assert len(ids) == len(set(ids)) == truth
    assert second["checkpoint"]["watermark"] <= third["checkpoint"]["watermark"]
    version = third["tableVersion"]
    again = ingest(spark, spec)
    assert again["rowsAdded"] == 0 and again["tableVersion"] == version
    with mes.connect() as conn:
        top = conn.execute("SELECT max(updated_at) FROM mes.work_orders").fetchone()
    assert top is not None and isinstance(top[0], dt.datetime)
    assert third["checkpoint"]["watermark"] == top[0].isoformat()

    # Schema drift in the MES table: addColumns evolves; fail would have stopped.
    with mes.connect() as conn:
        conn.execute("ALTER TABLE mes.work_orders ADD COLUMN shift text")
        conn.execute(
            "INSERT INTO mes.work_orders (work_order, product_code, line, quantity, status, shift)"
            " VALUES ('WO-X', 'HR-COIL-2.5', 'hot-rolling-1', 5, 'released', 'night')"
        )
    mes.written["work_orders"] += 1
    with pytest.raises(SchemaDriftError, match=r"new column shift \(string\)"):
        ingest(spark, {**spec, "schemaPolicy": "fail"})
    assert delta_log.table_version(spark, spec["target"]) == version
    evolved = ingest(spark, spec)
    assert evolved["rows"] == mes.count("work_orders")
    table = spark.read.format("delta").load(spec["target"])
    assert table.where(F.col("shift") == "night").count() == 1


def test_one_writer_per_table(tenant_spark: SparkSession, store: Minio, tag: str) -> None:
    """The writer lease: S3 conditional writes (If-None-Match / If-Match) on the real server."""
    spark = tenant_spark
    table = f"s3a://{BUCKET}/it-{tag}/bronze/leased"
    first = TableLease(spark, table, "run-a", ttl_seconds=2, wait_seconds=0)
    first.acquire()
    other = TableLease(spark, table, "run-b", ttl_seconds=2, wait_seconds=0)
    with pytest.raises(LeaseBusyError, match="being written by run run-a"):
        other.acquire()
    # A retried attempt of the same run takes its own lease at once; the dead attempt's lease
    # object is no longer its to renew.
    retry = TableLease(spark, table, "run-a", ttl_seconds=2, wait_seconds=0)
    retry.acquire()
    with pytest.raises(LeaseLostError):
        first.renew()
    # Expired: another run takes it over (once the 2 s TTL ran out), and the old holder cannot
    # commit any more.
    deadline = time.monotonic() + 30
    while True:
        try:
            other.acquire()
            break
        except LeaseBusyError:
            assert time.monotonic() < deadline, "the lease never expired"
            time.sleep(0.2)
    with pytest.raises(LeaseLostError):
        retry.renew()
    other.renew()
    other.release()
    assert not any(
        o.object_name.endswith("_nidc_writer_lease.json")
        for o in store.list_objects(BUCKET, f"it-{tag}/bronze/leased/")
    )
    # ingest() holds the lease for its run: a second run of the same table waits, then fails.
    blocker = TableLease(spark, table, "run-c")
    blocker.acquire()
    writer = LandingWriter(store, BUCKET, NAMESPACE, f"lease-{tag}", str(uuid.uuid4()))
    writer.write(1, [sample("spindle_temp", 1, "50")])
    spec = device_spec(writer, tag, target=table, leaseWaitSeconds=1)
    with pytest.raises(LeaseBusyError, match="run-c"):
        ingest(spark, spec)
    assert delta_log.table_version(spark, table) is None  # nothing committed
    blocker.release()
    assert ingest(spark, spec)["rows"] == 1
