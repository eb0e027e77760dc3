"""DataReplication: a tenant's Delta table copied, incrementally and checksummed, to a peer center.

Whether a copy may leave at all is decided by grade (nidc/governance/replication.py): grade 1
goes to any peer that takes it, grade 2 needs an ExportApproval, grade 3 never leaves its region.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from nidc.api.resource import CustomResource
from nidc.api.schema import (
    CRON,
    DNS_LABEL,
    GradeField,
    LocalObjectReference,
    Model,
    ObservedStatus,
    RunSummary,
)


class TableReference(Model):
    """The resource whose Delta table is replicated."""

    kind: str = Field(
        default="DataProduct",
        description="DataProduct (its target table) or DataSource (its bronze table).",
        json_schema_extra={"enum": ["DataProduct", "DataSource"]},
    )
    name: str = Field(description="Its name, in this namespace.", pattern=DNS_LABEL, max_length=63)


class DataReplicationSpec(Model):
    """Desired state of a replication."""

    table: TableReference = Field(description="Whose table is copied.")
    destination: str = Field(
        description="The peer center that receives the copy, as named in the center's "
        "replication configuration (ConfigMap nidc-sharing/nidc-replication).",
        pattern=DNS_LABEL,
        max_length=63,
    )
    export_approval: LocalObjectReference | None = Field(
        default=None,
        alias="exportApproval",
        description="ExportApproval that lets grade 2 (or, inside its region, grade 3) data go "
        "to the destination.",
    )
    schedule: str | None = Field(
        default=None,
        description="Cron schedule of copies; empty: copy whenever the table has a new version.",
        pattern=CRON,
    )
    suspend: bool = Field(default=False, description="Stop starting new copies.")


class DataReplicationStatus(ObservedStatus):
    """Observed state of a replication."""

    grade: GradeField | None = Field(default=None, description="Grade of the replicated table.")
    destination_region: str | None = Field(
        default=None, alias="destinationRegion", description="Region of the destination center."
    )
    destination_path: str | None = Field(
        default=None,
        alias="destinationPath",
        description="Where the copy lives in the destination's object store (no credentials).",
    )
    source_version: int | None = Field(
        default=None, alias="sourceVersion", ge=0, description="Latest version of the source table."
    )
    replicated_version: int | None = Field(
        default=None,
        alias="replicatedVersion",
        ge=0,
        description="Latest source version the copy holds, verified by checksum.",
    )
    checksum: str | None = Field(
        default=None,
        description="sha256 over the copy's files (path and sha256 of each) at replicatedVersion.",
    )
    last_run: RunSummary | None = Field(default=None, alias="lastRun", description="Last copy run.")
    next_run: str | None = Field(
        default=None,
        alias="nextRun",
        description="Next scheduled copy.",
        json_schema_extra={"format": "date-time"},
    )


DATA_REPLICATION_RULES: list[dict[str, str]] = []


class DataReplication(CustomResource):
    """A DataReplication as reconcilers see it: typed spec, status as last written."""

    kind: Literal["DataReplication"] = "DataReplication"
    spec: DataReplicationSpec
