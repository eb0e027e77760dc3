"""The audit log's pure parts: records, the RFC 9162 tree, checkpoints, redaction, the
verifier on an untouched log."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest

from nidc.audit.checkpoint import Ed25519Signer, sign_checkpoint, signature_problem
from nidc.audit.merkle import EMPTY_ROOT, MerkleTree, leaf_hash, node_hash, tree_root
from nidc.audit.record import AuditRecord, Resource
from nidc.audit.redaction import REDACTED, redact
from nidc.audit.store import CHECKPOINTS, RECORDS, StoredObject, number_of, object_name
from nidc.audit.verify import verify_log

T0 = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)
CANARY = "canary-9f4c1d7e-do-not-store"


def make_record(sequence: int, center: str = "local") -> AuditRecord:
    return AuditRecord(
        sequence=sequence,
        id=f"test/{sequence}",
        time=T0 + dt.timedelta(seconds=sequence),
        center=center,
        actor="system:serviceaccount:nidc-system:nidc-operator",
        action="run.started",
        resource=Resource(kind="PipelineRun", namespace="plant-a", name=f"run-{sequence}"),
        decision="submitted",
        reason="attempt 1",
        trace_id=f"{sequence:032x}",
        details={"attempt": 1, "jobType": "ingest"},
    )


def test_leaf_and_node_hashes_are_rfc9162s() -> None:
    assert leaf_hash(b"a") == hashlib.sha256(b"\x00a").digest()
    assert node_hash(b"l", b"r") == hashlib.sha256(b"\x01lr").digest()
    assert tree_root([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    # Three leaves: the left subtree holds two (the largest power of two below three).
    a, b, c = (leaf_hash(x) for x in (b"a", b"b", b"c"))
    assert tree_root([b"a", b"b", b"c"]) == node_hash(node_hash(a, b), c)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 8, 9, 16, 17, 31, 100])
def test_incremental_root_is_the_recursive_definitions(size: int) -> None:
    leaves = [f"record {i}".encode() for i in range(size)]
    tree = MerkleTree()
    for n, leaf in enumerate(leaves, start=1):
        tree.append(leaf)
        assert tree.root() == tree_root(leaves[:n])
    assert tree.size == size


def test_canonical_bytes_round_trip_and_sorted_keys() -> None:
    record = make_record(7)
    data = record.canonical_bytes()
    assert AuditRecord.from_bytes(data) == record
    assert AuditRecord.from_bytes(data).canonical_bytes() == data
    assert data.startswith(b'{"action":"run.started","actor":')
    assert b" " not in data.replace(b"attempt 1", b"")


def test_resource_text_parses_back() -> None:
    resource = Resource(kind="DataSource", namespace="plant-a", name="press-line")
    assert Resource.parse(resource.text) == resource
    assert Resource.parse("Tenant//plant-a").namespace == ""
    with pytest.raises(ValueError, match="KIND/NAMESPACE/NAME"):
        Resource.parse("DataSource/press-line")


def test_object_names_are_zero_padded_and_parse_back() -> None:
    name = object_name("east", RECORDS, 42)
    assert name == "east/records/000000000042.json"
    assert number_of(name) == 42
    assert number_of("east/records/notes.txt") is None


def test_redaction_by_key_name_and_by_value_shape() -> None:
    details = {
        "password": CANARY,
        "nested": {"secretKey": CANARY, "accessKey": "plant-a-user", "rows": 3},
        "list": [{"api_key": CANARY}, "ok"],
        "note": f"login with hvs.{CANARY}abcdefghijkl",
        "bearer": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
        "empty_token": "",
    }
    clean, paths = redact(details)
    assert CANARY not in repr(clean)
    assert "eyJhbGciOiJSUzI1NiJ9" not in repr(clean)
    assert clean["password"] == REDACTED
    assert clean["nested"]["accessKey"] == "plant-a-user"
    assert clean["nested"]["rows"] == 3
    assert clean["list"][1] == "ok"
    assert sorted(paths) == sorted(
        ["password", "nested.secretKey", "list[0].api_key", "note", "bearer"]
    )


def build_log(
    size: int, signer: Ed25519Signer, every: int = 1, center: str = "local"
) -> tuple[list[StoredObject], list[StoredObject]]:
    """A log of `size` records with a checkpoint every `every` records and at the end."""
    records: list[StoredObject] = []
    checkpoints: list[StoredObject] = []
    tree = MerkleTree()
    for sequence in range(size):
        data = make_record(sequence, center).canonical_bytes()
        records.append(StoredObject(object_name(center, RECORDS, sequence), data))
        tree.append(data)
        if tree.size % every == 0 or tree.size == size:
            checkpoint = sign_checkpoint(signer, center, tree.size, tree.root(), T0)
            checkpoints.append(
                StoredObject(object_name(center, CHECKPOINTS, tree.size), checkpoint.to_bytes())
            )
    return records, checkpoints


def test_an_untouched_log_verifies() -> None:
    signer = Ed25519Signer("nidc-audit")
    records, checkpoints = build_log(50, signer, every=7)
    report = verify_log("local", records, checkpoints, signer.public_keys())
    assert report.ok, report.problems
    assert (report.records, report.checkpoints, report.signed_size) == (50, 8, 50)


def test_checkpoint_signature_needs_the_trusted_key() -> None:
    signer, other = Ed25519Signer("nidc-audit"), Ed25519Signer("nidc-audit")
    checkpoint = sign_checkpoint(signer, "local", 3, b"\x01" * 32, T0)
    assert signature_problem(checkpoint, signer.public_keys()) is None
    assert "does not verify" in str(signature_problem(checkpoint, other.public_keys()))
    assert "lacks" in str(signature_problem(checkpoint, {2: signer.public_keys()[1]}))
    moved = checkpoint.model_copy(update={"tree_size": 4})
    assert signature_problem(moved, signer.public_keys()) is not None


def test_records_after_the_last_checkpoint_are_a_problem() -> None:
    signer = Ed25519Signer("nidc-audit")
    records, checkpoints = build_log(10, signer, every=5)
    extra = make_record(10).canonical_bytes()
    records.append(StoredObject(object_name("local", RECORDS, 10), extra))
    report = verify_log("local", records, checkpoints, signer.public_keys())
    assert [p.subject for p in report.problems] == ["local/records/000000000010.json"]
    assert "covered by no signed checkpoint" in report.problems[0].message
