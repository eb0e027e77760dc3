"""Review a classification policy before it is used (pure): does it compile against the
baseline, and may each of its overrides do what it asks?

An override that lowers a column below what the detectors find needs a named approval that
holds. Here the detectors see the column's name (the override names a table and a column, not
data); the classify job applies the same rule with the sampled values too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nidc.governance.column_classifier import classify_column
from nidc.governance.rule_pack import (
    PolicyOverride,
    RulePack,
    RulePackError,
    compile_policies,
    parse_spec,
    policy_label,
)
from nidc.governance.table_grade import RejectedOverride, downgrade_problem


@dataclass(frozen=True)
class PolicyReview:
    """What a policy holds, and what is wrong with it (problem: the policy cannot be used)."""

    categories: int = 0
    detectors: int = 0
    overrides: int = 0
    rejected: tuple[RejectedOverride, ...] = ()
    problem_reason: str = ""
    problem: str = ""


def review_override(
    pack: RulePack,
    override: PolicyOverride,
    approvals: Mapping[str, Mapping[str, Any]],
    now: dt.datetime,
) -> RejectedOverride | None:
    """Why an override cannot be applied, or None when it can."""
    spec = override.spec
    if spec.category and spec.category not in pack.categories:
        return RejectedOverride(
            override.policy,
            spec.table,
            spec.column,
            "UnknownCategory",
            f"override of {spec.table}.{spec.column} names category {spec.category}, "
            "which no policy defines",
        )
    found = classify_column(pack, spec.column)
    problem = downgrade_problem(override, found.grade, approvals, now)
    if problem:
        detectors = ", ".join(e.detector for e in found.evidence if e.grade == found.grade)
        return RejectedOverride(
            override.policy,
            spec.table,
            spec.column,
            "DowngradeNotApproved",
            f"{problem}; found by {detectors}",
        )
    return None


def review_policy(
    document: Mapping[str, Any],
    cluster_documents: Sequence[Mapping[str, Any]],
    approvals: Mapping[str, Mapping[str, Any]],
    now: dt.datetime,
) -> PolicyReview:
    """Review one policy in the company of the cluster policies (the baseline)."""
    label = policy_label(document)
    try:
        spec = parse_spec(document)
        others = [d for d in cluster_documents if policy_label(d) != label]
        pack = compile_policies([*others, document])
    except RulePackError as error:
        return PolicyReview(problem_reason="InvalidPolicy", problem=str(error))
    mine = [o for o in pack.overrides if o.policy == label]
    rejected = [r for o in mine if (r := review_override(pack, o, approvals, now)) is not None]
    return PolicyReview(
        categories=len(spec.categories),
        detectors=len(spec.detectors),
        overrides=len(spec.overrides),
        rejected=tuple(rejected),
    )
