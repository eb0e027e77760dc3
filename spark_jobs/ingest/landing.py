"""Device sources: the collector's landing batches into bronze, one MERGE commit per batch."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa
from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)

from nidc.api.data_source import Point, SchemaPolicy
from nidc.api.job_specs import IngestJob
from nidc.telemetry.tracing import tracer
from spark_jobs import delta_log
from spark_jobs.ingest.quarantine import commit_quarantine
from spark_jobs.ingest.records import split_mistyped
from spark_jobs.ingest.values import (
    LANDING_COLUMNS,
    Reason,
    SchemaDecision,
    SchemaDriftError,
    classified_schema,
    classify_batch,
    landing_batch_schema,
)
from spark_jobs.table_lease import no_renewal

TRACER = tracer(__name__)
# Bronze columns of device sources, in order (extra landing columns, if added, come last).
DEVICE_BRONZE = [
    "source", "point", "identifier", "ts", "received_at", "value", "value_text",
    "value_type", "unit", "quality", "batch_sequence", "date",
]  # fmt: skip


def pending_batches(names: list[str], start: int, limit: int) -> list[int]:
    """Sequences to ingest: manifests from `start` on, contiguous (a gap ends the run's work,
    since the collector writes batches in order and a missing manifest is not written yet)."""
    sequences = set()
    for name in names:
        if name.startswith("batch-") and name.endswith(".json"):
            digits = name.removeprefix("batch-").removesuffix(".json")
            if digits.isdigit():
                sequences.add(int(digits))
    out: list[int] = []
    sequence = start
    while sequence in sequences and len(out) < limit:
        out.append(sequence)
        sequence += 1
    return out


def batch_name(sequence: int, suffix: str) -> str:
    """batch-000000000007.parquet: the landing contract's deterministic names."""
    return f"batch-{sequence:012d}.{suffix}"


def _landing_type_strings(frame: DataFrame) -> dict[str, str]:
    return {f.name: f.dataType.simpleString() for f in frame.schema.fields}


def ingest_device_batches(
    spark: SparkSession, job: IngestJob, renew: Callable[[], None] = no_renewal
) -> dict[str, Any]:
    """Every pending landing batch of a device source, one bronze commit each.

    `renew` runs before each batch's commits (the table's writer lease).
    """
    assert job.landing is not None
    committed = delta_log.committed_transactions(spark, job.target).get(job.source_uid, 0)
    start = max(job.landing.from_sequence, committed) + 1
    names = delta_log.list_names(spark, job.landing.prefix)
    sequences = pending_batches(names, start, job.landing.max_batches)
    points = {p.name: p for p in job.points}

    # First pass: read every pending batch's manifest and schema and decide schema drift for
    # all of them, so a breaking change fails the run before any commit.
    fixed = set(DEVICE_BRONZE) | set(LANDING_COLUMNS)
    table = delta_log.table_columns(spark, job.target)
    known = None if table is None else {n: t for n, t in table.items() if n not in fixed}
    plans = []
    for sequence in sequences:
        manifest = json.loads(
            delta_log.read_text(spark, job.landing.prefix + batch_name(sequence, "json"))
        )
        frame = spark.read.parquet(job.landing.prefix + batch_name(sequence, "parquet"))
        incoming = _landing_type_strings(frame)
        missing, decision, known = landing_batch_schema(
            sequence, incoming, fixed, known, job.schema_policy
        )
        plans.append((sequence, manifest, frame, missing, decision))

    added = quarantined = 0
    for sequence, manifest, frame, missing, decision in plans:
        with TRACER.start_as_current_span(
            "ingest batch", attributes={"nidc.batch_sequence": sequence}
        ):
            renew()
            rows_in, rows_bad = ingest_one_batch(
                spark, job, points, sequence, manifest, frame, missing, decision
            )
            added += rows_in
            quarantined += rows_bad
    last = sequences[-1] if sequences else max(job.landing.from_sequence, committed)
    return {
        "checkpoint": {"batchSequence": last},
        "batches": len(sequences),
        "rowsAdded": added,
        "quarantinedAdded": quarantined,
    }


