"""DataSource: equipment or an enterprise system whose data lands in a bronze Delta table."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from nidc.api.classification_result import Classification
from nidc.api.quality_rules import Quality, QualityRule, quality_rules_field
from nidc.api.resource import CustomResource
from nidc.api.schema import (
    CRON,
    OPENBAO_PATH,
    TABLE_NAME,
    DataDomain,
    GradeField,
    Model,
    ObservedStatus,
    RunSummary,
)

# Industrial internet identifier (工业互联网标识): enterprise prefix "88.<n>.<n>" + "/" + suffix.
IDENTIFIER = r"^[0-9]{2}\.[0-9]{1,6}\.[0-9]{1,9}/[A-Za-z0-9._\-]{1,128}$"


class SourceType(StrEnum):
    """Protocols and systems a source can be."""

    OPCUA = "opcua"
    MODBUS = "modbus"
    MQTT = "mqtt"
    JDBC = "jdbc"
    FILES = "files"


class SchemaPolicy(StrEnum):
    """What the ingest job does when incoming data has a different schema."""

    ADD_COLUMNS = "addColumns"
    FAIL = "fail"


class PointType(StrEnum):
    """Value type of a point."""

    DOUBLE = "double"
    INT = "int"
    BOOL = "bool"
    STRING = "string"


class Point(Model):
    """One measured point of a device: where to read it and what it means."""

    name: str = Field(
        description="Point name, unique in the source, e.g. spindle_temperature.",
        pattern=r"^[a-z][a-z0-9_]{0,62}$",
    )
    address: str = Field(
        description="Where to read it: an OPC UA node id (ns=2;s=Spindle.Temp), a Modbus "
        "register (holding:40001), or an MQTT topic (plant/line1/cnc01/temp).",
        min_length=1,
        max_length=256,
    )
    identifier: str = Field(
        description="Industrial internet identifier of the asset or point: enterprise prefix "
        "and suffix, e.g. 88.118.8/CNC-01.spindle_temperature.",
        pattern=IDENTIFIER,
    )
    data_type: PointType = Field(
        default=PointType.DOUBLE, alias="dataType", description="Value type."
    )
    unit: str | None = Field(
        default=None,
        description="Unit of the stored value (UCUM), e.g. Cel, bar, mm/s.",
        max_length=32,
    )
    scale: float = Field(default=1.0, description="Raw value is multiplied by this ...")
    offset: float = Field(default=0.0, description="... and this is added, before storing.")
    minimum: float | None = Field(
        default=None, description="Lowest physically possible value; below goes to quarantine."
    )
    maximum: float | None = Field(
        default=None, description="Highest physically possible value; above goes to quarantine."
    )


class Credentials(Model):
    """How the collector logs in: only a reference to OpenBao, never the secret itself."""

    open_bao_path: str = Field(
        alias="openBaoPath",
        description="KV v2 path in OpenBao holding the credentials, under the tenant's prefix: "
        "secret/data/tenants/<tenant>/<name>.",
        pattern=OPENBAO_PATH,
    )


class JdbcTable(Model):
    """An MES/ERP table read incrementally."""

    name: str = Field(
        description="Qualified table name, e.g. mes.work_orders.",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$",
    )
    watermark_column: str = Field(
        alias="watermarkColumn",
        description="Monotonic column (timestamp or id) that marks how far ingestion got.",
        pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
    )


class FileFormat(StrEnum):
    """Formats accepted in a landing prefix."""

    CSV = "csv"
    JSON = "json"
    PARQUET = "parquet"


class FileDrop(Model):
    """Files dropped into the tenant's landing prefix."""

    format: FileFormat = Field(description="File format.")
    prefix: str = Field(
        description="Prefix under the tenant bucket's landing/ folder, e.g. erp/orders/.",
        pattern=r"^[a-z0-9][a-z0-9/_\-]*/$",
    )


class OpcUaMode(StrEnum):
    """How an OPC UA server is read (decision 0180)."""

    SUBSCRIPTION = "subscription"
    HISTORY = "history"


