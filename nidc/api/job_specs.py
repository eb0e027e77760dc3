"""The job specs: what a reconciler records for a run and what the job reads, as one set of types.

A reconciler builds one of these (operators/*/build.py), the PipelineRun records it in
`spec.job` (its JSON form, by alias), the runner adds where the job runs
(nidc/api/job_runtime.py: run name, storage, jars; never credentials) and the job (spark_jobs/)
parses the whole back with `job_runtime.parse_run_spec`. Defaults live here and nowhere else; a
field one side knows and the other does not fails the round trip (tests/unit/test_job_specs.py).
Jobs others add (quality, classify, analytics, governed-copy) get their model here, in `JobSpec`
and in `JOB_MODELS`.

Credentials never appear in a spec: a job that needs a login names where it lives in OpenBao
(`credentialsPath`, `destinationCredentialsPath`); the runner reads it at submit time, strips
the path from what the job sees, and hands the values over in the environment variables below.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter, ValidationError, model_validator

from nidc.api.analytics import AnalyticRef, AnalyticsParameters
from nidc.api.classification_policy import ClassificationPolicySpec
from nidc.api.column_mask import ColumnMask
from nidc.api.data_product import Pool
from nidc.api.data_source import (
    DEFAULT_FOLLOW_POLL_MS,
    MAX_BATCHES_PER_COMMIT,
    MAX_FOLLOW_SECONDS,
    MIN_RETENTION_HOURS,
    FileFormat,
    Point,
    SchemaPolicy,
    SourceType,
)
from nidc.api.quality_rules import QualityRule
from nidc.api.schema import OPENBAO_PATH, TABLE_NAME, DataDomain, Model

DEVICE_TYPES = frozenset({SourceType.OPCUA.value, SourceType.MODBUS.value, SourceType.MQTT.value})
SQL_NAME = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$"
S3A_FOLDER = r"^s3a://[a-z0-9.\-]+/.+/$"
S3A_TABLE = r"^s3a://[a-z0-9.\-]+/.+[^/]$"


class JobSpecError(ValueError):
    """A recorded job or a run's spec.json that does not parse (the message names the field)."""


class JobSpecBase(Model):
    """What every recorded job carries besides its own fields."""

    traceparent: str = Field(
        default="",
        description="W3C traceparent of the reconcile that recorded the run: the job's spans "
        "join that trace.",
    )

    @property
    def uses_column_key(self) -> bool:
        """Whether the job's runs get a token for their tenant's column key (OPENBAO_TOKEN_ENV)
        and so may encrypt and decrypt grade-3 columns (docs/encryption.md). False unless a job
        says otherwise."""
        return False

    @property
    def engine_name(self) -> str:
        """Which process runs the job: "spark" (spark_jobs.run) unless a job says otherwise."""
        return "spark"

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Any:
        """Parse a run's spec.json (runtime keys ignored); errors name the offending field."""
        from nidc.api.job_runtime import RUNTIME_KEYS  # imported here: job_runtime imports us

        logical = {k: v for k, v in spec.items() if k not in RUNTIME_KEYS}
        try:
            return cls.model_validate(logical)
        except ValidationError as error:
            kind = cls.model_fields["job"].default
            raise JobSpecError(f"invalid {kind} job spec: {describe(error)}") from None


