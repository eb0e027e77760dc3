"""ClassificationPolicy (namespaced) and ClusterClassificationPolicy (the baseline for all)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from nidc.api.schema import (
    TABLE_NAME,
    DataDomain,
    GradeField,
    Model,
    ObservedStatus,
)


class DetectorKind(StrEnum):
    """How a detector recognizes a column."""

    NAME_PATTERN = "namePattern"
    DICTIONARY = "dictionary"
    CONTENT_REGEX = "contentRegex"
    DECLARED_TAG = "declaredTag"


class Detector(Model):
    """One rule that maps columns to a category and grade."""

    name: str = Field(
        description="Detector name, unique in the policy.", pattern=r"^[a-z][a-z0-9-]{0,62}$"
    )
    kind: DetectorKind = Field(
        description="namePattern (column name regex), dictionary (column name words), "
        "contentRegex (values), declaredTag (a tag on the source point)."
    )
    pattern: str | None = Field(
        default=None, description="Regular expression (namePattern, contentRegex).", max_length=1024
    )
    words: list[str] = Field(
        default_factory=list,
        description="Words to match in column names (dictionary).",
        max_length=1000,
    )
    tag: str | None = Field(default=None, description="Tag to match (declaredTag).", max_length=128)
    category: str = Field(
        description="Category assigned, e.g. process-parameter, personal-info, formula.",
        pattern=r"^[a-z][a-z0-9-]{0,62}$",
    )
    domain: DataDomain | None = Field(default=None, description="MIIT data domain assigned.")
    grade: GradeField
    confidence: float = Field(
        default=0.9, ge=0.0, le=1.0, description="Confidence given to a match (0..1)."
    )


class Override(Model):
    """A human decision that beats the detectors, with its reason on record."""

    table: str = Field(description="Table, e.g. silver.work_orders.", pattern=TABLE_NAME)
    column: str = Field(description="Column name.", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    grade: GradeField
    reason: str = Field(
        description="Why (kept in the audit trail).", min_length=10, max_length=1024
    )


class ClassificationPolicySpec(Model):
    """Detectors and overrides; a namespaced policy adds to the cluster baseline."""

    detectors: list[Detector] = Field(
        default_factory=list,
        description="Detectors, evaluated together; the highest grade wins.",
        max_length=500,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    overrides: list[Override] = Field(
        default_factory=list,
        description="Per-column decisions that beat the detectors.",
        max_length=5000,
    )


class ClassificationPolicyStatus(ObservedStatus):
    """Observed state of a classification policy."""

    classified_tables: int | None = Field(
        default=None, alias="classifiedTables", ge=0, description="Tables classified under it."
    )


CLASSIFICATION_POLICY_RULES = [
    {
        "rule": "!has(self.detectors) || "
        "self.detectors.all(d, !(d.kind in ['namePattern', 'contentRegex']) || "
        "has(d.pattern))",
        "message": "spec.detectors[].pattern is required for namePattern and contentRegex",
        "fieldPath": ".detectors",
    },
    {
        "rule": "!has(self.detectors) || "
        "self.detectors.all(d, d.kind != 'dictionary' || (has(d.words) && size(d.words) > 0))",
        "message": "spec.detectors[].words must not be empty for dictionary detectors",
        "fieldPath": ".detectors",
    },
    {
        "rule": "!has(self.detectors) || "
        "self.detectors.all(d, d.kind != 'declaredTag' || has(d.tag))",
        "message": "spec.detectors[].tag is required for declaredTag detectors",
        "fieldPath": ".detectors",
    },
]
