"""ClassificationPolicy (namespaced) and ClusterClassificationPolicy (the baseline for all).

The national baseline (policies/classification/) is a ClusterClassificationPolicy: the MIIT
category trees for industrial and platform enterprises, and the detectors that find them. A
tenant's ClassificationPolicy adds detectors, categories and per-column overrides on top.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from nidc.api.resource import CustomResource
from nidc.api.schema import (
    TABLE_NAME,
    DataDomain,
    GradeField,
    LocalObjectReference,
    Model,
    ObservedStatus,
)

CATEGORY_ID = r"^[a-z][a-z0-9-]{0,62}$"


class DetectorKind(StrEnum):
    """How a detector recognizes a column."""

    NAME_PATTERN = "namePattern"
    DICTIONARY = "dictionary"
    CONTENT_REGEX = "contentRegex"
    CONTENT_VALIDATOR = "contentValidator"
    DECLARED_TAG = "declaredTag"


class ContentValidator(StrEnum):
    """Checks on sampled values that prove what they are (checksums and grammars, not shapes)."""

    RESIDENT_ID = "residentId"  # 居民身份证号: GB 11643 check digit and birth date
    UNIFIED_SOCIAL_CREDIT_CODE = "unifiedSocialCreditCode"  # GB 32100 check character
    BANK_CARD = "bankCard"  # Luhn check digit, issuer prefix and length
    MOBILE_PHONE = "mobilePhone"  # mainland mobile number ranges (libphonenumber)
    PHONE_NUMBER = "phoneNumber"  # mainland mobile or fixed-line number with area code
    EMAIL = "email"
    PERSONAL_NAME = "personalName"  # Chinese surname + given name, or a known given name
    IP_ADDRESS = "ipAddress"
    MAC_ADDRESS = "macAddress"
    COORDINATES = "coordinates"  # a latitude/longitude pair in range
    GCODE = "gcode"  # ISO 6983 / RS-274 words with G or M codes
    PLC_INSTRUCTION_LIST = "plcInstructionList"  # IEC 61131-3 IL / STEP 7 STL statements
    COMPOSITION = "composition"  # element:percentage pairs that sum to at most 100


class EnterpriseType(StrEnum):
    """Which MIIT category tree a category belongs to."""

    INDUSTRIAL = "industrial"  # 工业企业
    PLATFORM = "platform"  # 平台企业


class Category(Model):
    """One node of a MIIT category tree, with the grade its data has by default."""

    id: str = Field(description="Category id, unique in the policy.", pattern=CATEGORY_ID)
    title: str = Field(description="Name in the guide, e.g. 工艺参数.", max_length=128)
    domain: DataDomain = Field(description="MIIT data domain the category belongs to.")
    enterprise: EnterpriseType = Field(
        default=EnterpriseType.INDUSTRIAL,
        description="industrial (工业企业) or platform (平台企业) category tree.",
    )
    parent: str | None = Field(
        default=None, description="Id of the parent category.", pattern=CATEGORY_ID
    )
    grade: GradeField


class Detector(Model):
    """One rule that maps columns to a category and grade."""

    name: str = Field(
        description="Detector name, unique in the policy.", pattern=r"^[a-z][a-z0-9-]{0,62}$"
    )
    kind: DetectorKind = Field(
        description="namePattern (column name regex), dictionary (column name words, Chinese, "
        "English or pinyin initials), contentRegex (values), contentValidator (values checked "
        "by a named validator), declaredTag (a tag on the source point)."
    )
    pattern: str | None = Field(
        default=None, description="Regular expression (namePattern, contentRegex).", max_length=1024
    )
    words: list[str] = Field(
        default_factory=list,
        description="Words to match in column names (dictionary); Chinese words also match by "
        "their pinyin initials.",
        max_length=1000,
    )
    validator: ContentValidator | None = Field(
        default=None, description="Validator applied to sampled values (contentValidator)."
    )
    min_share: float = Field(
        default=0.6,
        alias="minShare",
        ge=0.01,
        le=1.0,
        description="Share of sampled non-empty values that must match (content detectors).",
    )
    skip_references: bool = Field(
        default=False,
        alias="skipReferences",
        description="Names that only refer to the thing do not match (recipe_id, 配方编号: "
        "the name ends in a word of policies/dictionaries/reference-words.txt).",
    )
    tag: str | None = Field(default=None, description="Tag to match (declaredTag).", max_length=128)
    category: str = Field(
        description="Category assigned, e.g. process-parameter, personal-identity, recipe.",
        pattern=CATEGORY_ID,
    )
    domain: DataDomain | None = Field(
        default=None, description="MIIT data domain assigned (default: the category's)."
    )
    grade: GradeField
    confidence: float = Field(
        default=0.9, ge=0.0, le=1.0, description="Confidence given to a match (0..1)."
    )


class Override(Model):
    """A human decision that beats the detectors, with its reason on record."""

    table: str = Field(description="Table, e.g. silver.work_orders.", pattern=TABLE_NAME)
    column: str = Field(description="Column name.", pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    grade: GradeField
    category: str | None = Field(
        default=None, description="Category assigned instead (default: keep).", pattern=CATEGORY_ID
    )
    reason: str = Field(
        description="Why (kept in the audit trail).", min_length=10, max_length=1024
    )
    approval: LocalObjectReference | None = Field(
        default=None,
        description="ExportApproval that authorizes a grade below what the detectors found.",
    )


# Long enough that a device source's batches every minute do not each cost a classify run, short
# enough that values that change character are seen the same hour (decision 0320).
DEFAULT_RESAMPLE_MINUTES = 60


class ClassificationPolicySpec(Model):
    """Categories, detectors and overrides; a namespaced policy adds to the cluster baseline."""

    categories: list[Category] = Field(
        default_factory=list,
        description="MIIT category tree nodes (the baseline holds the national trees).",
        max_length=500,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["id"]},
    )
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
    resample_minutes: int = Field(
        default=DEFAULT_RESAMPLE_MINUTES,
        alias="resampleMinutes",
        ge=0,
        le=7 * 24 * 60,
        description="A table version whose columns are the ones last classified (appends of "
        "the same shape) is sampled again once this long has passed since its last classify "
        "run; a new column, a policy change or a new declared grade is classified at once. 0: "
        "every new version. Where several policies apply, the shortest wins.",
    )


class GradeCounts(Model):
    """How many tables or columns have each grade."""

    general: int = Field(default=0, ge=0, description="Grade 1 (一般).")
    important: int = Field(default=0, ge=0, description="Grade 2 (重要).")
    core: int = Field(default=0, ge=0, description="Grade 3 (核心).")


class ClassificationPolicyStatus(ObservedStatus):
    """Observed state of a classification policy."""

    classified_tables: int | None = Field(
        default=None, alias="classifiedTables", ge=0, description="Tables classified under it."
    )
    tables_by_grade: GradeCounts | None = Field(
        default=None, alias="tablesByGrade", description="Classified tables per grade."
    )
    categories: int | None = Field(default=None, ge=0, description="Categories it defines.")
    detectors: int | None = Field(default=None, ge=0, description="Detectors it defines.")
    overrides: int | None = Field(default=None, ge=0, description="Overrides it holds.")
    rejected_overrides: int | None = Field(
        default=None,
        alias="rejectedOverrides",
        ge=0,
        description="Overrides not applied (unapproved downgrades, unknown categories).",
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
    {
        "rule": "!has(self.detectors) || "
        "self.detectors.all(d, d.kind != 'contentValidator' || has(d.validator))",
        "message": "spec.detectors[].validator is required for contentValidator detectors",
        "fieldPath": ".detectors",
    },
]


class ClassificationPolicy(CustomResource):
    """A tenant's policy as reconcilers see it: typed spec, status as last written."""

    kind: Literal["ClassificationPolicy"] = "ClassificationPolicy"
    spec: ClassificationPolicySpec


class ClusterClassificationPolicy(CustomResource):
    """A cluster (baseline) policy as reconcilers see it."""

    kind: Literal["ClusterClassificationPolicy"] = "ClusterClassificationPolicy"
    spec: ClassificationPolicySpec
