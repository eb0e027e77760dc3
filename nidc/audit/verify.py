"""Checking a center's log: every record in place and unchanged, every checkpoint signed (pure).

What each kind of tampering looks like here:
- a record modified: its bytes are not what the checkpoints after it signed (root mismatch);
- deleted: a sequence is missing, or (renumbered) the roots no longer match;
- inserted: an extra sequence no checkpoint signed, or (renumbered) the roots differ;
- reordered: a record's sequence is not its object's, or (renumbered) the roots differ;
- truncated: a checkpoint signed more records than there are;
- a checkpoint signed with another key: its signature fails under the trusted key.

The writer signs a checkpoint after every append, so a record no checkpoint covers is a
problem too: an append in progress, one cut off by a crash (the next append signs it), or one
inserted at the end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pydantic import ValidationError

from nidc.audit.checkpoint import Checkpoint, signature_problem
from nidc.audit.merkle import MerkleTree
from nidc.audit.record import AuditRecord
from nidc.audit.store import StoredObject, number_of


@dataclass(frozen=True)
class Problem:
    """What is wrong, and with which object (a record or checkpoint name)."""

    subject: str
    message: str
    # The records (sequences, inclusive) the problem points at, where it can tell.
    first: int | None = None
    last: int | None = None

    def __str__(self) -> str:
        return f"{self.subject}: {self.message}"


@dataclass
class VerifyReport:
    center: str
    records: int = 0
    checkpoints: int = 0
    signed_size: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        state = "OK" if self.ok else f"{len(self.problems)} problem(s)"
        return (
            f"center {self.center}: {self.records} records, {self.checkpoints} checkpoints, "
            f"signed up to tree size {self.signed_size}: {state}"
        )


def check_records(
    center: str, records: Sequence[StoredObject], report: VerifyReport
) -> dict[int, StoredObject]:
    """Each record parses, is canonical, sits under its own sequence; returns them by number."""
    by_number: dict[int, StoredObject] = {}
    for stored in records:
        number = number_of(stored.name)
        if number is None:
            report.problems.append(Problem(stored.name, "not a record's name"))
            continue
        by_number[number] = stored
        try:
            record = AuditRecord.from_bytes(stored.data)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            report.problems.append(
                Problem(
                    stored.name, f"not a valid record ({where}: {first['msg']})", number, number
                )
            )
            continue
        if record.sequence != number:
            report.problems.append(
                Problem(
                    stored.name,
                    f"holds sequence {record.sequence} (moved or reordered)",
                    number,
                    number,
                )
            )
        if record.center != center:
            report.problems.append(
                Problem(stored.name, f"belongs to center {record.center}", number, number)
            )
        if record.canonical_bytes() != stored.data:
            report.problems.append(
                Problem(stored.name, "is not in canonical form (edited)", number, number)
            )
    return by_number


def verify_log(
    center: str,
    records: Sequence[StoredObject],
    checkpoints: Sequence[StoredObject],
    public_keys: Mapping[int, bytes],
    witness: Checkpoint | None = None,
) -> VerifyReport:
    """Every problem of the log, under the trusted key's public keys (version -> raw key).

    `witness` is the newest head published outside the bucket (nidc/audit/witness.py): it is
    checked like a checkpoint, so records cut off together with their checkpoints show."""
    report = VerifyReport(center=center, records=len(records), checkpoints=len(checkpoints))
    by_number = check_records(center, records, report)
    contiguous = 0
    while contiguous in by_number:
        contiguous += 1
    for missing in sorted(set(range(max(by_number, default=-1) + 1)) - set(by_number)):
        report.problems.append(
            Problem(f"record {missing}", "is missing (deleted)", missing, missing)
        )

    parsed: list[tuple[StoredObject, Checkpoint]] = []
    for stored in checkpoints:
        try:
            checkpoint = Checkpoint.from_bytes(stored.data)
        except ValidationError:
            report.problems.append(Problem(stored.name, "not a valid checkpoint"))
            continue
        if number_of(stored.name) != checkpoint.tree_size:
            report.problems.append(
                Problem(stored.name, f"holds tree size {checkpoint.tree_size} (moved)")
            )
        if checkpoint.center != center:
            report.problems.append(Problem(stored.name, f"belongs to center {checkpoint.center}"))
        bad_signature = signature_problem(checkpoint, public_keys)
        if bad_signature:
            report.problems.append(Problem(stored.name, bad_signature))
            continue
        parsed.append((stored, checkpoint))
    if witness is not None:
        subject = StoredObject(f"witness (tree size {witness.tree_size})", witness.to_bytes())
        bad_signature = signature_problem(witness, public_keys)
        if bad_signature or witness.center != center:
            report.problems.append(Problem(subject.name, bad_signature or "another center's"))
        else:
            parsed.append((subject, witness))
    parsed.sort(key=lambda pair: pair[1].tree_size)

    check_roots(parsed, by_number, contiguous, report)
    covered = max((c.tree_size for _, c in parsed), default=0)
    unsigned = [by_number[n].name for n in sorted(by_number) if n >= covered]
    if unsigned:
        report.problems.append(
            Problem(
                unsigned[0],
                f"{len(unsigned)} record(s) from here on are covered by no signed checkpoint "
                "(inserted, or an append cut off before its checkpoint)",
            )
        )
    return report


def check_roots(
    parsed: Sequence[tuple[StoredObject, Checkpoint]],
    by_number: Mapping[int, StoredObject],
    contiguous: int,
    report: VerifyReport,
) -> None:
    """Each signed root against the tree of the stored records, smallest first.

    Only the first mismatch and the first checkpoint past the end are told in full: every
    checkpoint after a changed record disagrees too, and a thousand lines would hide the one
    that points at the record.
    """
    tree = MerkleTree()
    good_size = 0
    mismatched: list[str] = []
    beyond: list[str] = []
    for stored, checkpoint in parsed:
        size = checkpoint.tree_size
        if size > contiguous:
            if not beyond:
                report.problems.append(
                    Problem(
                        stored.name,
                        f"signed {size} records but only {contiguous} are in sequence "
                        f"(truncated or deleted; the last checkpoint that holds is at {good_size})",
                        good_size,
                        size - 1,
                    )
                )
            beyond.append(stored.name)
            continue
        while tree.size < size:
            tree.append(by_number[tree.size].data)
        if tree.root().hex() == checkpoint.root_hash:
            good_size = size
            report.signed_size = max(report.signed_size, size)
        elif not mismatched:
            report.problems.append(
                Problem(stored.name, changed(by_number, good_size, size), good_size, size - 1)
            )
            mismatched.append(stored.name)
        else:
            mismatched.append(stored.name)
    if len(mismatched) > 1:
        report.problems.append(
            Problem(mismatched[-1], f"{len(mismatched) - 1} later checkpoint(s) disagree as well")
        )
    if len(beyond) > 1:
        report.problems.append(
            Problem(beyond[-1], f"{len(beyond) - 1} larger checkpoint(s) are past the end as well")
        )


def changed(by_number: Mapping[int, StoredObject], good_size: int, size: int) -> str:
    """Which records a root mismatch points at: those after the last checkpoint that held."""
    if size - good_size == 1:
        name = by_number[good_size].name
        return f"record {good_size} ({name}) is not what this checkpoint signed (modified)"
    return (
        f"one of records {good_size}..{size - 1} is not what this checkpoint signed "
        "(modified, inserted, deleted or reordered)"
    )