def ingest_one_batch(
    spark: SparkSession,
    job: IngestJob,
    points: dict[str, Point],
    sequence: int,
    manifest: dict[str, Any],
    frame: DataFrame,
    missing: list[str],
    decision: SchemaDecision,
) -> tuple[int, int]:
    """Classify, deduplicate and commit one batch; returns (rows added, rows quarantined)."""
    origin = batch_name(sequence, "parquet")
    count = frame.count()
    if count != int(manifest.get("rows", count)):
        raise RuntimeError(
            f"batch {sequence}: the parquet holds {count} rows, its manifest says "
            f"{manifest['rows']} (an incomplete or replaced batch; not ingested)"
        )
    if missing:
        # The batch breaks the landing contract: nothing in it can be typed, all of it is kept
        # in quarantine as it arrived.
        spark_types = {"string": "string", "timestamp[us, tz=UTC]": "timestamp"}
        bad = frame.select(
            *[
                F.col(c) if c in frame.columns else F.lit(None).cast(spark_types[str(t)]).alias(c)
                for c, t in LANDING_COLUMNS.items()
                if c != "raw"
            ],
            F.to_json(F.struct(*[F.col(c) for c in frame.columns])).alias("raw"),
            F.lit(Reason.SCHEMA_MISMATCH.value).alias("reason"),
            F.lit(f"batch lacks landing column(s) {', '.join(missing)}").alias("detail"),
        )
        bad_count = commit_quarantine(spark, job, bad, sequence, origin, job.source_uid)
        commit_device_rows(spark, job, None, sequence, decision)
        return 0, bad_count

    extras = [n for n in frame.columns if n not in LANDING_COLUMNS]
    arrow_extras = {n: _arrow_type(frame.schema[n].dataType.simpleString()) for n in extras}
    for name, (_new, old) in decision.retyped.items():
        arrow_extras[name] = _arrow_type(old)
    # An extra column whose values do not fit the table's type: those rows are quarantined.
    frame, mistyped = split_mistyped(frame, decision)
    mistyped = mistyped.select(
        *LANDING_COLUMNS, F.lit(Reason.WRONG_TYPE.value).alias("reason"), "detail"
    )
    schema = classified_schema(arrow_extras)

    def classify(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield classify_batch(batch, points, arrow_extras)

    classified = frame.select(*LANDING_COLUMNS, *extras).mapInArrow(
        classify,  # type: ignore[arg-type]
        _spark_ddl(schema),
    )
    classified = classified.withColumn("batch_sequence", F.lit(sequence).cast("bigint"))
    classified = classified.withColumn("date", F.to_date("ts")).persist()
    try:
        bad = (
            classified.where(F.col("reason").isNotNull())
            .select(*LANDING_COLUMNS, "reason", "detail")
            .unionByName(mistyped)
        )
        bad_count = commit_quarantine(spark, job, bad, sequence, origin, job.source_uid)
        first = Window.partitionBy("source", "point", "ts").orderBy("received_at", "raw")
        good = (
            classified.where(F.col("reason").isNull())
            .withColumn("_n", F.row_number().over(first))
            .where(F.col("_n") == 1)
            .select(*DEVICE_BRONZE, *extras)
        )
        added = commit_device_rows(spark, job, good, sequence, decision)
    finally:
        classified.unpersist()
    return added, bad_count


_ARROW = {
    "string": pa.string(),
    "double": pa.float64(),
    "float": pa.float32(),
    "bigint": pa.int64(),
    "int": pa.int32(),
    "smallint": pa.int16(),
    "boolean": pa.bool_(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "date": pa.date32(),
}


def _spark_ddl(schema: pa.Schema) -> str:
    """The Spark DDL of an arrow schema made of _ARROW's types."""
    names = {str(arrow): spark for spark, arrow in _ARROW.items()}
    return ", ".join(f"`{f.name}` {names[str(f.type)]}" for f in schema)


def _arrow_type(spark_type: str) -> pa.DataType:
    if spark_type not in _ARROW:
        raise SchemaDriftError(f"extra landing column type {spark_type} is not supported")
    return _ARROW[spark_type]


def commit_device_rows(
    spark: SparkSession,
    job: IngestJob,
    good: DataFrame | None,
    sequence: int,
    decision: SchemaDecision,
) -> int:
    """MERGE new (source, point, ts) rows into bronze, idempotent per (source uid, sequence).

    The MERGE's read of the affected (date, source) partitions is what Delta checks for
    conflicts: a concurrent writer adding rows to those partitions makes one of the two fail
    (ConcurrentAppendException) instead of both inserting the same key.
    """
    if good is None:
        good = spark.createDataFrame(
            [],
            "source string, point string, identifier string, ts timestamp, "
            "received_at timestamp, value double, value_text string, value_type string, "
            "unit string, quality string, batch_sequence bigint, date date",
        )
    if not delta_log.is_table(spark, job.target):
        before = good.count()
        (
            good.write.format("delta")
            .mode("append")
            .partitionBy("date", "source")
            .option("txnAppId", job.source_uid)
            .option("txnVersion", str(sequence))
            .save(job.target)
        )
        return before
    keys = good.select("date", "source").distinct().collect()
    dates = sorted({r["date"].isoformat() for r in keys if r["date"] is not None})
    sources = sorted({r["source"] for r in keys if r["source"] is not None})
    prune = "false"
    if dates and sources:
        date_list = ", ".join(f"DATE'{d}'" for d in dates)
        source_list = ", ".join("'" + s.replace("'", "''") + "'" for s in sources)
        prune = f"t.date IN ({date_list}) AND t.source IN ({source_list})"
    condition = f"{prune} AND t.source = s.source AND t.point = s.point AND t.ts = s.ts"
    version = delta_log.table_version(spark, job.target)
    merge = (
        DeltaTable.forPath(spark, job.target)
        .alias("t")
        .merge(good.alias("s"), condition)
        .whenNotMatchedInsertAll()
    )
    if str(job.schema_policy) == SchemaPolicy.ADD_COLUMNS.value:
        merge = merge.withSchemaEvolution()
    with delta_log.dml_transaction(spark, job.source_uid, sequence):
        metrics = merge.execute().first()
    if delta_log.table_version(spark, job.target) == version or metrics is None:
        return 0  # this batch was committed before (a re-run): Delta skipped the MERGE
    return int(metrics["num_inserted_rows"])
