"""Whether an ExportApproval covers one product of a given grade going to one destination (pure).

Read by the DataShare and ExportApproval reconcilers: an approval covers a use when it lists the
product, its maxGrade is at least the product's grade, its destination is empty or the
recipient, and it has not expired.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any


def parse_time(value: object) -> dt.datetime | None:
    """An RFC 3339 time as an aware datetime (None when absent or unparseable)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def approval_expiry(approval: Mapping[str, Any] | None) -> dt.datetime | None:
    """When the approval lapses (None: no approval, or no readable expiry)."""
    return parse_time((approval or {}).get("spec", {}).get("expiresAt"))


def approval_problem(
    approval: Mapping[str, Any] | None,
    name: str | None,
    product: str,
    grade: int,
    destination: str,
    now: dt.datetime,
) -> str:
    """Why the approval `name` does not cover `product` (grade `grade`) going to `destination`
    ('' when it does)."""
    if name is None:
        return "spec.exportApproval names no ExportApproval"
    if approval is None:
        return f"ExportApproval {name} not found"
    spec = approval.get("spec") or {}
    if product not in (spec.get("products") or []):
        return f"ExportApproval {name} does not list {product} in spec.products"
    if int(spec.get("maxGrade", 0)) < grade:
        return f"ExportApproval {name} covers up to grade {spec.get('maxGrade')}, not {grade}"
    allowed = spec.get("destination")
    if allowed and allowed != destination:
        return f"ExportApproval {name} allows destination {allowed}, not {destination}"
    expires = approval_expiry(approval)
    if expires is None or expires <= now:
        return f"ExportApproval {name} expired at {spec.get('expiresAt')}"
    return ""
