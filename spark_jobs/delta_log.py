"""What a job needs to know about a Delta table and the object store beyond the DataFrame API:
the table's recorded transactions (txnAppId -> txnVersion), its schema and version, and small
object-store listings and reads through the JVM's Hadoop FileSystem (so S3A's TLS and
credentials are the ones Spark already uses; no second S3 client in the job).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from delta.tables import DeltaTable
from pyspark.sql import SparkSession


def _filesystem(spark: SparkSession, path: str) -> tuple[Any, Any]:
    jvm = spark._jvm
    assert jvm is not None
    jpath = jvm.org.apache.hadoop.fs.Path(path)
    return jpath.getFileSystem(spark._jsc.hadoopConfiguration()), jpath


def list_names(spark: SparkSession, folder: str, recursive: bool = False) -> list[str]:
    """Object names under a folder (relative to it), sorted; [] when the folder is absent."""
    fs, jpath = _filesystem(spark, folder)
    if not fs.exists(jpath):
        return []
    base = str(fs.makeQualified(jpath).toString()).rstrip("/") + "/"
    names = []
    files = fs.listFiles(jpath, recursive)
    while files.hasNext():
        status = files.next()
        full = str(status.getPath().toString())
        names.append(full.removeprefix(base))
    return sorted(names)


def read_text(spark: SparkSession, path: str) -> str:
    """A small object's content as UTF-8 text (manifests)."""
    fs, jpath = _filesystem(spark, path)
    stream = fs.open(jpath)
    try:
        return str(spark._jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8"))  # type: ignore[union-attr]
    finally:
        stream.close()


def is_table(spark: SparkSession, path: str) -> bool:
    """Whether a Delta table exists at path."""
    return bool(DeltaTable.isDeltaTable(spark, path))


def _snapshot(spark: SparkSession, path: str) -> Any:
    """A fresh snapshot of the table's log (version -1 when there is no table).

    update(stalenessAcceptable, checkIfUpdatedSinceTs, catalogTableOpt): fresh, so a commit
    made by another process since this JVM last looked is seen. Listing the log is all it
    costs: no Spark job, unlike DESCRIBE HISTORY.
    """
    jvm = spark._jvm
    assert jvm is not None
    log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, path)
    return log.update(False, jvm.scala.Option.empty(), jvm.scala.Option.empty())


def committed_transactions(spark: SparkSession, path: str) -> dict[str, int]:
    """The table's SetTransaction map (txnAppId -> latest txnVersion).

    This is where Delta itself records idempotent writes; it survives log checkpoints, so it is
    the authoritative checkpoint of an ingest source (the DataSource status is a copy).
    """
    snapshot = _snapshot(spark, path)
    if int(snapshot.version()) < 0:
        return {}
    out: dict[str, int] = {}
    entries = snapshot.transactions().iterator()
    while entries.hasNext():
        entry = entries.next()
        out[str(entry._1())] = int(entry._2())
    return out


def table_version(spark: SparkSession, path: str) -> int | None:
    """The table's latest version, or None when there is no table."""
    version = int(_snapshot(spark, path).version())
    return None if version < 0 else version


def table_columns(spark: SparkSession, path: str) -> dict[str, str] | None:
    """Column name -> Spark SQL type of the table, or None when there is no table."""
    if not is_table(spark, path):
        return None
    schema = spark.read.format("delta").load(path).schema
    return {f.name: f.dataType.simpleString() for f in schema.fields}


@contextmanager
def dml_transaction(spark: SparkSession, app_id: str, version: int) -> Iterator[None]:
    """Make the DML statements inside (MERGE) idempotent with Delta's txnAppId/txnVersion.

    DataFrame writes take these as options; DML takes them as session settings, which must not
    leak into the next statement, so they are unset on the way out.
    """
    spark.conf.set("spark.databricks.delta.write.txnAppId", app_id)
    spark.conf.set("spark.databricks.delta.write.txnVersion", str(version))
    try:
        yield
    finally:
        spark.conf.unset("spark.databricks.delta.write.txnAppId")
        spark.conf.unset("spark.databricks.delta.write.txnVersion")