def describe(error: ValidationError) -> str:
    """`field.path: message; ...` of a validation error."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'spec'}: {e['msg']}" for e in error.errors()
    )


# --- ingest --------------------------------------------------------------------------------


class LandingInput(Model):
    """Where a device source's landing batches are and how far the status says we got."""

    prefix: str = Field(
        description="s3a:// folder of the batches: "
        "s3a://<tenant bucket>/landing/sources/<namespace>/<source>/",
        pattern=S3A_FOLDER,
    )
    from_sequence: int = Field(
        default=0,
        alias="fromSequence",
        ge=0,
        description="Last batch sequence the status recorded as committed (0: none). The "
        "table's own transaction map wins when it is further.",
    )
    max_batches: int = Field(
        default=500, alias="maxBatches", ge=1, description="At most this many batches per run."
    )
    follow_seconds: float = Field(
        default=0.0,
        alias="followSeconds",
        ge=0,
        le=MAX_FOLLOW_SECONDS,
        description="Native engine: after the pending batches, commit what lands for this "
        "long (spec.ingest.followSeconds, decision 0290; 0: end once they are in).",
    )
    batches_per_commit: int = Field(
        default=1,
        alias="batchesPerCommit",
        ge=1,
        le=MAX_BATCHES_PER_COMMIT,
        description="Native engine: at most this many ready batches in one bronze commit "
        "(spec.ingest.batchesPerCommit, decision 0300; 1: a commit per batch).",
    )
    poll_seconds: float = Field(
        default=DEFAULT_FOLLOW_POLL_MS / 1000,
        alias="pollSeconds",
        gt=0,
        le=60,
        description="While following: seconds between two looks for a new batch.",
    )


class JdbcInput(Model):
    """An MES/ERP table read incrementally; the login comes from JDBC_USER/JDBC_PASSWORD."""

    url: str = Field(
        description="JDBC URL without credentials, e.g. jdbc:postgresql://127.0.0.1:5432/mes.",
        pattern=r"^jdbc:postgresql://[^/@?]+/[A-Za-z0-9_]+$",
    )
    table: str = Field(description="Qualified table, e.g. mes.work_orders.", pattern=SQL_NAME)
    watermark_column: str = Field(
        alias="watermarkColumn",
        description="Column (timestamp or integer) that only grows as rows are written.",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
    )
    watermark: str | None = Field(
        default=None,
        description="Last watermark the status recorded (ISO timestamp or integer); rows above "
        "it are read. The table's own transaction map wins when it is further.",
    )


class FilesInput(Model):
    """Files dropped under the tenant's landing prefix."""

    prefix: str = Field(
        description="s3a:// folder: s3a://<tenant bucket>/landing/<spec.files.prefix>",
        pattern=S3A_FOLDER,
    )
    format: FileFormat = Field(description="csv (with a header line), json (lines) or parquet.")
    max_files: int = Field(
        default=500, alias="maxFiles", ge=1, description="At most this many files per run."
    )


class IngestEngine(StrEnum):
    """Which writer commits an ingest run (docs/decisions/0250-native-bronze-writer.md)."""

    SPARK = "spark"  # spark_jobs.run: a Spark session, Delta's Spark writer
    NATIVE = "native"  # spark_jobs.ingest.native: Arrow and delta-rs, no JVM (device sources)


