"""The classify job (spark_jobs/classify/job.py) and the two ways it reaches a table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from nidc.api.classification_result import CLASSIFICATION_PROPERTY, GRADE_PROPERTY
from nidc.api.job_specs import ClassifyJob
from spark_jobs.classify.delta_rs_table import DeltaRsTable
from spark_jobs.classify.job import (
    ClassifiedTable,
    ClassifyResult,
    classify_table,
    encrypted_columns,
    policy_fingerprint,
    previous_columns,
    restored,
)
from spark_jobs.classify.spark_table import SparkTable

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

__all__ = [
    "CLASSIFICATION_PROPERTY",
    "GRADE_PROPERTY",
    "ClassifiedTable",
    "ClassifyResult",
    "classify",
    "classify_natively",
    "classify_table",
    "encrypted_columns",
    "policy_fingerprint",
    "previous_columns",
    "restored",
]


def classify(spark: SparkSession, spec: ClassifyJob) -> ClassifyResult:
    """Classify through an open Spark session."""
    return classify_table(SparkTable(spark, spec.path), spec)


def classify_natively(spec: ClassifyJob, storage_options: Mapping[str, str]) -> ClassifyResult:
    """Classify through delta-rs, no Spark session (what a run does)."""
    return classify_table(DeltaRsTable(spec.path, storage_options), spec)
