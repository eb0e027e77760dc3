"""What the catalog records: assets (tables), their columns, the edges between them and who
else may see them. Plain frozen dataclasses; build.py makes them, store.py writes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class AssetKind(StrEnum):
    """What made the table, and so what it is."""

    SOURCE_TABLE = "source-table"  # bronze, committed by ingest from a DataSource
    QUARANTINE = "quarantine"  # bad records of a DataSource, with a reason
    PRODUCT_TABLE = "product-table"  # silver/gold, written by a DataProduct's transform
    GOVERNED_COPY = "governed-copy"  # a DataGrant's projection/filter/masks of a product
    SHARED_COPY = "shared-copy"  # what a DataShare serves, when no grant's copy is it
    REPLICA = "replica"  # a DataReplication's byte copy at a peer center


class AccessVia(StrEnum):
    """How a tenant other than the owner comes to see an asset."""

    GRANT = "grant"
    SHARE = "share"


@dataclass(frozen=True)
class Column:
    """One column: its Delta schema and, when classified, MIIT category and grade."""

    name: str
    type: str
    nullable: bool = True
    comment: str | None = None
    domain: str | None = None
    category: str | None = None
    category_title: str | None = None
    grade: int | None = None
    confidence: float | None = None


@dataclass(frozen=True)
class TableFacts:
    """What the Delta log of a table says (observe.py reads it; None where unreadable)."""

    version: int
    columns: tuple[Column, ...]
    size_bytes: int
    files: int
    rows: int | None
    last_modified: str | None  # RFC 3339, the latest commit's time
    history: tuple[dict[str, Any], ...] = ()  # newest first: version, timestamp, operation
    description: str | None = None


@dataclass(frozen=True)
class Asset:
    """One table in the catalog. `id` is `<tenant>/<layer>.<name>`."""

    id: str
    tenant: str
    layer: str
    name: str
    kind: AssetKind
    resource: str  # Kind/namespace/name of the resource that makes it
    location: str
    center: str | None = None
    owner_name: str | None = None
    owner_email: str | None = None
    domain: str | None = None
    categories: tuple[str, ...] = ()
    grade: int | None = None
    grade_basis: str | None = None  # classified, status, declared, tenant-default
    declared_grade: int | None = None
    quality_score: float | None = None
    quality_basis: str | None = None  # rules (the quality run's score) or ingest (rows accepted)
    failing_checks: tuple[str, ...] = ()
    version: int | None = None
    last_good_version: int | None = None
    versions: int | None = None
    last_modified: str | None = None
    size_bytes: int | None = None
    files: int | None = None
    rows: int | None = None
    description: str | None = None
    columns: tuple[Column, ...] = ()
    history: tuple[dict[str, Any], ...] = ()
    shares: tuple[str, ...] = ()  # recipients this asset is shared with (through copies)
    grants: tuple[str, ...] = ()  # grantees this asset is granted to (through copies)
    search_text: str = ""


@dataclass(frozen=True)
class Edge:
    """`upstream` feeds `downstream`; either is an asset id or `source:<ns>/<name>` (a device
    or system a DataSource collects from)."""

    upstream: str
    downstream: str
    via: str  # the resource that makes the flow: Kind/namespace/name


@dataclass(frozen=True)
class Access:
    """`tenant` may see `asset_id` although another tenant owns it."""

    asset_id: str
    tenant: str
    via: AccessVia
    resource: str


@dataclass(frozen=True)
class SourceNode:
    """A device or system a DataSource collects from: the first upstream of a bronze table."""

    id: str
    tenant: str
    resource: str
    type: str
    endpoint: str


@dataclass(frozen=True)
class CatalogRows:
    """Everything one sweep writes."""

    assets: tuple[Asset, ...]
    edges: tuple[Edge, ...]
    access: tuple[Access, ...]
    sources: tuple[SourceNode, ...] = field(default_factory=tuple)
