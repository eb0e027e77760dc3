"""Typed view models of the pages, built from the catalog's rows and the runs (pure).

The templates only lay these out; every decision about what a page shows is made here (or in
the catalog, for what an identity may see)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from nidc.console.lineage_graph import LineageNode

PREFIX = "/console"


def table_href(asset_id: str) -> str:
    return f"{PREFIX}/tables/{quote(asset_id, safe='/')}"


def parse_time(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def age(text: str | None, now: dt.datetime) -> str:
    """How long ago, to the minute (the asset map is cached a minute): 'under 1 min', '5 min',
    '3 h', '2 d'; '-' when unknown."""
    stamp = parse_time(text)
    if stamp is None:
        return "-"
    seconds = max(0, int((now - stamp).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return "under 1 min"


def freshness(text: str | None, now: dt.datetime) -> str:
    """'written 5 min ago', or 'no data yet' for a table never written."""
    since = age(text, now)
    return "no data yet" if since == "-" else f"written {since} ago"


def grade_class(grade: Any) -> str:
    return f"grade-{grade}" if grade in (1, 2, 3) else "grade-none"


@dataclass(frozen=True)
class TableTile:
    """A table on the asset map or in a result list."""

    id: str
    tenant: str
    name: str
    kind: str
    domain: str
    grade: int | None
    quality: str
    freshness: str
    rows: int | None
    owner: str
    shared_in: bool  # another tenant's table the viewer sees through a grant or share

    @property
    def href(self) -> str:
        return table_href(self.id)

    @property
    def css(self) -> str:
        return grade_class(self.grade)


def tile(row: Mapping[str, Any], now: dt.datetime, own: Sequence[str] | None) -> TableTile:
    """`own`: the viewer's tenants (None: a center operator, who owns nothing and sees all)."""
    score = row.get("quality_score")
    return TableTile(
        id=row["id"],
        tenant=row["tenant"],
        name=row["name"],
        kind=row.get("kind") or "",
        domain=row.get("domain") or "(no domain)",
        grade=row.get("grade"),
        quality=f"{score:.2f}" if isinstance(score, float) else "-",
        freshness=freshness(row.get("last_modified"), now),
        rows=row.get("rows"),
        owner=row.get("owner_name") or "",
        shared_in=own is not None and row["tenant"] not in own,
    )


@dataclass(frozen=True)
class DomainGroup:
    domain: str
    tables: tuple[TableTile, ...]


@dataclass(frozen=True)
class TenantGroup:
    tenant: str
    domains: tuple[DomainGroup, ...]

    @property
    def count(self) -> int:
        return sum(len(d.tables) for d in self.domains)


@dataclass(frozen=True)
class AssetMap:
    tenants: tuple[TenantGroup, ...]
    grade_counts: dict[str, int]

    @property
    def count(self) -> int:
        return sum(t.count for t in self.tenants)


def asset_map(
    rows: Iterable[Mapping[str, Any]], now: dt.datetime, own: Sequence[str] | None
) -> AssetMap:
    """Tenants -> domains -> tables, each level sorted by name."""
    grouped: dict[str, dict[str, list[TableTile]]] = {}
    counts = {"1": 0, "2": 0, "3": 0, "-": 0}
    for row in rows:
        found = tile(row, now, own)
        grouped.setdefault(found.tenant, {}).setdefault(found.domain, []).append(found)
        counts[str(found.grade) if found.grade in (1, 2, 3) else "-"] += 1
    tenants = tuple(
        TenantGroup(
            tenant,
            tuple(
                DomainGroup(domain, tuple(sorted(tables, key=lambda t: t.name)))
                for domain, tables in sorted(domains.items())
            ),
        )
        for tenant, domains in sorted(grouped.items())
    )
    return AssetMap(tenants, counts)


@dataclass(frozen=True)
class ColumnView:
    name: str
    type: str
    comment: str
    category: str
    grade: int | None
    confidence: str

    @property
    def css(self) -> str:
        return grade_class(self.grade)


@dataclass(frozen=True)
class RunView:
    name: str
    job_type: str
    phase: str
    started: str
    finished: str
    version: int | None
    quality: float | None
    trace_url: str | None


@dataclass(frozen=True)
class AccessView:
    tenant: str
    via: str
    resource: str


