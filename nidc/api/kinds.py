"""Every kind of the API, with what its CRD is made from (names, rules, printer columns)."""

from __future__ import annotations

from nidc.api.classification_policy import (
    CLASSIFICATION_POLICY_RULES,
    ClassificationPolicySpec,
    ClassificationPolicyStatus,
)
from nidc.api.crd import KindDefinition, PrinterColumn
from nidc.api.data_grant import DATA_GRANT_RULES, DataGrantSpec, DataGrantStatus
from nidc.api.data_product import DATA_PRODUCT_RULES, DataProductSpec, DataProductStatus
from nidc.api.data_replication import (
    DATA_REPLICATION_RULES,
    DataReplicationSpec,
    DataReplicationStatus,
)
from nidc.api.data_share import DATA_SHARE_RULES, DataShareSpec, DataShareStatus
from nidc.api.data_source import DATA_SOURCE_RULES, DataSourceSpec, DataSourceStatus
from nidc.api.export_approval import (
    EXPORT_APPROVAL_RULES,
    ExportApprovalSpec,
    ExportApprovalStatus,
)
from nidc.api.pipeline_run import PIPELINE_RUN_RULES, PipelineRunSpec, PipelineRunStatus
from nidc.api.tenant import TenantSpec, TenantStatus

GRADE = PrinterColumn(
    "Grade", ".status.grade", "integer", "Effective data grade (1-3): computed once classified"
)
ROWS = PrinterColumn("Rows", ".status.rows", "integer", "Rows in the table")
LAST_RUN = PrinterColumn(
    "Last Run", ".status.lastRun.finishedAt", "date", "When the last run ended"
)

POLICY_COLUMNS = (
    PrinterColumn("Tables", ".status.classifiedTables", "integer", "Tables classified"),
    PrinterColumn("Core", ".status.tablesByGrade.core", "integer", "Grade-3 tables"),
    PrinterColumn("Important", ".status.tablesByGrade.important", "integer", "Grade-2 tables"),
    PrinterColumn(
        "Rejected", ".status.rejectedOverrides", "integer", "Overrides not applied", priority=1
    ),
)