class OpcUaSettings(Model):
    """How the collector reads an OPC UA server. Most servers keep no history: subscription is
    the default; history (HistoryRead from the last landed timestamp) counts every sample of a
    server that historizes its nodes."""

    mode: OpcUaMode = Field(
        default=OpcUaMode.SUBSCRIPTION,
        description="subscription: monitored items report changes (HistoryRead backfills a "
        "disconnect where the server keeps history; elsewhere the gap is marked). history: poll "
        "HistoryRead of every point (the server must historize them).",
    )
    sampling_interval_ms: float = Field(
        default=100.0,
        alias="samplingIntervalMs",
        ge=0,
        le=3_600_000,
        description="How often the server samples each point for a subscription, in ms "
        "(0: as fast as it can).",
    )
    queue_size: int = Field(
        default=100,
        alias="queueSize",
        ge=1,
        le=100_000,
        description="Changes the server keeps per point between two publishes.",
    )
    deadband: float = Field(
        default=0.0,
        ge=0,
        description="Absolute deadband: a numeric change smaller than this is not reported "
        "(0: every change).",
    )
    publishing_interval_ms: float = Field(
        default=500.0,
        alias="publishingIntervalMs",
        ge=10,
        le=3_600_000,
        description="How often the server sends the queued changes, in ms.",
    )
    poll_interval_ms: int = Field(
        default=500,
        alias="pollIntervalMs",
        ge=10,
        le=3_600_000,
        description="History mode: how often HistoryRead is polled, in ms.",
    )


class ModbusMode(StrEnum):
    """How a Modbus device is read (decision 0180)."""

    POLL = "poll"
    RING = "ring"


class ModbusSettings(Model):
    """How the collector reads a Modbus device. Plain polling reads the registers and coils as
    they are now; ring reads the sample ring of decision 0021 (PLCs programmed to keep one)."""

    mode: ModbusMode = Field(
        default=ModbusMode.POLL,
        description="poll: read holding/input registers and coils every pollIntervalMs (a "
        "value that changes and changes back between two polls is not seen). ring: read the "
        "PLC's sample ring by counter (decision 0021), holding registers only.",
    )
    poll_interval_ms: int = Field(
        default=1000,
        alias="pollIntervalMs",
        ge=10,
        le=3_600_000,
        description="How often the device is read, in ms.",
    )


# Vacuum retention (decision 0270). The floor is the longest a platform job may hold a table
# version it reads: a PipelineRun's timeoutSeconds is at most 86400 s (nidc/api/pipeline_run.py).
MIN_RETENTION_HOURS = 24
# Delta's own default for delta.deletedFileRetentionDuration (7 days).
DEFAULT_RETENTION_HOURS = 168


class BronzeMaintenance(Model):
    """Compaction and vacuum of the source's bronze and quarantine tables by the native engine,
    beside the appends (decision 0270). Runs for device sources (opcua, modbus, mqtt), whose
    tables the native writer commits; files and jdbc sources' tables are Spark's and are left
    alone (the status says so)."""

    schedule: str = Field(
        default="@hourly",
        description="Cron schedule (five fields, or @hourly etc.) of the maintenance runs: each "
        "tick is one run, named from the tick; ticks missed while nothing ran collapse into the "
        "latest one.",
        pattern=CRON,
    )
    retention_hours: int = Field(
        default=DEFAULT_RETENTION_HOURS,
        alias="retentionHours",
        ge=MIN_RETENTION_HOURS,
        le=24 * 365,
        description="Vacuum deletes files that left the table more than this many hours ago "
        "(Delta's default: 168, 7 days). At least 24: the longest a platform job may read a "
        "table version; time travel further back than this is lost.",
    )


# A following ingest run (decision 0290) must end well inside its PipelineRun's timeout (the
# default timeoutSeconds, 3600 s: nidc/api/pipeline_run.py): half of it is left for the backlog
# the run commits before it starts following.
MAX_FOLLOW_SECONDS = 1800
DEFAULT_FOLLOW_POLL_MS = 250
# A group commit holds its batches' rows in memory at once: a run's maxBatches at most.
MAX_BATCHES_PER_COMMIT = 500


