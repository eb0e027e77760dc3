"""Issue 22, Must show 5: verification finds every modified, deleted, inserted, reordered or
truncated record of a 1,000-record log, and a checkpoint signed with the wrong key.

Property-based (hypothesis): which record, which field, whether the attacker renumbers what
follows to hide a gap, are drawn. The log has a signed checkpoint every 10 records and at the
end (the writer signs after every append; 10 keeps 25 examples of 7 properties near 20 s on a
loaded machine), signed with an in-process Ed25519 key; tests/integration/test_audit_trail.py
does the same against MinIO and OpenBao transit.
"""

from __future__ import annotations

import functools

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from nidc.audit.checkpoint import Checkpoint, Ed25519Signer, sign_checkpoint
from nidc.audit.record import AuditRecord
from nidc.audit.store import CHECKPOINTS, RECORDS, StoredObject, number_of, object_name
from nidc.audit.verify import VerifyReport, verify_log
from tests.unit.test_audit_log import T0, build_log, make_record

SIZE = 1000
EVERY = 10
CENTER = "local"
SIGNER = Ed25519Signer("nidc-audit")
PROPERTY = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
index = st.integers(min_value=0, max_value=SIZE - 1)


@functools.cache
def pristine() -> tuple[tuple[StoredObject, ...], tuple[StoredObject, ...]]:
    records, checkpoints = build_log(SIZE, SIGNER, every=EVERY, center=CENTER)
    return tuple(records), tuple(checkpoints)


def verify(
    records: list[StoredObject], checkpoints: list[StoredObject] | None = None
) -> VerifyReport:
    return verify_log(
        CENTER,
        records,
        list(pristine()[1]) if checkpoints is None else checkpoints,
        SIGNER.public_keys(),
    )


def renumbered(records: list[AuditRecord]) -> list[StoredObject]:
    """The records re-sequenced 0..n-1 under matching names: what hides a gap or a move."""
    return [
        StoredObject(
            object_name(CENTER, RECORDS, n),
            r.model_copy(update={"sequence": n}).canonical_bytes(),
        )
        for n, r in enumerate(records)
    ]


def parsed() -> list[AuditRecord]:
    return [AuditRecord.from_bytes(o.data) for o in pristine()[0]]


