"""ExportApproval status without servers: valid or expired, expiresAt, usedBy, and when the
sweep looks again."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from nidc.api.export_approval import ExportApproval
from nidc.governance.export_approval import approval_problem
from operators.exportapproval.build import RESYNC, build_status, next_due, users_of

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)


def approval(expires: str) -> ExportApproval:
    return ExportApproval.from_body(
        {
            "kind": "ExportApproval",
            "metadata": {"name": "ok", "namespace": "steel-plant"},
            "spec": {
                "approver": {"name": "Li Wei", "email": "li@example.cn"},
                "products": ["spindle-health"],
                "maxGrade": 2,
                "evidence": "ticket SEC-1",
                "expiresAt": expires,
            },
        }
    )


def named(kind: str, name: str, ref: str | None) -> dict[str, Any]:
    spec = {"exportApproval": {"name": ref}} if ref else {}
    return {"kind": kind, "metadata": {"name": name}, "spec": spec}


def test_used_by_lists_the_shares_grants_and_replications_that_name_it() -> None:
    found = {
        "DataShare": [named("DataShare", "b", "ok"), named("DataShare", "a", "other")],
        "DataGrant": [named("DataGrant", "g", "ok"), named("DataGrant", "h", None)],
        "DataReplication": [],
    }
    assert users_of("ok", found) == [
        {"kind": "DataGrant", "name": "g"},
        {"kind": "DataShare", "name": "b"},
    ]


def test_valid_then_expired() -> None:
    users = [{"kind": "DataShare", "name": "b"}]
    valid = build_status(approval("2026-11-30T08:00:30Z"), users, NOW)
    assert valid["valid"] is True and valid["expiresAt"] == "2026-11-30T08:00:30Z"
    assert valid["usedBy"] == users
    assert (valid["conditions"][0]["status"], valid["conditions"][0]["reason"]) == ("True", "Valid")
    assert "DataShare b" in valid["conditions"][0]["message"]
    expired = build_status(approval("2026-11-30T07:59:00Z"), users, NOW)
    assert expired["valid"] is False
    assert expired["conditions"][0]["reason"] == "Expired"
    assert expired["conditions"][2]["status"] == "False"  # expiry is not a fault


def test_due_at_the_expiry() -> None:
    status = {"expiresAt": "2026-11-30T08:00:30Z"}
    assert next_due({}, status, NOW) == NOW + dt.timedelta(seconds=30)
    assert next_due({}, {"expiresAt": "2027-01-01T00:00:00Z"}, NOW) == NOW + RESYNC


def test_approval_matching_for_any_destination() -> None:
    body = {"spec": {"products": ["p"], "maxGrade": 2, "expiresAt": "2026-12-01T00:00:00Z"}}
    assert approval_problem(body, "ok", "p", 2, "anyone", NOW) == ""
    assert "names no" in approval_problem(body, None, "p", 2, "x", NOW)
    assert "not found" in approval_problem(None, "ok", "p", 2, "x", NOW)
    assert "expired" in approval_problem(body, "ok", "p", 2, "x", NOW + dt.timedelta(days=2))
