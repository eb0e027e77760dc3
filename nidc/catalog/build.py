"""Resources and Delta facts -> catalog rows. Pure: no I/O; observe.py gathers `Observed`.

Every table a resource makes becomes one asset, with the edges that feed it and the tenants
besides its owner that may see it:

    DataSource      -> its bronze table and its quarantine (both fed by `source:<ns>/<name>`)
    DataProduct     -> its silver/gold table (fed by its inputs' tables)
    DataGrant       -> the governed copy (fed by the product's table; the grantee tenant sees it)
    DataShare       -> what status.tables serves each recipient: a grant's governed copy when
                       the location is one, else a shared copy (the recipient tenant sees it)
    DataReplication -> the replica at the peer center (fed by the replicated table)
    quality         -> quarantine/<table>_quality, when a quality run wrote one
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from nidc.api.addressing import (
    quality_quarantine_path,
    quarantine_path,
    split_table,
    table_path,
)
from nidc.api.classification_result import Classification
from nidc.api.data_grant import DataGrant, GranteeKind
from nidc.api.data_product import DataProduct, InputKind
from nidc.api.data_replication import DataReplication
from nidc.api.data_share import DataShareSpec, DataShareStatus, RecipientKind
from nidc.api.data_source import DataSource
from nidc.api.quality_rules import Quality
from nidc.api.tenant import Person, Tenant
from nidc.catalog.assets import (
    Access,
    AccessVia,
    Asset,
    AssetKind,
    CatalogRows,
    Column,
    Edge,
    SourceNode,
    TableFacts,
)
from nidc.catalog.search_text import search_document

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class ObservedShare:
    """A DataShare as the catalog reads it (the kind has no reconciler model of its own yet)."""

    namespace: str
    name: str
    spec: DataShareSpec
    status: DataShareStatus


@dataclass(frozen=True)
class Resources:
    """The resources of one center, parsed with the API's own models."""

    center: str = "local"
    tenants: tuple[Tenant, ...] = ()
    sources: tuple[DataSource, ...] = ()
    products: tuple[DataProduct, ...] = ()
    grants: tuple[DataGrant, ...] = ()
    shares: tuple[ObservedShare, ...] = ()
    replications: tuple[DataReplication, ...] = ()
    category_titles: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Observed:
    """Resources plus what the Delta log of each readable table said, by location."""

    resources: Resources
    facts: Mapping[str, TableFacts] = field(default_factory=dict)


def status_part(model: type[ModelT], data: Any) -> ModelT | None:
    """A status sub-object parsed with its model, ignoring fields the model does not know (a
    newer operator may have added some): the index must not stop at a field it cannot read."""
    if not isinstance(data, Mapping):
        return None
    known = {f.alias or name for name, f in model.model_fields.items()} | set(model.model_fields)
    try:
        return model.model_validate({k: v for k, v in data.items() if k in known})
    except ValidationError:
        return None


def same_location(path: str) -> str:
    """s3a://b/p and s3://b/p/ name the same table."""
    scheme, _, rest = path.partition("://")
    return f"s3://{rest.rstrip('/')}" if scheme in ("s3", "s3a") else path.rstrip("/")


def asset_id(tenant: str, table: str) -> str:
    """steel-plant + bronze.line_sensors -> steel-plant/bronze.line_sensors."""
    return f"{tenant}/{table}"


def source_node_id(namespace: str, name: str) -> str:
    return f"source:{namespace}/{name}"


def locations_to_read(resources: Resources) -> list[str]:
    """Every table location whose Delta log observe.py should read (replicas live at a peer
    center, whose store this center does not read: their rows come from status)."""
    found: list[str] = []
    for source in resources.sources:
        found.append(table_path(source.namespace, source.spec.target_table))
        found.append(quarantine_path(source.namespace, source.spec.target_table))
        found.append(quality_quarantine_path(source.namespace, source.spec.target_table))
    for product in resources.products:
        found.append(table_path(product.namespace, product.spec.target_table))
        found.append(quality_quarantine_path(product.namespace, product.spec.target_table))
    for grant in resources.grants:
        path = grant.status.get("governedCopyPath")
        if isinstance(path, str) and path:
            found.append(path)
    for share in resources.shares:
        found.extend(t.location for t in share.status.tables)
    return sorted({same_location(p) for p in found})


