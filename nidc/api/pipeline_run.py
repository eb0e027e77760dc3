"""PipelineRun: one run of a job, recorded before anything runs (internal; owned by its parent).

Its name derives from (parent uid, generation, sequence), so a restarted operator adopts the run
it already recorded instead of submitting a second one.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from nidc.api.classification_result import RecordedColumn, RejectedOverride
from nidc.api.data_source import Checkpoint
from nidc.api.quality_rules import Quality
from nidc.api.resource import CustomResource
from nidc.api.schema import Condition, GradeField, Model, conditions_field


class JobType(StrEnum):
    """Jobs in spark_jobs/."""

    INGEST = "ingest"
    TRANSFORM = "transform"
    QUALITY = "quality"
    CLASSIFY = "classify"
    REPLICATE = "replicate"
    GOVERNED_COPY = "governed-copy"
    MAINTENANCE = "maintenance"


class Phase(StrEnum):
    """States of the run state machine."""

    PENDING = "Pending"
    SUBMITTED = "Submitted"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"


# Phases a run never leaves. A StrEnum set: `"Failed" in TERMINAL` holds too.
TERMINAL = frozenset({Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELLED})


class ParentReference(Model):
    """The resource this run belongs to."""

    kind: str = Field(
        description="DataSource, DataProduct, DataReplication or DataGrant.",
        json_schema_extra={"enum": ["DataSource", "DataProduct", "DataReplication", "DataGrant"]},
    )
    name: str = Field(description="Its name.")
    uid: str = Field(description="Its UID (runs never move to a re-created parent).")
    generation: int = Field(ge=1, description="The parent's generation the run was made for.")


class PipelineRunSpec(Model):
    """What to run. Immutable once recorded."""

    parent: ParentReference = Field(description="The owning resource.")
    sequence: int = Field(ge=0, description="Run number for this parent generation.")
    job_type: JobType = Field(alias="jobType", description="Which job.")
    pool: str = Field(
        default="cpu", description="Spark pool.", json_schema_extra={"enum": ["cpu", "gpu"]}
    )
    max_attempts: int = Field(
        default=3, alias="maxAttempts", ge=1, le=10, description="Attempts before the run fails."
    )
    job: dict[str, Any] = Field(
        default_factory=dict,
        description="The job's logical spec as recorded at creation (inputs, query, target, "
        "idempotency keys); never credentials.",
        json_schema_extra={"x-kubernetes-preserve-unknown-fields": True},
    )
    timeout_seconds: int = Field(
        default=3600,
        alias="timeoutSeconds",
        ge=10,
        le=86400,
        description="A run still going after this fails with a reason.",
    )


class MaintenanceResult(Model):
    """What a maintenance run did to its tables (decision 0270)."""

    files_compacted: int = Field(
        default=0, alias="filesCompacted", ge=0, description="Small files rewritten."
    )
    files_added: int = Field(
        default=0, alias="filesAdded", ge=0, description="Files the compaction wrote."
    )
    files_vacuumed: int = Field(
        default=0, alias="filesVacuumed", ge=0, description="Files the vacuum deleted."
    )
    tables: int = Field(default=0, ge=0, description="Tables found and maintained.")


class PipelineRunStatus(Model):
    """Where the run is."""

    phase: Phase = Field(default=Phase.PENDING, description="State-machine phase.")
    attempts: int = Field(default=0, ge=0, description="Attempts made.")
    conditions: list[Condition] = conditions_field()
    started_at: str | None = Field(
        default=None,
        alias="startedAt",
        description="Start time.",
        json_schema_extra={"format": "date-time"},
    )
    finished_at: str | None = Field(
        default=None,
        alias="finishedAt",
        description="End time.",
        json_schema_extra={"format": "date-time"},
    )
    reason: str | None = Field(default=None, description="Why it failed or was cancelled.")
    log_location: str | None = Field(
        default=None, alias="logLocation", description="Where the job's log is."
    )
    table_version: int | None = Field(
        default=None, alias="tableVersion", ge=0, description="Delta version the run committed."
    )
    columns_digest: str | None = Field(
        default=None,
        alias="columnsDigest",
        description="Digest of the table's column names after the run (ingest, transform): "
        "whether the next classify run is due at once (decision 0320).",
        max_length=64,
    )
    rows: int | None = Field(default=None, ge=0, description="Rows written.")
    quarantined_rows: int | None = Field(
        default=None,
        alias="quarantinedRows",
        ge=0,
        description="Rows the job sent to quarantine (ingest), in total for the source.",
    )
    checkpoint: Checkpoint | None = Field(
        default=None, description="How far the job got (ingest): batch sequence or watermark."
    )
    files: int | None = Field(
        default=None, ge=0, description="Files the job copied (replicate), each checksum-verified."
    )
    checksum: str | None = Field(
        default=None,
        description="sha256 over the copy's files at tableVersion (replicate).",
        max_length=64,
    )
    compute_note: str | None = Field(
        default=None,
        alias="computeNote",
        description="Where a named analytic computed (transform), e.g. on the CPU path when a GPU "
        "pool's run got no GPU.",
        max_length=200,
    )
    quality: Quality | None = Field(
        default=None, description="The quality job's summary of the version it checked (quality)."
    )
    grade: GradeField | None = Field(
        default=None, description="Grade the table was given (classify): max(columns, floor)."
    )
    level: str | None = Field(default=None, description="GB/T 43697 level of the grade (classify).")
    policy_fingerprint: str | None = Field(
        default=None,
        alias="policyFingerprint",
        description="Digest of the rule pack the columns were classified under (classify).",
    )
    columns: list[RecordedColumn] | None = Field(
        default=None, description="The table's columns as classified (classify)."
    )
    rejected_overrides: list[RejectedOverride] | None = Field(
        default=None, alias="rejectedOverrides", description="Overrides not applied (classify)."
    )
    maintenance: MaintenanceResult | None = Field(
        default=None, description="What the run compacted and vacuumed (maintenance)."
    )
    submitted_at: str | None = Field(
        default=None,
        alias="submittedAt",
        description="When the current attempt was submitted.",
        json_schema_extra={"format": "date-time"},
    )
    next_attempt_at: str | None = Field(
        default=None,
        alias="nextAttemptAt",
        description="When the next attempt may start.",
        json_schema_extra={"format": "date-time"},
    )


PIPELINE_RUN_RULES = [
    {"rule": "self == oldSelf", "message": "a PipelineRun's spec is immutable"},
]


class PipelineRun(CustomResource):
    """A PipelineRun as reconcilers see it: typed spec, status as last written."""

    kind: Literal["PipelineRun"] = "PipelineRun"
    spec: PipelineRunSpec
