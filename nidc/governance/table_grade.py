"""A table's grade: the highest of its columns' and its declared floor (就高从严), after overrides.

An override with a reason sets a column's grade. One that lowers a column below what the
detectors found needs a named approval that holds (exists, not lapsed, covers the grade the
detectors found); without it the override is not applied and is reported with a reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from nidc.governance.column_classifier import ColumnClassification, classify_column
from nidc.governance.grades import level_of
from nidc.governance.rule_pack import PolicyOverride, RulePack


@dataclass(frozen=True)
class RejectedOverride:
    """An override that was not applied, and why (reason is a CamelCase word)."""

    policy: str
    table: str
    column: str
    reason: str
    message: str


@dataclass(frozen=True)
class TableClassification:
    """A table's computed grade, its columns, and the overrides applied or refused."""

    table: str
    grade: int
    level: str
    declared_floor: int | None
    columns: tuple[ColumnClassification, ...]
    applied_overrides: tuple[PolicyOverride, ...] = ()
    rejected_overrides: tuple[RejectedOverride, ...] = ()

    def column_grades(self) -> dict[str, int]:
        return {c.column: c.grade for c in self.columns}


def _parse_time(value: object) -> dt.datetime | None:
    try:
        return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def downgrade_problem(
    override: PolicyOverride,
    detected: int,
    approvals: Mapping[str, Mapping[str, Any]],
    now: dt.datetime,
) -> str:
    """Why an override may not lower a column to its grade ('' when it may)."""
    spec = override.spec
    if spec.grade >= detected:
        return ""
    where = f"{spec.table}.{spec.column}"
    if spec.approval is None:
        return (
            f"override lowers {where} from grade {detected} (found by the detectors) to "
            f"{spec.grade} without a named approval (spec.overrides[].approval)"
        )
    approval = approvals.get(spec.approval.name)
    if approval is None:
        return (
            f"override of {where} names ExportApproval {spec.approval.name}, which does not exist"
        )
    approval_spec = approval.get("spec") or {}
    if int(approval_spec.get("maxGrade", 0)) < detected:
        return (
            f"ExportApproval {spec.approval.name} covers up to grade "
            f"{approval_spec.get('maxGrade')}, not the grade {detected} found in {where}"
        )
    expires = _parse_time(approval_spec.get("expiresAt"))
    if expires is None or expires <= now:
        return f"ExportApproval {spec.approval.name} expired at {approval_spec.get('expiresAt')}"
    return ""


def apply_overrides(
    table: str,
    columns: Sequence[ColumnClassification],
    overrides: Iterable[PolicyOverride],
    approvals: Mapping[str, Mapping[str, Any]],
    now: dt.datetime,
) -> tuple[list[ColumnClassification], list[PolicyOverride], list[RejectedOverride]]:
    """The columns with the overrides of this table applied, and those refused."""
    by_name = {c.column: c for c in columns}
    applied: list[PolicyOverride] = []
    rejected: list[RejectedOverride] = []
    for override in overrides:
        spec = override.spec
        column = by_name.get(spec.column)
        if spec.table != table or column is None:
            continue
        problem = downgrade_problem(override, column.grade, approvals, now)
        if problem:
            rejected.append(
                RejectedOverride(
                    override.policy, table, spec.column, "DowngradeNotApproved", problem
                )
            )
            continue
        by_name[spec.column] = replace(
            column,
            grade=spec.grade,
            level=level_of(spec.grade).level,
            category=spec.category or column.category,
            confidence=1.0,
        )
        applied.append(override)
    return [by_name[c.column] for c in columns], applied, rejected


def computed_grade(columns: Iterable[ColumnClassification], declared_floor: int | None) -> int:
    """max(column grades, declared floor); a table with no columns and no floor is grade 1."""
    return max([c.grade for c in columns] + [declared_floor or 1])


def classify_table(
    pack: RulePack,
    table: str,
    samples: Mapping[str, Sequence[object]],
    declared_floor: int | None = None,
    tags: Mapping[str, Iterable[str]] | None = None,
    default_domain: str | None = None,
    approvals: Mapping[str, Mapping[str, Any]] | None = None,
    now: dt.datetime | None = None,
) -> TableClassification:
    """Classify every sampled column, apply the pack's overrides, and grade the table."""
    columns = [
        classify_column(pack, name, values, (tags or {}).get(name, ()), default_domain)
        for name, values in samples.items()
    ]
    columns, applied, rejected = apply_overrides(
        table, columns, pack.overrides, approvals or {}, now or dt.datetime.now(dt.UTC)
    )
    grade = computed_grade(columns, declared_floor)
    return TableClassification(
        table=table,
        grade=grade,
        level=level_of(grade).level,
        declared_floor=declared_floor,
        columns=tuple(columns),
        applied_overrides=tuple(applied),
        rejected_overrides=tuple(rejected),
    )
