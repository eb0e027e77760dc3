"""Write the class-data archive (JDK AppCDS) that starts the embedded platform's Spark jobs sooner.

`python -m spark_jobs.class_archive ARCHIVE JAR...` runs a small Delta job (create, append, merge,
read back, history) on a local folder in a JVM started with -XX:ArchiveClassesAtExit, so the
classes a job loads are written to ARCHIVE when that JVM exits. Jobs started with
-XX:SharedArchiveFile=ARCHIVE and the same class path map them instead of loading and verifying
them one by one (docs/decisions/0330). `nidc tools build` runs it (method `class-archive`); the
session is built by build_spark_conf, so its class path is the jobs' own. A JVM whose class path
or JDK differs from the archive's ignores it with a warning and starts as before.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from delta.tables import DeltaTable

from spark_jobs.session import ObjectStore, build_spark_conf, create_session


def train(archive: Path, jars: list[Path]) -> None:
    """Load what a job loads, in a JVM that archives its classes at exit."""
    store = ObjectStore(endpoint="http://127.0.0.1:9", region="us-east-1")
    conf = build_spark_conf(
        store, jars, "class-archive", jvm_options=[f"-XX:ArchiveClassesAtExit={archive}"]
    )
    spark = create_session(conf)
    with tempfile.TemporaryDirectory() as folder:
        table = f"{folder}/table"
        rows = spark.range(10_000).selectExpr(
            "id", "cast(id % 7 as string) as line", "cast(id as double) * 1.5 as value"
        )
        rows.write.format("delta").save(table)
        rows.limit(100).write.format("delta").mode("append").save(table)
        updates = spark.range(100).selectExpr("id", "'0' AS line", "0.0 AS value")
        delta = DeltaTable.forPath(spark, table)
        delta.alias("t").merge(updates.alias("u"), "t.id = u.id").whenMatchedUpdateAll().execute()
        spark.read.format("delta").load(table).groupBy("line").count().collect()
        delta.history(1).collect()
        # The S3A file system is what every job's tables live on; load its classes too.
        jvm = spark._jvm
        assert jvm is not None
        jvm.java.lang.Class.forName("org.apache.hadoop.fs.s3a.S3AFileSystem")
    spark.stop()


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: python -m spark_jobs.class_archive ARCHIVE JAR...", file=sys.stderr)
        return 2
    train(Path(argv[0]), [Path(j) for j in argv[1:]])
    return 0  # the JVM writes the archive when it exits, after this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
