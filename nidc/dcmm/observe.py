"""Read the platform into a PlatformSnapshot: resources from the API server, the audit log's
verification, and the policy packs in force (the only I/O of the self-assessment)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nidc.api.schema import GROUP
from nidc.audit import reading as audit_reading
from nidc.audit.store import DEFAULT_CENTER
from nidc.audit.transit import TransitKeyError
from nidc.catalog.client import CatalogClient, CatalogClientError
from nidc.dcmm.evidence import AuditSummary, PlatformSnapshot
from nidc.governance.policy_files import policies_dir
from nidc.kube import api_client, list_objects
from nidc.monitoring.alert_rules import load_packs
from nidc.onemap.indicators import load_indicators
from nidc.onemap.warnings import load_warning_rules

API_VERSION = f"{GROUP}/v1alpha1"
# Policy packs the platform enforces, by what they are, and the file or folder that holds each.
POLICY_PACKS = {
    "grade bundle": "grades.yaml",
    "classification baseline": "classification/national-baseline.yaml",
    "alert rules": "alerts",
    "Pulumi policy pack": "pulumi/PulumiPolicy.yaml",
    "DCMM model": "dcmm",
    "early-warning rules": "onemap/warnings.yaml",
}


def policy_files(root: Path | None = None) -> dict[str, bool]:
    """Which policy packs are present."""
    base = root or policies_dir()
    return {name: (base / relative).exists() for name, relative in POLICY_PACKS.items()}


def read_audit(
    env: dict[str, Any], center: str = DEFAULT_CENTER
) -> tuple[AuditSummary | None, str]:
    """The audit log's verification, or why it could not be read."""
    try:
        store, signer = audit_reading.clients(env)
        report = audit_reading.verify_center(store, signer, center)
    except TransitKeyError as error:
        return None, f"no audit signing key yet ({error})"
    except audit_reading.UNREACHABLE as error:
        return None, audit_reading.unreachable(error)
    return AuditSummary(report.records, report.ok and report.records > 0, report.summary()), ""


def read_catalog_coverage(
    env: dict[str, Any], owners: list[dict[str, Any]], context: str
) -> tuple[int | None, str]:
    """How many of the owners' tables (<namespace>/<targetTable>) the catalog indexes, asked as
    `context`; None and why when the catalog cannot be asked."""
    try:
        ids = {asset["id"] for asset in CatalogClient.local(env, context).assets()}
    except CatalogClientError as error:
        return None, f"the asset catalog did not answer: {error}"
    wanted = {
        f"{o['metadata']['namespace']}/{(o.get('spec') or {}).get('targetTable')}" for o in owners
    }
    return len(wanted & ids), ""


def read_snapshot(
    env: dict[str, Any],
    namespace: str | None = None,
    selector: str | None = None,
    context: str = "platform-admin",
) -> PlatformSnapshot:
    """Everything the collectors read, from the platform `nidc local env --json` describes:
    the whole center, or one tenant's namespace and/or the resources a label selector picks (an
    enterprise assesses its own data management)."""
    with api_client(Path(env["kubeconfig"]), context=context) as api:
        audit, problem = read_audit(env)
        return snapshot_of(
            api,
            namespace,
            selector,
            audit=audit,
            audit_problem=problem,
            catalogued=lambda owners: read_catalog_coverage(env, owners, context),
        )


def snapshot_of(
    api: Any,
    namespace: str | None,
    selector: str | None,
    audit: AuditSummary | None,
    audit_problem: str,
    catalogued: Callable[[list[dict[str, Any]]], tuple[int | None, str]],
) -> PlatformSnapshot:
    """The snapshot read with `api` (the CLI's kubeconfig, or the console's own identity);
    `catalogued` counts how many of the owners' tables the catalog indexes."""
    cluster_scoped = {"Tenant", "ClusterClassificationPolicy"}

    def listed(kind: str) -> list[dict[str, Any]]:
        if kind in cluster_scoped:
            found = list(list_objects(api, API_VERSION, kind))
            if kind == "Tenant" and namespace:
                found = [t for t in found if t["metadata"]["name"] == namespace]
            return found
        return list(list_objects(api, API_VERSION, kind, namespace, selector))

    sources, products = listed("DataSource"), listed("DataProduct")
    catalog_tables, catalog_problem = catalogued(sources + products)
    return PlatformSnapshot(
        now=dt.datetime.now(dt.UTC),
        tenants=listed("Tenant"),
        sources=sources,
        products=products,
        runs=listed("PipelineRun"),
        grants=listed("DataGrant"),
        shares=listed("DataShare"),
        replications=listed("DataReplication"),
        classification_policies=listed("ClassificationPolicy")
        + listed("ClusterClassificationPolicy"),
        audit=audit,
        audit_problem=audit_problem,
        policy_files=policy_files(),
        alert_rules=sum(len(pack.alerts) for pack in load_packs()),
        onemap_indicators=len(load_indicators()),
        onemap_warning_rules=len(load_warning_rules()),
        catalog_tables=catalog_tables,
        catalog_problem=catalog_problem,
    )
