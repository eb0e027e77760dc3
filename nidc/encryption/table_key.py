"""A table's encryption record, as kept in its Delta properties, and which columns it covers (pure).

Envelope encryption: each table has one data key (AES-256), made by OpenBao's transit engine
under the tenant's transit key. The table keeps only the key's wrapped form and the transit key
version that wrapped it (`nidc.encryption`); the plaintext key lives in a job's memory while it
runs, never in a file, a property, a log or a span.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from nidc.governance.column_classifier import ColumnClassification
from nidc.governance.grade_bundle import GradeBundle

ENCRYPTION_PROPERTY = "nidc.encryption"
SCHEME = "aes-256-gcm/openbao-transit-envelope/v1"
# How a column's ciphertext is stored: `binary` (aes_encrypt's output as is) in data tables;
# `base64` (text) in quarantine, whose schema is fixed for every source.
BINARY = "binary"
BASE64 = "base64"


class EncryptionRecordError(ValueError):
    """A table's `nidc.encryption` property that does not parse (the message says why)."""


@dataclass(frozen=True)
class EncryptedColumn:
    """One encrypted column: its clear type, how the ciphertext is stored, why it is encrypted.

    `classification` is the column's grading at ingest, in the shape the classify job records
    (name, detectedGrade, detectedCategory, detectors, ...): the classify job sees ciphertext in
    the column and keeps this instead of sampling it.
    """

    name: str
    clear_type: str
    encoding: str = BINARY
    classification: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "type": self.clear_type,
            "encoding": self.encoding,
            "classification": dict(self.classification),
        }


@dataclass(frozen=True)
class TableKey:
    """The table's wrapped data key, the transit key (and version) that wrapped it, the columns."""

    transit_mount: str
    transit_key: str
    key_version: int
    wrapped_key: str
    columns: Mapping[str, EncryptedColumn] = field(default_factory=dict)

    def with_columns(self, columns: Iterable[EncryptedColumn]) -> TableKey:
        """This key covering `columns` too (columns already covered keep their record)."""
        merged = dict(self.columns)
        for column in columns:
            merged.setdefault(column.name, column)
        return replace(self, columns=merged)

    def rewrapped(self, wrapped_key: str, key_version: int) -> TableKey:
        return replace(self, wrapped_key=wrapped_key, key_version=key_version)

    def to_property(self) -> str:
        """The `nidc.encryption` property's value (no plaintext key: there is none here)."""
        return json.dumps(
            {
                "scheme": SCHEME,
                "transitMount": self.transit_mount,
                "transitKey": self.transit_key,
                "keyVersion": self.key_version,
                "wrappedKey": self.wrapped_key,
                "columns": {n: c.as_dict() for n, c in sorted(self.columns.items())},
            },
            sort_keys=True,
            ensure_ascii=False,
        )


def key_version_of(wrapped: str) -> int:
    """The transit key version of a wrapped value: `vault:v3:...` -> 3."""
    parts = wrapped.split(":", 2)
    if len(parts) != 3 or parts[0] != "vault" or not parts[1].startswith("v"):
        raise EncryptionRecordError("a wrapped key is vault:v<version>:<ciphertext>")
    digits = parts[1][1:]
    if not digits.isdigit():
        raise EncryptionRecordError(f"a wrapped key's version is not a number: {parts[1]!r}")
    return int(digits)


def table_key_of(properties: Mapping[str, str]) -> TableKey | None:
    """The table's record, or None when the table has no encrypted column."""
    raw = properties.get(ENCRYPTION_PROPERTY)
    if not raw:
        return None
    try:
        record = json.loads(raw)
        if record.get("scheme") != SCHEME:
            raise EncryptionRecordError(f"unknown scheme {record.get('scheme')!r}")
        columns = {
            name: EncryptedColumn(
                name=name,
                clear_type=str(column["type"]),
                encoding=str(column.get("encoding", BINARY)),
                classification=dict(column.get("classification") or {}),
            )
            for name, column in (record.get("columns") or {}).items()
        }
        return TableKey(
            transit_mount=str(record["transitMount"]),
            transit_key=str(record["transitKey"]),
            key_version=int(record["keyVersion"]),
            wrapped_key=str(record["wrappedKey"]),
            columns=columns,
        )
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise EncryptionRecordError(f"{ENCRYPTION_PROPERTY}: {error}") from None


def column_encrypted_grades(bundle: GradeBundle) -> frozenset[int]:
    """The grades whose columns the bundle says are encrypted at column level."""
    return frozenset(
        int(grade) for grade, controls in bundle.grades.items()
        if controls.encryption.at_rest == "column"
    )  # fmt: skip


def recorded_grades(classification: Mapping[str, Any]) -> dict[str, int]:
    """Column grades a classify run recorded (`nidc.classification`), whatever its policies."""
    return {
        str(c["name"]): int(c.get("grade", 1))
        for c in classification.get("columns", [])
        if isinstance(c, Mapping) and "name" in c
    }


def columns_to_encrypt(
    graded: Iterable[ColumnClassification],
    recorded: Mapping[str, int],
    bundle: GradeBundle,
) -> list[ColumnClassification]:
    """The columns whose grade (what the engine found now after overrides, or what a classify
    run recorded before, whichever is higher: 就高从严) the bundle encrypts at column level."""
    encrypted = column_encrypted_grades(bundle)
    return [
        c for c in graded if max(c.grade, recorded.get(c.column, 1)) in encrypted
    ]  # fmt: skip


def classification_record(
    column: ColumnClassification, detected: ColumnClassification
) -> dict[str, Any]:
    """A column's grading in the shape spark_jobs/classify/job.py records and restores."""
    return {
        **column.as_dict(),
        "detectedGrade": detected.grade,
        "detectedCategory": detected.category,
    }
