"""DataGrant decisions without servers: validation (one reason per problem), when access ends,
the governed-copy plan and job, the status, and when the sweep looks again."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from nidc.api.data_grant import DataGrant
from nidc.api.job_specs import record_job
from nidc.governance.grade_bundle import grade_bundle
from nidc.governance.masking import ProductColumn
from operators.datagrant.build import (
    Access,
    GranteeView,
    Observed,
    ProductView,
    access_ends,
    build_copy_job,
    build_copy_run,
    build_status,
    copy_needs_hash_key,
    expired_outcome,
    plan_copies,
    revokes,
    starts_new_copy,
    validate,
)
from operators.datagrant.due import OPENBAO_RETRY, PRODUCT_POLL, RESYNC, next_due
from operators.datagrant.names import GrantNames
from operators.reconciling.conditions import Outcome
from operators.runs.plan import RunHistory
from operators.runs.record import GENERATION, SEQUENCE

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
BUNDLE = grade_bundle()
UID = "5f1c0c1e-0000-4000-8000-000000000001"
COLUMNS = [
    ProductColumn("plant", "string", 1),
    ProductColumn("spindle_id", "string", 1),
    ProductColumn("temperature", "double", 1),
    ProductColumn("operator_phone", "string", 2),
]


def grant(generation: int = 1, **spec: Any) -> DataGrant:
    base: dict[str, Any] = {
        "grantee": {"kind": "Tenant", "name": "auto-parts"},
        "product": {"name": "spindle-health"},
        "columns": ["plant", "temperature"],
        "purpose": "supplier quality dashboard",
        "expiresAt": "2026-12-31T00:00:00Z",
    }
    return DataGrant.from_body(
        {
            "apiVersion": "nidc.io/v1alpha1",
            "kind": "DataGrant",
            "metadata": {
                "name": "auto-parts-read",
                "namespace": "steel-plant",
                "uid": UID,
                "generation": generation,
            },
            "spec": {**base, **spec},
        }
    )


def product(**fields: Any) -> ProductView:
    base: dict[str, Any] = {
        "name": "spindle-health",
        "ready": True,
        "ready_message": "ok",
        "grade": 1,
        "serving_version": 4,
        "table": "gold.spindle_health",
        "columns": COLUMNS,
    }
    return ProductView(**{**base, **fields})


def seen(
    found: ProductView | None = None,
    grantee: GranteeView | None = None,
    approval: dict[str, Any] | None = None,
    history: RunHistory | None = None,
) -> Observed:
    return Observed(
        found if found is not None else product(),
        grantee or GranteeView(True, 2),
        approval,
        history or RunHistory([], 1),
    )


def approval(**spec: Any) -> dict[str, Any]:
    base = {
        "products": ["spindle-health"],
        "maxGrade": 2,
        "destination": "auto-parts",
        "evidence": "ticket SEC-7",
        "expiresAt": "2026-12-15T00:00:00Z",
    }
    return {"metadata": {"name": "to-auto-parts"}, "spec": {**base, **spec}}


def run(generation: int, sequence: int, phase: str, version: int, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": f"g-{generation}-{sequence}",
            "labels": {GENERATION: str(generation), SEQUENCE: str(sequence)},
            "creationTimestamp": "2026-11-30T07:00:00Z",
        },
        "spec": {"jobType": "governed-copy", "job": {"sourceVersion": version}},
        "status": {"phase": phase, **status},
    }


def reasons(problems: list[Any]) -> list[str]:
    return [p.reason for p in problems]


# ---- validation ----------------------------------------------------------------------------
def test_a_sound_grant_has_no_problem() -> None:
    assert validate(grant(), seen(), BUNDLE, NOW) == []


def test_missing_product_and_missing_grade() -> None:
    absent = Observed(None, GranteeView(True, 2), None, RunHistory([], 1))
    assert reasons(validate(grant(), absent, BUNDLE, NOW)) == ["ProductNotFound"]
    assert reasons(validate(grant(), seen(product(grade=None)), BUNDLE, NOW)) == ["GradeUnknown"]


def test_a_product_between_versions_is_waited_for_not_revoked() -> None:
    problems = validate(
        grant(), seen(product(ready=False, ready_message="run p-1 is running")), BUNDLE, NOW
    )
    assert reasons(problems) == ["ProductNotReady"]
    assert "run p-1 is running" in problems[0].message
    assert not revokes(problems)


def test_grantee_must_exist_and_hold_the_grade() -> None:
    assert reasons(validate(grant(), seen(grantee=GranteeView(False)), BUNDLE, NOW)) == [
        "GranteeNotFound"
    ]
    approved = grant(exportApproval={"name": "to-auto-parts"})
    low = validate(approved, seen(product(grade=2), GranteeView(True, 1), approval()), BUNDLE, NOW)
    assert reasons(low) == ["ClearanceTooLow"]
    assert "up to grade 1" in low[0].message
    group = grant(grantee={"kind": "Group", "name": "analysts"})
    assert reasons(validate(group, seen(), BUNDLE, NOW)) == ["GranteeKindUnsupported"]


def test_service_account_of_the_own_namespace_needs_no_approval() -> None:
    own = grant(grantee={"kind": "ServiceAccount", "name": "dashboards"})
    assert validate(own, seen(product(grade=2), GranteeView(True)), BUNDLE, NOW) == []


@pytest.mark.parametrize(
    ("given", "fragment"),
    [
        (None, "names no ExportApproval"),
        (approval(products=["other"]), "does not list spindle-health"),
        (approval(maxGrade=1), "covers up to grade 1"),
        (approval(destination="gear-works"), "allows destination gear-works"),
        (approval(expiresAt="2026-11-01T00:00:00Z"), "expired"),
    ],
)
def test_grade_2_to_another_tenant_needs_a_covering_approval(
    given: dict[str, Any] | None, fragment: str
) -> None:
    spec: dict[str, Any] = (
        {"exportApproval": {"name": "to-auto-parts"}} if given is not None else {}
    )
    problems = validate(grant(**spec), seen(product(grade=2), approval=given), BUNDLE, NOW)
    assert reasons(problems) == ["ExportApprovalRequired"]
    assert fragment in problems[0].message
    named_but_missing = validate(
        grant(exportApproval={"name": "gone"}), seen(product(grade=2)), BUNDLE, NOW
    )
    assert "ExportApproval gone not found" in named_but_missing[0].message


def test_grade_1_needs_no_approval_and_a_valid_one_passes_grade_2() -> None:
    assert validate(grant(), seen(product(grade=1)), BUNDLE, NOW) == []
    ok = grant(exportApproval={"name": "to-auto-parts"})
    assert validate(ok, seen(product(grade=2), approval=approval()), BUNDLE, NOW) == []


def test_columns_masks_and_row_filter_are_checked_against_the_schema() -> None:
    unknown = validate(grant(columns=["plant", "humidity"]), seen(), BUNDLE, NOW)
    assert reasons(unknown) == ["ColumnNotFound"]
    assert "humidity" in unknown[0].message
    bad_mask = validate(
        grant(masks=[{"column": "temperature", "type": "DATE_SHOW_YEAR"}]), seen(), BUNDLE, NOW
    )
    assert reasons(bad_mask) == ["InvalidMask"]
    not_boolean = validate(grant(rowFilter="temperature + 1"), seen(), BUNDLE, NOW)
    assert reasons(not_boolean) == ["InvalidRowFilter"]
    assert not_boolean[0].message.startswith("spec.rowFilter: row filter is not boolean")
    other_column = validate(grant(rowFilter="humidity > 3"), seen(), BUNDLE, NOW)
    assert "unknown column humidity" in other_column[0].message
    assert (
        validate(grant(rowFilter="plant = 'shanghai' AND temperature < 90"), seen(), BUNDLE, NOW)
        == []
    )
    unread = validate(grant(), seen(product(columns=None)), BUNDLE, NOW)
    assert reasons(unread) == ["SchemaUnknown"] and not revokes(unread)


def test_every_problem_is_named() -> None:
    problems = validate(
        grant(columns=["nope"], rowFilter="1 +", exportApproval={"name": "x"}),
        seen(product(grade=2, ready=False), GranteeView(True, 1)),
        BUNDLE,
        NOW,
    )
    assert reasons(problems) == [
        "ClearanceTooLow",
        "ExportApprovalRequired",
        "ProductNotReady",
        "ColumnNotFound",
        "InvalidRowFilter",
    ]
    assert revokes(problems)


def test_access_ends_at_the_approval_when_it_lapses_first() -> None:
    assert access_ends(grant(), None) == dt.datetime(2026, 12, 31, tzinfo=dt.UTC)
    assert access_ends(grant(), approval()) == dt.datetime(2026, 12, 15, tzinfo=dt.UTC)


# ---- the governed copy ---------------------------------------------------------------------
def test_first_copy_then_none_until_a_new_version() -> None:
    assert plan_copies(RunHistory([], 1), 4, True, NOW).create == (1, 0)
    done = RunHistory.of([run(1, 0, "Succeeded", 4)], 1)
    assert plan_copies(done, 4, True, NOW).create is None
    assert plan_copies(done, 5, True, NOW).create == (1, 1)


def test_one_copy_at_a_time_and_none_before_a_version() -> None:
    live = RunHistory.of([run(1, 0, "Running", 4)], 1)
    assert plan_copies(live, 5, True, NOW).create is None
    waiting = plan_copies(RunHistory([], 1), None, True, NOW)
    assert waiting.create is None and "first version" in waiting.waiting


def test_failed_copy_waits_unless_the_product_moved_on() -> None:
    failed = RunHistory.of(
        [run(1, 0, "Failed", 4, finishedAt="2026-11-30T07:58:00Z", reason="boom")], 1
    )
    held = plan_copies(failed, 4, True, NOW)
    assert held.create is None and held.next_run == dt.datetime(2026, 11, 30, 8, 3, tzinfo=dt.UTC)
    assert plan_copies(failed, 5, True, NOW).create == (1, 1)


def test_refused_grant_cancels_the_live_copy_and_a_new_spec_supersedes() -> None:
    live = RunHistory.of([run(1, 0, "Running", 4)], 1)
    assert [r.name for r in plan_copies(live, 4, False, NOW).cancel] == ["g-1-0"]
    older = RunHistory.of([run(1, 0, "Running", 4)], 2)
    assert [r.name for r in plan_copies(older, 4, True, NOW).cancel] == ["g-1-0"]


def test_a_new_generation_removes_the_old_copy_first() -> None:
    history = RunHistory.of([run(1, 0, "Succeeded", 4)], 2)
    plan = plan_copies(history, 4, True, NOW)
    assert plan.create == (2, 0) and starts_new_copy(history, plan)
    first = RunHistory([], 1)
    assert not starts_new_copy(first, plan_copies(first, 4, True, NOW))


def test_copy_job_and_run_are_deterministic_and_name_no_secret() -> None:
    names = GrantNames("steel-plant", "auto-parts-read", UID)
    g = grant(rowFilter="plant = 'shanghai'", masks=[{"column": "plant", "type": "HASH"}])
    job = build_copy_job(g, product(), names, hash_key=copy_needs_hash_key(g, product(), BUNDLE))
    assert job.source == "s3a://tenant-steel-plant/gold/spindle_health"
    assert job.target == "s3a://tenant-steel-plant/governed/auto-parts-read"
    assert job.source_version == 4 and job.txn_version == 4 and job.txn_app_id == UID
    assert job.hash_key_path == "secret/data/tenants/steel-plant/grant-keys/auto-parts-read"
    assert [c.spark_type for c in job.columns] == ["string", "string", "double", "string"]
    run_body = build_copy_run(g, job, 1, 0)
    assert run_body == build_copy_run(g, job, 1, 0)
    assert run_body["spec"]["jobType"] == "governed-copy"
    # The run records where the key lives, never the key.
    assert run_body["spec"]["job"]["hashKeyPath"] == job.hash_key_path
    assert set(record_job(job)) >= {"source", "target", "sourceVersion", "rowFilter", "masks"}
    plain = build_copy_job(grant(), product(), names, hash_key=False)
    assert plain.hash_key_path is None
    assert not copy_needs_hash_key(grant(), product(), BUNDLE)


def test_grade_2_columns_get_the_bundles_masks_and_a_hash_key_when_numeric() -> None:
    graded = product(
        columns=[ProductColumn("plant", "string", 2), ProductColumn("rpm", "double", 2)]
    )
    assert copy_needs_hash_key(grant(columns=[]), graded, BUNDLE)


# ---- status and when to look again ---------------------------------------------------------
NAMES = GrantNames("steel-plant", "auto-parts-read", UID)
ENDS = dt.datetime(2026, 12, 31, tzinfo=dt.UTC)
ISSUED = Access(ENDS, NOW + dt.timedelta(hours=1), True)


def condition(status: dict[str, Any], kind: str = "Ready") -> dict[str, Any]:
    return next(c for c in status["conditions"] if c["type"] == kind)


def test_status_granted_once_copied_and_issued() -> None:
    history = RunHistory.of([run(1, 0, "Succeeded", 4)], 1)
    plan = plan_copies(history, 4, True, NOW)
    status = build_status(grant(), NAMES, seen(history=history), history, plan, [], ISSUED, NOW)
    assert condition(status)["status"] == "True" and condition(status)["reason"] == "Granted"
    assert status["copiedVersion"] == 4
    assert status["credentialPath"] == "secret/data/grants/steel-plant/auto-parts-read"
    assert status["openBaoPolicy"] == status["openBaoRole"] == "grant.steel-plant.auto-parts-read"
    assert status["credentialExpiresAt"] == "2026-11-30T09:00:00Z"
    assert status["expiresAt"] == "2026-12-31T00:00:00Z"
    assert status["governedCopyPath"] == NAMES.governed_path
    assert condition(status, "Degraded")["status"] == "False"


def test_status_copying_before_the_first_copy() -> None:
    history = RunHistory.of([run(1, 0, "Running", 4)], 1)
    status = build_status(
        grant(), NAMES, seen(), history, plan_copies(history, 4, True, NOW), [], ISSUED, NOW
    )
    assert condition(status)["reason"] == "Copying"
    assert condition(status, "Progressing")["status"] == "True"


def test_status_degraded_with_the_first_problem_and_no_credentials() -> None:
    problems = validate(grant(), seen(grantee=GranteeView(False)), BUNDLE, NOW)
    revoked = Access(ENDS, None, False)
    status = build_status(
        grant(),
        NAMES,
        seen(),
        RunHistory([], 1),
        plan_copies(RunHistory([], 1), 4, False, NOW),
        problems,
        revoked,
        NOW,
    )
    assert condition(status)["reason"] == "GranteeNotFound"
    assert condition(status, "Degraded")["status"] == "True"
    assert status["credentialPath"] is None and status["openBaoRole"] is None


def test_status_override_for_sealed_and_expired() -> None:
    sealed = Outcome(False, "OpenBaoSealed", "OpenBao is sealed", degraded=True)
    status = build_status(
        grant(),
        NAMES,
        None,
        RunHistory([], 1),
        plan_copies(RunHistory([], 1), 4, True, NOW),
        [],
        ISSUED,
        NOW,
        sealed,
    )
    assert condition(status, "Degraded")["reason"] == "OpenBaoSealed"
    assert next_due({}, status, NOW) == NOW + OPENBAO_RETRY
    expired = build_status(
        grant(),
        NAMES,
        None,
        RunHistory([], 1),
        plan_copies(RunHistory([], 1), 4, False, NOW),
        [],
        Access(ENDS, None, False),
        NOW,
        expired_outcome(ENDS),
    )
    assert condition(expired)["reason"] == "Expired"
    assert condition(expired, "Degraded")["status"] == "False"


def test_due_at_the_end_at_renewal_or_at_the_resync() -> None:
    body = grant().to_body()
    soon = {"expiresAt": "2026-11-30T08:00:30Z"}
    assert next_due(body, soon, NOW) == NOW + dt.timedelta(seconds=30)
    renew = {"expiresAt": "2026-12-31T00:00:00Z", "credentialExpiresAt": "2026-11-30T08:15:40Z"}
    assert next_due(body, renew, NOW) == NOW + dt.timedelta(seconds=40)
    assert next_due(body, {"expiresAt": "2026-12-31T00:00:00Z"}, NOW) == NOW + RESYNC


def test_a_grant_waiting_for_its_product_looks_again_soon() -> None:
    waiting = {
        "expiresAt": "2026-12-31T00:00:00Z",
        "conditions": [{"type": "Ready", "status": "False", "reason": "ProductNotReady"}],
    }
    assert next_due(grant().to_body(), waiting, NOW) == NOW + PRODUCT_POLL < NOW + RESYNC
