"""When a table's owner has it classified, and what the owner's status says of it (pure).

The owner is a DataSource (its bronze table) or a DataProduct (its product table). A classify
run is due for each (table version, policies hash): the version the last successful
ingest run committed, and a digest of everything the grade depends on besides the data (the
classification policies, the tenant's ExportApprovals, the declared floor and domain). Its
PipelineRun is named from that pair, so a pass that wants it again adopts it; a failed one is not
retried until the table or the policies move (the run itself retries its attempts). A
classify run and the owner's writing run (ingest, transform) never run at once: both write the
table (data, properties).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nidc.api.classification_result import Classification, ClassifiedColumn
from nidc.api.data_product import DataProduct
from nidc.api.data_source import DataSource
from nidc.api.job_specs import JobSpecBase
from nidc.api.schema import GROUP
from nidc.governance.resampling import resample_at
from operators.reconciling.audit import AuditEvent, resource_of
from operators.reconciling.conditions import Outcome
from operators.runs.naming import keyed_run_name
from operators.runs.plan import Plan, RunHistory, failure_message
from operators.runs.record import RecordedRun, build_run_record

CLASSIFY = "classify"
TABLE_VERSION = f"{GROUP}/table-version"
POLICIES_HASH = f"{GROUP}/policies-hash"
# The columns the classified version had (its writer's `columnsDigest`), decision 0320.
COLUMNS_DIGEST = f"{GROUP}/columns-digest"
# Finished classify runs kept besides the last good one (it holds the grade the status shows).
CLASSIFY_HISTORY = 3

# Who owns a classified table.
TableOwner = DataSource | DataProduct


@dataclass(frozen=True)
class ClassifyKey:
    """What one classify run is for."""

    table_version: int
    policies_hash: str

    @property
    def text(self) -> str:
        return f"{self.table_version}/{self.policies_hash}"


@dataclass
class ClassifyPlan:
    """The classify run to record (if any), as a Plan carry_out understands, and its key."""

    plan: Plan = field(default_factory=Plan)
    key: ClassifyKey | None = None
    columns_digest: str | None = None
    # Set when the newest version waits for the resample interval (decision 0320).
    resample_at: dt.datetime | None = None


def job_type(run: RecordedRun) -> str:
    return str((run.body.get("spec") or {}).get("jobType") or "")


def split_runs(history: RunHistory) -> tuple[RunHistory, RunHistory]:
    """(the owner's other runs, its classify runs): each kind of run has its own history."""
    others = [r for r in history.ordered if job_type(r) != CLASSIFY]
    classify = [r for r in history.ordered if job_type(r) == CLASSIFY]
    return RunHistory(others, history.generation), RunHistory(classify, history.generation)


def key_of(run: RecordedRun) -> ClassifyKey | None:
    labels = run.body["metadata"].get("labels") or {}
    if TABLE_VERSION not in labels or POLICIES_HASH not in labels:
        return None
    return ClassifyKey(int(labels[TABLE_VERSION]), str(labels[POLICIES_HASH]))


def covers(run: RecordedRun, key: ClassifyKey) -> bool:
    """A classify run under the same hash whose own properties commit is the version a
    writing run reports: that run committed nothing new."""
    committed = run.result("tableVersion")
    done = key_of(run)
    return (
        run.succeeded
        and committed is not None
        and done is not None
        and done.policies_hash == key.policies_hash
        and int(committed) >= key.table_version
    )


def policies_hash(
    owner: TableOwner,
    policies: Sequence[Mapping[str, Any]],
    approvals: Sequence[Mapping[str, Any]],
) -> str:
    """Digest of what a grade depends on besides the data (order of listing does not count)."""

    def essence(body: Mapping[str, Any]) -> tuple[str, str, str]:
        metadata = body.get("metadata") or {}
        spec = json.dumps(body.get("spec") or {}, sort_keys=True)
        return str(body.get("kind")), str(metadata.get("name")), spec

    inputs = {
        "policies": sorted(essence(p) for p in policies),
        "approvals": sorted(essence(a) for a in approvals),
        "floor": owner.spec.grade,
        "domain": getattr(owner.spec, "domain", None),
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:16]


def plan_classify(
    ingest: RunHistory,
    classify: RunHistory,
    current_hash: str | None,
    resample_after: dt.timedelta = dt.timedelta(0),
    now: dt.datetime | None = None,
) -> ClassifyPlan:
    """The classify run due now, if any (one live classify or writing run per table at a time).

    `ingest` is the history of the runs that write the table (a source's ingest runs, a
    product's transform runs). Due when the last successful one committed a table version that
    has no classify run under the current policies hash (and is not the classify run's own
    properties commit), unless that version has the columns the last classify run under the hash
    saw and `resample_after` has not passed since it ended (decision 0320);
    `current_hash` is None when no policy applies.
    """
    planned = ClassifyPlan()
    planned.plan.prune = classify.to_prune(CLASSIFY_HISTORY)
    if classify.live:
        planned.plan.waiting = f"classify run {classify.live[-1].name} is running"
        return planned
    good = ingest.last_succeeded
    version = good.result("tableVersion") if good is not None else None
    if good is None or version is None or ingest.live:
        return planned
    if current_hash is None:
        planned.plan.waiting = "no classification policy applies; the grade is the declared one"
        return planned
    key = ClassifyKey(int(version), current_hash)
    if any(key_of(r) == key or covers(r, key) for r in classify.ordered):
        return planned
    written = good.result("columnsDigest")
    last = last_classified(classify, current_hash)
    if last is not None:
        labels = last.body["metadata"].get("labels") or {}
        at = resample_at(last.finished_at, labels.get(COLUMNS_DIGEST), written, resample_after)
        if at is not None and (now or dt.datetime.now(dt.UTC)) < at:
            planned.resample_at = at
            return planned
    planned.plan.create = classify.next_key()
    planned.key = key
    planned.columns_digest = written
    return planned


def last_classified(classify: RunHistory, current_hash: str) -> RecordedRun | None:
    """The newest successful classify run under the current policies hash."""
    for run in reversed(classify.ordered):
        done = key_of(run)
        if run.succeeded and done is not None and done.policies_hash == current_hash:
            return run
    return None


def build_classify_run(
    owner: TableOwner,
    job: JobSpecBase,
    key: ClassifyKey,
    generation: int,
    sequence: int,
    columns_digest: str | None = None,
) -> dict[str, Any]:
    """The classify PipelineRun for `key`, owned by the table's owner, named from the key."""
    record = build_run_record(owner, job, generation, sequence)
    record["metadata"]["name"] = keyed_run_name(owner.name, owner.uid, CLASSIFY, key.text)
    labels = {TABLE_VERSION: str(key.table_version), POLICIES_HASH: key.policies_hash}
    if columns_digest is not None:
        labels[COLUMNS_DIGEST] = columns_digest
    record["metadata"]["labels"].update(labels)
    return record


def classification_status(owner: TableOwner, classify: RunHistory) -> dict[str, Any]:
    """grade (computed once classified, else declared), computedGrade and classification."""
    declared = owner.spec.grade
    good = next((r for r in reversed(classify.ordered) if r.succeeded), None)
    key = key_of(good) if good is not None else None
    if good is None or key is None or good.result("grade") is None:
        return {"grade": declared} if declared is not None else {}
    computed = max(int(good.result("grade")), declared or 1)
    columns = [
        ClassifiedColumn.model_validate(
            {k: c.get(k) for k in ClassifiedColumn.model_fields if c.get(k) is not None}
        )
        for c in good.result("columns") or []
    ]
    classification = Classification(
        table_version=key.table_version,
        policies_hash=key.policies_hash,
        run=good.name,
        level=good.result("level"),
        columns=columns,
    )
    return {
        "grade": computed,
        "computedGrade": computed,
        "classification": classification.model_dump(mode="json", by_alias=True, exclude_none=True),
    }


def grade_change(previous: Mapping[str, Any], status: Mapping[str, Any]) -> str | None:
    """The GradeChanged event's message when the effective grade moved, else None."""
    before, after = previous.get("grade"), status.get("grade")
    if before is None or after is None or before == after:
        return None
    classification = status.get("classification") or {}
    if status.get("computedGrade") is None:
        return f"grade {before} -> {after} (declared)"
    raised = [
        c["name"]
        for c in classification.get("columns", [])
        if int(c.get("grade", 1)) == int(after) and int(after) > 1
    ]
    because = f"; columns at grade {after}: {', '.join(raised[:5])}" if raised else ""
    return (
        f"grade {before} -> {after}, computed by classify run {classification.get('run')} of "
        f"table version {classification.get('tableVersion')}{because}"
    )


def grade_audit_event(
    body: Mapping[str, Any], previous: Mapping[str, Any], status: Mapping[str, Any]
) -> AuditEvent | None:
    """The audit record of a grade change (the GradeChanged event's), else None (pure).

    Its id names the table's owner (source or product), the change and what decided it (the
    classify run, or the generation for a declared grade): recorded again after a crash, it
    adopts the first."""
    message = grade_change(previous, status)
    if message is None:
        return None
    before, after = int(previous["grade"]), int(status["grade"])
    classification = status.get("classification") or {}
    computed = status.get("computedGrade") is not None
    basis = (
        f"run/{classification.get('run')}"
        if computed
        else f"generation/{body['metadata'].get('generation')}"
    )
    return AuditEvent(
        record_id=f"{body['kind']}/{body['metadata']['uid']}/grade/{before}-{after}/{basis}",
        action="classification.grade-changed",
        resource=resource_of(body),
        decision="raised" if after > before else "lowered",
        reason=message,
        details={
            "before": before,
            "after": after,
            "computed": computed,
            "classifyRun": classification.get("run"),
            "tableVersion": classification.get("tableVersion"),
            "policiesHash": classification.get("policiesHash"),
        },
    )


def classify_outcome(ready: Mapping[str, Any], classify: RunHistory) -> Outcome | None:
    """Degraded (the table still served, Ready stays) when the newest classify run failed;
    None when it did not or the owner is not Ready for another reason."""
    latest = classify.latest
    if latest is None or not latest.failed or ready.get("status") != "True":
        return None
    return Outcome(
        True,
        "ClassifyFailed",
        f"{ready.get('message', '')}; {failure_message(latest, 'classify run')}; the grade "
        "stays the last computed or declared one until the table or the policies change",
        degraded=True,
    )