class IngestSettings(Model):
    """How a device source's ingest runs commit what its collector lands (decision 0290). By
    default a run commits the batches landed beyond the checkpoint and ends; the operator's next
    sweep (every 10 s) starts the next. With followSeconds a run keeps its writer lease and open
    tables after that and commits each batch as it lands, for that long: fresher bronze, one
    process start per followSeconds instead of one per batch."""

    follow_seconds: int = Field(
        default=0,
        alias="followSeconds",
        ge=0,
        le=MAX_FOLLOW_SECONDS,
        description="After its pending batches, an ingest run keeps committing batches as they "
        "land for this many seconds, then ends and the next run takes over (0: the run ends "
        "when the pending batches are in). Longer than batchSeconds to be of use; at most 1800, "
        "half a run's timeout. The status's checkpoint moves when the run ends.",
    )
    batches_per_commit: int = Field(
        default=1,
        alias="batchesPerCommit",
        ge=1,
        le=MAX_BATCHES_PER_COMMIT,
        description="At most this many landed batches go into one bronze commit, when that "
        "many are ready (decision 0300). 1: a Delta version per batch. More: fewer commits "
        "when the writer is behind (many sources on few cores), so it catches up instead of "
        "falling further behind; a batch never waits for others to land.",
    )
    poll_interval_ms: int = Field(
        default=DEFAULT_FOLLOW_POLL_MS,
        alias="pollIntervalMs",
        ge=50,
        le=60_000,
        description="While following: how often the run looks for a new batch, in ms (one "
        "listing of the landing folder past the checkpoint each time).",
    )


class DataSourceSpec(Model):
    """Desired state of a data source."""

    type: SourceType = Field(description="Protocol or system: opcua, modbus, mqtt, jdbc, files.")
    endpoint: str = Field(
        description="Where the source is: opc.tcp://host:4840, tcp://host:502 (Modbus), "
        "mqtt://host:1883, jdbc:postgresql://host:5432/mes, or s3://bucket for files. "
        "Never with credentials in it.",
        min_length=1,
        max_length=512,
    )
    credentials: Credentials | None = Field(
        default=None, description="Login, as an OpenBao path only."
    )
    domain: DataDomain = Field(description="MIIT industrial data domain of the data.")
    grade: GradeField | None = Field(
        default=None,
        description="Declared grade; classification may raise it, never lower it.",
    )
    enterprise_prefix: str = Field(
        alias="enterprisePrefix",
        description="The enterprise's identifier prefix (企业标识前缀), e.g. 88.118.8.",
        pattern=r"^[0-9]{2}\.[0-9]{1,6}\.[0-9]{1,9}$",
    )
    points: list[Point] = Field(
        default_factory=list,
        description="Mapped points (opcua, modbus, mqtt).",
        max_length=10000,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    )
    opcua: OpcUaSettings | None = Field(
        default=None, description="How an opcua source is read (defaults: a subscription)."
    )
    modbus: ModbusSettings | None = Field(
        default=None, description="How a modbus source is read (defaults: polling every 1 s)."
    )
    table: JdbcTable | None = Field(default=None, description="The table to read (jdbc).")
    files: FileDrop | None = Field(default=None, description="The landing prefix (files).")
    schedule: str | None = Field(
        default=None,
        description="Cron schedule (five fields, or @hourly etc.) for batch ingestion of jdbc and "
        "files sources. Exactly one of schedule and continuous; device sources (opcua, modbus, "
        "mqtt) are always continuous (decision 0130).",
        pattern=CRON,
    )
    continuous: bool | None = Field(
        default=None,
        description="Collect continuously (micro-batches). Exactly one of schedule and "
        "continuous; the only choice for opcua, modbus and mqtt.",
    )
    batch_seconds: float = Field(
        default=5.0,
        alias="batchSeconds",
        ge=1,
        le=3600,
        description="Device sources: the collector lands a micro-batch at least this often (each "
        "batch is one bronze commit). Longer: fewer, larger commits and later data.",
    )
    target_table: str = Field(
        alias="targetTable",
        description="The bronze Delta table data lands in, e.g. bronze.cnc_spindle. Immutable.",
        pattern=TABLE_NAME,
        json_schema_extra={
            "x-kubernetes-validations": [
                {"rule": "self == oldSelf", "message": "targetTable is immutable"}
            ]
        },
    )
    schema_policy: SchemaPolicy = Field(
        default=SchemaPolicy.ADD_COLUMNS,
        alias="schemaPolicy",
        description="addColumns evolves the table with new columns; fail stops ingestion and "
        "keeps the last good table version.",
    )
    quality_rules: list[QualityRule] = quality_rules_field()
    maintenance: BronzeMaintenance | None = Field(
        default=None,
        description="Compaction and vacuum of a device source's bronze and quarantine tables "
        "(defaults: compaction hourly, 168 h retention).",
    )

    ingest: IngestSettings | None = Field(
        default=None,
        description="How a device source's ingest runs commit (defaults: a run ends when the "
        "batches landed before it are in).",
    )

    def maintenance_settings(self) -> BronzeMaintenance:
        """spec.maintenance with the model's defaults where it is absent."""
        return self.maintenance or BronzeMaintenance()

    def ingest_settings(self) -> IngestSettings:
        """spec.ingest with the model's defaults where it is absent."""
        return self.ingest or IngestSettings()

    def opcua_settings(self) -> OpcUaSettings:
        """spec.opcua with the model's defaults where it is absent."""
        return self.opcua or OpcUaSettings()

    def modbus_settings(self) -> ModbusSettings:
        """spec.modbus with the model's defaults where it is absent."""
        return self.modbus or ModbusSettings()


