"""Status of the two classification policy kinds from a review (pure; shared machinery)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from nidc.api.resource import CustomResource
from nidc.governance.policy_review import PolicyReview
from operators.reconciling.conditions import Outcome, build_conditions, rfc3339

MAX_LISTED = 3  # rejected overrides named in the condition message; the count says the rest


def review_outcome(review: PolicyReview) -> Outcome:
    """Ready when the policy compiles and every override may apply; else Degraded with why."""
    if review.problem:
        return Outcome(False, review.problem_reason, review.problem, degraded=True)
    if review.rejected:
        reasons = sorted({r.reason for r in review.rejected})
        listed = "; ".join(r.message for r in review.rejected[:MAX_LISTED])
        more = len(review.rejected) - MAX_LISTED
        suffix = f" (and {more} more)" if more > 0 else ""
        return Outcome(
            False,
            reasons[0] if len(reasons) == 1 else "OverridesRejected",
            f"{len(review.rejected)} override(s) not applied: {listed}{suffix}",
            degraded=True,
        )
    return Outcome(
        True,
        "PolicyValid",
        f"{review.categories} categories, {review.detectors} detectors and {review.overrides} "
        "overrides in force",
    )


GRADE_NAMES = {1: "general", 2: "important", 3: "core"}


def table_counts(owners: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """classifiedTables and tablesByGrade from the table owners in the policy's scope (pure).

    A DataSource or DataProduct counts once a classify pass graded its table
    (status.classification); every pass applies all the policies in force, this one included.
    """
    graded = [
        int((o.get("status") or {}).get("grade") or 1)
        for o in owners
        if (o.get("status") or {}).get("classification")
    ]
    return {
        "classifiedTables": len(graded),
        "tablesByGrade": {name: graded.count(grade) for grade, name in GRADE_NAMES.items()},
    }


def build_policy_status(
    policy: CustomResource,
    review: PolicyReview,
    now: dt.datetime,
    owners: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The policy's status: conditions and counts (pure; the clock passed in). `owners` are the
    DataSources and DataProducts in its scope."""
    generation = policy.generation
    return {
        **table_counts(owners),
        "observedGeneration": generation,
        "conditions": build_conditions(
            policy.previous_conditions, review_outcome(review), generation, rfc3339(now)
        ),
        "categories": review.categories,
        "detectors": review.detectors,
        "overrides": review.overrides,
        "rejectedOverrides": len(review.rejected),
    }
