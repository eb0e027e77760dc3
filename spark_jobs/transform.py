"""The transform job: Spark SQL, or a named analytic, over input Delta tables into a product's
Delta table.

The write is idempotent (Delta txnAppId/txnVersion from the product's UID and the run), so a
retried run that already committed commits nothing twice; a failing query fails before the
commit, leaving the last good table version as it was.
"""

from __future__ import annotations

from typing import Any

from delta.tables import DeltaTable
from pyspark.sql import SparkSession

from nidc.api.analytics import compute_note
from nidc.api.job_specs import TransformJob
from nidc.governance.resampling import columns_digest
from nidc.telemetry.tracing import tracer
from spark_jobs.analytics.spark import analytic_over_inputs, devices_used

TRACER = tracer(__name__)


def transform(spark: SparkSession, job: TransformJob) -> dict[str, Any]:
    """Register each input as a view, run the SQL or the analytic, overwrite the target table."""
    frames = []
    for source in job.inputs:
        pin = {} if source.version is None else {"nidc.version": source.version}
        with TRACER.start_as_current_span(
            "delta read (s3a)",
            attributes={"nidc.view": source.view, "nidc.path": source.path, **pin},
        ):
            reader = spark.read.format("delta")
            if source.version is not None:
                # Pinned to the input's last version that passed its quality gate (issue 20).
                reader = reader.option("versionAsOf", source.version)
            frame = reader.load(source.path)
            frame.createOrReplaceTempView(source.view)
            frames.append(frame)
    with TRACER.start_as_current_span(
        "delta write (s3a)",
        attributes={"nidc.path": job.target, "nidc.txn_version": job.txn_version},
    ):
        if job.analytic is not None:
            result = analytic_over_inputs(frames, job.analytic, job.parameters)
        else:
            result = spark.sql(job.sql or "")
        (
            result.write.format("delta")
            .mode("overwrite")
            .option("overwriteSchema", "true")
            .option("txnAppId", job.txn_app_id)
            .option("txnVersion", str(job.txn_version))
            .save(job.target)
        )
    with TRACER.start_as_current_span("delta read back (s3a)"):
        table = DeltaTable.forPath(spark, job.target)
        version = table.history(1).collect()[0]["version"]
        written = spark.read.format("delta").load(job.target)
        rows = written.count()
    outcome: dict[str, Any] = {
        "tableVersion": int(version),
        "rows": int(rows),
        "columnsDigest": columns_digest(written.columns),
    }
    if job.analytic is not None:
        outcome["computeNote"] = compute_note(str(job.pool), devices_used(written))
    return outcome
