"""The one-line reason a failed job leaves on its run (spark_jobs/run.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from spark_jobs.run import failure_reason

pytestmark = pytest.mark.unit


@dataclass
class JavaThrowable:
    """What py4j hands over as `java_exception`: toString() and getCause()."""

    text: str
    cause: JavaThrowable | None = None

    def toString(self) -> str:  # noqa: N802 (the Java method's name)
        return self.text

    def getCause(self) -> JavaThrowable | None:  # noqa: N802
        return self.cause


class JvmError(Exception):
    def __init__(self, java: JavaThrowable) -> None:
        super().__init__("An error occurred while calling o70.save.\n: trace...")
        self.java_exception = java


def test_python_errors_keep_their_first_line() -> None:
    assert failure_reason(ValueError("bad spec\nmore")) == "ValueError: bad spec"


def test_jvm_errors_say_what_failed_and_the_root_cause() -> None:
    disk = JavaThrowable(
        "software.amazon.awssdk.services.s3.model.S3Exception: Storage backend has reached its "
        "minimum free drive threshold.\n\tat ..."
    )
    error = JvmError(
        JavaThrowable(
            "org.apache.spark.sql.delta.DeltaIOException: [DELTA_CANNOT_CREATE_LOG_PATH] Cannot "
            "create s3a://t/silver/x/_delta_log",
            JavaThrowable("org.apache.hadoop.fs.s3a.AWSStatus500Exception: PUT", disk),
        )
    )
    assert failure_reason(error) == (
        "DeltaIOException: [DELTA_CANNOT_CREATE_LOG_PATH] Cannot create "
        "s3a://t/silver/x/_delta_log (cause: S3Exception: Storage backend has reached its "
        "minimum free drive threshold.)"
    )
    alone = JvmError(JavaThrowable("java.lang.IllegalStateException: no session"))
    assert failure_reason(alone) == "IllegalStateException: no session"
