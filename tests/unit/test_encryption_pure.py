"""Column encryption's pure parts: the table's key record, which columns, policies, MinIO's key."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from nidc.api.addressing import TenantNames
from nidc.api.data_source import DataSource
from nidc.encryption.table_key import (
    ENCRYPTION_PROPERTY,
    EncryptedColumn,
    EncryptionRecordError,
    TableKey,
    column_encrypted_grades,
    columns_to_encrypt,
    key_version_of,
    recorded_grades,
    table_key_of,
)
from nidc.encryption.transit import DataKey
from nidc.governance.column_classifier import classify_column
from nidc.governance.grade_bundle import grade_bundle, parse_bundle
from nidc.governance.policy_files import policies_dir
from nidc.governance.rule_pack import compile_policies
from nidc.local.servers.minio import build_kms_secret_key
from operators.datasource.build import build_column_encryption, build_ingest_job
from operators.tenant.build import build_column_key_policy, build_jobs_role

pytestmark = pytest.mark.unit


def baseline() -> dict[str, Any]:
    path = policies_dir() / "classification" / "national-baseline.yaml"
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return document


def test_the_table_key_record_round_trips_and_holds_no_plaintext() -> None:
    key = TableKey("transit", "tenant-acme", 2, "vault:v2:abc").with_columns(
        [EncryptedColumn("recipe", "string", classification={"name": "recipe", "grade": 3})]
    )
    value = key.to_property()
    assert table_key_of({ENCRYPTION_PROPERTY: value}) == key
    assert set(json.loads(value)) == {
        "scheme", "transitMount", "transitKey", "keyVersion", "wrappedKey", "columns"
    }  # fmt: skip
    assert table_key_of({}) is None


def test_a_column_already_encrypted_keeps_its_record() -> None:
    first = EncryptedColumn("recipe", "string")
    key = TableKey("transit", "k", 1, "vault:v1:x").with_columns([first])
    again = key.with_columns([EncryptedColumn("recipe", "int"), EncryptedColumn("gcode", "string")])
    assert again.columns["recipe"] == first
    assert set(again.columns) == {"recipe", "gcode"}


def test_rewrapping_changes_only_the_wrapped_key_and_its_version() -> None:
    key = TableKey("transit", "k", 1, "vault:v1:x", {"a": EncryptedColumn("a", "string")})
    moved = key.rewrapped("vault:v2:y", 2)
    assert (moved.wrapped_key, moved.key_version, moved.columns) == ("vault:v2:y", 2, key.columns)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{", "nidc.encryption"),
        (json.dumps({"scheme": "rot13"}), "unknown scheme"),
        (json.dumps({"scheme": "aes-256-gcm/openbao-transit-envelope/v1"}), "transitMount"),
    ],
)
def test_a_broken_record_is_refused_saying_why(value: str, message: str) -> None:
    with pytest.raises(EncryptionRecordError, match=message):
        table_key_of({ENCRYPTION_PROPERTY: value})


def test_key_versions_are_read_from_wrapped_keys() -> None:
    assert key_version_of("vault:v12:Zm9v") == 12
    for bad in ("v1:abc", "vault:x1:abc", "vault:vX:abc"):
        with pytest.raises(EncryptionRecordError):
            key_version_of(bad)


def test_the_bundle_decides_which_grades_are_column_encrypted() -> None:
    bundle = grade_bundle()
    assert column_encrypted_grades(bundle) == {3}
    pack = compile_policies([baseline()])
    graded = [
        classify_column(pack, "recipe", ["CANARY-1"] * 5),
        classify_column(pack, "temperature", [20.5, 21.0, 22.5]),
        classify_column(pack, "machine_ip", ["10.0.0.1", "10.0.0.2", "10.0.0.3"]),
    ]
    assert [c.column for c in columns_to_encrypt(graded, {}, bundle)] == ["recipe"]
    # A classify run's recorded grade counts too (the higher one wins).
    assert [c.column for c in columns_to_encrypt(graded, {"temperature": 3}, bundle)] == [
        "recipe",
        "temperature",
    ]
    # Change the bundle: grade 2 encrypted at column level too, and the IP column follows.
    raw = yaml.safe_load((policies_dir() / "grades.yaml").read_text(encoding="utf-8"))
    raw["grades"][2]["encryption"]["atRest"] = "column"
    stricter = parse_bundle(raw)
    assert [c.column for c in columns_to_encrypt(graded, {}, stricter)] == [
        "recipe",
        "machine_ip",
    ]


def test_recorded_grades_come_from_a_classify_result() -> None:
    recorded = {"columns": [{"name": "a", "grade": 3}, {"name": "b"}, "junk"]}
    assert recorded_grades(recorded) == {"a": 3, "b": 1}


def test_a_data_key_never_prints_its_plaintext() -> None:
    key = DataKey(b"\x01" * 32, "vault:v1:abcdefghijklmnopqrstuvwxyz", 1)
    assert "\\x01" not in repr(key) and "01010101" not in repr(key)


def test_the_column_key_policy_names_only_the_tenants_key() -> None:
    names = TenantNames("acme")
    policy = build_column_key_policy(names)
    paths = [line.split('"')[1] for line in policy.splitlines() if line.startswith("path")]
    assert paths == [
        "transit/datakey/plaintext/tenant-acme",
        "transit/decrypt/tenant-acme",
        "transit/rewrap/tenant-acme",
        "transit/keys/tenant-acme",
    ]
    assert "rotate" not in policy and "*" not in policy


def test_only_the_job_service_account_gets_the_column_key() -> None:
    role = build_jobs_role(TenantNames("acme"), "nidc-spark")
    assert role["bound_service_account_names"] == ["nidc-spark"]
    assert role["bound_service_account_namespaces"] == ["acme"]
    assert role["token_policies"] == ["tenant-acme", "tenant-acme-column-key"]


def test_the_minio_kms_key_has_minios_form() -> None:
    value = build_kms_secret_key("nidc-local-sse", bytes(range(32)))
    name, encoded = value.split(":")
    assert name == "nidc-local-sse" and len(encoded) == 44
    with pytest.raises(ValueError, match="32 bytes"):
        build_kms_secret_key("k", b"short")


def source(kind: str) -> DataSource:
    spec: dict[str, Any] = {
        "type": kind,
        "endpoint": "opc.tcp://cnc:4840",
        "domain": "production-operation",
        "enterprisePrefix": "88.118.8",
        "targetTable": "bronze.recipes",
        "continuous": True,
        "points": [{"name": "temp", "address": "ns=2;s=T", "identifier": "88.118.8/C.temp"}],
    }
    if kind == "files":
        spec.update(files={"format": "csv", "prefix": "recipes/"}, points=None)
    return DataSource.from_body(
        {
            "apiVersion": "nidc.io/v1alpha1",
            "kind": "DataSource",
            "metadata": {"name": "recipes", "namespace": "acme", "uid": "u-1", "generation": 1},
            "spec": {k: v for k, v in spec.items() if v is not None},
        }
    )


def test_the_ingest_job_grades_with_the_classify_jobs_policies() -> None:
    policy = {**baseline(), "metadata": {"name": "national-baseline"}}
    files = source("files")
    encryption = build_column_encryption(files, [policy], [])
    assert encryption is not None
    assert encryption.transit_key == "tenant-acme"
    assert encryption.grading.path == "s3a://tenant-acme/bronze/recipes"
    job = build_ingest_job(files, {}, encryption)
    spec = job.model_dump(mode="json", by_alias=True)
    assert type(job).model_validate(spec).encryption == encryption
    # Nothing to grade with, or a device source: no grading at ingest (and no key token).
    assert build_column_encryption(files, [], []) is None
    assert build_column_encryption(source("opcua"), [policy], []) is None


def test_only_jobs_that_grade_get_a_column_key_token() -> None:
    policy = {**baseline(), "metadata": {"name": "national-baseline"}}
    files = source("files")
    assert build_ingest_job(files, {}, build_column_encryption(files, [policy], [])).uses_column_key
    assert not build_ingest_job(files, {}, None).uses_column_key
    assert not build_ingest_job(source("opcua"), {}).uses_column_key
