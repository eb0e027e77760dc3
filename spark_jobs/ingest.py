"""The ingest job: a DataSource's new data into its bronze Delta table, bad records to quarantine.

Three inputs, one set of guarantees:

- device sources (opcua, modbus, mqtt): landing batches written by the collector
  (`batch-<seq:012d>.parquet` + `.json` manifest; docs/decisions/0020-landing-batches.md);
- `files`: CSV, JSON or Parquet objects under the tenant's landing prefix;
- `jdbc`: an MES/ERP table read incrementally by a watermark column.

Guarantees (docs/decisions/0030-ingest-job.md):

- one Delta commit per unit of input (landing batch, file, watermark range) with
  txnAppId/txnVersion derived from the source uid and that unit, so a re-run commits nothing
  twice; the table's own transaction map is the checkpoint (the DataSource status copies it);
- device rows are deduplicated by (source, point, ts) within a batch and, by MERGE on the
  affected (date, source) partitions, against what the table already holds;
- unparseable, wrongly typed, out-of-range and schema-mismatched records go to the quarantine
  table with a reason, a detail and the raw payload; the good rows still land;
- schemaPolicy `addColumns` evolves the table; `fail` fails the run before any commit, naming the
  drifting columns, so the last good version stays the current one.

The job spec is the typed `IngestJob` below (no credentials: S3 keys and the JDBC login come from
the environment).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any, Literal

import pyarrow as pa
from delta.tables import DeltaTable
from pydantic import Field, ValidationError, model_validator
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)

from nidc.api.data_source import FileFormat, Point, SchemaPolicy, SourceType
from nidc.api.schema import Model
from nidc.telemetry.tracing import tracer
from spark_jobs import delta_log
from spark_jobs.ingest_values import (
    LANDING_COLUMNS,
    Reason,
    SchemaDecision,
    classified_schema,
    classify_batch,
    decide_schema,
)
from spark_jobs.table_lease import TableLease

TRACER = tracer(__name__)
DEVICE_TYPES = {SourceType.OPCUA.value, SourceType.MODBUS.value, SourceType.MQTT.value}
# Keys the runner adds to every job spec (where it runs), not part of the ingest job itself.
RUNTIME_KEYS = {"run", "storage", "jars", "master", "attempt", "tenant", "traceparent"}
SQL_NAME = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$"

# Bronze columns of device sources, in order (extra landing columns, if added, come last).
DEVICE_BRONZE = [
    "source", "point", "identifier", "ts", "received_at", "value", "value_text",
    "value_type", "unit", "quality", "batch_sequence", "date",
]  # fmt: skip
# Bookkeeping columns the job adds to files/jdbc rows (underscored: the input's own columns
# may well be called `source` or `date`).
RECORD_BOOKKEEPING = ["_source", "_origin", "_ingested_at", "_date"]
QUARANTINE_SCHEMA = (
    "source string, point string, identifier string, ts timestamp, received_at timestamp, "
    "raw string, quality string, reason string, detail string, batch_sequence bigint, "
    "origin string, date date"
)
CORRUPT = "_corrupt_record"


class LandingInput(Model):
    """Where a device source's landing batches are and how far the status says we got."""

    prefix: str = Field(
        description="s3a:// folder of the batches: "
        "s3a://<tenant bucket>/landing/sources/<namespace>/<source>/",
        pattern=r"^s3a://[a-z0-9.\-]+/.+/$",
    )
    from_sequence: int = Field(
        default=0,
        alias="fromSequence",
        ge=0,
        description="Last batch sequence the status recorded as committed (0: none). The "
        "table's own transaction map wins when it is further.",
    )
    max_batches: int = Field(
        default=500, alias="maxBatches", ge=1, description="At most this many batches per run."
    )


