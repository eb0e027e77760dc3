"""The governed-copy job: one product version's granted columns and rows, masked, into the copy a
grantee reads (issue 22; the spec is GovernedCopyJob in nidc/api/job_specs.py).

1. Reads the product table at `sourceVersion` (Delta time travel), so the copy is of exactly the
   version the grant reconciler saw, whatever was committed since.
2. Checks that every column the spec names is in that version with the type the spec says (the
   masks were chosen for those types); a column the spec does not name has no grade and is never
   served.
3. Keeps the rows the row filter accepts (evaluated on the clear values, as Ranger's row filters
   are), then projects the select list of nidc.governance.masking.governed_select.
4. Overwrites the copy in one Delta commit under txnAppId/txnVersion: a retried run that already
   committed commits nothing, and a run that fails before its commit leaves the last good copy.
   The commit's userMetadata names the source version (atomic with the data); a second,
   property-only commit records it as the table property `nidc.sourceVersion`, which a retried
   run completes and an unchanged property skips.

Incremental copies: not done. A product's transform job overwrites its table on every run
(spark_jobs/transform.py), so there is no delta of rows to carry over; a copy is rewritten per
product version. An append-only product could be copied incrementally from its change data feed
between the recorded source version and the new one; docs/masking.md says what that would need.

The HASH key comes from the environment (NIDC_MASK_HASH_KEY, hex), set by the runner from the
grant's OpenBao path; it is never in the spec, and an error that might quote the select list is
reported with the key's pads cut out.
"""

from __future__ import annotations

import json
import os
from typing import Any

from delta.tables import DeltaTable
from pyspark.sql import DataFrame, SparkSession

from nidc.api.job_environment import MASK_HASH_KEY_ENV
from nidc.api.job_specs import GovernedCopyJob
from nidc.governance.grade_bundle import grade_bundle
from nidc.governance.masking import (
    HashKey,
    ProductColumn,
    check_row_filter,
    governed_select,
)
from nidc.telemetry.tracing import tracer

TRACER = tracer(__name__)
SOURCE_VERSION_PROPERTY = "nidc.sourceVersion"
REDACTED = "<key material>"


class GovernedCopyError(RuntimeError):
    """The copy cannot be made as specified (the message names why; never key material)."""


def hash_key_from_environment() -> HashKey | None:
    text = os.environ.get(MASK_HASH_KEY_ENV, "")
    return HashKey.from_hex(text) if text else None


def product_columns(job: GovernedCopyJob) -> list[ProductColumn]:
    return [ProductColumn(c.name, c.spark_type, c.grade) for c in job.columns]


def check_schema(frame: DataFrame, columns: list[ProductColumn]) -> None:
    """Every column the spec names is in the version read, with the type the spec says."""
    found = {field.name: field.dataType.simpleString() for field in frame.schema.fields}
    for column in columns:
        if column.name not in found:
            raise GovernedCopyError(f"column {column.name} is not in the source version")
        if found[column.name] != column.spark_type:
            raise GovernedCopyError(
                f"column {column.name} is {found[column.name]} in the source version, "
                f"the spec says {column.spark_type}"
            )


def redacted(text: str, key: HashKey | None) -> str:
    """`text` without the key's pads (a Spark error may quote the expression it failed on)."""
    if key is None:
        return text
    for pad in key.pads():
        text = text.replace(pad, REDACTED).replace(pad.upper(), REDACTED)
    return text


def governed_frame(spark: SparkSession, job: GovernedCopyJob, key: HashKey | None) -> DataFrame:
    """The product version's rows that pass the filter, as the grantee may see them."""
    columns = product_columns(job)
    if job.row_filter is not None:
        problem = check_row_filter(job.row_filter, [c.name for c in columns])
        if problem:
            raise GovernedCopyError(problem)
    source = spark.read.format("delta").option("versionAsOf", job.source_version).load(job.source)
    check_schema(source, columns)
    if job.row_filter is not None:
        source = source.where(job.row_filter)
    select = governed_select(columns, job.granted_columns, job.masks, grade_bundle(), key)
    return source.selectExpr(*select)


def recorded_source_version(spark: SparkSession, path: str) -> str | None:
    if not DeltaTable.isDeltaTable(spark, path):
        return None
    quoted = path.replace("`", "``")
    detail = spark.sql(f"DESCRIBE DETAIL delta.`{quoted}`").collect()[0]
    value = dict(detail["properties"] or {}).get(SOURCE_VERSION_PROPERTY)
    return None if value is None else str(value)


def governed_copy(spark: SparkSession, job: GovernedCopyJob) -> dict[str, Any]:
    """Make the copy of `job`; returns its table version, rows and source version."""
    key = hash_key_from_environment()
    # DATE_SHOW_YEAR cuts timestamps to the year in UTC, wherever the job runs.
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    try:
        with TRACER.start_as_current_span(
            "delta read (governed copy)",
            attributes={"nidc.path": job.source, "nidc.version": job.source_version},
        ):
            frame = governed_frame(spark, job, key)
        with TRACER.start_as_current_span(
            "delta write (governed copy)",
            attributes={"nidc.path": job.target, "nidc.txn_version": job.txn_version},
        ):
            (
                frame.write.format("delta")
                .mode("overwrite")
                .option("overwriteSchema", "true")
                .option("txnAppId", job.txn_app_id)
                .option("txnVersion", str(job.txn_version))
                .option("userMetadata", json.dumps({"sourceVersion": job.source_version}))
                .save(job.target)
            )
    except Exception as error:  # a Spark error may quote the select list: no key in it
        if key is None:
            raise
        raise GovernedCopyError(redacted(str(error).splitlines()[0], key)) from None
    if recorded_source_version(spark, job.target) != str(job.source_version):
        target = job.target.replace("`", "``")
        spark.sql(
            f"ALTER TABLE delta.`{target}` SET TBLPROPERTIES "
            f"('{SOURCE_VERSION_PROPERTY}' = '{job.source_version}')"
        )
    table = DeltaTable.forPath(spark, job.target)
    version = table.history(1).collect()[0]["version"]
    rows = spark.read.format("delta").load(job.target).count()
    return {
        "tableVersion": int(version),
        "rows": int(rows),
        "sourceVersion": job.source_version,
        "columns": frame.columns,
    }
