"""The classify job: grade a Delta table from a bounded sample of its columns.

Reads at most `sampleRows` rows of the columns that need a look, classifies every column with
the rule pack (nidc/governance), and records the outcome in the table's properties:

* `nidc.grade`: the computed grade, max(column grades, declared floor);
* `nidc.classification`: JSON with the rule pack's fingerprint and, per column, domain,
  category, grade, level, confidence and the detectors that hit.

A column already classified under the same rule pack fingerprint is not sampled again; a new
column, or a changed policy (a new fingerprint), triggers a fresh look. The table is reached
through `ClassifiedTable`: delta-rs in a run (no JVM for a sample and a properties commit,
docs/decisions/0193-classify-without-spark.md), Spark where a session is already open. The spec
is `ClassifyJob` (nidc/api/job_specs.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from nidc.api.classification_result import (
    CLASSIFICATION_PROPERTY,
    COLUMNS_IN_TABLE,
    GRADE_PROPERTY,
    RESULT_LIMIT_BYTES,
)
from nidc.api.job_specs import ClassifyJob
from nidc.encryption.table_key import table_key_of
from nidc.governance.column_classifier import (
    ColumnClassification,
    Evidence,
    classify_column,
)
from nidc.governance.grades import level_of
from nidc.governance.rule_pack import compile_policies
from nidc.governance.table_grade import apply_overrides, computed_grade


@dataclass(frozen=True)
class ClassifyResult:
    """What the job found: the table's grade, its columns, and which were sampled."""

    table: str
    version: int
    grade: int
    level: str
    policy_fingerprint: str
    columns: tuple[dict[str, Any], ...]
    sampled: tuple[str, ...]
    reused: tuple[str, ...]
    rejected_overrides: tuple[dict[str, str], ...]
    # The version the job's own properties commit made: an ingest run that reports it found
    # nothing new, so its owner does not classify again (operators/datasource/classify.py).
    committed_version: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """The run's result; without its columns when too large for a termination message
        (they are in the table's properties at `tableVersion`)."""
        full = self.full_dict()
        if len(json.dumps(full).encode()) <= RESULT_LIMIT_BYTES:
            return full
        dropped = ("columns", "sampled", "reused")
        return {**{k: v for k, v in full.items() if k not in dropped}, COLUMNS_IN_TABLE: True}

    def full_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "version": self.version,
            "tableVersion": self.committed_version,
            "grade": self.grade,
            "level": self.level,
            "policyFingerprint": self.policy_fingerprint,
            "columns": list(self.columns),
            "sampled": list(self.sampled),
            "reused": list(self.reused),
            "rejectedOverrides": list(self.rejected_overrides),
        }


def policy_documents(job: ClassifyJob) -> list[dict[str, Any]]:
    return [p.to_document() for p in job.policies]


def policy_fingerprint(policies: Sequence[Mapping[str, Any]]) -> str:
    """A short digest of the policies' specs: a change means every column is looked at again."""
    specs = [{"kind": p.get("kind"), "spec": p.get("spec")} for p in policies]
    return hashlib.sha256(json.dumps(specs, sort_keys=True).encode()).hexdigest()[:16]


def previous_columns(properties: Mapping[str, str], fingerprint: str) -> dict[str, dict[str, Any]]:
    """The columns recorded under the same fingerprint (none when the policies changed)."""
    try:
        recorded = json.loads(properties.get(CLASSIFICATION_PROPERTY, "") or "{}")
    except json.JSONDecodeError:
        return {}
    if recorded.get("policyFingerprint") != fingerprint:
        return {}
    return {c["name"]: c for c in recorded.get("columns", []) if "name" in c}


def encrypted_columns(properties: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The grading the ingest job recorded for each encrypted column (nidc.encryption)."""
    recorded = table_key_of(properties)
    if recorded is None:
        return {}
    return {
        name: dict(column.classification)
        for name, column in recorded.columns.items()
        if column.classification.get("detectedGrade") is not None
    }


def restored(column: Mapping[str, Any]) -> ColumnClassification:
    """What the detectors found in a recorded column (before overrides, which apply anew)."""
    grade = int(column["detectedGrade"])
    category = str(column["detectedCategory"])
    evidence = tuple(
        Evidence(name, "recorded", "recorded", category, grade, 1.0)
        for name in column.get("detectors", [])
    )
    return ColumnClassification(
        column=str(column["name"]),
        domain=column.get("domain"),
        category=category,
        grade=grade,
        level=level_of(grade).level,
        confidence=float(column.get("confidence", 0.0)),
        evidence=evidence,
    )


class ClassifiedTable(Protocol):
    """The table the job reads and records into (an engine's view of one Delta table)."""

    def version_and_properties(self) -> tuple[int, dict[str, str]]: ...

    def column_names(self) -> list[str]: ...

    def sample(self, columns: Sequence[str], rows: int) -> dict[str, list[Any]]:
        """At most `rows` values of each column (one bounded scan)."""
        ...

    def set_properties(self, properties: dict[str, str]) -> None: ...


def classify_table(
    table: ClassifiedTable, spec: ClassifyJob, now: dt.datetime | None = None
) -> ClassifyResult:
    """Classify the table of `spec`; returns the result and records it in the table."""
    when = now or dt.datetime.now(dt.UTC)
    documents = policy_documents(spec)
    pack = compile_policies(documents)
    fingerprint = policy_fingerprint(documents)
    approvals = {
        name: {"spec": terms.model_dump(mode="json", by_alias=True)}
        for name, terms in spec.approvals.items()
    }
    version, properties = table.version_and_properties()
    names = table.column_names()
    known = previous_columns(properties, fingerprint)
    # An encrypted column holds ciphertext: its grading at ingest stands instead of a sample.
    known.update(encrypted_columns(properties))
    to_sample = [n for n in names if n not in known]
    values = table.sample(to_sample, spec.sample_rows) if to_sample else {}
    detected = {
        name: classify_column(pack, name, values[name], default_domain=spec.default_domain)
        for name in to_sample
    }
    detected.update({n: restored(known[n]) for n in names if n in known})
    columns, _, rejected = apply_overrides(
        spec.table, [detected[n] for n in names], pack.overrides, approvals, when
    )
    grade = computed_grade(columns, spec.declared_floor)
    wire = tuple(
        {
            **c.as_dict(),
            "detectedGrade": detected[c.column].grade,
            "detectedCategory": detected[c.column].category,
        }
        for c in columns
    )
    recorded = {
        GRADE_PROPERTY: str(grade),
        CLASSIFICATION_PROPERTY: json.dumps(
            {"policyFingerprint": fingerprint, "columns": wire}, ensure_ascii=False
        ),
    }
    # A retried or repeated run that finds the same result commits nothing: the table's
    # history holds one entry per change of classification, not one per run.
    if any(properties.get(key) != value for key, value in recorded.items()):
        table.set_properties(recorded)
    committed, _ = table.version_and_properties()
    return ClassifyResult(
        table=spec.table,
        version=version,
        committed_version=committed,
        grade=grade,
        level=level_of(grade).level,
        policy_fingerprint=fingerprint,
        columns=wire,
        sampled=tuple(to_sample),
        reused=tuple(n for n in names if n in known),
        rejected_overrides=tuple(
            {"column": r.column, "reason": r.reason, "message": r.message} for r in rejected
        ),
    )