class JdbcInput(Model):
    """An MES/ERP table read incrementally; the login comes from JDBC_USER/JDBC_PASSWORD."""

    url: str = Field(
        description="JDBC URL without credentials, e.g. jdbc:postgresql://127.0.0.1:5432/mes.",
        pattern=r"^jdbc:postgresql://[^/@?]+/[A-Za-z0-9_]+$",
    )
    table: str = Field(description="Qualified table, e.g. mes.work_orders.", pattern=SQL_NAME)
    watermark_column: str = Field(
        alias="watermarkColumn",
        description="Column (timestamp or integer) that only grows as rows are written.",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
    )
    watermark: str | None = Field(
        default=None,
        description="Last watermark the status recorded (ISO timestamp or integer); rows above "
        "it are read. The table's own transaction map wins when it is further.",
    )


class FilesInput(Model):
    """Files dropped under the tenant's landing prefix."""

    prefix: str = Field(
        description="s3a:// folder: s3a://<tenant bucket>/landing/<spec.files.prefix>",
        pattern=r"^s3a://[a-z0-9.\-]+/.+/$",
    )
    format: FileFormat = Field(description="csv (with a header line), json (lines) or parquet.")
    max_files: int = Field(
        default=500, alias="maxFiles", ge=1, description="At most this many files per run."
    )


class IngestJob(Model):
    """The logical ingest job of one run (what the DataSource reconciler records)."""

    job: Literal["ingest"] = "ingest"
    type: SourceType = Field(description="opcua, modbus, mqtt (landing batches), jdbc or files.")
    source: str = Field(description="DataSource name.", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    namespace: str = Field(description="DataSource namespace (the tenant).")
    source_uid: str = Field(
        alias="sourceUid", min_length=1, description="DataSource uid: Delta's txnAppId."
    )
    points: list[Point] = Field(default_factory=list, description="Mapped points (device types).")
    target: str = Field(
        description="s3a:// path of the bronze table.", pattern=r"^s3a://[a-z0-9.\-]+/.+[^/]$"
    )
    quarantine: str = Field(
        description="s3a:// path of the quarantine table.",
        pattern=r"^s3a://[a-z0-9.\-]+/.+[^/]$",
    )
    schema_policy: SchemaPolicy = Field(default=SchemaPolicy.ADD_COLUMNS, alias="schemaPolicy")
    lease_wait_seconds: float = Field(
        default=600.0,
        alias="leaseWaitSeconds",
        ge=0,
        description="How long to wait for another run's writer lease on the table.",
    )
    landing: LandingInput | None = None
    jdbc: JdbcInput | None = None
    files: FilesInput | None = None

    @model_validator(mode="after")
    def _input_matches_type(self) -> IngestJob:
        kind = str(self.type)
        if kind in DEVICE_TYPES and (self.landing is None or not self.points):
            raise ValueError(f"type {kind} needs landing and at least one entry in points")
        if kind == SourceType.JDBC.value and self.jdbc is None:
            raise ValueError("type jdbc needs jdbc")
        if kind == SourceType.FILES.value and self.files is None:
            raise ValueError("type files needs files")
        if self.target == self.quarantine:
            raise ValueError("target and quarantine must be different tables")
        return self

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> IngestJob:
        """Parse a run's spec.json; errors name the offending field."""
        logical = {k: v for k, v in spec.items() if k not in RUNTIME_KEYS}
        try:
            return cls.model_validate(logical)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'spec'}: {e['msg']}"
                for e in error.errors()
            )
            raise ValueError(f"invalid ingest job spec: {problems}") from None


class SchemaDriftError(RuntimeError):
    """Incoming data changes the table's schema and the policy says fail."""


