"""Quality rules of DataSources and DataProducts, and what a quality run reports back.

A rule is either row-level (every row passes or fails it; `mostly` is the share that must pass,
and failing rows go to quarantine with the rule's name) or table-level (the table as a whole
passes or fails: freshness, row count, volume against history, schema drift). One flat model
with a `check` discriminator, because a structural CRD schema cannot express a union; the CEL
rules on the item say which fields each check needs, so the API server names the field.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import ConfigDict, Field, JsonValue, model_validator

from nidc.api.schema import DNS_LABEL, Model

COLUMN_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
ColumnName = Annotated[str, Field(pattern=COLUMN_NAME, max_length=128)]
AllowedValue = Annotated[str, Field(max_length=256)]


class CheckKind(StrEnum):
    """Quality checks the quality job knows."""

    NOT_NULL = "notNull"  # completeness
    RANGE = "range"  # validity: minimum <= value <= maximum
    REGEX = "regex"  # validity: the whole value matches a pattern
    ALLOWED_VALUES = "allowedValues"  # validity: value in a set
    UNIT = "unit"  # validity: a row's unit column holds the declared unit
    UNIQUE = "unique"  # uniqueness of one column or a compound key
    REFERENTIAL = "referential"  # every key exists in another product's table
    SQL = "sql"  # custom Spark SQL condition every row must satisfy
    FRESHNESS = "freshness"  # the newest row is younger than maxAge
    ROW_COUNT = "rowCount"  # minimum <= rows <= maximum
    VOLUME = "volume"  # rows against the last `lookback` runs (an anomaly test)
    SCHEMA = "schema"  # expected columns present with their types (schema drift)


ROW_LEVEL_CHECKS = frozenset(
    {
        CheckKind.NOT_NULL,
        CheckKind.RANGE,
        CheckKind.REGEX,
        CheckKind.ALLOWED_VALUES,
        CheckKind.UNIT,
        CheckKind.UNIQUE,
        CheckKind.REFERENTIAL,
        CheckKind.SQL,
    }
)
TABLE_LEVEL_CHECKS = frozenset(CheckKind) - ROW_LEVEL_CHECKS
NEEDS_COLUMN = frozenset(
    {
        CheckKind.NOT_NULL,
        CheckKind.RANGE,
        CheckKind.REGEX,
        CheckKind.ALLOWED_VALUES,
        CheckKind.UNIT,
        CheckKind.REFERENTIAL,
        CheckKind.FRESHNESS,
    }
)


def _quoted(checks: frozenset[CheckKind]) -> str:
    return "[" + ", ".join(f"'{c.value}'" for c in sorted(checks)) + "]"


class Reference(Model):
    """The table a referential check looks keys up in: another product of the namespace."""

    product: str = Field(
        description="Name of the DataProduct whose table holds the keys.",
        pattern=DNS_LABEL,
        max_length=63,
    )
    column: str = Field(
        description="Key column in that table.", pattern=COLUMN_NAME, max_length=128
    )


class ExpectedColumn(Model):
    """A column the table must keep (schema drift)."""

    name: str = Field(description="Column name.", pattern=COLUMN_NAME, max_length=128)
    type: str = Field(
        description="Spark SQL type as Spark prints it, e.g. string, bigint, double, timestamp.",
        pattern=r"^[a-z][a-z0-9_<>,() ]*$",
        max_length=128,
    )


# CEL on each item: the API server reports spec.qualityRules[i].<field> when one is missing.
QUALITY_RULE_CEL: list[JsonValue] = [
    {
        "rule": f"!(self.check in {_quoted(NEEDS_COLUMN)}) || has(self.column)",
        "message": "column is required for this check",
        "fieldPath": ".column",
    },
    {
        "rule": "self.check != 'unique' || has(self.column) != has(self.columns)",
        "message": "unique needs exactly one of column and columns (a compound key)",
        "fieldPath": ".columns",
    },
    {
        "rule": "!(self.check in ['range', 'rowCount']) || has(self.minimum) || has(self.maximum)",
        "message": "minimum or maximum is required for range and rowCount checks",
        "fieldPath": ".minimum",
    },
    {
        "rule": "!has(self.minimum) || !has(self.maximum) || self.minimum <= self.maximum",
        "message": "minimum must not exceed maximum",
        "fieldPath": ".maximum",
    },
    {
        "rule": "self.check != 'regex' || has(self.pattern)",
        "message": "pattern is required for regex checks",
        "fieldPath": ".pattern",
    },
    {
        "rule": "self.check != 'allowedValues' || has(self.allowedValues)",
        "message": "allowedValues is required for allowedValues checks",
        "fieldPath": ".allowedValues",
    },
    {
        "rule": "self.check != 'unit' || has(self.unit)",
        "message": "unit is required for unit checks",
        "fieldPath": ".unit",
    },
    {
        "rule": "self.check != 'referential' || has(self.reference)",
        "message": "reference is required for referential checks",
        "fieldPath": ".reference",
    },
    {
        "rule": "self.check != 'sql' || has(self.sql)",
        "message": "sql is required for sql checks",
        "fieldPath": ".sql",
    },
    {
        "rule": "self.check != 'freshness' || has(self.maxAge)",
        "message": "maxAge is required for freshness checks",
        "fieldPath": ".maxAge",
    },
    {
        "rule": "self.check != 'schema' || has(self.expectedColumns)",
        "message": "expectedColumns is required for schema checks",
        "fieldPath": ".expectedColumns",
    },
    {
        "rule": f"!(self.check in {_quoted(TABLE_LEVEL_CHECKS)}) || !has(self.mostly)",
        "message": "mostly applies to row-level checks only; table-level checks pass or fail",
        "fieldPath": ".mostly",
    },
]


class QualityRule(Model):
    """One quality check; row-level checks pass when at least `mostly` of the rows pass."""

    model_config = Model.model_config | ConfigDict(
        json_schema_extra={"x-kubernetes-validations": QUALITY_RULE_CEL}
    )

    name: str = Field(
        description="Check name, unique in the resource.", pattern=DNS_LABEL, max_length=63
    )
    check: CheckKind = Field(
        description="notNull, range, regex, allowedValues, unit, unique, referential, sql "
        "(row-level); freshness, rowCount, volume, schema (table-level)."
    )
    column: str | None = Field(
        default=None,
        description="Column checked (the unit column for unit; the timestamp for freshness).",
        pattern=COLUMN_NAME,
        max_length=128,
    )
    columns: list[ColumnName] | None = Field(
        default=None,
        description="Compound key of a unique check.",
        min_length=2,
        max_length=8,
    )
    minimum: float | None = Field(default=None, description="Lower bound (range, rowCount).")
    maximum: float | None = Field(default=None, description="Upper bound (range, rowCount).")
    pattern: str | None = Field(
        default=None,
        description="Regular expression (Java syntax) the whole value must match (regex).",
        min_length=1,
        max_length=1000,
    )
    allowed_values: list[AllowedValue] | None = Field(
        default=None,
        alias="allowedValues",
        description="Values allowed (allowedValues), compared as strings.",
        min_length=1,
        max_length=1000,
    )
    unit: str | None = Field(
        default=None,
        description="The unit every row's unit column must hold (unit), e.g. kg.",
        min_length=1,
        max_length=32,
    )
    reference: Reference | None = Field(
        default=None, description="Where the keys must exist (referential)."
    )
    sql: str | None = Field(
        default=None,
        description="Spark SQL boolean condition over one row, e.g. 'end_ts >= start_ts' (sql); "
        "a row passes when it is true.",
        min_length=1,
        max_length=4000,
    )
    max_age: str | None = Field(
        default=None,
        alias="maxAge",
        description="The newest row must be younger than this (freshness), e.g. 15m, 2h, 1d.",
        pattern=r"^[0-9]+(s|m|h|d)$",
    )
    lookback: int = Field(
        default=10,
        ge=3,
        le=100,
        description="Past runs the volume check compares the row count with.",
    )
    sigmas: float = Field(
        default=3.0,
        gt=0.0,
        le=10.0,
        description="How many standard deviations from the past runs' mean a row count may be "
        "(volume); the deviation is at least 5% of the mean, so a steady history still allows "
        "small changes.",
    )
    expected_columns: list[ExpectedColumn] | None = Field(
        default=None,
        alias="expectedColumns",
        description="Columns the table must keep, with their types (schema).",
        min_length=1,
        max_length=500,
    )
    mostly: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Share of rows that must pass (row-level checks). Defaults to the grade "
        "bundle's floor, and may only be tighter than it.",
    )
    blocking: bool = Field(
        default=True,
        description="A failing blocking check holds back the new version (QualityGateFailed).",
    )

    @model_validator(mode="after")
    def _fields_match_check(self) -> QualityRule:
        """The same rules as the CEL above, for models built in Python (jobs, tests)."""
        check = CheckKind(self.check)
        missing = {
            "column": check in NEEDS_COLUMN and self.column is None,
            "pattern": check == CheckKind.REGEX and self.pattern is None,
            "allowedValues": check == CheckKind.ALLOWED_VALUES and self.allowed_values is None,
            "unit": check == CheckKind.UNIT and self.unit is None,
            "reference": check == CheckKind.REFERENTIAL and self.reference is None,
            "sql": check == CheckKind.SQL and self.sql is None,
            "maxAge": check == CheckKind.FRESHNESS and self.max_age is None,
            "expectedColumns": check == CheckKind.SCHEMA and self.expected_columns is None,
            "minimum": check in (CheckKind.RANGE, CheckKind.ROW_COUNT)
            and self.minimum is None
            and self.maximum is None,
        }
        for field, is_missing in missing.items():
            if is_missing:
                raise ValueError(f"{field} is required for {check.value} checks")
        if check == CheckKind.UNIQUE and (self.column is None) == (self.columns is None):
            raise ValueError("unique needs exactly one of column and columns")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError("minimum must not exceed maximum")
        if check in TABLE_LEVEL_CHECKS and self.mostly is not None:
            raise ValueError("mostly applies to row-level checks only")
        return self

    @property
    def row_level(self) -> bool:
        return CheckKind(self.check) in ROW_LEVEL_CHECKS

    @property
    def key_columns(self) -> list[str]:
        """The columns a unique or referential check keys on."""
        if self.columns:
            return list(self.columns)
        return [self.column] if self.column else []


def quality_rules_field() -> Any:
    """The `qualityRules` spec field of DataSource and DataProduct."""
    return Field(
        default_factory=list,
        alias="qualityRules",
        description="Quality checks, run after every new version of the table.",
        max_length=200,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )


# The metrics history's row that records the table's size per run (the past runs a volume rule
# compares with); written by spark_jobs/quality.py, read by `nidc quality history`.
TABLE_ROWS_RULE = "(table)"


def effective_mostly(rule: QualityRule, floor: float) -> float:
    """The threshold a row-level rule is held to: its own `mostly`, never looser than the floor."""
    if rule.mostly is None:
        return floor
    return max(rule.mostly, floor)


def looser_than_floor(rules: list[QualityRule], floor: float) -> list[str]:
    """Names of rules whose `mostly` tries to loosen the grade's floor (a validation problem)."""
    return [r.name for r in rules if r.mostly is not None and r.mostly < floor]


