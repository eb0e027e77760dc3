"""Jdbc sources: an MES/ERP table read incrementally by its watermark column, one commit a run."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)

from nidc.api.job_environment import JDBC_PASSWORD_ENV, JDBC_USER_ENV
from nidc.api.job_specs import IngestJob
from nidc.telemetry.tracing import tracer
from spark_jobs import delta_log
from spark_jobs.ingest.encryption import IngestEncryption
from spark_jobs.ingest.records import commit_records, record_table_columns, split_mistyped
from spark_jobs.ingest.values import Reason, SchemaDriftError, decide_schema
from spark_jobs.table_lease import no_renewal

TRACER = tracer(__name__)


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
    spark: SparkSession,
    job: IngestJob,
    renew: Callable[[], None] = no_renewal,
    encryption: IngestEncryption | None = None,
) -> dict[str, Any]:
    """Rows with watermark in (last, max at start] in one commit keyed by that max.

    The upper bound is fixed when the run starts: a row committed while the job reads (with a
    larger watermark) is left for the next run instead of being half-seen, and since the bound
    is the txnVersion, a re-run of the same range commits nothing.
    """
    assert job.jdbc is not None
    source = job.jdbc
    user = os.environ.get(JDBC_USER_ENV, "")
    password = os.environ.get(JDBC_PASSWORD_ENV, "")
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
    decision = decide_schema(record_table_columns(spark, job), incoming, job.schema_policy)
    if decision.failure:
        raise SchemaDriftError(f"table {source.table}: {decision.failure}")
    raw = F.to_json(F.struct(*[F.col(c) for c in rows.columns]))
    good, mistyped = split_mistyped(rows, decision)
    bad = mistyped.select(
        raw.alias("raw"), F.lit(Reason.WRONG_TYPE.value).alias("reason"), "detail"
    )
    date = F.to_date(F.col(column)) if is_timestamp else F.to_date(F.current_timestamp())
    span = f"({version_to_watermark(low, is_timestamp) if low is not None else ''}, " + (
        f"{version_to_watermark(high, is_timestamp)}]"
    )
    renew()
    added, quarantined = commit_records(
        spark, job, good, bad.select("raw", "reason", "detail"), f"watermark {span}",
        job.source_uid, high, date, encryption,
    )  # fmt: skip
    rows.unpersist()
    return {
        "checkpoint": {"watermark": version_to_watermark(high, is_timestamp)},
        "rowsAdded": added,
        "quarantinedAdded": quarantined,
    }
