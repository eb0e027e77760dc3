"""Pure parts of a grant's access: names, S3 and OpenBao policies, credential timing, and the
Delta-to-Spark type names the copy job is given."""

from __future__ import annotations

import datetime as dt
import json
import os
from typing import Any

import pytest

from nidc.api.data_grant import Grantee, GranteeKind
from operators.clients.delta_schema import schema_columns, spark_type
from operators.datagrant.access import (
    CREDENTIAL_TTL,
    RENEW_BEFORE,
    Credential,
    build_openbao_policy,
    build_openbao_role,
    build_s3_policy,
    credential_expiry,
    needs_renewal,
)
from operators.datagrant.names import GrantNames

pytestmark = pytest.mark.unit

NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
NAMES = GrantNames("steel-plant", "analysts-read", "0b7e2c1a-1111-2222-3333-444455556666")


def test_names_are_deterministic_and_minio_sized() -> None:
    again = GrantNames("steel-plant", "analysts-read", "0b7e2c1a-1111-2222-3333-444455556666")
    assert again.access_key == NAMES.access_key
    assert len(NAMES.access_key) <= 20
    assert NAMES.access_key.startswith("grant")
    other_uid = GrantNames("steel-plant", "analysts-read", "ffffffff-1111-2222-3333-444455556666")
    assert other_uid.access_key != NAMES.access_key  # a re-made grant is a new identity
    assert NAMES.credential_api_path == "secret/data/grants/steel-plant/analysts-read"
    assert NAMES.governed_path == "s3a://tenant-steel-plant/governed/analysts-read"
    assert NAMES.governed_prefix == "governed/analysts-read/"
    assert NAMES.openbao_policy == "grant.steel-plant.analysts-read"
    # The HASH key sits where the tenant's jobs read, out of the grantee's policy.
    assert NAMES.hash_key_api_path.startswith("secret/data/tenants/steel-plant/")


def test_s3_policy_reads_only_the_governed_prefix() -> None:
    policy = build_s3_policy(NAMES)
    actions = {a for s in policy["Statement"] for a in s["Action"]}
    assert actions == {"s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject"}
    get_object = next(s for s in policy["Statement"] if s["Action"] == ["s3:GetObject"])
    assert get_object["Resource"] == ["arn:aws:s3:::tenant-steel-plant/governed/analysts-read/*"]
    listing = next(s for s in policy["Statement"] if s["Action"] == ["s3:ListBucket"])
    assert listing["Condition"]["StringLike"]["s3:prefix"] == [
        "governed/analysts-read/",
        "governed/analysts-read/*",
    ]
    assert "Put" not in json.dumps(policy) and "Delete" not in json.dumps(policy)


def test_openbao_policy_reads_only_the_credentials() -> None:
    hcl = build_openbao_policy(NAMES)
    assert 'path "secret/data/grants/steel-plant/analysts-read"' in hcl
    assert '["read"]' in hcl
    assert hcl.count("path ") == 1


@pytest.mark.parametrize(
    ("grantee", "accounts", "namespaces"),
    [
        (Grantee(kind=GranteeKind.TENANT, name="auto-parts"), ["*"], ["auto-parts"]),
        (
            Grantee(kind=GranteeKind.SERVICE_ACCOUNT, name="dashboards"),
            ["dashboards"],
            ["steel-plant"],
        ),
    ],
)
def test_role_binds_the_grantees_service_accounts(
    grantee: Grantee, accounts: list[str], namespaces: list[str]
) -> None:
    role = build_openbao_role(NAMES, grantee)
    assert role["bound_service_account_names"] == accounts
    assert role["bound_service_account_namespaces"] == namespaces
    assert role["token_policies"] == ["grant.steel-plant.analysts-read"]


def test_credentials_never_outlive_the_grant() -> None:
    far = NOW + dt.timedelta(days=30)
    assert credential_expiry(NOW, far) == NOW + CREDENTIAL_TTL
    soon = NOW + dt.timedelta(seconds=40)
    assert credential_expiry(NOW, soon) == soon


def test_renewal_timing() -> None:
    far = NOW + dt.timedelta(days=30)
    fresh = NOW + CREDENTIAL_TTL
    assert not needs_renewal(fresh, far, NOW)
    assert needs_renewal(NOW + RENEW_BEFORE - dt.timedelta(seconds=1), far, NOW)
    # Already at the grant's end: nothing to renew to.
    assert not needs_renewal(NOW + dt.timedelta(minutes=5), NOW + dt.timedelta(minutes=5), NOW)
    # The grant was shortened below the credentials' expiry: shorten them.
    assert needs_renewal(fresh, NOW + dt.timedelta(minutes=20), NOW)


