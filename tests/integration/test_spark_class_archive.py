"""The embedded platform's Spark jobs start from the tool cache's class-data archive (decision
0330): the archive `nidc tools build` wrote maps into a job's JVM with the jobs' own class path.

-Xshare:on turns "the JVM ignored the archive" (a warning, and a slower start) into a failure to
start, so each check here can fail; the second shows it does when the class path differs.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from nidc.local.tools.manifest import class_archive_path, local_spark_jvm_options

pytestmark = pytest.mark.integration

# A job's session as spark_jobs.run builds it, with the platform's options and -Xshare:on.
SESSION = textwrap.dedent(
    """
    import sys
    from nidc.local.tools.manifest import class_archive_path, local_spark_jvm_options, spark_jars
    from spark_jobs.session import ObjectStore, build_spark_conf, create_session

    jars = spark_jars()[int(sys.argv[1]):]
    options = local_spark_jvm_options() + ["-Xshare:on"]
    conf = build_spark_conf(ObjectStore("http://127.0.0.1:9"), jars, "cds", jvm_options=options)
    spark = create_session(conf)
    print("rows", spark.range(10).count())
    spark.stop()
    """
)


def start_session(skip_jars: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SESSION, str(skip_jars)],
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_the_platform_options_name_the_built_archive() -> None:
    options = local_spark_jvm_options()
    assert "-XX:TieredStopAtLevel=1" in options
    assert f"-XX:SharedArchiveFile={class_archive_path()}" in options


def test_a_job_jvm_maps_the_archive_and_one_with_another_class_path_cannot() -> None:
    same = start_session(0)
    assert same.returncode == 0 and "rows 10" in same.stdout, same.stderr[-2000:]
    other = start_session(1)
    assert other.returncode != 0, "a JVM with a different class path mapped the archive"
    assert "JAVA_GATEWAY_EXITED" in other.stderr, other.stderr[-2000:]