def categories_of(classification: Classification | None) -> tuple[str, ...]:
    """The table's categories, highest grade first (unclassified columns left out)."""
    if classification is None:
        return ()
    ranked: Counter[str] = Counter()
    grades: dict[str, int] = {}
    for column in classification.columns:
        if column.category and column.category != "unclassified":
            ranked[column.category] += 1
            grades[column.category] = max(grades.get(column.category, 0), column.grade)
    return tuple(sorted(ranked, key=lambda c: (-grades[c], -ranked[c], c)))


def merge_columns(
    facts: TableFacts | None,
    classification: Classification | None,
    titles: Mapping[str, str],
) -> tuple[Column, ...]:
    """Delta schema columns with their classification (a classified column the schema lacks
    still shows: the log may not be readable yet)."""
    classified = {c.name: c for c in classification.columns} if classification else {}
    columns = list(facts.columns) if facts else [Column(name=n, type="") for n in classified]
    merged = []
    for column in columns:
        found = classified.get(column.name)
        if found is None:
            merged.append(column)
            continue
        merged.append(
            replace(
                column,
                domain=found.domain,
                category=found.category,
                category_title=titles.get(found.category),
                grade=found.grade,
                confidence=found.confidence,
            )
        )
    return tuple(merged)


def grade_and_basis(
    status: Mapping[str, Any], declared: int | None, tenant_default: int | None
) -> tuple[int | None, str | None]:
    """The table's grade and where it comes from: the owner's effective grade in status
    (classified, or declared and kept), the declared one, else the tenant's default
    classification, which is what a new data set is until classification says otherwise."""
    effective = first_int(status.get("grade"), status.get("computedGrade"))
    if effective is not None:
        return effective, "classified" if status.get("classification") else "status"
    if declared is not None:
        return declared, "declared"
    if tenant_default is not None:
        return tenant_default, "tenant-default"
    return None, None


def first_int(*values: Any) -> int | None:
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def quality_of(
    quality: Quality | None, status: Mapping[str, Any]
) -> tuple[float | None, str | None]:
    """A table's quality score and what it is (pure): its quality run's score where it has
    rules; else, for a source's bronze table, the share of ingested rows that were accepted."""
    if quality is not None and quality.score is not None:
        return quality.score, "rules"
    accepted, quarantined = first_int(status.get("rows")), first_int(status.get("quarantinedRows"))
    if accepted is None or quarantined is None or accepted + quarantined == 0:
        return None, None
    return round(accepted / (accepted + quarantined), 4), "ingest"


