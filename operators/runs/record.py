"""The PipelineRun record of one run, for any parent kind, and the typed view of recorded runs.

Recorded before anything runs, under a name derived from (parent uid, generation, sequence), and
owned by its parent: a restarted operator finds it by name and adopts it. Pure.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from nidc.api.job_specs import JobSpecBase, record_job
from nidc.api.pipeline_run import TERMINAL, JobType, ParentReference, Phase, PipelineRunSpec
from nidc.api.resource import CustomResource
from nidc.api.schema import API_VERSION, GROUP
from operators.runs.naming import run_name

PARENT_UID = f"{GROUP}/parent-uid"
GENERATION = f"{GROUP}/generation"
SEQUENCE = f"{GROUP}/sequence"
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def parse_time(value: str | None) -> dt.datetime | None:
    """A Kubernetes timestamp (seconds, Z) as an aware datetime; None stays None."""
    return dt.datetime.strptime(value, TIME_FORMAT).replace(tzinfo=dt.UTC) if value else None


def format_time(value: dt.datetime | None) -> str | None:
    return value.strftime(TIME_FORMAT) if value else None


def build_run_record(
    parent: CustomResource,
    job: JobSpecBase,
    generation: int,
    sequence: int,
    pool: str | None = None,
    max_attempts: int | None = None,
    role: str = "",
) -> dict[str, Any]:
    """The PipelineRun for run (generation, sequence) of `parent` (pure).

    Pool and attempts the parent does not set are PipelineRunSpec's defaults, not ours. `role`
    tells a second run of the same key apart (naming.run_name).
    """
    options: dict[str, Any] = {}
    if pool is not None:
        options["pool"] = pool
    if max_attempts is not None:
        options["max_attempts"] = max_attempts
    spec = PipelineRunSpec(
        parent=ParentReference(
            kind=parent.kind, name=parent.name, uid=parent.uid, generation=generation
        ),
        sequence=sequence,
        job_type=JobType(type(job).model_fields["job"].default),
        job=record_job(job),
        **options,
    )
    return {
        "apiVersion": API_VERSION,
        "kind": "PipelineRun",
        "metadata": {
            "name": run_name(parent.name, parent.uid, generation, sequence, role),
            "namespace": parent.namespace,
            "labels": {
                PARENT_UID: parent.uid,
                GENERATION: str(generation),
                SEQUENCE: str(sequence),
            },
        },
        "spec": spec.model_dump(mode="json", by_alias=True),
    }


@dataclass(frozen=True)
class RecordedRun:
    """A PipelineRun as its parent's reconciler reads it (the body kept for acting on it)."""

    name: str
    generation: int
    sequence: int
    phase: Phase
    status: dict[str, Any]
    job: dict[str, Any]
    body: dict[str, Any]

    @classmethod
    def of(cls, body: dict[str, Any]) -> RecordedRun:
        labels = body["metadata"].get("labels") or {}
        status = dict(body.get("status") or {})
        return cls(
            name=body["metadata"]["name"],
            generation=int(labels[GENERATION]),
            sequence=int(labels[SEQUENCE]),
            phase=Phase(status.get("phase") or Phase.PENDING.value),
            status=status,
            job=dict((body.get("spec") or {}).get("job") or {}),
            body=body,
        )

    @property
    def job_type(self) -> str:
        """The spec's jobType: transform, quality, ingest, ..."""
        return str((self.body.get("spec") or {}).get("jobType") or "")

    @property
    def key(self) -> tuple[int, int]:
        """(generation, sequence): the order runs were made in."""
        return self.generation, self.sequence

    @property
    def terminal(self) -> bool:
        return self.phase in TERMINAL

    @property
    def succeeded(self) -> bool:
        return self.phase is Phase.SUCCEEDED

    @property
    def failed(self) -> bool:
        return self.phase is Phase.FAILED

    @property
    def started_at(self) -> dt.datetime | None:
        """When it started, or (not started yet) when it was recorded."""
        return parse_time(
            self.status.get("startedAt") or self.body["metadata"].get("creationTimestamp")
        )

    @property
    def finished_at(self) -> dt.datetime | None:
        return parse_time(self.status.get("finishedAt"))

    @property
    def reason(self) -> str:
        return str(self.status.get("reason") or "")

    def result(self, key: str) -> Any:
        """One value the job's result recorded on the run (tableVersion, rows, ...)."""
        return self.status.get(key)

    def summary(self) -> dict[str, Any]:
        """The `lastRun` of a parent's status."""
        return {
            "name": self.name,
            "phase": self.phase.value,
            "startedAt": self.status.get("startedAt"),
            "finishedAt": self.status.get("finishedAt"),
        }
