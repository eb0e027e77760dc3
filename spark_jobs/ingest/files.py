"""Files sources: every file not yet committed under the landing prefix, one commit per file."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)

from nidc.api.data_source import FileFormat
from nidc.api.job_specs import IngestJob
from nidc.telemetry.tracing import tracer
from spark_jobs import delta_log
from spark_jobs.ingest.encryption import IngestEncryption
from spark_jobs.ingest.records import commit_records, record_table_columns, split_mistyped
from spark_jobs.ingest.values import Reason, SchemaDriftError, decide_schema
from spark_jobs.table_lease import no_renewal

TRACER = tracer(__name__)
CORRUPT = "_corrupt_record"


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
    spark: SparkSession,
    job: IngestJob,
    renew: Callable[[], None] = no_renewal,
    encryption: IngestEncryption | None = None,
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

    known = record_table_columns(spark, job)
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
            good, mistyped = split_mistyped(rows, decision)
            mistyped = mistyped.select(
                raw.alias("raw"), F.lit(Reason.WRONG_TYPE.value).alias("reason"), "detail"
            )
            bad = corrupt.unionByName(mistyped)
            rows_in, rows_bad = commit_records(
                spark, job, good, bad, name, file_app_id(job, name), 1,
                F.to_date(F.current_timestamp()), encryption,
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