class IngestJob(JobSpecBase):
    """The ingest job of one run: a DataSource's new data into its bronze table."""

    job: Literal["ingest"] = "ingest"
    type: SourceType = Field(description="opcua, modbus, mqtt (landing batches), jdbc or files.")
    engine: IngestEngine = Field(
        default=IngestEngine.SPARK,
        description="Writer of the run: native (delta-rs, no JVM; the default for opcua, modbus "
        "and mqtt) or spark (the default, and the only engine, for files and jdbc).",
    )
    source: str = Field(description="DataSource name.", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    namespace: str = Field(description="DataSource namespace (the tenant).")
    source_uid: str = Field(
        alias="sourceUid", min_length=1, description="DataSource uid: Delta's txnAppId."
    )
    points: list[Point] = Field(default_factory=list, description="Mapped points (device types).")
    target: str = Field(description="s3a:// path of the bronze table.", pattern=S3A_TABLE)
    quarantine: str = Field(description="s3a:// path of the quarantine table.", pattern=S3A_TABLE)
    schema_policy: SchemaPolicy = Field(default=SchemaPolicy.ADD_COLUMNS, alias="schemaPolicy")
    lease_wait_seconds: float = Field(
        default=600.0,
        alias="leaseWaitSeconds",
        ge=0,
        description="How long to wait for another run's writer lease on the table.",
    )
    landing: LandingInput | None = None
    jdbc: JdbcInput | None = None
    files: FilesInput | None = None
    credentials_path: str | None = Field(
        default=None,
        alias="credentialsPath",
        description="OpenBao path of the source's login (jdbc); read by the runner at submit "
        "time, never seen by the job.",
        pattern=OPENBAO_PATH,
    )
    encryption: ColumnEncryption | None = Field(
        default=None,
        description="Grade incoming columns before the first write and encrypt those the grade "
        "bundle encrypts at column level (None: no classification policy applies).",
    )

    @model_validator(mode="before")
    @classmethod
    def _default_engine(cls, data: Any) -> Any:
        # The engine's default depends on the type: device sources' batches go native.
        if isinstance(data, dict) and data.get("engine") is None:
            kind = str(data.get("type", ""))
            engine = IngestEngine.NATIVE if kind in DEVICE_TYPES else IngestEngine.SPARK
            return {**data, "engine": engine.value}
        return data

    @model_validator(mode="after")
    def _input_matches_type(self) -> IngestJob:
        kind = str(self.type)
        if str(self.engine) == IngestEngine.NATIVE.value and kind not in DEVICE_TYPES:
            raise ValueError(f"engine native ingests opcua, modbus and mqtt sources, not {kind}")
        if kind in DEVICE_TYPES and (self.landing is None or not self.points):
            raise ValueError(f"type {kind} needs landing and at least one entry in points")
        if self.landing and self.landing.follow_seconds and self.engine != IngestEngine.NATIVE:
            raise ValueError("landing.followSeconds: only the native engine follows a landing")
        if (
            self.landing
            and self.landing.batches_per_commit > 1
            and self.engine != IngestEngine.NATIVE
        ):
            raise ValueError("landing.batchesPerCommit: only the native engine groups batches")
        if kind == SourceType.JDBC.value and self.jdbc is None:
            raise ValueError("type jdbc needs jdbc")
        if kind == SourceType.FILES.value and self.files is None:
            raise ValueError("type files needs files")
        if self.target == self.quarantine:
            raise ValueError("target and quarantine must be different tables")
        return self

    @property
    def is_device(self) -> bool:
        return str(self.type) in DEVICE_TYPES

    @property
    def uses_column_key(self) -> bool:
        return self.encryption is not None

    @property
    def engine_name(self) -> str:
        return str(self.engine)


# --- transform -----------------------------------------------------------------------------


class TransformInput(Model):
    """One input table of a transform, as the SQL sees it."""

    view: str = Field(description="The view name the SQL uses.", pattern=r"^[a-z][a-z0-9_]*$")
    path: str = Field(description="s3a:// path of the input's Delta table.", pattern=S3A_TABLE)
    version: int | None = Field(
        default=None,
        ge=0,
        description="Delta version to read (a product input's last version that passed its "
        "quality gate); None: the latest.",
    )


class TransformJob(JobSpecBase):
    """The transform job of one run: Spark SQL, or a named analytic, over the inputs into a
    product's table."""

    job: Literal["transform"] = "transform"
    tenant: str = Field(description="The product's namespace (the tenant).")
    inputs: list[TransformInput] = Field(description="Input tables, each as a view.")
    sql: str | None = Field(
        default=None, description="Spark SQL over the input views.", min_length=1
    )
    analytic: AnalyticRef | None = Field(
        default=None, description="A named analytic (name@version) over the inputs' samples."
    )
    parameters: AnalyticsParameters | None = Field(
        default=None, description="The analytic's parameters, its defaults filled in."
    )
    pool: Pool = Field(default=Pool.CPU, description="The Spark pool the run was placed on.")
    target: str = Field(description="s3a:// path of the product's table.", pattern=S3A_TABLE)
    txn_app_id: str = Field(
        alias="txnAppId", min_length=1, description="Delta's txnAppId: the product's uid."
    )
    txn_version: int = Field(
        alias="txnVersion",
        ge=0,
        description="Delta's txnVersion: strictly increasing over (generation, sequence).",
    )

    @model_validator(mode="before")
    @classmethod
    def _sql_or_analytic(cls, data: Any) -> Any:
        # Checked before the fields, so a spec with neither says so whatever else is wrong.
        if isinstance(data, dict):
            has_sql, has_analytic = data.get("sql") is not None, data.get("analytic") is not None
            if has_sql == has_analytic:
                raise ValueError("exactly one of sql and analytic")
            if has_sql and data.get("parameters") is not None:
                raise ValueError("parameters belong to an analytic, not to sql")
        return data


# --- replicate -----------------------------------------------------------------------------


class ReplicateSource(Model):
    """The table copied."""

    path: str = Field(description="s3a:// path of the source table.", pattern=S3A_TABLE)
    table: str = Field(description="layer.name of the source table.")


class ReplicateDestination(Model):
    """Where the copy goes: a peer center's object store."""

    center: str = Field(description="The peer center.")
    region: str = Field(description="The peer's region.")
    endpoint: str = Field(description="https:// endpoint of the peer's object store.")
    path: str = Field(description="s3a:// path of the copy in the peer's store.")
    ca_file: str | None = Field(
        default=None, alias="caFile", description="CA the peer's endpoint is trusted with."
    )


class ReplicateJob(JobSpecBase):
    """The replicate job of one run: a byte-for-byte, checksummed copy up to a version."""

    job: Literal["replicate"] = "replicate"
    tenant: str = Field(description="The replication's namespace (the tenant).")
    source: ReplicateSource
    destination: ReplicateDestination
    destination_credentials_path: str | None = Field(
        default=None,
        alias="destinationCredentialsPath",
        description="OpenBao path of the peer's S3 login; read by the runner, never by the job.",
    )
    until_version: int = Field(alias="untilVersion", ge=0, description="Copy up to here.")
    grade: int | None = Field(default=None, ge=1, le=3, description="Grade of the table.")


# --- quality ---------------------------------------------------------------------------------

# s3a:// on the platform; file:// where a test checks local Delta tables.
TABLE_URL = r"^(s3a|file)://.+[^/]$"


class QualityJob(JobSpecBase):
    """The quality job of one run: a table version's rules, history and quarantine (issue 20)."""

    job: Literal["quality"] = "quality"
    resource: str = Field(description="kind/namespace/name of the owner, e.g. DataProduct/a/b.")
    table_name: str = Field(alias="tableName", description="layer.table, e.g. silver.lots.")
    table: str = Field(description="Path of the Delta table checked.", pattern=TABLE_URL)
    version: int | None = Field(default=None, ge=0, description="Version checked; None: latest.")
    rules: list[QualityRule] = Field(description="The rules.", min_length=1)
    floor: float = Field(ge=0.0, le=1.0, description="The grade bundle's mostly floor.")
    references: dict[str, str] = Field(
        default_factory=dict, description="Referenced product name -> path of its table."
    )
    history: str = Field(description="Path of the tenant's metrics history.", pattern=TABLE_URL)
    quarantine: str = Field(description="Path of the quarantine table.", pattern=TABLE_URL)
    txn_app_id: str = Field(alias="txnAppId", min_length=1, description="Delta txnAppId base.")
    txn_version: int = Field(alias="txnVersion", ge=0, description="Delta txnVersion (the run).")


# --- classify ------------------------------------------------------------------------------


class PolicyDocument(Model):
    """A classification policy as the classify job sees it (cluster policies first)."""

    kind: Literal["ClusterClassificationPolicy", "ClassificationPolicy"]
    name: str = Field(description="The policy's name.")
    namespace: str = Field(default="", description="The policy's namespace ('' for cluster).")
    spec: ClassificationPolicySpec

    def to_document(self) -> dict[str, Any]:
        """The policy as a custom resource body (what nidc/governance/rule_pack.py compiles)."""
        metadata = {"name": self.name, **({"namespace": self.namespace} if self.namespace else {})}
        return {
            "kind": self.kind,
            "metadata": metadata,
            "spec": self.spec.model_dump(mode="json", by_alias=True, exclude_none=True),
        }


class ApprovalTerms(Model):
    """What the classify job needs of an ExportApproval to honour a downgrade."""

    max_grade: int = Field(alias="maxGrade", ge=1, le=3, description="Highest grade covered.")
    expires_at: str = Field(alias="expiresAt", description="When it lapses (RFC 3339).")


class ClassifyJob(JobSpecBase):
    """The classify job of one run: grade a table from a bounded sample of its columns."""

    job: Literal["classify"] = "classify"
    tenant: str = Field(description="The table owner's namespace (the tenant).")
    table: str = Field(description="layer.name of the table.", pattern=TABLE_NAME)
    path: str = Field(description="s3a:// path of the table.", pattern=S3A_TABLE)
    policies: list[PolicyDocument] = Field(
        description="Cluster policies, then the tenant's (the rule pack).", min_length=1
    )
    sample_rows: int = Field(
        default=200,
        alias="sampleRows",
        ge=3,
        le=200,
        description="Rows sampled at most (the engine reads up to 200 values a column).",
    )
    declared_floor: int | None = Field(
        default=None, alias="declaredFloor", ge=1, le=3, description="The declared grade."
    )
    default_domain: DataDomain | None = Field(
        default=None, alias="defaultDomain", description="Domain of unrecognised columns."
    )
    approvals: dict[str, ApprovalTerms] = Field(
        default_factory=dict, description="The tenant's ExportApprovals, by name."
    )


class ColumnEncryption(Model):
    """How an ingest job grades incoming columns and whose transit key wraps the table's key
    (docs/decisions/0160-grade-at-ingest-encrypt-before-write.md)."""

    transit_key: str = Field(
        alias="transitKey",
        description="The tenant's transit key (wraps the table's data key).",
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
    )
    grading: ClassifyJob = Field(
        description="The policies, floor and approvals the classify job of the same table uses."
    )


# --- governed copy -------------------------------------------------------------------------

# A Spark simpleString (int, decimal(10,2), array<string>, struct<a:int>): no quote or backtick,
# so a type can stand in a CAST as it is.
SPARK_TYPE = r"^[a-z][a-z0-9_<>,:() ]*$"


class CopyColumn(Model):
    """A product column as the governed copy sees it (nidc.governance.masking.ProductColumn)."""

    name: str = Field(description="Column name.", min_length=1, max_length=256)
    spark_type: str = Field(
        alias="sparkType",
        description="Spark type (simpleString), e.g. string, double, timestamp, decimal(10,2).",
        pattern=SPARK_TYPE,
    )
    grade: int = Field(ge=1, le=3, description="The column's computed grade.")


class GovernedCopyJob(JobSpecBase):
    """The governed-copy job of one run: a product version's granted columns and rows, masked,
    into the grant's copy (issue 22; spark_jobs/governed_copy.py)."""

    job: Literal["governed-copy"] = "governed-copy"
    tenant: str = Field(description="The grant's namespace (the product's tenant).")
    source: str = Field(description="Path of the product's Delta table.", pattern=TABLE_URL)
    source_version: int = Field(
        alias="sourceVersion", ge=0, description="The product version copied (time travel)."
    )
    target: str = Field(description="Path of the governed copy's Delta table.", pattern=TABLE_URL)
    columns: list[CopyColumn] = Field(
        description="Every column of the product at that version, with its grade.", min_length=1
    )
    granted_columns: list[str] = Field(
        default_factory=list,
        alias="grantedColumns",
        description="Columns granted (empty: all).",
    )
    masks: list[ColumnMask] = Field(
        default_factory=list, description="The grant's masks (the grade bundle adds its own)."
    )
    row_filter: str | None = Field(
        default=None, alias="rowFilter", description="Spark SQL predicate rows must satisfy."
    )
    hash_key_path: str | None = Field(
        default=None,
        alias="hashKeyPath",
        description="OpenBao path of the grant's HASH key; read by the runner at submit time "
        "(environment NIDC_MASK_HASH_KEY), never seen by the job.",
        pattern=OPENBAO_PATH,
    )
    txn_app_id: str = Field(
        alias="txnAppId", min_length=1, description="Delta's txnAppId: the grant's uid."
    )
    txn_version: int = Field(
        alias="txnVersion",
        ge=0,
        description="Delta's txnVersion: strictly increasing per copy (e.g. the source version).",
    )

    @model_validator(mode="after")
    def _distinct_tables(self) -> GovernedCopyJob:
        if self.source == self.target:
            raise ValueError("source and target must be different tables")
        return self


# --- maintenance ---------------------------------------------------------------------------


class MaintenanceJob(JobSpecBase):
    """The maintenance job of one run: compaction and vacuum of a device source's native tables
    (bronze, quarantine) beside their appends, with delta-rs and no JVM
    (docs/decisions/0270-bronze-maintenance.md)."""

    job: Literal["maintenance"] = "maintenance"
    source: str = Field(description="DataSource name.", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    namespace: str = Field(description="DataSource namespace (the tenant).")
    tables: list[str] = Field(
        description="s3a:// paths of the tables maintained (bronze, then quarantine).",
        min_length=1,
        max_length=4,
    )
    retention_hours: int = Field(
        alias="retentionHours",
        ge=MIN_RETENTION_HOURS,
        description="The source's spec.maintenance.retentionHours: vacuum deletes only files "
        "that left a table longer ago than this (or the table's own "
        "delta.deletedFileRetentionDuration, where that is longer).",
    )
    slot: str = Field(description="The schedule tick the run is for (RFC 3339).", min_length=1)

    @model_validator(mode="after")
    def _tables_are_tables(self) -> MaintenanceJob:
        for table in self.tables:
            if not re.match(S3A_TABLE, table):
                raise ValueError(f"tables: {table} is not an s3a:// table path")
        if len(set(self.tables)) != len(self.tables):
            raise ValueError("tables: a table is named twice")
        return self

    @property
    def engine_name(self) -> str:
        return "native"


IngestJob.model_rebuild()

AnyJob = (
    IngestJob
    | TransformJob
    | ReplicateJob
    | QualityJob
    | ClassifyJob
    | GovernedCopyJob
    | MaintenanceJob
)
JobSpec = Annotated[AnyJob, Field(discriminator="job")]
JOB_MODELS: dict[str, type[JobSpecBase]] = {
    "ingest": IngestJob,
    "transform": TransformJob,
    "replicate": ReplicateJob,
    "quality": QualityJob,
    "classify": ClassifyJob,
    "governed-copy": GovernedCopyJob,
    "maintenance": MaintenanceJob,
}
_JOB_SPEC: TypeAdapter[AnyJob] = TypeAdapter(JobSpec)
# Recorded job fields that name where a login lives: for the runner, never for the job.
CREDENTIAL_PATH_KEYS = ("credentialsPath", "destinationCredentialsPath", "hashKeyPath")


def record_job(job: JobSpecBase) -> dict[str, Any]:
    """A job spec as the PipelineRun records it (JSON, camelCase, unset optionals left out)."""
    return job.model_dump(mode="json", by_alias=True, exclude_none=True)


def read_job(recorded: dict[str, Any]) -> AnyJob:
    """A recorded job back as its model (by its `job` field)."""
    try:
        return _JOB_SPEC.validate_python(recorded)
    except ValidationError as error:
        raise JobSpecError(f"invalid job spec: {describe(error)}") from None


# Jobs whose process starts no Spark JVM (decisions 0050, 0193 and 0250): a byte copy, a bounded
# sample and a properties commit through delta-rs, the native bronze writer and its maintenance.
NO_JVM_JOBS = ("classify", "replicate", "maintenance")


def starts_spark(job: Mapping[str, Any]) -> bool:
    """Whether a job (a spec as a PipelineRun's spec.job holds it) starts a Spark JVM (pure):
    the embedded platform's run slots are for these only."""
    kind = job.get("job")
    if kind in NO_JVM_JOBS:
        return False
    return not (kind == "ingest" and job.get("engine") == IngestEngine.NATIVE.value)
