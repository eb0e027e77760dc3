"""What a classify pass found, as run status and owner status carry it (issue 14).

The classify job (spark_jobs/classify/job.py) returns its columns in this shape; the PipelineRun
records them (`RecordedColumn`) and the table's owner shows them (`ClassifiedColumn`, and its
`Classification`: which table version under which policies).
"""

from __future__ import annotations

from pydantic import Field

from nidc.api.schema import GradeField, Model

# The table properties a classify pass records (the table is the record; runs and statuses
# repeat it).
GRADE_PROPERTY = "nidc.grade"
CLASSIFICATION_PROPERTY = "nidc.classification"
# A run's result travels in its driver's termination message on a cluster, which kubelet cuts at
# 4 KiB: a result larger than this leaves its columns out and says `columnsInTable`, and the
# operator reads them from CLASSIFICATION_PROPERTY at the result's `tableVersion`.
RESULT_LIMIT_BYTES = 3072
COLUMNS_IN_TABLE = "columnsInTable"


class ClassifiedColumn(Model):
    """One column as classified: MIIT domain and category, grade, how sure."""

    name: str = Field(description="Column name.")
    domain: str | None = Field(
        default=None, description="MIIT data domain (as the rule pack names it)."
    )
    category: str = Field(description="MIIT category id (or unclassified).")
    grade: GradeField = Field(description="Grade (1 general, 2 important, 3 core).")
    level: str | None = Field(default=None, description="GB/T 43697 level of the grade.")
    confidence: float = Field(ge=0, le=1, description="How sure the detectors are (0-1).")


class RecordedColumn(ClassifiedColumn):
    """A column as the classify job returned it, with what the detectors found."""

    detectors: list[str] = Field(default_factory=list, description="Detectors that hit.")
    detected_grade: GradeField | None = Field(
        default=None, alias="detectedGrade", description="Grade before overrides."
    )
    detected_category: str | None = Field(
        default=None, alias="detectedCategory", description="Category before overrides."
    )


class RejectedOverride(Model):
    """An override the classify job did not apply, and why."""

    column: str = Field(description="Column the override names.")
    reason: str = Field(description="CamelCase reason.")
    message: str = Field(description="Why it was refused.")


class Classification(Model):
    """The classify pass the owner's grade comes from."""

    table_version: int = Field(alias="tableVersion", ge=0, description="Table version classified.")
    policies_hash: str = Field(
        alias="policiesHash", description="Digest of the policies and approvals it ran under."
    )
    run: str = Field(description="The classify PipelineRun.")
    level: str | None = Field(default=None, description="GB/T 43697 level of the grade.")
    columns: list[ClassifiedColumn] = Field(
        default_factory=list, description="Columns with domain, category, grade, confidence."
    )