class CheckResult(Model):
    """One rule's outcome in one quality run (a row of the metrics history)."""

    name: str = Field(description="Rule name.")
    check: CheckKind = Field(description="Kind of check.")
    metric: str = Field(description="What was measured, e.g. passRatio, ageSeconds, rows.")
    value: float | None = Field(default=None, description="The measured value.")
    threshold: float | None = Field(default=None, description="The value it was held to.")
    passed: bool = Field(description="Whether the rule passed.")
    failing_rows: int = Field(
        default=0, alias="failingRows", ge=0, description="Rows that failed (row-level checks)."
    )
    blocking: bool = Field(default=True, description="Whether a failure holds the version back.")
    detail: str = Field(default="", description="Why it failed, in words.", max_length=1000)


class Quality(Model):
    """Result of the last quality run, as shown in a resource's status."""

    score: float | None = Field(default=None, ge=0.0, le=1.0, description="Share of checks passed.")
    failing_checks: list[str] = Field(
        default_factory=list, alias="failingChecks", description="Names of failing checks."
    )
    blocking_failures: list[str] = Field(
        default_factory=list,
        alias="blockingFailures",
        description="Failing checks that hold the version back.",
    )
    checked_version: int | None = Field(
        default=None, alias="checkedVersion", ge=0, description="Delta table version checked."
    )
    quarantined_rows: int | None = Field(
        default=None,
        alias="quarantinedRows",
        ge=0,
        description="Rows sent to quarantine by failing row-level checks (one per rule failed).",
    )


def summarize(checks: list[CheckResult], version: int | None, quarantined: int) -> Quality:
    """The status summary of a run's check results."""
    failing = [c.name for c in checks if not c.passed]
    return Quality.model_validate(
        {
            "score": (len(checks) - len(failing)) / len(checks) if checks else 1.0,
            "failingChecks": failing,
            "blockingFailures": [c.name for c in checks if not c.passed and c.blocking],
            "checkedVersion": version,
            "quarantinedRows": quarantined,
        }
    )
