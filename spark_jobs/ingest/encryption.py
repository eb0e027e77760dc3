"""Grade before the first write: which incoming columns are encrypted, and the encryption itself.

The ingest job runs the pure classification engine (nidc/governance) over a bounded sample of
each unit of input (a file, a watermark range) before committing it, with the policies the
classify job of the same table uses; a column the engine grades, or a classify run recorded, at
a grade the bundle encrypts at column level is encrypted before its first write, and stays
encrypted from then on (docs/decisions/0160-grade-at-ingest-encrypt-before-write.md). Quarantine
rows of a source with encrypted columns keep `raw` and `detail` as ciphertext (base64), since
either may hold the clear value.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import BinaryType, StructField, StructType

from nidc.api.job_runtime import OpenBaoRuntime
from nidc.api.job_specs import IngestJob
from nidc.encryption.table_key import (
    BASE64,
    BINARY,
    EncryptedColumn,
    classification_record,
    columns_to_encrypt,
    recorded_grades,
    table_key_of,
)
from nidc.encryption.transit import KeyAccessDeniedError, Transit
from nidc.governance.column_classifier import classify_column
from nidc.governance.grade_bundle import grade_bundle
from nidc.governance.rule_pack import compile_policies
from nidc.governance.table_grade import apply_overrides
from spark_jobs.classify import CLASSIFICATION_PROPERTY
from spark_jobs.column_encryption import encrypt_columns, ensure_table_key, table_properties

QUARANTINE_ENCRYPTED = ("raw", "detail")


def grade_incoming(
    spark: SparkSession,
    job: IngestJob,
    frame: DataFrame,
    skip: Sequence[str],
    now: dt.datetime | None = None,
) -> list[EncryptedColumn]:
    """The frame's columns to encrypt (pure engine over a bounded sample; no write)."""
    if job.encryption is None:
        return []
    grading = job.encryption.grading
    properties = table_properties(spark, job.target)
    already = table_key_of(properties)
    names = [n for n in frame.columns if n not in skip]
    quoted = [f"`{n.replace('`', '``')}`" for n in names]
    rows = frame.selectExpr(*quoted).limit(grading.sample_rows).collect() if names else []
    pack = compile_policies([p.to_document() for p in grading.policies])
    detected = {
        n: classify_column(pack, n, [r[n] for r in rows], default_domain=grading.default_domain)
        for n in names
    }
    approvals = {
        name: {"spec": terms.model_dump(mode="json", by_alias=True)}
        for name, terms in grading.approvals.items()
    }
    graded, _, _ = apply_overrides(
        grading.table,
        [detected[n] for n in names],
        pack.overrides,
        approvals,
        now or dt.datetime.now(dt.UTC),
    )
    try:
        recorded = recorded_grades(json.loads(properties.get(CLASSIFICATION_PROPERTY) or "{}"))
    except json.JSONDecodeError:
        recorded = {}
    types = {f.name: f.dataType.simpleString() for f in frame.schema.fields}
    chosen = {
        c.column: EncryptedColumn(
            c.column, types[c.column], BINARY, classification_record(c, detected[c.column])
        )
        for c in columns_to_encrypt(graded, recorded, grade_bundle())
    }
    # Once encrypted, always encrypted, whatever a later sample looks like.
    if already is not None:
        chosen.update({n: c for n, c in already.columns.items() if n in frame.columns})
    return [chosen[n] for n in names if n in chosen]


def encrypted_schema(schema: StructType, columns: Sequence[EncryptedColumn]) -> StructType:
    """The schema as stored: encrypted columns are binary."""
    names = {c.name for c in columns if c.encoding == BINARY}
    return StructType(
        [StructField(f.name, BinaryType(), True) if f.name in names else f for f in schema.fields]
    )


@dataclass
class IngestEncryption:
    """The ingest job's access to its tenant's transit key (opened only when a column needs it)."""

    spark: SparkSession
    job: IngestJob
    openbao: OpenBaoRuntime | None
    _transit: Transit | None = None

    def transit(self) -> Transit:
        if self._transit is None:
            if self.openbao is None:
                raise KeyAccessDeniedError(
                    "a column is graded for column encryption but the run has no OpenBao "
                    "runtime; nothing was written"
                )
            self._transit = Transit.from_runtime(self.openbao)
        return self._transit

    def protect_rows(
        self, rows: DataFrame, columns: Sequence[EncryptedColumn], partition_by: Sequence[str]
    ) -> DataFrame:
        """The rows with `columns` encrypted, the target's key recorded first."""
        if not columns or self.job.encryption is None:
            return rows
        _, key = ensure_table_key(
            self.spark,
            self.job.target,
            self.transit(),
            self.job.encryption.transit_key,
            columns,
            encrypted_schema(rows.schema, columns),
            partition_by,
        )
        return encrypt_columns(self.spark, rows, columns, key)

    def protects_quarantine(self) -> bool:
        """Whether this source's quarantine rows are encrypted: its table has encrypted columns."""
        return table_key_of(table_properties(self.spark, self.job.target)) is not None

    def protect_quarantine(
        self, rows: DataFrame, partition_by: Sequence[str], needed: bool
    ) -> DataFrame:
        """Quarantine rows with raw and detail as base64 ciphertext (the quarantine's own key)
        when `needed` (this unit has encrypted columns) or the source's table has any."""
        if self.job.encryption is None or not (needed or self.protects_quarantine()):
            return rows
        columns = [EncryptedColumn(n, "string", BASE64) for n in QUARANTINE_ENCRYPTED]
        _, key = ensure_table_key(
            self.spark,
            self.job.quarantine,
            self.transit(),
            self.job.encryption.transit_key,
            columns,
            rows.schema,
            partition_by,
        )
        return encrypt_columns(self.spark, rows, columns, key)
