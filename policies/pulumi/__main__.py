"""The nidc policy pack: the rules of stacks/policy_rules.py, each a mandatory resource policy.

Run with `pulumi preview --policy-pack policies/pulumi/nidc-policy-pack` (the executable beside
this file starts this module as an analyzer plugin; see docs/stacks.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from stacks.policy_rules import RULES, Rule


def validator(rule: Rule) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    """Report each violation the rule finds on one resource."""

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        props: dict[str, Any] = dict(args.props)
        for problem in rule.check(args.resource_type, props):
            report(problem, None)

    return validate


PolicyPack(
    name="nidc",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[
        ResourceValidationPolicy(
            name=rule.name, description=rule.description, validate=validator(rule)
        )
        for rule in RULES
    ],
)
