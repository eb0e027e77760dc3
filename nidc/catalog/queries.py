"""Reading the catalog: plain functions over a psycopg connection, scoped to what the caller
may see. The CLI, the HTTP API and the console (issue 18) all call these.

An asset the scope does not reach is absent: `asset` answers None, exactly as for an id that
does not exist, so a tenant cannot learn which other tenants' tables exist.

The SQL is composed from fixed fragments of this module only; every value is a parameter.
"""

# ruff: noqa: S608

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

from nidc.catalog.access import Scope
from nidc.catalog.search_text import query_words, tsquery

LIST_FIELDS = (
    "id",
    "tenant",
    "layer",
    "name",
    "kind",
    "owner_name",
    "owner_email",
    "domain",
    "categories",
    "grade",
    "quality_score",
    "quality_basis",
    "version",
    "last_modified",
    "size_bytes",
    "rows",
    "center",
)
LIMIT = 500


def visible(scope: Scope, alias: str = "a") -> tuple[str, list[Any]]:
    """The SQL condition (and its parameters) of what `scope` may see."""
    if scope.everything:
        return "TRUE", []
    tenants = list(scope.tenants)
    return (
        f"({alias}.tenant = ANY(%s) OR EXISTS (SELECT 1 FROM catalog.access x "
        f"WHERE x.asset_id = {alias}.id AND x.tenant = ANY(%s)))",
        [tenants, tenants],
    )


def plain(row: dict[str, Any]) -> dict[str, Any]:
    """A row as JSON-ready values (times as ISO text)."""
    out = {}
    for key, value in row.items():
        out[key] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


def list_assets(
    conn: psycopg.Connection[Any],
    scope: Scope,
    *,
    tenant: str | None = None,
    layer: str | None = None,
    domain: str | None = None,
    grade: int | None = None,
    owner: str | None = None,
    text: str | None = None,
    limit: int = LIMIT,
) -> list[dict[str, Any]]:
    """Assets the scope sees, filtered; `text` searches names, columns, Chinese text, owner."""
    condition, params = visible(scope)
    where = [condition]
    for column, value in (("tenant", tenant), ("layer", layer), ("domain", domain)):
        if value:
            where.append(f"a.{column} = %s")
            params.append(value)
    if grade is not None:
        where.append("a.grade = %s")
        params.append(grade)
    if owner:
        where.append("(a.owner_name ILIKE %s OR a.owner_email ILIKE %s)")
        params += [f"%{owner}%", f"%{owner}%"]
    if text and text.strip():
        terms = query_words(text)
        matches = ["a.name ILIKE %s", "a.search_text ILIKE %s"]
        params_text: list[Any] = [f"%{text.strip()}%", f"%{text.strip().lower()}%"]
        if terms and tsquery(terms):
            matches.append("a.search_vector @@ to_tsquery('simple', %s)")
            params_text.append(tsquery(terms))
        where.append("(" + " OR ".join(matches) + ")")
        params += params_text
    fields = ", ".join(f"a.{f}" for f in LIST_FIELDS)
    sql = (
        f"SELECT {fields} FROM catalog.assets a WHERE {' AND '.join(where)} "
        f"ORDER BY a.tenant, a.name LIMIT %s"
    )
    params.append(limit)
    with conn.cursor(row_factory=dict_row) as cur:
        return [plain(r) for r in cur.execute(sql.encode(), params).fetchall()]


def search(
    conn: psycopg.Connection[Any], scope: Scope, text: str, **filters: Any
) -> list[dict[str, Any]]:
    """`list_assets` with a search text (names, columns, Chinese descriptions and labels)."""
    return list_assets(conn, scope, text=text, **filters)


def asset(conn: psycopg.Connection[Any], scope: Scope, asset_id: str) -> dict[str, Any] | None:
    """One asset in full (columns, upstream, downstream, grants, shares), or None when it does
    not exist or the scope does not reach it."""
    condition, params = visible(scope)
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"SELECT a.* FROM catalog.assets a WHERE a.id = %s AND {condition}".encode(),
            [asset_id, *params],
        ).fetchone()
        if row is None:
            return None
        found = plain(row)
        found.pop("search_vector", None)
        found.pop("search_text", None)
        found["columns"] = [
            plain(c)
            for c in cur.execute(
                "SELECT name, type, nullable, comment, domain, category, category_title, grade, "
                "confidence FROM catalog.columns WHERE asset_id = %s ORDER BY position",
                [asset_id],
            ).fetchall()
        ]
        found["upstream"] = neighbours(cur, scope, asset_id, "upstream")
        found["downstream"] = neighbours(cur, scope, asset_id, "downstream")
        found["access"] = [
            plain(x)
            for x in cur.execute(
                "SELECT tenant, via, resource FROM catalog.access WHERE asset_id = %s "
                "ORDER BY tenant, resource",
                [asset_id],
            ).fetchall()
        ]
    return found


def neighbours(cur: Any, scope: Scope, asset_id: str, direction: str) -> list[dict[str, Any]]:
    """The assets (or sources) one edge up or down. One the scope does not see shows as
    `hidden` with no name, so a tenant knows its copy has an upstream without learning it."""
    if direction == "upstream":
        near, far = "downstream", "upstream"
    else:
        near, far = "upstream", "downstream"
    condition, params = visible(scope)
    rows = cur.execute(
        f"SELECT e.{far} AS id, e.via, s.type AS source_type, s.endpoint AS source_endpoint, "
        f"a.id IS NOT NULL AS is_asset, (a.id IS NOT NULL AND {condition}) AS is_visible, "
        f"s.tenant AS source_tenant "
        f"FROM catalog.edges e LEFT JOIN catalog.assets a ON a.id = e.{far} "
        f"LEFT JOIN catalog.sources s ON s.id = e.{far} "
        f"WHERE e.{near} = %s ORDER BY e.{far}".encode(),
        [*params, asset_id],
    ).fetchall()
    found: list[dict[str, Any]] = []
    for row in rows:
        if row["is_asset"] and not row["is_visible"]:
            found.append({"id": None, "hidden": True, "via": None})
            continue
        if not row["is_asset"]:
            tenant = row["source_tenant"]
            if not scope.everything and tenant not in scope.tenants:
                found.append({"id": None, "hidden": True, "via": None})
                continue
            found.append(
                {
                    "id": row["id"],
                    "source": {"type": row["source_type"], "endpoint": row["source_endpoint"]},
                    "via": row["via"],
                }
            )
            continue
        found.append({"id": row["id"], "via": row["via"]})
    return found


def last_sweep(conn: psycopg.Connection[Any]) -> dict[str, Any] | None:
    """When the index last changed, how many assets it held, which logs it could not read."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            "SELECT finished_at, assets, unreadable FROM catalog.sweeps ORDER BY id DESC LIMIT 1"
        ).fetchone()
    return plain(row) if row else None


def dump(conn: psycopg.Connection[Any]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the index, sorted (what `rebuild` must reproduce)."""
    tables = {
        "assets": "SELECT * FROM catalog.assets ORDER BY id",
        "columns": "SELECT * FROM catalog.columns ORDER BY asset_id, position",
        "sources": "SELECT * FROM catalog.sources ORDER BY id",
        "edges": "SELECT * FROM catalog.edges ORDER BY upstream, downstream, via",
        "access": "SELECT * FROM catalog.access ORDER BY asset_id, tenant, resource",
    }
    return {
        name: [tuple(r) for r in conn.execute(sql.encode()).fetchall()]
        for name, sql in tables.items()
    }
