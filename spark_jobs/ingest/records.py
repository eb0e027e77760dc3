"""Files and jdbc rows are records: typed against the table, committed with bookkeeping columns."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)

from nidc.api.data_source import SchemaPolicy
from nidc.api.job_specs import IngestJob
from nidc.encryption.table_key import table_key_of
from spark_jobs import delta_log
from spark_jobs.column_encryption import table_properties
from spark_jobs.ingest.encryption import IngestEncryption, grade_incoming
from spark_jobs.ingest.quarantine import commit_quarantine
from spark_jobs.ingest.values import SchemaDecision

# Bookkeeping columns the job adds to files/jdbc rows (underscored: the input's own columns
# may well be called `source` or `date`).
RECORD_BOOKKEEPING = ["_source", "_origin", "_ingested_at", "_date"]
RECORD_PARTITIONS = ["_date", "_source"]
QUARANTINE_PARTITIONS = ["date", "source"]


def split_mistyped(frame: DataFrame, decision: SchemaDecision) -> tuple[DataFrame, DataFrame]:
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


def commit_records(
    spark: SparkSession,
    job: IngestJob,
    good: DataFrame,
    bad: DataFrame,
    origin: str,
    app_id: str,
    version: int,
    date: Column,
    encryption: IngestEncryption | None = None,
) -> tuple[int, int]:
    """Append one unit of record input (a file, a watermark range) to bronze and quarantine.

    With `encryption`, the unit is graded first; its grade-3 columns get the table's key
    recorded and are encrypted before either commit (quarantine rows then too)."""
    encrypted = grade_incoming(spark, job, good, RECORD_BOOKKEEPING) if encryption else []
    rows = (
        good.withColumn("_source", F.lit(job.source))
        .withColumn("_origin", F.lit(origin))
        .withColumn("_ingested_at", F.current_timestamp())
        .withColumn("_date", date)
    )
    if encryption is not None:
        rows = encryption.protect_rows(rows, encrypted, RECORD_PARTITIONS)
    quarantined = commit_quarantine(
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
        None
        if encryption is None
        else lambda bad_rows: encryption.protect_quarantine(
            bad_rows, QUARANTINE_PARTITIONS, bool(encrypted)
        ),
    )
    count = rows.count()
    writer = (
        rows.write.format("delta")
        .mode("append")
        .partitionBy(*RECORD_PARTITIONS)
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


def record_table_columns(spark: SparkSession, job: IngestJob) -> dict[str, str] | None:
    """The table's columns as the input sees them: an encrypted column by its clear type."""
    table = delta_log.table_columns(spark, job.target)
    if table is None:
        return None
    encrypted = table_key_of(table_properties(spark, job.target))
    clear = {n: c.clear_type for n, c in encrypted.columns.items()} if encrypted else {}
    return {n: clear.get(n, t) for n, t in table.items() if n not in RECORD_BOOKKEEPING}
