"""Grade-3 columns encrypted with Spark's built-in AES-GCM; the data key wrapped by OpenBao.

Every value is `aes_encrypt(value, key, 'GCM')`: a random 96-bit IV per value, a 128-bit tag,
no Python UDF. The key reaches the executors as a one-row broadcast relation joined to the
rows, not as a literal: a literal would stand in the query plan, which Spark prints in
explanations and errors (and errors reach a run's status). The table keeps only the wrapped key
and the transit key version (nidc/encryption/table_key.py); the order is always key first, data
after, so a crash between the two never leaves ciphertext without its key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from delta.tables import DeltaTable
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 (the PySpark convention)
from pyspark.sql.types import StructType

from nidc.encryption.table_key import (
    BASE64,
    BINARY,
    ENCRYPTION_PROPERTY,
    EncryptedColumn,
    TableKey,
    table_key_of,
)
from nidc.encryption.transit import Transit
from nidc.telemetry.tracing import tracer
from spark_jobs import delta_log

TRACER = tracer(__name__)
KEY_COLUMN = "_nidc_data_key"


class ColumnInClearError(RuntimeError):
    """A column now to be encrypted already holds clear values in the table (fail closed)."""


def table_properties(spark: SparkSession, path: str) -> dict[str, str]:
    """The Delta table's properties ({} when there is no table)."""
    if not delta_log.is_table(spark, path):
        return {}
    detail = DeltaTable.forPath(spark, path).detail().collect()[0]
    return dict(detail["properties"] or {})


def _with_key(spark: SparkSession, frame: DataFrame, key: bytes) -> DataFrame:
    keys = spark.createDataFrame([(bytearray(key),)], f"{KEY_COLUMN} binary")
    return frame.crossJoin(F.broadcast(keys))


def _ciphertext(column: EncryptedColumn) -> Column:
    clear = F.col(column.name)
    if column.clear_type != "binary":
        clear = clear.cast("string")
    cipher = F.aes_encrypt(clear, F.col(KEY_COLUMN), F.lit("GCM"), F.lit("DEFAULT"))
    return F.base64(cipher) if column.encoding == BASE64 else cipher


def _cleartext(column: EncryptedColumn) -> Column:
    stored = F.col(column.name)
    if column.encoding == BASE64:
        # Quarantine rows from before the source had encrypted columns are clear text: those
        # do not decode and come back as they are.
        decoded = F.try_to_binary(stored, F.lit("base64"))
        clear = F.try_aes_decrypt(decoded, F.col(KEY_COLUMN), F.lit("GCM"), F.lit("DEFAULT"))
        return F.coalesce(clear.cast("string"), stored)
    clear = F.aes_decrypt(stored, F.col(KEY_COLUMN), F.lit("GCM"), F.lit("DEFAULT"))
    if column.clear_type == "binary":
        return clear
    return clear.cast("string").cast(column.clear_type)


def encrypt_columns(
    spark: SparkSession, frame: DataFrame, columns: Sequence[EncryptedColumn], key: bytes
) -> DataFrame:
    """The frame with `columns` replaced by their ciphertext (same names, same order)."""
    present = [c for c in columns if c.name in frame.columns]
    if not present:
        return frame
    keyed = _with_key(spark, frame, key)
    for column in present:
        keyed = keyed.withColumn(column.name, _ciphertext(column))
    return keyed.drop(KEY_COLUMN)


def decrypt_columns(
    spark: SparkSession, frame: DataFrame, table_key: TableKey, key: bytes
) -> DataFrame:
    """The frame with the table's encrypted columns back in clear, in their recorded types."""
    present = [c for c in table_key.columns.values() if c.name in frame.columns]
    if not present:
        return frame
    keyed = _with_key(spark, frame, key)
    for column in present:
        keyed = keyed.withColumn(column.name, _cleartext(column))
    return keyed.drop(KEY_COLUMN)