TENANT = KindDefinition(
    kind="Tenant",
    plural="tenants",
    short_names=("tn",),
    scope="Cluster",
    description="A factory or enterprise group: its namespace, roles, quotas, bucket and "
    "OpenBao policy.",
    spec=TenantSpec,
    status=TenantStatus,
    columns=(
        PrinterColumn("Namespace", ".status.namespace", description="The tenant's namespace"),
        PrinterColumn("Region", ".spec.region", description="Home regional center"),
        PrinterColumn("Clearance", ".spec.clearance", "integer", "Highest grade it may receive"),
    ),
)
DATA_SOURCE = KindDefinition(
    kind="DataSource",
    plural="datasources",
    short_names=("dsrc",),  # "ds" is DaemonSet
    description="Equipment or an enterprise system (OPC UA, Modbus, MQTT, JDBC, files) whose "
    "data lands in a bronze Delta table.",
    spec=DataSourceSpec,
    status=DataSourceStatus,
    spec_rules=tuple(DATA_SOURCE_RULES),
    columns=(
        PrinterColumn("Type", ".spec.type", description="Protocol or system"),
        GRADE,
        PrinterColumn("Declared", ".spec.grade", "integer", "Declared grade (the floor)"),
        ROWS,
        PrinterColumn(
            "Quarantined", ".status.quarantinedRows", "integer", "Rows in quarantine", priority=1
        ),
        LAST_RUN,
        PrinterColumn(
            "Maintained",
            ".status.lastMaintenance.finishedAt",
            "date",
            "When the last compaction and vacuum ended (device sources)",
            priority=1,
        ),
    ),
)
DATA_PRODUCT = KindDefinition(
    kind="DataProduct",
    plural="dataproducts",
    short_names=("dp",),
    description="A silver or gold Delta table computed from sources and products, with quality "
    "checks and an accountable owner.",
    spec=DataProductSpec,
    status=DataProductStatus,
    spec_rules=tuple(DATA_PRODUCT_RULES),
    columns=(
        GRADE,
        ROWS,
        PrinterColumn("Quality", ".status.quality.score", "number", "Share of checks passing"),
        LAST_RUN,
        PrinterColumn("Pool", ".spec.pool", description="Spark pool", priority=1),
    ),
)
CLASSIFICATION_POLICY = KindDefinition(
    kind="ClassificationPolicy",
    plural="classificationpolicies",
    short_names=("cp",),
    description="Detectors and overrides that classify and grade a tenant's columns, on top of "
    "the cluster baseline.",
    spec=ClassificationPolicySpec,
    status=ClassificationPolicyStatus,
    spec_rules=tuple(CLASSIFICATION_POLICY_RULES),
    columns=POLICY_COLUMNS,
)
CLUSTER_CLASSIFICATION_POLICY = KindDefinition(
    kind="ClusterClassificationPolicy",
    plural="clusterclassificationpolicies",
    short_names=("ccp",),
    scope="Cluster",
    description="The platform-wide baseline of classification detectors every tenant inherits.",
    spec=ClassificationPolicySpec,
    status=ClassificationPolicyStatus,
    spec_rules=tuple(CLASSIFICATION_POLICY_RULES),
    columns=POLICY_COLUMNS,
)
DATA_GRANT = KindDefinition(
    kind="DataGrant",
    plural="datagrants",
    short_names=("dg",),
    description="Access for a tenant, service account or group to a product's columns and rows, "
    "for a purpose, until an expiry.",
    spec=DataGrantSpec,
    status=DataGrantStatus,
    spec_rules=tuple(DATA_GRANT_RULES),
    columns=(
        PrinterColumn("Product", ".spec.product.name", description="Granted product"),
        PrinterColumn("Grantee", ".spec.grantee.name", description="Who receives access"),
        PrinterColumn("Expires", ".spec.expiresAt", "string", "When access ends"),
        PrinterColumn(
            "Copied", ".status.copiedVersion", "integer", "Product version of the governed copy"
        ),
        PrinterColumn(
            "Credentials Until",
            ".status.credentialExpiresAt",
            "date",
            "When the current credentials lapse",
            priority=1,
        ),
    ),
)
DATA_SHARE = KindDefinition(
    kind="DataShare",
    plural="datashares",
    short_names=("dsh",),
    description="Products offered to other tenants or regions through Delta Sharing, refused "
    "above the grade a recipient may hold.",
    spec=DataShareSpec,
    status=DataShareStatus,
    spec_rules=tuple(DATA_SHARE_RULES),
    columns=(
        PrinterColumn("TTL", ".spec.tokenTTL", description="Token lifetime"),
        PrinterColumn(
            "Reason",
            '.status.conditions[?(@.type=="Ready")].reason',
            description="Why it is (not) Ready",
        ),
        PrinterColumn(
            "Approval", ".spec.exportApproval.name", description="ExportApproval it relies on"
        ),
        PrinterColumn(
            "Recipients",
            ".status.recipients[*].name",
            description="Recipients",
            priority=1,
        ),
    ),
)
EXPORT_APPROVAL = KindDefinition(
    kind="ExportApproval",
    plural="exportapprovals",
    short_names=("ea",),
    description="A recorded approval for grade 2 or 3 data to leave its tenant, or for a grade "
    "to be lowered.",
    spec=ExportApprovalSpec,
    status=ExportApprovalStatus,
    spec_rules=tuple(EXPORT_APPROVAL_RULES),
    columns=(
        PrinterColumn("Approver", ".spec.approver.name", description="Who approved"),
        PrinterColumn("Max Grade", ".spec.maxGrade", "integer", "Highest grade covered"),
        PrinterColumn("Expires", ".spec.expiresAt", "string", "When the approval lapses"),
        PrinterColumn("Valid", ".status.valid", "boolean", "Whether it is in force"),
        PrinterColumn(
            "Used By", ".status.usedBy[*].name", description="Shares, grants, replications"
        ),
    ),
)
DATA_REPLICATION = KindDefinition(
    kind="DataReplication",
    plural="datareplications",
    short_names=("drep",),
    description="A tenant's Delta table copied incrementally, with checksums, to a peer center; "
    "grade 1 goes, grade 2 with an ExportApproval, grade 3 never leaves its region.",
    spec=DataReplicationSpec,
    status=DataReplicationStatus,
    spec_rules=tuple(DATA_REPLICATION_RULES),
    columns=(
        PrinterColumn("Table", ".spec.table.name", description="Replicated resource"),
        PrinterColumn("Destination", ".spec.destination", description="Peer center"),
        GRADE,
        PrinterColumn(
            "Version", ".status.replicatedVersion", "integer", "Source version the copy holds"
        ),
        LAST_RUN,
    ),
)
PIPELINE_RUN = KindDefinition(
    kind="PipelineRun",
    plural="pipelineruns",
    short_names=("pr",),
    description="One run of a job, recorded before it is submitted; owned by its DataSource, "
    "DataProduct or DataReplication (internal).",
    spec=PipelineRunSpec,
    status=PipelineRunStatus,
    spec_rules=tuple(PIPELINE_RUN_RULES),
    columns=(
        PrinterColumn("Phase", ".status.phase", description="State-machine phase"),
        PrinterColumn("Job", ".spec.jobType", description="Which job"),
        PrinterColumn("Parent", ".spec.parent.name", description="Owning resource"),
        PrinterColumn("Attempts", ".status.attempts", "integer", "Attempts made"),
    ),
)

ALL_KINDS = (
    TENANT,
    DATA_SOURCE,
    DATA_PRODUCT,
    CLASSIFICATION_POLICY,
    CLUSTER_CLASSIFICATION_POLICY,
    DATA_GRANT,
    DATA_SHARE,
    EXPORT_APPROVAL,
    DATA_REPLICATION,
    PIPELINE_RUN,
)
