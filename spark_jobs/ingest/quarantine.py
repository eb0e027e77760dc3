"""The quarantine table of a source: bad records with a reason, the detail and the raw payload."""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)

from nidc.api.job_specs import IngestJob

QUARANTINE_SCHEMA = (
    "source string, point string, identifier string, ts timestamp, received_at timestamp, "
    "raw string, quality string, reason string, detail string, batch_sequence bigint, "
    "origin string, date date"
)


def commit_quarantine(
    spark: SparkSession,
    job: IngestJob,
    bad: DataFrame,
    sequence: int | None,
    origin: str,
    app_id: str,
    version: int | None = None,
    protect: Callable[[DataFrame], DataFrame] | None = None,
) -> int:
    """Append bad records to quarantine with the same txn key as the bronze commit.

    `protect` encrypts what may hold a grade-3 value (spark_jobs/ingest/encryption.py)."""
    rows = bad.withColumn("batch_sequence", F.lit(sequence).cast("bigint"))
    rows = rows.withColumn("origin", F.lit(origin))
    rows = rows.withColumn(
        "date", F.coalesce(F.to_date("ts"), F.to_date(F.current_timestamp()))
    ).withColumn("source", F.lit(job.source))
    rows = spark.createDataFrame([], QUARANTINE_SCHEMA).unionByName(rows)
    count = rows.count()
    if count == 0:
        return 0
    if protect is not None:
        rows = protect(rows)
    (
        rows.write.format("delta")
        .mode("append")
        .partitionBy("date", "source")
        .option("txnAppId", app_id)
        .option("txnVersion", str(version if version is not None else sequence))
        .save(job.quarantine)
    )
    return count