def read_decrypted(spark: SparkSession, path: str, transit: Transit) -> DataFrame:
    """The table in clear, for a job whose token may unwrap the tenant's data keys.

    A token without the key's policy gets KeyAccessDeniedError from OpenBao, before any row is read.
    """
    frame = spark.read.format("delta").load(path)
    table_key = table_key_of(table_properties(spark, path))
    if table_key is None:
        return frame
    with TRACER.start_as_current_span(
        "unwrap data key", attributes={"nidc.key_version": table_key.key_version}
    ):
        key = transit.unwrap(table_key.transit_key, table_key.wrapped_key)
    return decrypt_columns(spark, frame, table_key, key)


def _write_property(spark: SparkSession, path: str, value: str) -> None:
    quoted = "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    spark.sql(f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES ('{ENCRYPTION_PROPERTY}' = {quoted})")


def _check_not_clear(
    table_columns: Mapping[str, str], recorded: TableKey | None, wanted: Sequence[EncryptedColumn]
) -> None:
    known = set(recorded.columns) if recorded is not None else set()
    clear = [
        c.name
        for c in wanted
        if c.encoding == BINARY and c.name in table_columns and c.name not in known
    ]
    if clear:
        raise ColumnInClearError(
            f"column(s) {', '.join(sorted(clear))} are graded for column encryption but the "
            "table already holds them in clear; not ingested (re-encrypting a table's existing "
            "files is not done yet: docs/encryption.md)"
        )


def ensure_table_key(
    spark: SparkSession,
    path: str,
    transit: Transit,
    transit_key: str,
    columns: Sequence[EncryptedColumn],
    schema: StructType,
    partition_by: Sequence[str],
) -> tuple[TableKey, bytes]:
    """The table's data key covering `columns`, recorded in its properties before any data.

    A new table is created empty (its first commit) and gets the property (the second); an
    existing one gets the property set or extended (one metadata commit, only when it changes).
    Create-or-adopt: a re-run after a crash finds the recorded key and unwraps it.
    """
    properties = table_properties(spark, path)
    recorded = table_key_of(properties)
    table_columns = delta_log.table_columns(spark, path)
    if table_columns is not None:
        _check_not_clear(table_columns, recorded, columns)
    with TRACER.start_as_current_span("table data key", attributes={"nidc.table": path}):
        if recorded is None:
            fresh = transit.data_key(transit_key)
            table_key = TableKey(
                transit.mount, transit_key, fresh.key_version, fresh.wrapped
            ).with_columns(columns)
            key = fresh.plaintext
        else:
            table_key = recorded.with_columns(columns)
            key = transit.unwrap(recorded.transit_key, recorded.wrapped_key)
    value = table_key.to_property()
    if table_columns is None:
        # The table's first commit has no rows, the second records the key; data comes after
        # both. (DeltaTableBuilder would do it in one, but refuses a location that already holds
        # an object, and the writer lease lies in the table's folder.) A crash in between leaves
        # an empty table without a key, which the re-run gives one before any data.
        empty = spark.createDataFrame([], schema)
        empty.write.format("delta").mode("append").partitionBy(*partition_by).save(path)
    if properties.get(ENCRYPTION_PROPERTY) != value:
        _write_property(spark, path, value)
    return table_key, key


def rewrap_table_key(spark: SparkSession, path: str, transit: Transit) -> TableKey:
    """After a transit key rotation: the table's data key wrapped by the newest key version.

    Only the property changes (one metadata commit); the data files, encrypted with the same
    data key, are untouched.
    """
    recorded = table_key_of(table_properties(spark, path))
    if recorded is None:
        raise ValueError(f"{path} has no encrypted columns")
    wrapped, version = transit.rewrap(recorded.transit_key, recorded.wrapped_key)
    rewrapped = recorded.rewrapped(wrapped, version)
    if rewrapped != recorded:
        _write_property(spark, path, rewrapped.to_property())
    return rewrapped
