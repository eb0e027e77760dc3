"""DataProduct: a silver or gold Delta table made from sources and other products."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from nidc.api.resource import CustomResource
from nidc.api.schema import (
    CRON,
    DNS_LABEL,
    TABLE_NAME,
    GradeField,
    LocalObjectReference,
    Model,
    ObservedStatus,
    RunSummary,
)
from nidc.api.tenant import Person


class InputKind(StrEnum):
    """What a product may read."""

    DATA_SOURCE = "DataSource"
    DATA_PRODUCT = "DataProduct"


class Input(Model):
    """One input of a product, in the same namespace."""

    kind: InputKind = Field(description="DataSource or DataProduct.")
    name: str = Field(description="Name of the input object.", pattern=DNS_LABEL, max_length=63)


class Transform(Model):
    """How the product is computed: Spark SQL over the inputs, or a named job."""

    sql: str | None = Field(
        default=None,
        description="Spark SQL; each input is a view named after its table "
        "(bronze.cnc_spindles is cnc_spindles).",
        max_length=20000,
    )
    job: str | None = Field(
        default=None,
        description="A named job from spark_jobs/analytics, e.g. oee or spc.",
        pattern=r"^[a-z][a-z0-9_]{0,62}$",
    )


class Pool(StrEnum):
    """Which Spark pool runs the product."""

    CPU = "cpu"
    GPU = "gpu"


class CheckKind(StrEnum):
    """Quality checks the quality job knows."""

    NOT_NULL = "notNull"
    UNIQUE = "unique"
    RANGE = "range"
    REGEX = "regex"
    FRESHNESS = "freshness"
    ROW_COUNT = "rowCount"


class QualityRule(Model):
    """One quality check, with the share of rows that must pass it."""

    name: str = Field(description="Check name, unique in the product.", pattern=DNS_LABEL)
    check: CheckKind = Field(description="notNull, unique, range, regex, freshness or rowCount.")
    column: str | None = Field(
        default=None,
        description="Column checked (all but rowCount).",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
    )
    minimum: float | None = Field(default=None, description="Lower bound (range, rowCount).")
    maximum: float | None = Field(default=None, description="Upper bound (range, rowCount).")
    pattern: str | None = Field(default=None, description="Regular expression (regex).")
    max_age: str | None = Field(
        default=None,
        alias="maxAge",
        description="Newest row must be younger than this (freshness), e.g. 15m, 2h.",
        pattern=r"^[0-9]+(s|m|h|d)$",
    )
    threshold: float = Field(
        default=1.0,
        ge=0.0,
        le=1.0,
        description="Share of rows that must pass (1.0 = all); grade bundles set the floor.",
    )


class ConcurrencyPolicy(StrEnum):
    """What a new run does while one is still going."""

    FORBID = "Forbid"
    REPLACE = "Replace"


class DataProductSpec(Model):
    """Desired state of a data product."""

    inputs: list[Input] = Field(
        description="Sources and products it reads.", min_length=1, max_length=32
    )
    transform: Transform = Field(description="Exactly one of sql and job.")
    pool: Pool = Field(default=Pool.CPU, description="Spark pool: cpu or gpu.")
    quality_rules: list[QualityRule] = Field(
        default_factory=list,
        alias="qualityRules",
        description="Quality checks.",
        max_length=200,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    schedule: str | None = Field(
        default=None,
        description="Cron schedule; without one, runs when an input changes.",
        pattern=CRON,
    )
    concurrency_policy: ConcurrencyPolicy = Field(
        default=ConcurrencyPolicy.FORBID,
        alias="concurrencyPolicy",
        description="Forbid waits for the running run; Replace cancels it.",
    )
    history_limit: int = Field(
        default=5,
        alias="historyLimit",
        ge=1,
        le=100,
        description="Finished runs kept as PipelineRun objects.",
    )
    max_attempts: int = Field(
        default=3,
        alias="maxAttempts",
        ge=1,
        le=10,
        description="Attempts a run gets before it fails (with backoff between them).",
    )
    owner: Person = Field(description="The person accountable for the product.")
    grade: GradeField | None = Field(
        default=None,
        description="Declared grade. Lowering it requires spec.gradeDowngradeApproval.",
    )
    grade_downgrade_approval: LocalObjectReference | None = Field(
        default=None,
        alias="gradeDowngradeApproval",
        description="ExportApproval that authorizes lowering spec.grade.",
    )
    target_table: str = Field(
        alias="targetTable",
        description="The silver or gold Delta table, e.g. gold.oee_daily. Immutable.",
        pattern=TABLE_NAME,
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": "self == oldSelf", "message": "targetTable is immutable"}
            ]
        },
    )


class Quality(Model):
    """Result of the last quality run."""

    score: float | None = Field(default=None, ge=0.0, le=1.0, description="Share of checks passed.")
    failing_checks: list[str] = Field(
        default_factory=list, alias="failingChecks", description="Names of failing checks."
    )


class DataProductStatus(ObservedStatus):
    """Observed state of a data product."""

    table_version: int | None = Field(
        default=None, alias="tableVersion", ge=0, description="Current Delta table version."
    )
    rows: int | None = Field(default=None, ge=0, description="Rows in the table.")
    quality: Quality | None = Field(default=None, description="Last quality result.")
    grade: GradeField | None = Field(default=None, description="Effective grade (highest column).")
    lineage: list[str] = Field(default_factory=list, description="Upstream tables, as kind/name.")
    last_run: RunSummary | None = Field(default=None, alias="lastRun", description="Last run.")
    next_run: str | None = Field(
        default=None,
        alias="nextRun",
        description="Next scheduled run.",
        json_schema_extra={"format": "date-time"},
    )


DATA_PRODUCT_RULES = [
    {
        "rule": "has(self.transform.sql) != has(self.transform.job)",
        "message": "exactly one of spec.transform.sql and spec.transform.job must be set",
        "fieldPath": ".transform",
    },
    {
        "rule": "!has(oldSelf.grade) || !has(self.grade) || self.grade >= oldSelf.grade || "
        "has(self.gradeDowngradeApproval)",
        "message": "lowering spec.grade requires spec.gradeDowngradeApproval (an ExportApproval)",
        "fieldPath": ".grade",
    },
    {
        "rule": "!has(self.qualityRules) || "
        "self.qualityRules.all(r, r.check == 'rowCount' || has(r.column))",
        "message": "spec.qualityRules[].column is required for every check but rowCount",
        "fieldPath": ".qualityRules",
    },
    {
        "rule": "!has(self.qualityRules) || "
        "self.qualityRules.all(r, r.check != 'regex' || has(r.pattern))",
        "message": "spec.qualityRules[].pattern is required for regex checks",
        "fieldPath": ".qualityRules",
    },
    {
        "rule": "!has(self.qualityRules) || "
        "self.qualityRules.all(r, r.check != 'freshness' || has(r.maxAge))",
        "message": "spec.qualityRules[].maxAge is required for freshness checks",
        "fieldPath": ".qualityRules",
    },
    {
        "rule": "!has(self.qualityRules) || "
        "self.qualityRules.all(r, r.check != 'range' || has(r.minimum) || has(r.maximum))",
        "message": "spec.qualityRules[].minimum or maximum is required for range checks",
        "fieldPath": ".qualityRules",
    },
]


class DataProduct(CustomResource):
    """A DataProduct as reconcilers see it: typed spec, status as last written."""

    kind: Literal["DataProduct"] = "DataProduct"
    spec: DataProductSpec