def ingest(spark: SparkSession, spec: dict[str, Any]) -> dict[str, Any]:
    """Run one ingest job; returns checkpoint, rows, quarantinedRows and tableVersion."""
    job = IngestJob.from_spec(spec)
    # Dates of partitions are UTC dates, whatever the machine's zone.
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    # The run name identifies the writer: a retried attempt of the same run takes its own lease.
    holder = str(spec.get("run") or f"adhoc-{uuid.uuid4().hex[:12]}")
    with (
        TRACER.start_as_current_span(
            "ingest", attributes={"nidc.source": job.source, "nidc.source_type": str(job.type)}
        ),
        TableLease(spark, job.target, holder, wait_seconds=job.lease_wait_seconds) as lease,
    ):
        if str(job.type) in DEVICE_TYPES:
            progress = ingest_device_batches(spark, job, lease.renew)
        elif str(job.type) == SourceType.FILES.value:
            progress = ingest_files(spark, job, lease.renew)
        else:
            progress = ingest_jdbc(spark, job, lease.renew)
        return {**progress, **table_totals(spark, job)}


def table_totals(spark: SparkSession, job: IngestJob) -> dict[str, Any]:
    """Rows of this source in the bronze and quarantine tables, and the bronze version."""
    device = str(job.type) in DEVICE_TYPES
    column = "source" if device else "_source"
    rows = quarantined = 0
    if delta_log.is_table(spark, job.target):
        table = spark.read.format("delta").load(job.target)
        # A table this source never wrote to (made by other means) holds none of its rows.
        if column in table.columns:
            rows = table.where(F.col(column) == job.source).count()
    if delta_log.is_table(spark, job.quarantine):
        table = spark.read.format("delta").load(job.quarantine)
        quarantined = table.where(F.col("source") == job.source).count()
    return {
        "rows": rows,
        "quarantinedRows": quarantined,
        "tableVersion": delta_log.table_version(spark, job.target),
    }


# --- device landing batches ---------------------------------------------------------------


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


def _no_lease() -> None:
    """Stand-in for TableLease.renew where the caller serializes writers itself."""


