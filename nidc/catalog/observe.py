"""Observe (I/O): the resources of every kind that makes a table, and each table's Delta log.

Delta logs are read with delta-rs (no JVM), with the catalog's own S3 login. A log read is
cached per location and read again when the resources it depends on changed or after
FACTS_MAX_AGE_SECONDS, so a sweep every few seconds costs a handful of list calls, not a replay
of every log.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nidc.api.data_grant import DataGrant
from nidc.api.data_product import DataProduct
from nidc.api.data_replication import DataReplication
from nidc.api.data_share import DataShareSpec, DataShareStatus
from nidc.api.data_source import DataSource
from nidc.api.resource import CustomResource
from nidc.api.schema import API_VERSION
from nidc.api.tenant import Tenant
from nidc.catalog.assets import Column, TableFacts
from nidc.catalog.build import Observed, ObservedShare, Resources, locations_to_read, status_part
from nidc.governance.policy_files import policies_dir
from nidc.governance.rule_pack import BASELINE_FILE, read_policy_documents
from nidc.kube import ApiClient, list_served_objects

log = logging.getLogger(__name__)

FACTS_MAX_AGE_SECONDS = 60.0
HISTORY_KEPT = 10


@dataclass(frozen=True)
class ObjectStoreLogin:
    """How the catalog reads Delta logs: endpoint, access key, secret, region, CA file."""

    endpoint: str
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    ca_file: str | None = None

    def storage_options(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_REGION": self.region,
            "AWS_FORCE_PATH_STYLE": "true",
        }


def parse_all(bodies: list[dict[str, Any]] | None, model: type[CustomResource]) -> list[Any]:
    """Bodies parsed with the kind's model; one that does not parse is logged and left out."""
    parsed = []
    for body in bodies or []:
        try:
            parsed.append(model.from_body(body))
        except ValueError as error:
            meta = body.get("metadata") or {}
            log.warning(
                "skipping %s %s/%s: %s",
                model.__name__,
                meta.get("namespace"),
                meta.get("name"),
                str(error).splitlines()[0],
            )
    return parsed


def parse_shares(bodies: list[dict[str, Any]] | None) -> list[ObservedShare]:
    shares = []
    for body in bodies or []:
        meta = body.get("metadata") or {}
        try:
            spec = DataShareSpec.model_validate(body.get("spec") or {})
        except ValueError:
            continue
        status = status_part(DataShareStatus, body.get("status")) or DataShareStatus()
        shares.append(ObservedShare(meta.get("namespace", ""), meta.get("name", ""), spec, status))
    return shares


def category_titles(policies: list[dict[str, Any]]) -> dict[str, str]:
    """Category id -> title (Chinese, from the MIIT trees): the national baseline's file, then
    the policies the cluster serves (a tenant may refine a title)."""
    titles: dict[str, str] = {}
    documents = [*read_policy_documents(policies_dir() / BASELINE_FILE), *policies]
    for document in documents:
        for category in (document.get("spec") or {}).get("categories") or []:
            if isinstance(category, Mapping) and category.get("id") and category.get("title"):
                titles[str(category["id"])] = str(category["title"])
    return titles


def observe_resources(api: ApiClient, center: str) -> Resources:
    """Every resource kind that makes a table, in every namespace."""

    def listing(kind: str) -> list[dict[str, Any]] | None:
        return list_served_objects(api, API_VERSION, kind)

    policies = [
        *(listing("ClusterClassificationPolicy") or []),
        *(listing("ClassificationPolicy") or []),
    ]
    return Resources(
        center=center,
        tenants=tuple(parse_all(listing("Tenant"), Tenant)),
        sources=tuple(parse_all(listing("DataSource"), DataSource)),
        products=tuple(parse_all(listing("DataProduct"), DataProduct)),
        grants=tuple(parse_all(listing("DataGrant"), DataGrant)),
        shares=tuple(parse_shares(listing("DataShare"))),
        replications=tuple(parse_all(listing("DataReplication"), DataReplication)),
        category_titles=category_titles(policies),
    )


