"""DataShare decisions without servers: the grade rules per recipient (region, external share,
grant required, export approval matching and expiry), what each recipient is served, the
status, token rotation timing, the profile round trip, and when the sweep looks again."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from nidc.api.data_share import DataShare, DeltaSharingProfile
from nidc.governance.grade_bundle import grade_bundle
from operators.datashare.build import (
    GrantView,
    Held,
    Observed,
    ProductView,
    RecipientView,
    build_status,
    decide,
    removed_recipients,
)
from operators.datashare.due import GRANT_POLL, OPENBAO_RETRY, RESYNC, next_due
from operators.datashare.profile import (
    HeldToken,
    build_profile,
    build_record,
    parse_ttl,
    profile_path,
    read_profile,
    record_path,
    rotation_due,
    rotation_reason,
    token_expiry,
    token_sha256,
)
from operators.reconciling.conditions import Outcome

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
BUNDLE = grade_bundle()
ENDPOINT = "https://127.0.0.1:8443/delta-sharing/"
COPY = "s3a://tenant-steel-plant/governed/maker-reads-health"


def share(
    recipients: list[dict[str, str]], approval: str | None = None, status: Any = None
) -> DataShare:
    spec: dict[str, Any] = {
        "recipients": recipients,
        "products": [{"name": "spindle-health"}],
        "tokenTTL": "24h",
    }
    if approval:
        spec["exportApproval"] = {"name": approval}
    return DataShare.from_body(
        {
            "apiVersion": "nidc.io/v1alpha1",
            "kind": "DataShare",
            "metadata": {"name": "to-maker", "namespace": "steel-plant", "uid": "u1"},
            "spec": spec,
            "status": status or {},
        }
    )


MAKER = {"kind": "Tenant", "name": "equipment-maker"}


def approval(**spec: Any) -> dict[str, Any]:
    base = {
        "products": ["spindle-health"],
        "maxGrade": 2,
        "expiresAt": "2026-12-31T00:00:00Z",
        "approver": {"name": "Li Wei", "email": "li@example.cn"},
        "evidence": "ticket SEC-1",
    }
    base.update(spec)
    return {"metadata": {"name": "ok-to-maker"}, "spec": base}


def grant(ready: bool = True, reason: str = "Granted", copied: int | None = 4) -> GrantView:
    return GrantView("maker-reads-health", ready, reason, "m", COPY, copied)


def seen(
    grade: int | None = 2,
    maker_region: str = "east",
    the_grant: GrantView | None = None,
    the_approval: dict[str, Any] | None = None,
    **recipients: RecipientView,
) -> Observed:
    views = {
        ("Tenant", "equipment-maker"): RecipientView(True, maker_region),
        ("Tenant", "steel-plant"): RecipientView(True, "east"),
        ("Region", "east"): RecipientView(True, "east"),
        ("Region", "west"): RecipientView(True, "west"),
    }
    return Observed(
        provider_region="east",
        products={"spindle-health": ProductView("spindle-health", grade, "gold.health", 7)},
        recipients=views,
        grants={("equipment-maker", "spindle-health"): the_grant} if the_grant is not None else {},
        approval=the_approval,
    )


def reasons(decision: Any) -> list[str]:
    return [p.reason for p in decision.refused]


def test_grade3_to_another_region_is_refused_naming_the_bundle_rule() -> None:
    [decision] = decide(share([{"kind": "Region", "name": "west"}]), seen(grade=3), BUNDLE, NOW)
    assert reasons(decision) == ["CoreDataStaysInRegion"]
    assert "grades.3.sharing.leavesRegion is false" in decision.refused[0].message
    assert not decision.served and decision.tables == []


def test_grade3_to_a_tenant_of_another_region_is_refused_by_the_region_rule() -> None:
    [decision] = decide(share([MAKER]), seen(grade=3, maker_region="west"), BUNDLE, NOW)
    assert reasons(decision) == ["CoreDataStaysInRegion"]


def test_grade3_in_region_is_still_no_external_share() -> None:
    [to_region] = decide(share([{"kind": "Region", "name": "east"}]), seen(grade=3), BUNDLE, NOW)
    [to_tenant] = decide(share([MAKER]), seen(grade=3, the_grant=grant()), BUNDLE, NOW)
    assert reasons(to_region) == reasons(to_tenant) == ["ExternalShareForbidden"]
    assert "sharing.externalShare is false" in to_tenant.refused[0].message


def test_grade3_to_its_own_tenant_is_served() -> None:
    own = {"kind": "Tenant", "name": "steel-plant"}
    grants = {("steel-plant", "spindle-health"): grant()}
    observed = seen(grade=3)
    observed = Observed(
        observed.provider_region, observed.products, observed.recipients, grants, None
    )
    [decision] = decide(share([own]), observed, BUNDLE, NOW)
    assert decision.served and decision.cap is None


def test_grade2_to_another_tenant_needs_an_approval() -> None:
    [decision] = decide(share([MAKER]), seen(the_grant=grant()), BUNDLE, NOW)
    assert reasons(decision) == ["ExportApprovalRequired"]
    assert "names no ExportApproval" in decision.refused[0].message


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ({"products": ["other"]}, "does not list spindle-health"),
        ({"maxGrade": 1}, "covers up to grade 1, not 2"),
        ({"destination": "auto-parts"}, "allows destination auto-parts, not equipment-maker"),
    ],
)
def test_an_approval_that_does_not_cover_the_share_is_refused(
    spec: dict[str, Any], says: str
) -> None:
    observed = seen(the_grant=grant(), the_approval=approval(**spec))
    [decision] = decide(share([MAKER], "ok-to-maker"), observed, BUNDLE, NOW)
    assert reasons(decision) == ["ExportApprovalRequired"]
    assert says in decision.refused[0].message


def test_a_matching_approval_serves_the_governed_copy_and_caps_the_token() -> None:
    observed = seen(the_grant=grant(), the_approval=approval(destination="equipment-maker"))
    [decision] = decide(share([MAKER], "ok-to-maker"), observed, BUNDLE, NOW)
    assert decision.served and decision.refused == []
    assert decision.cap == dt.datetime(2026, 12, 31, tzinfo=dt.UTC)
    [table] = decision.tables
    assert table.location == "s3://tenant-steel-plant/governed/maker-reads-health"
    assert (table.version, table.grade, table.schema_name) == (4, 2, "steel-plant")


def test_an_expired_approval_ends_the_share_with_its_own_reason() -> None:
    observed = seen(the_grant=grant(), the_approval=approval(expiresAt="2026-11-30T07:59:59Z"))
    [decision] = decide(share([MAKER], "ok-to-maker"), observed, BUNDLE, NOW)
    assert reasons(decision) == ["ExportApprovalExpired"]
    assert not decision.served


def test_grade1_needs_no_approval_but_a_tenant_still_needs_its_grant() -> None:
    [missing] = decide(share([MAKER]), seen(grade=1), BUNDLE, NOW)
    assert reasons(missing) == ["GrantNotFound"]
    assert "spindle-health" in missing.refused[0].message
    assert "equipment-maker" in missing.refused[0].message
    [served] = decide(share([MAKER]), seen(grade=1, the_grant=grant()), BUNDLE, NOW)
    assert served.served and served.cap is None


def test_a_refused_grant_refuses_and_a_copying_one_waits() -> None:
    [refused] = decide(
        share([MAKER]), seen(grade=1, the_grant=grant(False, "Expired", 4)), BUNDLE, NOW
    )
    assert reasons(refused) == ["GrantNotReady"]
    [waiting] = decide(
        share([MAKER]), seen(grade=1, the_grant=grant(False, "Copying", None)), BUNDLE, NOW
    )
    assert waiting.refused == [] and not waiting.served
    assert [p.reason for p in waiting.waiting] == ["GrantWaiting"]
    [between] = decide(
        share([MAKER]), seen(grade=1, the_grant=grant(False, "ProductNotReady", 4)), BUNDLE, NOW
    )
    assert between.served  # the copy it holds is still served


def test_a_region_gets_grade1_tables_only() -> None:
    west = {"kind": "Region", "name": "west"}
    [grade1] = decide(share([west]), seen(grade=1), BUNDLE, NOW)
    assert grade1.served
    assert grade1.tables[0].location == "s3://tenant-steel-plant/gold/health"
    assert grade1.tables[0].version == 7
    [grade2] = decide(share([west], "ok-to-maker"), seen(grade=2), BUNDLE, NOW)
    assert reasons(grade2) == ["GrantRequired"]


def test_unknown_grade_product_and_recipient_are_refused() -> None:
    assert reasons(decide(share([MAKER]), seen(grade=None), BUNDLE, NOW)[0]) == ["GradeUnknown"]
    ghost = {"kind": "Tenant", "name": "ghost"}
    assert reasons(decide(share([ghost]), seen(), BUNDLE, NOW)[0]) == ["RecipientNotFound"]
    observed = seen()
    no_product = Observed(observed.provider_region, {}, observed.recipients, {}, None)
    assert reasons(decide(share([MAKER]), no_product, BUNDLE, NOW)[0]) == ["ProductNotFound"]


def test_status_lists_recipients_and_only_the_tables_of_held_tokens() -> None:
    the_share = share([MAKER, {"kind": "Region", "name": "west"}], "ok-to-maker")
    observed = seen(grade=2, the_grant=grant(), the_approval=approval())
    decisions = decide(the_share, observed, BUNDLE, NOW)
    path = profile_path(decisions[0].recipient, "steel-plant", "to-maker")
    expires = NOW + dt.timedelta(hours=24)
    status = build_status(
        the_share, decisions, {("Tenant", "equipment-maker"): Held(path, expires)}, True, NOW
    )
    assert status["recipients"] == [
        {
            "kind": "Tenant",
            "name": "equipment-maker",
            "profilePath": "tenants/equipment-maker/shares/steel-plant/to-maker",
            "expiresAt": "2026-12-01T08:00:00Z",
        },
        {"kind": "Region", "name": "west"},
    ]
    assert [t["recipient"] for t in status["tables"]] == ["equipment-maker"]
    ready = status["conditions"][0]
    assert (ready["status"], ready["reason"]) == ("False", "GrantRequired")
    degraded = status["conditions"][2]
    assert degraded["status"] == "True"


def test_status_ready_and_not_configured() -> None:
    the_share = share([MAKER], "ok-to-maker")
    decisions = decide(the_share, seen(the_grant=grant(), the_approval=approval()), BUNDLE, NOW)
    path = profile_path(decisions[0].recipient, "steel-plant", "to-maker")
    held = {("Tenant", "equipment-maker"): Held(path, NOW + dt.timedelta(hours=1))}
    ready = build_status(the_share, decisions, held, True, NOW)["conditions"][0]
    assert (ready["status"], ready["reason"]) == ("True", "Shared")
    unset = build_status(the_share, decisions, {}, False, NOW)
    assert unset["conditions"][0]["reason"] == "SharingNotConfigured"
    assert "NIDC_SHARING_ENDPOINT" in unset["conditions"][0]["message"]
    assert unset["tables"] == []
    sealed = build_status(
        the_share, decisions, held, True, NOW, Outcome(False, "OpenBaoSealed", "s", degraded=True)
    )
    assert sealed["conditions"][2]["reason"] == "OpenBaoSealed"


def test_removed_recipients_come_from_the_last_status() -> None:
    the_share = share(
        [MAKER],
        status={
            "recipients": [
                {"kind": "Tenant", "name": "equipment-maker"},
                {"kind": "Region", "name": "west", "profilePath": "regions/west/shares/x/y"},
            ]
        },
    )
    [gone] = removed_recipients(the_share)
    assert (gone.kind, gone.name) == ("Region", "west")


def test_ttl_expiry_and_rotation_timing() -> None:
    ttl = parse_ttl("24h")
    assert ttl == dt.timedelta(hours=24) and parse_ttl("7d") == dt.timedelta(days=7)
    cap = NOW + dt.timedelta(hours=2)
    assert token_expiry(NOW, ttl, None) == NOW + ttl
    assert token_expiry(NOW, ttl, cap) == cap
    fresh = HeldToken("t", NOW + dt.timedelta(hours=20), ENDPOINT)
    assert rotation_reason(fresh, NOW, ttl, None, ENDPOINT) == ""
    old = HeldToken("t", NOW + dt.timedelta(hours=6), ENDPOINT)
    assert "quarter" in rotation_reason(old, NOW, ttl, None, ENDPOINT)
    assert rotation_due(NOW + ttl, ttl) == NOW + dt.timedelta(hours=18)
    # Capped by an approval ending soon: no rotation that would not extend the token...
    capped = HeldToken("t", cap, ENDPOINT)
    assert rotation_reason(capped, NOW, ttl, cap, ENDPOINT) == ""
    # ... but a token outliving a (new, earlier) cap is replaced.
    assert "approval" in rotation_reason(fresh, NOW, ttl, cap, ENDPOINT)
    assert "endpoint" in rotation_reason(fresh, NOW, ttl, None, "https://other/")
    stretched = HeldToken("t", NOW + ttl + dt.timedelta(minutes=1), ENDPOINT)
    assert "beyond" in rotation_reason(stretched, NOW, ttl, None, ENDPOINT)
    expired = HeldToken("t", NOW - dt.timedelta(seconds=1), ENDPOINT)
    assert "expired" in rotation_reason(expired, NOW, ttl, None, ENDPOINT)


def test_profile_round_trip_and_record() -> None:
    expires = NOW + dt.timedelta(hours=24)
    profile = build_profile("secret-token", ENDPOINT, expires)
    assert profile == {
        "shareCredentialsVersion": 1,
        "endpoint": ENDPOINT,
        "bearerToken": "secret-token",
        "expirationTime": "2026-12-01T08:00:00Z",
    }
    DeltaSharingProfile.model_validate(profile)
    held = read_profile(profile)
    assert held == HeldToken("secret-token", expires, ENDPOINT)
    assert read_profile(None) is None and read_profile({"other": 1}) is None
    assert record_path("secret-token") == f"sharing/tokens/{token_sha256('secret-token')}"
    assert len(token_sha256("secret-token")) == 64
    record = build_record("steel-plant", "to-maker", "equipment-maker", expires)
    assert record == {
        "namespace": "steel-plant",
        "share": "to-maker",
        "recipient": "equipment-maker",
        "expiresAt": "2026-12-01T08:00:00Z",
    }
    assert "secret-token" not in str(record)


def test_due_at_expiry_rotation_or_retry() -> None:
    body = {"spec": {"tokenTTL": "24h"}}
    assert next_due(body, {}, NOW) == NOW + RESYNC
    soon = {"recipients": [{"expiresAt": "2026-11-30T08:00:20Z"}]}
    assert next_due(body, soon, NOW) == NOW + dt.timedelta(seconds=20)
    later = {"recipients": [{"expiresAt": "2026-12-01T08:00:00Z"}]}
    assert next_due(body, later, NOW) == NOW + RESYNC
    sealed = {"conditions": [{"type": "Ready", "reason": "OpenBaoSealed"}]}
    assert next_due(body, sealed, NOW) == NOW + OPENBAO_RETRY
    waiting = {"conditions": [{"type": "Ready", "status": "False", "reason": "Waiting"}]}
    assert next_due(body, waiting, NOW) == NOW + GRANT_POLL < NOW + RESYNC
