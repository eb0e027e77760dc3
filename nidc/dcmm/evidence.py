"""Evidence for the DCMM self-assessment, computed from a snapshot of the platform (pure).

Each piece of evidence has a name the process areas (policies/dcmm) refer to, a value (a share
0-1, a count, or 1/0 for yes/no) and a line saying what was counted. Evidence whose source the
platform does not have yet (a business glossary, retention rules; the catalog when it does not
answer) is `missing`, with
what is missing: the process areas that need it stay at level 1 and say so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

# A grant longer than this is not "bounded": access without a review for over a year.
GRANT_MAX_DAYS = 366
Body = dict[str, Any]


@dataclass(frozen=True)
class Evidence:
    """One measured fact, or what is missing to measure it."""

    name: str
    value: float | None
    detail: str
    missing: str | None = None

    @property
    def available(self) -> bool:
        return self.missing is None and self.value is not None


@dataclass(frozen=True)
class AuditSummary:
    """What `nidc audit verify` found for the center's log."""

    records: int
    verified: bool
    summary: str


@dataclass(frozen=True)
class PlatformSnapshot:
    """What the collectors read: resources (as the API server returns them) and a few facts."""

    now: dt.datetime
    tenants: list[Body] = field(default_factory=list)
    sources: list[Body] = field(default_factory=list)
    products: list[Body] = field(default_factory=list)
    runs: list[Body] = field(default_factory=list)
    grants: list[Body] = field(default_factory=list)
    shares: list[Body] = field(default_factory=list)
    replications: list[Body] = field(default_factory=list)
    classification_policies: list[Body] = field(default_factory=list)
    # None: the log could not be read (the reason is in audit_problem).
    audit: AuditSummary | None = None
    audit_problem: str = "the audit log was not read"
    policy_files: dict[str, bool] = field(default_factory=dict)
    alert_rules: int = 0
    onemap_indicators: int = 0
    onemap_warning_rules: int = 0
    # How many of the sources' and products' tables the asset catalog indexes (None: the catalog
    # was not read; the reason is in catalog_problem).
    catalog_tables: int | None = None
    catalog_problem: str = "the asset catalog was not read"


def _spec(body: Body) -> Body:
    return body.get("spec") or {}


def _status(body: Body) -> Body:
    return body.get("status") or {}


def _share_named(
    name: str, items: list[Body], test: Callable[[Body], bool], what: str, of: str
) -> Evidence:
    """The share of `items` passing `test`; missing when there are none to count."""
    if not items:
        return Evidence(name, None, f"no {of}", missing=f"no {of} to measure {what} on")
    passing = sum(1 for item in items if test(item))
    return Evidence(name, passing / len(items), f"{passing} of {len(items)} {of} {what}")


def _count(name: str, count: int, what: str) -> Evidence:
    return Evidence(name, float(count), f"{count} {what}")


def _missing(name: str, why: str) -> Evidence:
    return Evidence(name, None, "not measured", missing=why)


def _ready(body: Body) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in _status(body).get("conditions") or []
    )


def _parse_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _bounded(grant: Body) -> bool:
    created = _parse_time(grant.get("metadata", {}).get("creationTimestamp"))
    expires = _parse_time(_spec(grant).get("expiresAt"))
    if created is None or expires is None:
        return False
    return (expires - created).days <= GRANT_MAX_DAYS


def _terminal_runs(runs: Iterable[Body]) -> list[Body]:
    return [r for r in runs if _status(r).get("phase") in ("Succeeded", "Failed")]


