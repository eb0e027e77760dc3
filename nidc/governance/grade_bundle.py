"""The grade bundle (policies/grades.yaml): per grade, the controls every consumer applies.

One loader, typed and strict: an unknown key or a missing grade is an error naming the field,
so a typo in the bundle cannot silently loosen a control.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from nidc.governance.policy_files import policies_dir

BUNDLE_FILE = "grades.yaml"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class MaskDefault(StrEnum):
    NONE = "none"
    PARTIAL = "partial"
    FULL = "full"


class Masks(Strict):
    default: MaskDefault


class Encryption(Strict):
    at_rest: Literal["storage", "column"] = Field(alias="atRest")


class Sharing(Strict):
    grant_required: bool = Field(alias="grantRequired")
    export_approval: bool = Field(alias="exportApproval")
    external_share: bool = Field(alias="externalShare")
    # Whether a DataShare may send it to a recipient (tenant or regional center) in another
    # region than the providing tenant's home region.
    leaves_region: bool = Field(alias="leavesRegion")


class Replication(Strict):
    allowed: bool
    export_approval: bool = Field(alias="exportApproval")
    leaves_region: bool = Field(alias="leavesRegion")


class Approvals(Strict):
    downgrade: bool


class Quality(Strict):
    # The loosest `mostly` (share of rows that must pass) a row-level quality rule may have.
    mostly: float = Field(ge=0.0, le=1.0)


class Retention(Strict):
    min_days: int = Field(alias="minDays", ge=0)


class Audit(Strict):
    level: Literal["standard", "access", "every-read"]


class GradeControls(Strict):
    """Everything one grade demands."""

    level: str
    miit: str
    name: str
    masks: Masks
    encryption: Encryption
    sharing: Sharing
    replication: Replication
    approvals: Approvals
    quality: Quality
    retention: Retention
    audit: Audit


class GradeBundle(Strict):
    """Grades 1, 2 and 3 and their controls."""

    api_version: str = Field(alias="apiVersion")
    kind: Literal["GradeBundle"]
    grades: dict[Literal[1, 2, 3], GradeControls]

    def controls(self, grade: int) -> GradeControls:
        """The controls of a grade; KeyError for a grade the bundle does not define."""
        return self.grades[grade]  # type: ignore[index]


class GradeBundleError(ValueError):
    """The bundle file is wrong; the message names the field."""


def parse_bundle(raw: object, source: str = BUNDLE_FILE) -> GradeBundle:
    """A bundle from its parsed YAML; raises GradeBundleError naming the first wrong field."""
    try:
        bundle = GradeBundle.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise GradeBundleError(f"{source}: {where}: {first['msg']}") from error
    missing = {1, 2, 3} - set(bundle.grades)
    if missing:
        raise GradeBundleError(f"{source}: grades: missing {sorted(missing)}")
    return bundle


def read_bundle(path: Path) -> GradeBundle:
    """A bundle file."""
    return parse_bundle(yaml.safe_load(path.read_text(encoding="utf-8")), str(path))


@cache
def grade_bundle() -> GradeBundle:
    """The platform's bundle (policies/grades.yaml), read once per process."""
    return read_bundle(policies_dir() / BUNDLE_FILE)
