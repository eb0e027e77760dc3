"""How every job builds its SparkSession: Delta Lake on S3A, trusting the platform CA.

S3 credentials never enter the Spark configuration (which the UI and event logs show): the S3A
connector reads them from the process environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import SparkSession


@dataclass(frozen=True)
class ObjectStore:
    """Where the lakehouse lives and how a JVM trusts it."""

    endpoint: str
    region: str = "us-east-1"
    truststore: Path | None = None
    truststore_password: str = ""


def build_spark_conf(
    store: ObjectStore,
    jars: Sequence[Path],
    app_name: str,
    master: str = "local[2]",
    jvm_options: Sequence[str] = (),
) -> dict[str, str]:
    """The Spark configuration of a job, as plain data (unit-tested without a JVM).

    `jvm_options` are the runtime's own for the driver (the embedded platform's, decision 0330).
    """
    conf = {
        "spark.master": master,
        "spark.app.name": app_name,
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.hadoop.fs.s3a.endpoint": store.endpoint,
        "spark.hadoop.fs.s3a.endpoint.region": store.region,
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.hadoop.fs.s3a.connection.ssl.enabled": str(
            store.endpoint.startswith("https://")
        ).lower(),
        "spark.hadoop.fs.s3a.aws.credentials.provider": (
            "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider"
        ),
        "spark.sql.shuffle.partitions": "4",
        # A partitioned write (by date, source) keeps one open Parquet writer per partition a
        # task meets, up to 16, instead of sorting every task's rows by the partition columns
        # first (past 16 Spark falls back to the sort); bronze batches touch a few partitions.
        "spark.sql.maxConcurrentOutputFileWriters": "16",
        # S3A buffers an upload in memory instead of a temporary file on local disk: job files
        # are small (MBs), and a pod's local disk is the slowest thing it has.
        "spark.hadoop.fs.s3a.fast.upload.buffer": "bytebuffer",
        # Python workers (mapInArrow in the ingest job) run this interpreter, whose environment
        # has pyarrow, not whatever `python3` is first on PATH (create_session applies it).
        "spark.pyspark.python": sys.executable,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
    }
    java_options = []
    if master.startswith("local"):
        # Executors live in the driver's JVM: the jars go on its class path as they are. With
        # spark.jars each session copied all of them (630 MB) into a temp folder first, which
        # took seconds and stayed behind on disk whenever a job was killed.
        conf["spark.driver.extraClassPath"] = ":".join(str(j) for j in jars)
        # Delta rebuilds a table's state after every commit with this many tasks (default 50,
        # sized for clusters); on two local cores that is 50 tiny tasks per micro-batch commit.
        conf["spark.databricks.delta.snapshotPartitions"] = "2"
        # In local mode the tasks run in the driver JVM: Spark's default 1g heap spent a
        # quarter of a bulk write's task CPU in GC. The throughput collector suits batch jobs
        # that have no latency-sensitive requests to serve.
        conf["spark.driver.memory"] = "2g"
        java_options.append("-XX:+UseParallelGC")
    else:
        conf["spark.jars"] = ",".join(str(j) for j in jars)
    if store.truststore:
        java_options += [
            f"-Djavax.net.ssl.trustStore={store.truststore}",
            "-Djavax.net.ssl.trustStoreType=PKCS12",
            f"-Djavax.net.ssl.trustStorePassword={store.truststore_password}",
        ]
    java_options += list(jvm_options)
    if java_options:
        conf["spark.driver.extraJavaOptions"] = " ".join(java_options)
        conf["spark.executor.extraJavaOptions"] = conf["spark.driver.extraJavaOptions"]
    return conf


def create_session(conf: dict[str, str]) -> SparkSession:
    """Start (or reuse) the SparkSession for a configuration from build_spark_conf."""
    # PySpark starts its Python workers with PYSPARK_PYTHON (default: python3 on PATH).
    os.environ.setdefault("PYSPARK_PYTHON", conf.get("spark.pyspark.python", sys.executable))
    builder = SparkSession.builder
    for key, value in conf.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