@dataclass
class _Builder:
    """Accumulates rows while walking the resources in a fixed order (deterministic output)."""

    observed: Observed
    assets: dict[str, Asset] = field(default_factory=dict)
    edges: set[Edge] = field(default_factory=set)
    access: set[Access] = field(default_factory=set)
    sources: dict[str, SourceNode] = field(default_factory=dict)

    @property
    def resources(self) -> Resources:
        return self.observed.resources

    def facts(self, location: str) -> TableFacts | None:
        return self.observed.facts.get(same_location(location))

    def tenant_owner(self, namespace: str) -> Person | None:
        for tenant in self.resources.tenants:
            if tenant.name == namespace:
                return tenant.spec.owner
        return None

    def tenant_grade(self, namespace: str) -> int | None:
        for tenant in self.resources.tenants:
            if tenant.name == namespace:
                return tenant.spec.default_classification.grade
        return None

    def tenant_domain(self, namespace: str) -> str | None:
        for tenant in self.resources.tenants:
            if tenant.name == namespace:
                return str(tenant.spec.default_classification.domain)
        return None

    def add(self, asset: Asset) -> None:
        self.assets[asset.id] = asset

    def table_asset(
        self,
        *,
        tenant: str,
        table: str,
        kind: AssetKind,
        resource: str,
        location: str,
        owner: Person | None,
        domain: str | None,
        status: Mapping[str, Any],
        declared_grade: int | None,
        rows: int | None,
    ) -> Asset:
        facts = self.facts(location)
        classification = status_part(Classification, status.get("classification"))
        quality = status_part(Quality, status.get("quality"))
        score, score_basis = quality_of(quality, status)
        layer = split_table(table)[0]
        grade, basis = grade_and_basis(status, declared_grade, self.tenant_grade(tenant))
        return Asset(
            id=asset_id(tenant, table),
            tenant=tenant,
            layer=layer,
            name=table,
            kind=kind,
            resource=resource,
            location=location,
            center=self.resources.center,
            owner_name=owner.name if owner else None,
            owner_email=owner.email if owner else None,
            domain=domain,
            categories=categories_of(classification),
            grade=grade,
            grade_basis=basis,
            declared_grade=declared_grade,
            quality_score=score,
            quality_basis=score_basis,
            failing_checks=tuple(quality.failing_checks) if quality else (),
            version=facts.version if facts else first_int(status.get("tableVersion")),
            last_good_version=first_int(status.get("lastGoodVersion")),
            versions=facts.version + 1 if facts else None,
            last_modified=facts.last_modified if facts else None,
            size_bytes=facts.size_bytes if facts else None,
            files=facts.files if facts else None,
            rows=facts.rows if facts and facts.rows is not None else rows,
            description=facts.description if facts else None,
            columns=merge_columns(facts, classification, self.resources.category_titles),
            history=facts.history if facts else (),
        )

    def derived_asset(
        self, of: Asset, *, table: str, kind: AssetKind, resource: str, location: str
    ) -> Asset:
        """A table made from another (quarantine, copies, replicas): it holds the same data, so
        it keeps the owner, domain and grade of the table it comes from."""
        facts = self.facts(location)
        layer, _ = split_table(table)
        return Asset(
            id=asset_id(of.tenant, table),
            tenant=of.tenant,
            layer=layer,
            name=table,
            kind=kind,
            resource=resource,
            location=location,
            center=self.resources.center,
            owner_name=of.owner_name,
            owner_email=of.owner_email,
            domain=of.domain,
            categories=of.categories,
            grade=of.grade,
            grade_basis=of.grade_basis,
            declared_grade=of.declared_grade,
            version=facts.version if facts else None,
            versions=facts.version + 1 if facts else None,
            last_modified=facts.last_modified if facts else None,
            size_bytes=facts.size_bytes if facts else None,
            files=facts.files if facts else None,
            rows=facts.rows if facts else None,
            description=facts.description if facts else None,
            columns=restrict_columns(of.columns, facts),
            history=facts.history if facts else (),
        )

    # ---- kinds -------------------------------------------------------------------------
    def add_source(self, source: DataSource) -> None:
        ns, spec, status = source.namespace, source.spec, source.status
        resource = f"DataSource/{ns}/{source.name}"
        node = SourceNode(
            source_node_id(ns, source.name), ns, resource, str(spec.type), spec.endpoint
        )
        self.sources[node.id] = node
        bronze = self.table_asset(
            tenant=ns,
            table=spec.target_table,
            kind=AssetKind.SOURCE_TABLE,
            resource=resource,
            location=table_path(ns, spec.target_table),
            owner=self.tenant_owner(ns),
            domain=str(spec.domain),
            status=status,
            declared_grade=spec.grade,
            rows=first_int(status.get("rows")),
        )
        self.add(bronze)
        self.edges.add(Edge(node.id, bronze.id, resource))
        quarantine = self.derived_asset(
            bronze,
            table=f"quarantine.{split_table(spec.target_table)[1]}",
            kind=AssetKind.QUARANTINE,
            resource=resource,
            location=quarantine_path(ns, spec.target_table),
        )
        if quarantine.rows is None:
            quarantine = replace(quarantine, rows=first_int(status.get("quarantinedRows")))
        self.add(quarantine)
        self.edges.add(Edge(node.id, quarantine.id, resource))
        self.add_quality_quarantine(bronze, resource)

    def add_quality_quarantine(self, of: Asset, resource: str) -> None:
        """Rows failing the table's quality rules, once a quality run wrote any."""
        location = quality_quarantine_path(of.tenant, of.name)
        if self.facts(location) is None:
            return
        quarantine = self.derived_asset(
            of,
            table=f"quarantine.{split_table(of.name)[1]}_quality",
            kind=AssetKind.QUARANTINE,
            resource=resource,
            location=location,
        )
        self.add(quarantine)
        self.edges.add(Edge(of.id, quarantine.id, resource))

    def product_domain(self, product: DataProduct) -> str | None:
        """A product's domain: that of its first input source found, else the tenant's."""
        by_name = {s.name: s for s in self.resources.sources if s.namespace == product.namespace}
        for item in product.spec.inputs:
            if item.kind == InputKind.DATA_SOURCE and item.name in by_name:
                return str(by_name[item.name].spec.domain)
        return self.tenant_domain(product.namespace)

    def add_product(self, product: DataProduct) -> None:
        ns, spec, status = product.namespace, product.spec, product.status
        resource = f"DataProduct/{ns}/{product.name}"
        table = self.table_asset(
            tenant=ns,
            table=spec.target_table,
            kind=AssetKind.PRODUCT_TABLE,
            resource=resource,
            location=table_path(ns, spec.target_table),
            owner=spec.owner,
            domain=self.product_domain(product),
            status=status,
            declared_grade=spec.grade,
            rows=first_int(status.get("rows")),
        )
        self.add(table)
        for item in spec.inputs:
            upstream = self.table_of(ns, str(item.kind), item.name)
            if upstream is not None:
                self.edges.add(Edge(upstream, table.id, resource))
        self.add_quality_quarantine(table, resource)

    def table_of(self, namespace: str, kind: str, name: str) -> str | None:
        """The asset id of the table a DataSource or DataProduct writes."""
        if kind == InputKind.DATA_SOURCE:
            for source in self.resources.sources:
                if source.namespace == namespace and source.name == name:
                    return asset_id(namespace, source.spec.target_table)
        if kind == InputKind.DATA_PRODUCT:
            for product in self.resources.products:
                if product.namespace == namespace and product.name == name:
                    return asset_id(namespace, product.spec.target_table)
        return None

    def add_grant(self, grant: DataGrant) -> None:
        ns, spec = grant.namespace, grant.spec
        resource = f"DataGrant/{ns}/{grant.name}"
        product_table = self.table_of(ns, InputKind.DATA_PRODUCT, spec.product.name)
        product = self.assets.get(product_table or "")
        location = grant.status.get("governedCopyPath")
        if product is None or not isinstance(location, str) or not location:
            return
        grantee = f"{spec.grantee.kind}:{spec.grantee.name}"
        self.assets[product.id] = replace(product, grants=(*product.grants, grantee))
        copy = self.derived_asset(
            product,
            table=f"governed.{grant.name}",
            kind=AssetKind.GOVERNED_COPY,
            resource=resource,
            location=location,
        )
        copy = replace(
            copy,
            grade=first_int(grant.status.get("grade"), copy.grade),
            grants=(grantee,),
            version=copy.version
            if copy.version is not None
            else first_int(grant.status.get("copiedVersion")),
        )
        self.add(copy)
        self.edges.add(Edge(product.id, copy.id, resource))
        if spec.grantee.kind == GranteeKind.TENANT:
            self.access.add(Access(copy.id, spec.grantee.name, AccessVia.GRANT, resource))

    def add_share(self, share: ObservedShare) -> None:
        ns = share.namespace
        resource = f"DataShare/{ns}/{share.name}"
        tenants = {r.name for r in share.spec.recipients if r.kind == RecipientKind.TENANT}
        by_location = {same_location(a.location): a for a in self.assets.values()}
        for served in share.status.tables:
            product_table = self.table_of(ns, InputKind.DATA_PRODUCT, served.product)
            product = self.assets.get(product_table or "")
            if product is None:
                continue
            self.assets[product.id] = replace(
                product, shares=tuple(sorted({*product.shares, served.recipient}))
            )
            product = self.assets[product.id]
            found = by_location.get(same_location(served.location))
            # The current row (this loop may have changed it since by_location was made).
            copy = self.assets.get(found.id) if found is not None else None
            if copy is None or copy.tenant != ns:
                copy = self.derived_asset(
                    product,
                    table=f"shared.{share.name}.{served.recipient}.{served.table}",
                    kind=AssetKind.SHARED_COPY,
                    resource=resource,
                    location=served.location,
                )
                copy = replace(copy, grade=first_int(served.grade, copy.grade))
                self.edges.add(Edge(product.id, copy.id, resource))
            copy = replace(copy, shares=tuple(sorted({*copy.shares, served.recipient})))
            self.add(copy)
            by_location[same_location(copy.location)] = copy
            if served.recipient in tenants:
                self.access.add(Access(copy.id, served.recipient, AccessVia.SHARE, resource))

    def add_replication(self, replication: DataReplication) -> None:
        ns, spec, status = replication.namespace, replication.spec, replication.status
        resource = f"DataReplication/{ns}/{replication.name}"
        source_table = self.table_of(ns, spec.table.kind, spec.table.name)
        source = self.assets.get(source_table or "")
        location = status.get("destinationPath")
        if source is None or not isinstance(location, str) or not location:
            return
        replica = replace(
            self.derived_asset(
                source,
                table=f"replica.{replication.name}",
                kind=AssetKind.REPLICA,
                resource=resource,
                location=location,
            ),
            center=spec.destination,
            grade=first_int(status.get("grade"), source.grade),
            version=first_int(status.get("replicatedVersion")),
            rows=source.rows if status.get("replicatedVersion") == source.version else None,
            # A byte-for-byte copy: the schema is the source table's.
            columns=source.columns,
        )
        self.add(replica)
        self.edges.add(Edge(source.id, replica.id, resource))