def type_name(data_type: Any) -> str:
    """A Delta type as a short name: double, string, struct, array<...>."""
    name = getattr(data_type, "type", None)
    return str(name) if isinstance(name, str) else str(data_type)


def read_facts(location: str, login: ObjectStoreLogin) -> TableFacts | None:
    """What a table's Delta log says, or None when there is no table there (yet)."""
    if login.ca_file:
        # delta-rs (rustls) takes its roots only from the file SSL_CERT_FILE names.
        os.environ["SSL_CERT_FILE"] = login.ca_file
    import pyarrow as pa
    from deltalake import DeltaTable
    from deltalake.exceptions import TableNotFoundError

    try:
        table = DeltaTable(location, storage_options=login.storage_options())
    except TableNotFoundError:
        return None
    columns = tuple(
        Column(
            name=f.name,
            type=type_name(f.type),
            nullable=bool(f.nullable),
            comment=(f.metadata or {}).get("comment") or None,
        )
        for f in table.schema().fields
    )
    actions = pa.table(table.get_add_actions(flatten=True))
    sizes = actions.column("size_bytes").to_pylist() if actions.num_rows else []
    records = (
        actions.column("num_records").to_pylist()
        if actions.num_rows and "num_records" in actions.column_names
        else []
    )
    history = []
    for commit in table.history(HISTORY_KEPT):
        stamp = commit.get("timestamp")
        history.append(
            {
                "version": commit.get("version"),
                "timestamp": iso_millis(stamp) if isinstance(stamp, int) else None,
                "operation": commit.get("operation"),
            }
        )
    return TableFacts(
        version=table.version(),
        columns=columns,
        size_bytes=sum(s or 0 for s in sizes),
        files=len(sizes),
        rows=None if any(r is None for r in records) else sum(records),
        last_modified=history[0]["timestamp"] if history else None,
        history=tuple(history),
        description=table.metadata().description or None,
    )


def iso_millis(millis: int) -> str:
    return dt.datetime.fromtimestamp(millis / 1000, dt.UTC).isoformat()


@dataclass
class FactsCache:
    """Delta facts per location, read again when the resources changed or they grew old."""

    login: ObjectStoreLogin
    max_age: float = FACTS_MAX_AGE_SECONDS
    entries: dict[str, tuple[str, float, TableFacts | None]] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)

    def facts(self, resources: Resources, stamp: str, force: bool = False) -> dict[str, TableFacts]:
        found: dict[str, TableFacts] = {}
        self.unreadable = []
        now = time.monotonic()
        for location in locations_to_read(resources):
            cached = self.entries.get(location)
            if not force and cached and cached[0] == stamp and now - cached[1] < self.max_age:
                facts = cached[2]
            else:
                try:
                    facts = read_facts(location, self.login)
                except Exception as error:  # an unreadable log must not stop the index
                    self.unreadable.append(f"{location}: {error.__class__.__name__}")
                    log.warning("cannot read the Delta log at %s: %s", location, error)
                    facts = cached[2] if cached else None
                self.entries[location] = (stamp, now, facts)
            if facts is not None:
                found[location] = facts
        return found


def resources_stamp(resources: Resources) -> str:
    """Changes whenever any observed resource's spec or status does (their models' dumps)."""
    import hashlib

    digest = hashlib.sha256()
    for group in (resources.sources, resources.products, resources.grants, resources.replications):
        for item in group:
            digest.update(item.model_dump_json(by_alias=True).encode())
    for share in resources.shares:
        digest.update(share.status.model_dump_json().encode())
    return digest.hexdigest()


def observe(api: ApiClient, cache: FactsCache, center: str, force: bool = False) -> Observed:
    """Resources, then the Delta facts of every table they make."""
    resources = observe_resources(api, center)
    return Observed(resources, cache.facts(resources, resources_stamp(resources), force))
