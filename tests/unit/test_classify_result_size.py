"""A classify result of a wide table fits a driver's termination message (kubelet keeps 4 KiB)
and the operator gets every column back from the table's properties."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nidc.api.classification_result import (
    CLASSIFICATION_PROPERTY,
    COLUMNS_IN_TABLE,
    RESULT_LIMIT_BYTES,
)
from operators.runs.classify_result import ColumnsNotInTableError, with_columns_from_table
from spark_jobs.classify import ClassifyResult

pytestmark = pytest.mark.unit
TERMINATION_MESSAGE_BYTES = 4096
JOB = {"path": "s3a://tenant-steel-plant/bronze/wide", "table": "bronze.wide"}


def result(columns: int) -> ClassifyResult:
    wire = tuple(
        {
            "name": f"col_{n:03d}",
            "domain": "production-operation",
            "category": "process-parameter",
            "grade": 2,
            "level": "重要",
            "confidence": 0.9,
            "detectors": ["name:process-parameter"],
            "detectedGrade": 2,
            "detectedCategory": "process-parameter",
        }
        for n in range(columns)
    )
    return ClassifyResult(
        table="bronze.wide",
        version=7,
        grade=2,
        level="重要",
        policy_fingerprint="0123456789abcdef",
        columns=wire,
        sampled=tuple(f"col_{n:03d}" for n in range(columns)),
        reused=(),
        rejected_overrides=(),
        committed_version=8,
    )


def envelope(outcome: dict[str, Any]) -> bytes:
    """What the driver script writes to the termination log (operators/runs/kubernetes_build)."""
    return f'{{"result": {json.dumps(outcome)}}}'.encode()


def test_a_narrow_table_keeps_its_columns_in_the_result() -> None:
    small = result(3).as_dict()
    assert COLUMNS_IN_TABLE not in small and len(small["columns"]) == 3


def test_a_wide_table_fits_the_message_and_its_columns_come_back_from_the_table() -> None:
    wide = result(150)
    outcome = wide.as_dict()
    assert outcome[COLUMNS_IN_TABLE] is True and "columns" not in outcome
    assert len(envelope(outcome)) <= TERMINATION_MESSAGE_BYTES
    assert len(json.dumps(wide.full_dict()).encode()) > RESULT_LIMIT_BYTES  # it had to

    recorded = {"policyFingerprint": wide.policy_fingerprint, "columns": list(wide.columns)}
    asked: list[tuple[str, int | None]] = []

    def read(path: str, version: int | None) -> dict[str, str]:
        asked.append((path, version))
        return {CLASSIFICATION_PROPERTY: json.dumps(recorded, ensure_ascii=False)}

    restored = with_columns_from_table(outcome, JOB, read)
    assert restored["columns"] == list(wide.columns) and COLUMNS_IN_TABLE not in restored
    assert asked == [(JOB["path"], 8)]  # the version the run committed
    assert restored["grade"] == 2 and restored["tableVersion"] == 8


def test_a_table_without_the_record_is_an_error_not_empty_columns() -> None:
    outcome = result(150).as_dict()
    with pytest.raises(ColumnsNotInTableError):
        with_columns_from_table(outcome, JOB, lambda path, version: {})
    with pytest.raises(ColumnsNotInTableError):
        with_columns_from_table(outcome, JOB, lambda path, version: None)