class Checkpoint(Model):
    """How far ingestion got."""

    batch_sequence: int | None = Field(
        default=None,
        alias="batchSequence",
        ge=0,
        description="Last landing batch committed to the table.",
    )
    watermark: str | None = Field(default=None, description="Last watermark value read (jdbc).")


class DeviceStatus(Model):
    """What the source's collector last reported of its device (device sources only)."""

    connected: bool | None = Field(default=None, description="Connected to the device now.")
    reading: str | None = Field(
        default=None, description="How the device is read, e.g. subscription, 100 ms sampling."
    )
    limits: list[str] = Field(
        default_factory=list,
        description="What this device cannot give (history, exact counts), said, not hidden.",
    )
    gaps_marked: int | None = Field(
        default=None,
        alias="gapsMarked",
        ge=0,
        description="Gap records the collector landed since it started (decision 0180).",
    )
    error: str | None = Field(
        default=None, description="The device's own reason for refusing reads, if it does."
    )


class MaintenanceSummary(Model):
    """The last maintenance run of the source's tables (decision 0270)."""

    run: str = Field(description="The maintenance PipelineRun.")
    slot: str = Field(description="The schedule tick it ran for (RFC 3339).")
    phase: str = Field(description="Its phase: Succeeded, Failed, ...")
    finished_at: str | None = Field(
        default=None, alias="finishedAt", description="When it ended (RFC 3339)."
    )
    files_compacted: int | None = Field(
        default=None,
        alias="filesCompacted",
        ge=0,
        description="Small files rewritten (removed from the tables) by the compaction.",
    )
    files_added: int | None = Field(
        default=None, alias="filesAdded", ge=0, description="Files the compaction wrote."
    )
    files_vacuumed: int | None = Field(
        default=None,
        alias="filesVacuumed",
        ge=0,
        description="Files deleted by the vacuum (left the tables longer than the retention ago).",
    )
    reason: str | None = Field(default=None, description="Why it failed, if it did.")


class DataSourceStatus(ObservedStatus):
    """Observed state of a data source."""

    checkpoint: Checkpoint | None = Field(default=None, description="Ingestion progress.")
    device: DeviceStatus | None = Field(
        default=None, description="The device as its collector last reported it."
    )
    last_run: RunSummary | None = Field(
        default=None, alias="lastRun", description="The most recent run."
    )
    rows: int | None = Field(default=None, ge=0, description="Rows in the target table.")
    quarantined_rows: int | None = Field(
        default=None,
        alias="quarantinedRows",
        ge=0,
        description="Rows sent to quarantine, with a reason each.",
    )
    table_version: int | None = Field(
        default=None, alias="tableVersion", ge=0, description="Current Delta table version."
    )
    grade: GradeField | None = Field(
        default=None,
        description="Effective grade: the computed grade once classified, else the declared one.",
    )
    computed_grade: GradeField | None = Field(
        default=None,
        alias="computedGrade",
        description="Grade the last classify pass computed: max(columns, declared floor).",
    )
    policies_hash: str | None = Field(
        default=None,
        alias="policiesHash",
        description="Digest of the classification policies and approvals now in force.",
    )
    classification: Classification | None = Field(
        default=None, description="The classify pass the computed grade comes from."
    )
    quality: Quality | None = Field(default=None, description="Last quality result.")
    last_maintenance: MaintenanceSummary | None = Field(
        default=None,
        alias="lastMaintenance",
        description="The last compaction and vacuum of the source's tables (device sources).",
    )