@dataclass(frozen=True)
class TablePage:
    id: str
    facts: tuple[tuple[str, str], ...]
    grade: int | None
    columns: tuple[ColumnView, ...]
    upstream: tuple[LineageNode, ...]
    downstream: tuple[LineageNode, ...]
    access: tuple[AccessView, ...]
    grants: tuple[str, ...]
    shares: tuple[str, ...]
    runs: tuple[RunView, ...] = field(default=())

    @property
    def quality_points(self) -> list[tuple[str, float | None]]:
        """Quality scores of the quality runs, oldest first."""
        checked = [r for r in self.runs if r.quality is not None]
        return [(r.started[5:16] or r.name, r.quality) for r in reversed(checked)]

    @property
    def css(self) -> str:
        return grade_class(self.grade)


def neighbour_node(item: Mapping[str, Any]) -> LineageNode:
    if item.get("hidden"):
        return LineageNode(label="", hidden=True)
    source = item.get("source")
    if source:
        return LineageNode(label=f"{item['id']} ({source['type']})")
    return LineageNode(label=item["id"], href=table_href(item["id"]))


def text(value: Any) -> str:
    if value is None or value == [] or value == "":
        return "-"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def table_page(asset: Mapping[str, Any], runs: Sequence[RunView]) -> TablePage:
    facts = (
        ("made by", text(asset.get("resource"))),
        ("location", text(asset.get("location"))),
        ("owner", text(asset.get("owner_name"))),
        ("domain", text(asset.get("domain"))),
        ("categories", text(asset.get("categories"))),
        ("grade", f"{text(asset.get('grade'))} ({text(asset.get('grade_basis'))})"),
        ("quality", text(asset.get("quality_score"))),
        ("failing checks", text(asset.get("failing_checks"))),
        ("version", text(asset.get("version"))),
        ("last good version", text(asset.get("last_good_version"))),
        ("rows", text(asset.get("rows"))),
        ("modified", text(asset.get("last_modified"))[:19].replace("T", " ")),
        ("description", text(asset.get("description"))),
    )
    columns = tuple(
        ColumnView(
            name=c["name"],
            type=c.get("type") or "",
            comment=c.get("comment") or "",
            category=" ".join(x for x in (c.get("category"), c.get("category_title")) if x),
            grade=c.get("grade"),
            confidence=f"{c['confidence']:.2f}" if isinstance(c.get("confidence"), float) else "",
        )
        for c in asset.get("columns") or []
    )
    return TablePage(
        id=asset["id"],
        facts=facts,
        grade=asset.get("grade"),
        columns=columns,
        upstream=tuple(neighbour_node(n) for n in asset.get("upstream") or []),
        downstream=tuple(neighbour_node(n) for n in asset.get("downstream") or []),
        access=tuple(
            AccessView(a["tenant"], a["via"], a["resource"]) for a in asset.get("access") or []
        ),
        grants=tuple(asset.get("grants") or ()),
        shares=tuple(asset.get("shares") or ()),
        runs=tuple(runs),
    )


def trace_id(traceparent: str | None) -> str | None:
    """The trace id of a W3C traceparent (00-<trace id>-<span id>-<flags>)."""
    if not traceparent:
        return None
    parts = traceparent.split("-")
    if len(parts) != 4 or len(parts[1]) != 32:
        return None
    return parts[1]


def run_view(body: Mapping[str, Any], trace_ui: str | None) -> RunView:
    """A PipelineRun as a row of the table page; its trace link from the job's traceparent."""
    spec = body.get("spec") or {}
    status = body.get("status") or {}
    trace = trace_id((spec.get("job") or {}).get("traceparent"))
    quality = (status.get("quality") or {}).get("score")
    return RunView(
        name=body["metadata"]["name"],
        job_type=spec.get("jobType") or "",
        phase=status.get("phase") or "Pending",
        started=status.get("startedAt") or "",
        finished=status.get("finishedAt") or "",
        version=status.get("tableVersion"),
        quality=float(quality) if isinstance(quality, int | float) else None,
        trace_url=f"{trace_ui.rstrip('/')}/trace/{trace}" if trace and trace_ui else None,
    )


def runs_of(
    bodies: Iterable[Mapping[str, Any]], resource: str, trace_ui: str | None, limit: int = 20
) -> list[RunView]:
    """The runs whose parent is `resource` (Kind/namespace/name), newest first."""
    kind, _, rest = resource.partition("/")
    namespace, _, name = rest.partition("/")
    mine = [
        b
        for b in bodies
        if b["metadata"].get("namespace") == namespace
        and (b.get("spec") or {}).get("parent", {}).get("kind") == kind
        and (b.get("spec") or {}).get("parent", {}).get("name") == name
    ]
    mine.sort(key=lambda b: b["metadata"].get("creationTimestamp") or "", reverse=True)
    return [run_view(b, trace_ui) for b in mine[:limit]]