def ingest_device_batches(
    spark: SparkSession, job: IngestJob, renew: Callable[[], None] = _no_lease
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
        missing = [c for c in LANDING_COLUMNS if c not in incoming]
        extras = {n: t for n, t in incoming.items() if n not in fixed}
        if missing and str(job.schema_policy) == SchemaPolicy.FAIL.value:
            raise SchemaDriftError(
                f"schema drift under schemaPolicy fail: batch {sequence} lacks landing "
                f"column(s) {', '.join(missing)}"
            )
        decision = decide_schema(known, extras, job.schema_policy)
        if decision.failure:
            raise SchemaDriftError(f"batch {sequence}: {decision.failure}")
        known = dict(extras) if known is None else {**known, **decision.added}
        plans.append((sequence, manifest, frame, missing, decision))

    added = quarantined = 0
    for sequence, manifest, frame, missing, decision in plans:
        with TRACER.start_as_current_span(
            "ingest batch", attributes={"nidc.batch_sequence": sequence}
        ):
            renew()
            rows_in, rows_bad = _ingest_one_batch(
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


def _ingest_one_batch(
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
        bad_count = _commit_quarantine(spark, job, bad, sequence, origin, job.source_uid)
        _commit_device_rows(spark, job, None, sequence, decision)
        return 0, bad_count

    extras = [n for n in frame.columns if n not in LANDING_COLUMNS]
    arrow_extras = {n: _arrow_type(frame.schema[n].dataType.simpleString()) for n in extras}
    for name, (_new, old) in decision.retyped.items():
        arrow_extras[name] = _arrow_type(old)
    # An extra column whose values do not fit the table's type: those rows are quarantined.
    frame, mistyped = _split_mistyped(frame, decision)
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
        bad_count = _commit_quarantine(spark, job, bad, sequence, origin, job.source_uid)
        first = Window.partitionBy("source", "point", "ts").orderBy("received_at", "raw")
        good = (
            classified.where(F.col("reason").isNull())
            .withColumn("_n", F.row_number().over(first))
            .where(F.col("_n") == 1)
            .select(*DEVICE_BRONZE, *extras)
        )
        added = _commit_device_rows(spark, job, good, sequence, decision)
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


def _commit_quarantine(
    spark: SparkSession,
    job: IngestJob,
    bad: DataFrame,
    sequence: int | None,
    origin: str,
    app_id: str,
    version: int | None = None,
) -> int:
    """Append bad records to quarantine with the same txn key as the bronze commit."""
    rows = bad.withColumn("batch_sequence", F.lit(sequence).cast("bigint"))
    rows = rows.withColumn("origin", F.lit(origin))
    rows = rows.withColumn(
        "date", F.coalesce(F.to_date("ts"), F.to_date(F.current_timestamp()))
    ).withColumn("source", F.lit(job.source))
    rows = spark.createDataFrame([], QUARANTINE_SCHEMA).unionByName(rows)
    count = rows.count()
    if count == 0:
        return 0
    (
        rows.write.format("delta")
        .mode("append")
        .partitionBy("date", "source")
        .option("txnAppId", app_id)
        .option("txnVersion", str(version if version is not None else sequence))
        .save(job.quarantine)
    )
    return count


def _commit_device_rows(
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


# --- files and jdbc: rows of records -------------------------------------------------------


def _split_mistyped(frame: DataFrame, decision: SchemaDecision) -> tuple[DataFrame, DataFrame]:
    """Cast retyped columns to the table's type. Rows where a value does not cast come back
    apart, as they arrived plus a `detail` column, for quarantine."""
    failures = []
    for name, (_new, old) in decision.retyped.items():
        value = F.expr(f"try_cast(`{name}` AS {old})")
        failures.append(
            F.when(
                F.col(name).isNotNull() & value.isNull(),
                F.concat(F.lit(f"column {name}: "), F.col(name).cast("string"),
                         F.lit(f" is not {old}")),
            )
        )  # fmt: skip
    if not failures:
        return frame, frame.limit(0).withColumn("detail", F.lit(""))
    marked = frame.withColumn("detail", F.coalesce(*failures))
    bad = marked.where(F.col("detail").isNotNull())
    good = marked.where(F.col("detail").isNull()).drop("detail")
    for name, (_new, old) in decision.retyped.items():
        good = good.withColumn(name, F.expr(f"try_cast(`{name}` AS {old})"))
    return good, bad


def _commit_records(
    spark: SparkSession,
    job: IngestJob,
    good: DataFrame,
    bad: DataFrame,
    origin: str,
    app_id: str,
    version: int,
    date: Column,
) -> tuple[int, int]:
    """Append one unit of record input (a file, a watermark range) to bronze and quarantine."""
    quarantined = _commit_quarantine(
        spark,
        job,
        bad.select(
            F.lit(None).cast("string").alias("point"),
            F.lit(None).cast("string").alias("identifier"),
            F.lit(None).cast("timestamp").alias("ts"),
            F.lit(None).cast("timestamp").alias("received_at"),
            "raw",
            F.lit(None).cast("string").alias("quality"),
            "reason",
            "detail",
        ),
        None,
        origin,
        app_id,
        version,
    )
    rows = (
        good.withColumn("_source", F.lit(job.source))
        .withColumn("_origin", F.lit(origin))
        .withColumn("_ingested_at", F.current_timestamp())
        .withColumn("_date", date)
    )
    count = rows.count()
    writer = (
        rows.write.format("delta")
        .mode("append")
        .partitionBy("_date", "_source")
        .option("txnAppId", app_id)
        .option("txnVersion", str(version))
    )
    if str(job.schema_policy) == SchemaPolicy.ADD_COLUMNS.value:
        writer = writer.option("mergeSchema", "true")
    before = delta_log.table_version(spark, job.target)
    writer.save(job.target)
    if before is not None and delta_log.table_version(spark, job.target) == before:
        return 0, 0  # committed before (a re-run)
    return count, quarantined


def _record_table(spark: SparkSession, job: IngestJob) -> dict[str, str] | None:
    table = delta_log.table_columns(spark, job.target)
    if table is None:
        return None
    return {n: t for n, t in table.items() if n not in RECORD_BOOKKEEPING}


def file_app_id(job: IngestJob, name: str) -> str:
    """One idempotency key per file: a file is committed once, whatever order files arrive in."""
    return f"{job.source_uid}/file/{name}"


def _read_file(spark: SparkSession, path: str, kind: str) -> DataFrame:
    if kind == FileFormat.PARQUET.value:
        return spark.read.parquet(path)
    if kind == FileFormat.JSON.value:
        reader = spark.read.option("mode", "PERMISSIVE").option(
            "columnNameOfCorruptRecord", CORRUPT
        )
        return reader.json(path)
    inferred = spark.read.option("header", "true").option("inferSchema", "true").csv(path)
    schema = inferred.schema.add(CORRUPT, "string")
    return (
        spark.read.option("header", "true")
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT)
        .schema(schema)
        .csv(path)
    )


def ingest_files(
    spark: SparkSession, job: IngestJob, renew: Callable[[], None] = _no_lease
) -> dict[str, Any]:
    """Every file not yet committed, in name order, one bronze commit each."""
    assert job.files is not None
    suffixes = {"csv": (".csv",), "json": (".json", ".jsonl"), "parquet": (".parquet",)}
    kind = str(job.files.format)
    done = delta_log.committed_transactions(spark, job.target)
    names = [
        n
        for n in delta_log.list_names(spark, job.files.prefix, recursive=True)
        if n.endswith(suffixes[kind]) and file_app_id(job, n) not in done
    ][: job.files.max_files]

    known = _record_table(spark, job)
    plans = []
    for name in names:
        frame = _read_file(spark, job.files.prefix + name, kind).cache()
        incoming = {
            f.name: f.dataType.simpleString() for f in frame.schema.fields if f.name != CORRUPT
        }
        decision = decide_schema(known, incoming, job.schema_policy)
        if decision.failure:
            raise SchemaDriftError(f"file {name}: {decision.failure}")
        known = dict(incoming) if known is None else {**known, **decision.added}
        plans.append((name, frame, decision))

    added = quarantined = 0
    for name, frame, decision in plans:
        with TRACER.start_as_current_span("ingest file", attributes={"nidc.file": name}):
            renew()
            columns = [c for c in frame.columns if c != CORRUPT]
            raw = F.to_json(F.struct(*[F.col(c) for c in columns]))
            corrupt = frame.limit(0).select(F.lit("").alias("raw"), F.lit("").alias("reason"),
                                            F.lit("").alias("detail"))  # fmt: skip
            rows = frame
            if CORRUPT in frame.columns:
                corrupt = frame.where(F.col(CORRUPT).isNotNull()).select(
                    F.col(CORRUPT).alias("raw"),
                    F.lit(Reason.UNPARSEABLE.value).alias("reason"),
                    F.lit(f"malformed {kind} record").alias("detail"),
                )
                rows = frame.where(F.col(CORRUPT).isNull()).drop(CORRUPT)
            good, mistyped = _split_mistyped(rows, decision)
            mistyped = mistyped.select(
                raw.alias("raw"), F.lit(Reason.WRONG_TYPE.value).alias("reason"), "detail"
            )
            bad = corrupt.unionByName(mistyped)
            rows_in, rows_bad = _commit_records(
                spark, job, good, bad, name, file_app_id(job, name), 1,
                F.to_date(F.current_timestamp()),
            )  # fmt: skip
            frame.unpersist()
            added += rows_in
            quarantined += rows_bad
    return {
        # Informational: the per-file keys in the table's transaction map are the real record.
        "checkpoint": {"watermark": names[-1] if names else None},
        "files": len(names),
        "rowsAdded": added,
        "quarantinedAdded": quarantined,
    }


def _micros_to_iso(micros: int) -> str:
    return (dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=micros)).isoformat()


def watermark_to_version(watermark: str, is_timestamp: bool) -> int:
    """A watermark as Delta's txnVersion: epoch microseconds of a timestamp, or the integer."""
    if not is_timestamp:
        return int(watermark)
    moment = dt.datetime.fromisoformat(watermark.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    delta = moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def version_to_watermark(version: int, is_timestamp: bool) -> str:
    """The inverse of watermark_to_version (what the status shows)."""
    return _micros_to_iso(version) if is_timestamp else str(version)


def ingest_jdbc(
    spark: SparkSession, job: IngestJob, renew: Callable[[], None] = _no_lease
) -> dict[str, Any]:
    """Rows with watermark in (last, max at start] in one commit keyed by that max.

    The upper bound is fixed when the run starts: a row committed while the job reads (with a
    larger watermark) is left for the next run instead of being half-seen, and since the bound
    is the txnVersion, a re-run of the same range commits nothing.
    """
    assert job.jdbc is not None
    source = job.jdbc
    user = os.environ.get("JDBC_USER", "")
    password = os.environ.get("JDBC_PASSWORD", "")
    if not user:
        raise RuntimeError("JDBC_USER is not set (the runner passes the source's login)")

    def query(sql: str) -> DataFrame:
        return (
            spark.read.format("jdbc")
            .option("url", source.url)
            .option("driver", "org.postgresql.Driver")
            .option("user", user)
            .option("password", password)
            .option("fetchsize", "10000")
            .option("query", sql)
            .load()
        )

    column = source.watermark_column
    top = query(f"SELECT max({column}) AS hi FROM {source.table}")  # noqa: S608 (validated names)
    is_timestamp = top.schema["hi"].dataType.simpleString().startswith("timestamp")
    encode = "unix_micros(hi)" if is_timestamp else "CAST(hi AS BIGINT)"
    high_row = top.selectExpr(f"{encode} AS v").first()
    high = None if high_row is None else high_row["v"]
    committed = delta_log.committed_transactions(spark, job.target).get(job.source_uid)
    candidates = [] if committed is None else [committed]
    if source.watermark:
        candidates.append(watermark_to_version(source.watermark, is_timestamp))
    low = max(candidates) if candidates else None
    if high is None or (low is not None and high <= low):
        last = None if low is None else version_to_watermark(low, is_timestamp)
        return {"checkpoint": {"watermark": last}, "rowsAdded": 0, "quarantinedAdded": 0}

    def literal(version: int) -> str:
        if is_timestamp:
            return f"TIMESTAMPTZ '{_micros_to_iso(version)}'"
        return str(version)

    where = f"{column} <= {literal(high)}"
    if low is not None:
        where = f"{column} > {literal(low)} AND {where}"
    with TRACER.start_as_current_span(
        "jdbc read", attributes={"nidc.table": source.table, "nidc.watermark_high": high}
    ):
        rows = query(f"SELECT * FROM {source.table} WHERE {where}").cache()  # noqa: S608
    incoming = {f.name: f.dataType.simpleString() for f in rows.schema.fields}
    decision = decide_schema(_record_table(spark, job), incoming, job.schema_policy)
    if decision.failure:
        raise SchemaDriftError(f"table {source.table}: {decision.failure}")
    raw = F.to_json(F.struct(*[F.col(c) for c in rows.columns]))
    good, mistyped = _split_mistyped(rows, decision)
    bad = mistyped.select(
        raw.alias("raw"), F.lit(Reason.WRONG_TYPE.value).alias("reason"), "detail"
    )
    date = F.to_date(F.col(column)) if is_timestamp else F.to_date(F.current_timestamp())
    span = f"({version_to_watermark(low, is_timestamp) if low is not None else ''}, " + (
        f"{version_to_watermark(high, is_timestamp)}]"
    )
    renew()
    added, quarantined = _commit_records(
        spark, job, good, bad.select("raw", "reason", "detail"), f"watermark {span}",
        job.source_uid, high, date,
    )  # fmt: skip
    rows.unpersist()
    return {
        "checkpoint": {"watermark": version_to_watermark(high, is_timestamp)},
        "rowsAdded": added,
        "quarantinedAdded": quarantined,
    }