# Cross-field rules, checked by the API server (CEL) at admission.
DATA_SOURCE_RULES = [
    {
        "rule": "has(self.schedule) != (has(self.continuous) && self.continuous)",
        "message": "exactly one of spec.schedule and spec.continuous (true) must be set",
        "fieldPath": ".schedule",
    },
    {
        "rule": "!(self.type in ['opcua', 'modbus', 'mqtt']) || "
        "(has(self.points) && size(self.points) > 0)",
        "message": "spec.points must list at least one point for opcua, modbus and mqtt sources",
        "fieldPath": ".points",
    },
    {
        # A device keeps only a short buffer (a Modbus ring of minutes, an OPC UA history and an
        # MQTT session of bounded size): its collector runs all the time (decision 0130).
        "rule": "!(self.type in ['opcua', 'modbus', 'mqtt']) || !has(self.schedule)",
        "message": "opcua, modbus and mqtt sources are collected continuously, not on a "
        "schedule: remove spec.schedule and set spec.continuous: true (decision 0130)",
        "fieldPath": ".schedule",
    },
    {
        "rule": "!has(self.opcua) || self.type == 'opcua'",
        "message": "spec.opcua is only for opcua sources",
        "fieldPath": ".opcua",
    },
    {
        "rule": "!has(self.modbus) || self.type == 'modbus'",
        "message": "spec.modbus is only for modbus sources",
        "fieldPath": ".modbus",
    },
    {
        "rule": "self.type != 'modbus' || !has(self.points) || "
        "self.points.all(p, p.address.matches('^(holding|input|coil):[0-9]{1,5}$'))",
        "message": "spec.points[].address of a modbus source must be holding:N, input:N or "
        "coil:N (e.g. holding:40001, input:30001, coil:1)",
        "fieldPath": ".points",
    },
    {
        "rule": "!has(self.modbus) || !has(self.modbus.mode) || self.modbus.mode != 'ring' || "
        "!has(self.points) || self.points.all(p, p.address.startsWith('holding:'))",
        "message": "spec.modbus.mode ring reads holding registers only (decision 0021): "
        "spec.points[].address must be holding:N",
        "fieldPath": ".modbus.mode",
    },
    {
        # One writer engine per table: files and jdbc tables are Spark's (decision 0270).
        "rule": "!has(self.maintenance) || self.type in ['opcua', 'modbus', 'mqtt']",
        "message": "spec.maintenance is for opcua, modbus and mqtt sources, whose tables the "
        "native writer commits; files and jdbc tables are written by Spark and not maintained "
        "by the native engine (decision 0270)",
        "fieldPath": ".maintenance",
    },
    {
        # Files and jdbc tables are Spark's, written by a run per poll or tick (decision 0290).
        "rule": "!has(self.ingest) || self.type in ['opcua', 'modbus', 'mqtt']",
        "message": "spec.ingest is for opcua, modbus and mqtt sources, whose landed batches the "
        "native writer commits; a files or jdbc source's run reads what is there and ends "
        "(decision 0290)",
        "fieldPath": ".ingest",
    },
    {
        "rule": "!has(self.ingest) || !has(self.ingest.followSeconds) || "
        "self.ingest.followSeconds == 0 || !has(self.ingest.pollIntervalMs) || "
        "self.ingest.pollIntervalMs <= self.ingest.followSeconds * 1000",
        "message": "spec.ingest.pollIntervalMs must not exceed spec.ingest.followSeconds "
        "(in ms): a follower would end before it looked once",
        "fieldPath": ".ingest.pollIntervalMs",
    },
    {
        "rule": "self.type != 'jdbc' || has(self.table)",
        "message": "spec.table is required for jdbc sources",
        "fieldPath": ".table",
    },
    {
        "rule": "self.type != 'files' || has(self.files)",
        "message": "spec.files is required for files sources",
        "fieldPath": ".files",
    },
    {
        "rule": "!self.endpoint.matches('^[a-z0-9+.:-]+://[^/@]*@') && "
        "!self.endpoint.matches('(?i)(password|passwd|pwd|secret|token)=')",
        "message": "spec.endpoint must not carry credentials; put them in OpenBao and set "
        "spec.credentials.openBaoPath",
        "fieldPath": ".endpoint",
    },
    {
        "rule": "!has(self.points) || "
        "self.points.all(p, !has(p.minimum) || !has(p.maximum) || p.minimum <= p.maximum)",
        "message": "spec.points[].minimum must not exceed maximum",
        "fieldPath": ".points",
    },
]


class DataSource(CustomResource):
    """A DataSource as reconcilers see it: typed spec, status as last written."""

    kind: Literal["DataSource"] = "DataSource"
    spec: DataSourceSpec