def test_credential_record_round_trip_and_repr_hides_the_secret() -> None:
    credential = Credential(NAMES.access_key, "s3cr3t-value", NOW + CREDENTIAL_TTL)
    record = credential.record(NAMES, "https://127.0.0.1:9000")
    assert record["expiresAt"] == "2026-11-30T09:00:00Z"
    assert record["prefix"] == "governed/analysts-read/"
    assert Credential.from_record(record) == credential
    assert "s3cr3t-value" not in repr(credential)
    assert Credential.from_record(None) is None
    assert Credential.from_record({"accessKey": "x"}) is None


def test_delta_types_as_spark_names() -> None:
    assert spark_type("long") == "bigint"
    assert spark_type("integer") == "int"
    assert spark_type("string") == "string"
    assert spark_type("decimal(10,2)") == "decimal(10,2)"
    assert spark_type({"type": "array", "elementType": "short", "containsNull": True}) == (
        "array<smallint>"
    )
    nested = {
        "type": "struct",
        "fields": [{"name": "a", "type": "integer"}, {"name": "b", "type": "timestamp"}],
    }
    assert spark_type(nested) == "struct<a:int,b:timestamp>"
    assert spark_type({"type": "map", "keyType": "string", "valueType": "double"}) == (
        "map<string,double>"
    )
    schema = {"type": "struct", "fields": [{"name": "plant", "type": "string"}]}
    assert schema_columns(schema) == [("plant", "string")]
    with pytest.raises(ValueError, match="unknown Delta type"):
        spark_type({"type": "variant-ish"})


def test_a_sealed_openbao_is_an_unavailable_dependency() -> None:
    """Other reconcilers retry quietly while a grant's test (or an operator) seals OpenBao."""
    from hvac.exceptions import VaultDown

    from operators.reconciling.errors import is_unavailable

    assert is_unavailable(VaultDown("Vault is sealed"))


def test_audit_events_are_adoptable_and_carry_no_secret() -> None:
    from operators.datagrant.audit_events import (
        issued_event,
        refused_event,
        renewed_event,
        revoked_event,
    )
    from operators.reconciling.conditions import Problem

    expires = NOW + CREDENTIAL_TTL
    issued = issued_event(NAMES, "Tenant auto-parts", expires)
    assert issued == issued_event(NAMES, "Tenant auto-parts", expires)  # same id: adopted
    assert issued.action == "grant.credential.issued" and issued.decision == "allow"
    assert issued.details["credentialPath"] == NAMES.credential_api_path
    assert "secretKey" not in json.dumps(issued.details)
    assert renewed_event(NAMES, expires).record_id != issued.record_id
    revoked = revoked_event(NAMES, 3, "Expired", "access ended")
    assert revoked.record_id.endswith("/g3/revoked/Expired") and revoked.decision == "revoke"
    refused = refused_event(NAMES, 3, [Problem("ClearanceTooLow", "too low")])
    assert refused.decision == "deny" and refused.resource.text == (
        "DataGrant/steel-plant/analysts-read"
    )


def test_platform_ca_is_added_to_the_trusted_bundle(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pathlib import Path

    from nidc.delta_trust import trust_platform_ca

    system = tmp_path / "system.pem"
    system.write_text("SYSTEM ROOTS\n")
    platform_ca = tmp_path / "ca.pem"
    platform_ca.write_text("PLATFORM CA\n")
    monkeypatch.setenv("SSL_CERT_FILE", str(system))
    trust_platform_ca(platform_ca)
    bundle = Path(os.environ["SSL_CERT_FILE"]).read_text()
    assert "SYSTEM ROOTS" in bundle and "PLATFORM CA" in bundle
    assert system.read_text() == "SYSTEM ROOTS\n"  # the system's bundle is left as it was
    trusted = os.environ["SSL_CERT_FILE"]
    trust_platform_ca(platform_ca)
    assert os.environ["SSL_CERT_FILE"] == trusted  # once is enough
    monkeypatch.delenv("SSL_CERT_FILE")
    trust_platform_ca(platform_ca)
    assert os.environ["SSL_CERT_FILE"] == str(platform_ca)


def test_minio_gets_at_least_its_minimum_expiration() -> None:
    from operators.clients.service_accounts import MINIMUM_EXPIRATION, account_expiration

    assert account_expiration(NOW + CREDENTIAL_TTL, NOW) == NOW + CREDENTIAL_TTL
    soon = NOW + dt.timedelta(seconds=12)
    assert account_expiration(soon, NOW) == NOW + MINIMUM_EXPIRATION


def test_a_run_status_keeps_only_classified_columns() -> None:
    """A governed-copy job returns its column names; the run's status (whose `columns` are the
    classify job's objects) must not carry them, or the API server refuses the whole patch."""
    from operators.runs.state_machine import RunStatus
    from operators.runs.transitions import write_status

    names = write_status(RunStatus(result={"tableVersion": 1, "columns": ["line", "samples"]}))
    assert names["columns"] is None and names["tableVersion"] == 1
    classified = [{"name": "line", "category": "c", "grade": 1, "confidence": 1.0}]
    assert write_status(RunStatus(result={"columns": classified}))["columns"] == classified