def test_the_untouched_log_verifies() -> None:
    report = verify(list(pristine()[0]))
    assert report.ok, report.problems[:3]
    assert (report.records, report.checkpoints, report.signed_size) == (SIZE, SIZE // EVERY, SIZE)


def test_with_a_checkpoint_per_record_the_modified_record_is_named_exactly() -> None:
    records, checkpoints = build_log(SIZE, SIGNER, every=1, center=CENTER)
    record = AuditRecord.from_bytes(records[417].data)
    edited = record.model_copy(update={"decision": "refused"}).canonical_bytes()
    records[417] = StoredObject(records[417].name, edited)
    report = verify(records, checkpoints)
    assert [(p.first, p.last) for p in report.problems] == [(417, 417), (None, None)]
    assert f"{SIZE - 418} later checkpoint(s) disagree" in report.problems[1].message
    assert "record 417 (local/records/000000000417.json)" in report.problems[0].message


def points_at(report: VerifyReport, position: int) -> bool:
    """Some problem names the record at `position` (alone, or within a range)."""
    return any(
        p.first is not None and p.last is not None and p.first <= position <= p.last
        for p in report.problems
    )


@PROPERTY
@given(
    position=index,
    field=st.sampled_from(["actor", "decision", "reason", "trace_id", "details", "time"]),
    raw=st.booleans(),
    flip=st.integers(min_value=0, max_value=10_000),
)
def test_a_modified_record_is_found_and_named(
    position: int, field: str, raw: bool, flip: int
) -> None:
    records = list(pristine()[0])
    stored = records[position]
    if raw:  # one byte changed in the object, whatever it breaks
        data = bytearray(stored.data)
        at = flip % len(data)
        data[at] = (data[at] + 1 + flip % 254) % 256
        changed = bytes(data)
    else:  # a well-formed record with one field changed, re-serialised canonically
        record = AuditRecord.from_bytes(stored.data)
        values = {
            "actor": "someone-else",
            "decision": "refused",
            "reason": "edited",
            "trace_id": "f" * 32,
            "details": {"attempt": 2},
            "time": record.time.replace(year=2025),
        }
        changed = record.model_copy(update={field: values[field]}).canonical_bytes()
    records[position] = StoredObject(stored.name, changed)
    report = verify(records)
    assert not report.ok
    assert points_at(report, position), report.problems[:3]


@PROPERTY
@given(position=index, renumber=st.booleans())
@example(position=0, renumber=True)
@example(position=SIZE - 1, renumber=False)
def test_a_deleted_record_is_found(position: int, renumber: bool) -> None:
    if renumber:
        kept = parsed()
        del kept[position]
        records = renumbered(kept)
    else:
        records = list(pristine()[0])
        del records[position]
    report = verify(records)
    assert not report.ok
    # A gap names the sequence; the last record gone is a truncation; renumbered, the first
    # checkpoint that no longer matches names the range it lies in.
    assert points_at(report, position), report.problems[:3]


@PROPERTY
@given(
    position=st.integers(min_value=0, max_value=SIZE),
    renumber=st.booleans(),
    sequence=st.integers(min_value=0, max_value=SIZE + 5),
)
@example(position=0, renumber=True, sequence=0)
@example(position=SIZE, renumber=True, sequence=SIZE)
def test_an_inserted_record_is_found(position: int, renumber: bool, sequence: int) -> None:
    forged = make_record(sequence).model_copy(update={"actor": "intruder", "id": "forged"})
    if renumber:
        records_list = parsed()
        records_list.insert(position, forged)
        records = renumbered(records_list)
    else:  # written under a free or taken name, its sequence as the attacker chose
        records = list(pristine()[0])
        name = object_name(CENTER, RECORDS, SIZE + position)
        records.append(StoredObject(name, forged.canonical_bytes()))
    assert not verify(records).ok


@PROPERTY
@given(first=index, second=index, renumber=st.booleans())
@example(first=0, second=SIZE - 1, renumber=True)
def test_reordered_records_are_found(first: int, second: int, renumber: bool) -> None:
    if first == second:
        second = (first + 1) % SIZE
    if renumber:
        records_list = parsed()
        records_list[first], records_list[second] = records_list[second], records_list[first]
        records = renumbered(records_list)
    else:  # the objects' contents swapped, names kept
        records = list(pristine()[0])
        a, b = records[first], records[second]
        records[first], records[second] = (
            StoredObject(a.name, b.data),
            StoredObject(b.name, a.data),
        )
    report = verify(records)
    assert not report.ok
    assert points_at(report, min(first, second))


@PROPERTY
@given(cut=st.integers(min_value=1, max_value=SIZE))
@example(cut=1)
@example(cut=SIZE)
def test_a_truncated_log_is_found(cut: int) -> None:
    records = list(pristine()[0])[: SIZE - cut]
    report = verify(records)
    assert not report.ok
    assert any("truncated" in p.message for p in report.problems)


@PROPERTY
@given(position=st.integers(min_value=0, max_value=SIZE // EVERY - 1), same_name=st.booleans())
def test_a_checkpoint_signed_with_the_wrong_key_is_found(position: int, same_name: bool) -> None:
    intruder = Ed25519Signer("nidc-audit" if same_name else "other-key")
    checkpoints = list(pristine()[1])
    original = checkpoints[position]
    genuine = Checkpoint.from_bytes(original.data)
    forged = sign_checkpoint(
        intruder, CENTER, genuine.tree_size, bytes.fromhex(genuine.root_hash), T0
    )
    checkpoints[position] = StoredObject(
        object_name(CENTER, CHECKPOINTS, genuine.tree_size), forged.to_bytes()
    )
    report = verify(list(pristine()[0]), checkpoints)
    assert not report.ok
    assert any(p.subject == original.name and "signature" in p.message for p in report.problems)


@PROPERTY
@given(cut=st.integers(min_value=1, max_value=SIZE))
@example(cut=1)
def test_records_cut_with_their_checkpoints_are_found_by_the_witness(cut: int) -> None:
    """The newest head, also kept outside the bucket, shows a log cut together with its
    checkpoints (which, without it, verifies as a shorter log)."""
    kept = (SIZE - cut) // EVERY * EVERY  # cut back to a checkpoint, as an attacker would
    records = list(pristine()[0])[:kept]
    checkpoints = [c for c in pristine()[1] if (number_of(c.name) or 0) <= kept]
    assert verify(records, checkpoints).ok  # what the bucket alone cannot tell
    witness = Checkpoint.from_bytes(pristine()[1][-1].data)
    report = verify_log(CENTER, records, checkpoints, SIGNER.public_keys(), witness)
    assert not report.ok
    assert any(
        p.subject.startswith("witness") and "truncated" in p.message for p in report.problems
    )


def test_a_witness_signed_with_another_key_is_refused() -> None:
    genuine = Checkpoint.from_bytes(pristine()[1][-1].data)
    forged = sign_checkpoint(
        Ed25519Signer("nidc-audit"), CENTER, SIZE, bytes.fromhex(genuine.root_hash), T0
    )
    report = verify_log(
        CENTER, list(pristine()[0]), list(pristine()[1]), SIGNER.public_keys(), forged
    )
    assert [p.subject for p in report.problems] == [f"witness (tree size {SIZE})"]
    assert verify_log(
        CENTER, list(pristine()[0]), list(pristine()[1]), SIGNER.public_keys(), genuine
    ).ok
