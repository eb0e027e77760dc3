"""Resources of a small factory as the API server would serve them, for the catalog's pure tests
(and the smoke checks against a real database): two tenants, a files source, a product over it,
a grant of the product to the other tenant, a share and a replica."""

from __future__ import annotations

from typing import Any

from nidc.api.data_grant import DataGrant
from nidc.api.data_product import DataProduct
from nidc.api.data_replication import DataReplication
from nidc.api.data_source import DataSource
from nidc.api.tenant import Tenant
from nidc.catalog.assets import Column, TableFacts
from nidc.catalog.build import Observed, Resources
from nidc.catalog.observe import parse_shares

API = "nidc.io/v1alpha1"


def meta(name: str, namespace: str = "") -> dict[str, Any]:
    found: dict[str, Any] = {"name": name, "uid": f"uid-{name}", "generation": 1}
    if namespace:
        found["namespace"] = namespace
    return found


def tenant(name: str, owner: str) -> Tenant:
    return Tenant.from_body(
        {
            "apiVersion": API,
            "kind": "Tenant",
            "metadata": meta(name),
            "spec": {
                "displayName": name,
                "owner": {"name": owner, "email": f"{owner.lower().replace(' ', '.')}@x.cn"},
                "region": "east",
            },
        }
    )


def spindle_source() -> DataSource:
    return DataSource.from_body(
        {
            "apiVersion": API,
            "kind": "DataSource",
            "metadata": meta("cnc-spindles", "steel-plant"),
            "spec": {
                "type": "files",
                "endpoint": "s3://tenant-steel-plant",
                "domain": "production-operation",
                "enterprisePrefix": "88.118.8",
                "schedule": "@hourly",
                "files": {"format": "parquet", "prefix": "cnc/"},
                "targetTable": "bronze.cnc_spindles",
            },
            "status": {
                "rows": 90,
                "quarantinedRows": 2,
                "tableVersion": 3,
                "grade": 2,
                "computedGrade": 2,
                "quality": {"score": 0.98, "failingChecks": ["speed-range"]},
                "classification": {
                    "tableVersion": 3,
                    "policiesHash": "h",
                    "run": "classify-1",
                    "columns": [
                        {
                            "name": "主轴转速",
                            "domain": "production-operation",
                            "category": "operating-state",
                            "grade": 1,
                            "confidence": 0.9,
                        },
                        {
                            "name": "program",
                            "domain": "production-operation",
                            "category": "process-parameter",
                            "grade": 2,
                            "confidence": 0.8,
                        },
                    ],
                },
                "someFieldOfANewerOperator": {"x": 1},
            },
        }
    )


def spindle_product() -> DataProduct:
    return DataProduct.from_body(
        {
            "apiVersion": API,
            "kind": "DataProduct",
            "metadata": meta("spindle-health", "steel-plant"),
            "spec": {
                "inputs": [{"kind": "DataSource", "name": "cnc-spindles"}],
                "transform": {"sql": "SELECT * FROM cnc_spindles"},
                "owner": {"name": "Wang Li", "email": "wang.li@steel.example.cn"},
                "targetTable": "gold.spindle_health",
            },
            "status": {
                "grade": 2,
                "tableVersion": 5,
                "lastGoodVersion": 4,
                "quality": {"score": 1.0},
            },
        }
    )


def grant_to_maker() -> DataGrant:
    return DataGrant.from_body(
        {
            "apiVersion": API,
            "kind": "DataGrant",
            "metadata": meta("maker-reads-health", "steel-plant"),
            "spec": {
                "grantee": {"kind": "Tenant", "name": "equipment-maker"},
                "product": {"name": "spindle-health"},
                "columns": ["主轴转速"],
                "purpose": "after-sales service",
                "expiresAt": "2027-01-01T00:00:00Z",
            },
            "status": {
                "governedCopyPath": "s3a://tenant-steel-plant/governed/maker-reads-health",
                "grade": 2,
                "copiedVersion": 4,
            },
        }
    )


def replica() -> DataReplication:
    return DataReplication.from_body(
        {
            "apiVersion": API,
            "kind": "DataReplication",
            "metadata": meta("health-to-national", "steel-plant"),
            "spec": {
                "table": {"kind": "DataProduct", "name": "spindle-health"},
                "destination": "national",
            },
            "status": {
                "destinationPath": "s3a://national-grade2/local/steel-plant/gold/spindle_health",
                "replicatedVersion": 4,
                "grade": 2,
            },
        }
    )


def share_to_region() -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "DataShare",
        "metadata": meta("health-share", "steel-plant"),
        "spec": {
            "recipients": [
                {"kind": "Tenant", "name": "equipment-maker"},
                {"kind": "Region", "name": "west"},
            ],
            "products": [{"name": "spindle-health"}],
        },
        "status": {
            "tables": [
                {
                    "recipient": "equipment-maker",
                    "product": "spindle-health",
                    "schema": "steel",
                    "table": "spindle_health",
                    "location": "s3://tenant-steel-plant/governed/maker-reads-health/",
                    "version": 4,
                    "grade": 2,
                },
                {
                    "recipient": "west",
                    "product": "spindle-health",
                    "schema": "steel",
                    "table": "spindle_health",
                    "location": "s3://tenant-steel-plant/shared/health-share/west",
                    "version": 4,
                    "grade": 2,
                },
            ]
        },
    }


def bronze_facts() -> TableFacts:
    return TableFacts(
        version=3,
        columns=(
            Column("主轴转速", "double", comment="主轴的实时转速"),
            Column("program", "string"),
            Column("ts", "timestamp"),
        ),
        size_bytes=4096,
        files=2,
        rows=90,
        last_modified="2026-11-30T10:00:00+00:00",
        history=({"version": 3, "timestamp": "2026-11-30T10:00:00+00:00", "operation": "WRITE"},),
    )


def factory() -> Observed:
    """The small factory, with Delta facts for the bronze table and the governed copy."""
    resources = Resources(
        center="region-east",
        tenants=(tenant("steel-plant", "Zhang Wei"), tenant("equipment-maker", "Li Na")),
        sources=(spindle_source(),),
        products=(spindle_product(),),
        grants=(grant_to_maker(),),
        shares=tuple(parse_shares([share_to_region()])),
        replications=(replica(),),
        category_titles={"operating-state": "工况状态", "process-parameter": "工艺参数"},
    )
    governed = TableFacts(
        version=1,
        columns=(Column("主轴转速", "double"),),
        size_bytes=100,
        files=1,
        rows=80,
        last_modified="2026-11-30T10:05:00+00:00",
    )
    return Observed(
        resources,
        {
            "s3://tenant-steel-plant/bronze/cnc_spindles": bronze_facts(),
            "s3://tenant-steel-plant/governed/maker-reads-health": governed,
        },
    )
