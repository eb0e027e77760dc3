"""The ingest job: a DataSource's new data into its bronze Delta table, bad records to quarantine.

Three inputs, one module each, one set of guarantees:

- device sources (opcua, modbus, mqtt; landing.py): landing batches written by the collector
  (`batch-<seq:012d>.parquet` + `.json` manifest; docs/decisions/0020-landing-batches.md);
- `files`: CSV, JSON or Parquet objects under the tenant's landing prefix (files.py);
- `jdbc`: an MES/ERP table read incrementally by a watermark column (jdbc.py).

Files and jdbc rows are records (records.py); bad records of every input go to quarantine
(quarantine.py); values.py classifies device samples and decides schema changes.

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

The job spec is the typed `IngestJob` of nidc/api/job_specs.py (no credentials: S3 keys and the
JDBC login come from the environment).
"""

from __future__ import annotations

import uuid
from typing import Any

from pyspark.sql import SparkSession
from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)

from nidc.api.data_source import SourceType
from nidc.api.job_runtime import OpenBaoRuntime
from nidc.api.job_specs import IngestJob
from nidc.governance.resampling import columns_digest
from nidc.telemetry.tracing import tracer
from spark_jobs import delta_log
from spark_jobs.ingest.encryption import IngestEncryption
from spark_jobs.ingest.files import ingest_files
from spark_jobs.ingest.jdbc import ingest_jdbc
from spark_jobs.ingest.landing import ingest_device_batches
from spark_jobs.table_lease import TableLease

TRACER = tracer(__name__)


def ingest(spark: SparkSession, spec: dict[str, Any]) -> dict[str, Any]:
    """Run the ingest job of a spec.json (runtime keys ignored but the run's name)."""
    runtime = spec.get("openbao")
    openbao = OpenBaoRuntime.model_validate(runtime) if runtime else None
    return run_ingest(spark, IngestJob.from_spec(spec), spec.get("run"), openbao)


def run_ingest(
    spark: SparkSession, job: IngestJob, run: str | None, openbao: OpenBaoRuntime | None = None
) -> dict[str, Any]:
    """Run one ingest job; returns checkpoint, rows, quarantinedRows and tableVersion.

    `openbao` (with NIDC_OPENBAO_TOKEN) lets the job encrypt grade-3 columns
    (spark_jobs/ingest/encryption.py); device sources do not grade at ingest yet."""
    # Dates of partitions are UTC dates, whatever the machine's zone.
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    # The run name identifies the writer: a retried attempt of the same run takes its own lease.
    holder = run or f"adhoc-{uuid.uuid4().hex[:12]}"
    with (
        TRACER.start_as_current_span(
            "ingest", attributes={"nidc.source": job.source, "nidc.source_type": str(job.type)}
        ),
        TableLease(spark, job.target, holder, wait_seconds=job.lease_wait_seconds) as lease,
    ):
        encryption = IngestEncryption(spark, job, openbao) if job.encryption else None
        if job.is_device:
            progress = ingest_device_batches(spark, job, lease.renew)
        elif str(job.type) == SourceType.FILES.value:
            progress = ingest_files(spark, job, lease.renew, encryption)
        else:
            progress = ingest_jdbc(spark, job, lease.renew, encryption)
        return {**progress, **table_totals(spark, job)}


def table_totals(spark: SparkSession, job: IngestJob) -> dict[str, Any]:
    """Rows of this source in the bronze and quarantine tables, and the bronze version."""
    device = job.is_device
    column = "source" if device else "_source"
    rows = quarantined = 0
    digest = None
    if delta_log.is_table(spark, job.target):
        table = spark.read.format("delta").load(job.target)
        digest = columns_digest(table.columns)
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
        "columnsDigest": digest,
    }