def collect_evidence(snap: PlatformSnapshot) -> dict[str, Evidence]:
    """Every piece of evidence the process areas may ask for, by name (pure)."""
    tables = snap.sources + snap.products
    with_rules = [t for t in tables if _spec(t).get("qualityRules")]
    checked = [t for t in with_rules if _status(t).get("quality")]
    scores = [
        float(_status(t)["quality"]["score"])
        for t in checked
        if _status(t)["quality"].get("score") is not None
    ]
    columns = [
        column
        for t in tables
        for column in ((_status(t).get("classification") or {}).get("columns") or [])
    ]
    terminal = _terminal_runs(snap.runs)
    found: list[Evidence] = [
        _count("tenants.count", len(snap.tenants), "tenants"),
        _count("sources.count", len(snap.sources), "data sources"),
        _count("products.count", len(snap.products), "data products"),
        _share_named(
            "governance.roles_bound", snap.tenants, _ready, "Ready with their roles", "tenants"
        ),
        _share_named(
            "products.owner_share",
            snap.products,
            lambda p: bool((_spec(p).get("owner") or {}).get("email")),
            "name an accountable owner",
            "products",
        ),
        _share_named(
            "products.scheduled_share",
            snap.products,
            lambda p: bool(_spec(p).get("schedule")),
            "run on a schedule",
            "products",
        ),
        _share_named(
            "sources.domain_share",
            snap.sources,
            lambda s: bool(_spec(s).get("domain")),
            "name their MIIT data domain",
            "sources",
        ),
        _share_named(
            "classification.coverage",
            tables,
            lambda t: _status(t).get("computedGrade") is not None,
            "have a computed grade (classified)",
            "tables",
        ),
        _count(
            "classification.policies",
            len(snap.classification_policies),
            "classification policies (tenant and cluster-wide)",
        ),
        (
            Evidence(
                "classification.column_category_share",
                sum(1 for c in columns if c.get("category") not in (None, "", "unclassified"))
                / len(columns),
                f"{len(columns)} classified columns",
            )
            if columns
            else _missing("classification.column_category_share", "no table is classified yet")
        ),
        _share_named(
            "quality.rule_coverage",
            tables,
            lambda t: t in with_rules,
            "have quality rules",
            "tables",
        ),
        _share_named(
            "quality.schema_rule_share",
            tables,
            lambda t: any(r.get("check") == "schema" for r in _spec(t).get("qualityRules") or []),
            "declare their schema (a schema rule)",
            "tables",
        ),
        _share_named(
            "quality.checked_share",
            with_rules,
            lambda t: t in checked,
            "were checked by a quality run",
            "tables with rules",
        ),
        (
            Evidence(
                "quality.pass_rate",
                sum(scores) / len(scores),
                f"mean quality score of {len(scores)} checked tables",
            )
            if scores
            else _missing("quality.pass_rate", "no table has been checked by a quality run")
        ),
        _share_named(
            "quality.gate_pass_share",
            checked,
            lambda t: not _status(t)["quality"].get("blockingFailures"),
            "pass their blocking rules",
            "checked tables",
        ),
        _share_named(
            "lineage.coverage",
            snap.products,
            lambda p: bool(_status(p).get("lineage")),
            "record their upstream tables",
            "products",
        ),
        _share_named(
            "runs.success_rate",
            terminal,
            lambda r: _status(r).get("phase") == "Succeeded",
            "succeeded",
            "finished runs",
        ),
        _share_named(
            "grants.bounded_share",
            snap.grants,
            _bounded,
            f"expire within {GRANT_MAX_DAYS} days of being made",
            "grants",
        ),
        _count(
            "sharing.count",
            len(snap.grants) + len(snap.shares) + len(snap.replications),
            "grants, shares and replications",
        ),
        _count("replication.count", len(snap.replications), "replications to other centers"),
        _count(
            "analytics.products",
            sum(1 for p in snap.products if (_spec(p).get("transform") or {}).get("job")),
            "products computed by a registered analytic",
        ),
        _count(
            "policies.count",
            sum(1 for present in snap.policy_files.values() if present),
            "policy packs in force: " + ", ".join(k for k, v in snap.policy_files.items() if v),
        ),
        Evidence(
            "policies.grade_bundle",
            1.0 if snap.policy_files.get("grade bundle") else 0.0,
            "grade-to-controls bundle (policies/grades.yaml) "
            + ("in force" if snap.policy_files.get("grade bundle") else "absent"),
        ),
        _count("monitoring.alert_rules", snap.alert_rules, "alert rules (policies/alerts)"),
        _count("onemap.indicators", snap.onemap_indicators, "one-map indicators"),
        _count("onemap.warning_rules", snap.onemap_warning_rules, "early-warning rules"),
        Evidence("dcmm.assessed", 1.0, "this self-assessment, computed from the platform"),
    ]
    if snap.audit is None:
        found += [
            _missing("audit.records", snap.audit_problem),
            _missing("audit.verified", snap.audit_problem),
        ]
    else:
        found += [
            _count("audit.records", snap.audit.records, "audit records"),
            Evidence("audit.verified", 1.0 if snap.audit.verified else 0.0, snap.audit.summary),
        ]
    if snap.catalog_tables is None:
        found.append(_missing("catalog.coverage", snap.catalog_problem))
    else:
        total = max(len(tables), 1)
        found.append(
            Evidence(
                "catalog.coverage",
                min(snap.catalog_tables / total, 1.0),
                f"{snap.catalog_tables} of {len(tables)} tables in the catalog",
            )
        )
    found += [
        _missing("strategy.document", "no data strategy document is registered with the platform"),
        _missing("strategy.review_cycle", "no review cycle of the data strategy is recorded"),
        _missing(
            "governance.notification_channel",
            "alerts reach no one: no notification route (Alertmanager) is configured",
        ),
        _missing("standards.glossary_terms", "the platform keeps no business glossary"),
        _missing("standards.master_data", "no reference or master data set is registered"),
        _missing(
            "retention.policy",
            "no retention or archival rule for tables (Delta log retention, VACUUM, expiry)",
        ),
    ]
    return {e.name: e for e in found}