def restrict_columns(columns: Iterable[Column], facts: TableFacts | None) -> tuple[Column, ...]:
    """A copy's columns: those its own log has (with the source's classification), or the
    source's when the copy's log is not readable."""
    known = {c.name: c for c in columns}
    if facts is None:
        return tuple(known.values())
    return tuple(
        replace(
            own,
            domain=known[own.name].domain,
            category=known[own.name].category,
            category_title=known[own.name].category_title,
            grade=known[own.name].grade,
            confidence=known[own.name].confidence,
        )
        if own.name in known
        else own
        for own in facts.columns
    )


def build_rows(observed: Observed, grade_levels: Mapping[int, str] | None = None) -> CatalogRows:
    """Every asset, edge and access row of one sweep, in a stable order."""
    builder = _Builder(observed)
    resources = observed.resources
    for source in sorted(resources.sources, key=lambda r: (r.namespace, r.name)):
        builder.add_source(source)
    for product in sorted(resources.products, key=lambda r: (r.namespace, r.name)):
        builder.add_product(product)
    for grant in sorted(resources.grants, key=lambda r: (r.namespace, r.name)):
        builder.add_grant(grant)
    for share in sorted(resources.shares, key=lambda r: (r.namespace, r.name)):
        builder.add_share(share)
    for replication in sorted(resources.replications, key=lambda r: (r.namespace, r.name)):
        builder.add_replication(replication)
    levels = grade_levels or {}
    assets = tuple(
        replace(a, search_text=search_document(a, levels.get(a.grade or 0)))
        for a in sorted(builder.assets.values(), key=lambda a: a.id)
    )
    return CatalogRows(
        assets=assets,
        edges=tuple(sorted(builder.edges, key=lambda e: (e.upstream, e.downstream, e.via))),
        access=tuple(sorted(builder.access, key=lambda x: (x.asset_id, x.tenant, x.resource))),
        sources=tuple(sorted(builder.sources.values(), key=lambda s: s.id)),
    )
