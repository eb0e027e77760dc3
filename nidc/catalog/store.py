"""The catalog's PostgreSQL: migrations, and writing one sweep's rows in one transaction.

A sweep replaces every row at once, inside one transaction, so a reader sees either the previous
sweep or this one, never half of each. `rebuild` drops the schema and makes it again in the same
transaction (PostgreSQL's DDL is transactional): readers keep the old index until it commits.
Writers (the indexer's sweep, a `rebuild`) take one advisory lock, so two never interleave.
"""

from __future__ import annotations

import json
from importlib import resources as package_files
from typing import Any

import psycopg

from nidc.catalog.assets import Asset, CatalogRows

SCHEMA = "catalog"
# Any fixed number: the advisory lock every catalog writer takes.
WRITER_LOCK = 15_0001
SWEEPS_KEPT = 100


def migrations() -> list[tuple[str, str]]:
    """(version, SQL) of every migration, in order (files NNNN_name.sql beside this module)."""
    folder = package_files.files("nidc.catalog") / "migrations"
    found = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    return [
        (name.removesuffix(".sql"), (folder / name).read_text(encoding="utf-8")) for name in found
    ]


def lock_writers(conn: psycopg.Connection[Any]) -> None:
    """Wait for any other writer; released when the transaction ends."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))


def migrate(conn: psycopg.Connection[Any]) -> list[str]:
    """Apply the migrations not applied yet (inside the caller's transaction); their versions."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS public.catalog_migrations "
        "(version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    applied = {row[0] for row in conn.execute("SELECT version FROM public.catalog_migrations")}
    done = []
    for version, sql in migrations():
        if version in applied:
            continue
        conn.execute(sql.encode())
        conn.execute("INSERT INTO public.catalog_migrations (version) VALUES (%s)", (version,))
        done.append(version)
    return done


def drop(conn: psycopg.Connection[Any]) -> None:
    """Forget the whole index (inside the caller's transaction): schema and migration record."""
    conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    conn.execute("DROP TABLE IF EXISTS public.catalog_migrations")


ASSET_FIELDS = (
    "id",
    "tenant",
    "layer",
    "name",
    "kind",
    "resource",
    "location",
    "center",
    "owner_name",
    "owner_email",
    "domain",
    "categories",
    "grade",
    "grade_basis",
    "declared_grade",
    "quality_score",
    "quality_basis",
    "failing_checks",
    "version",
    "last_good_version",
    "versions",
    "last_modified",
    "size_bytes",
    "files",
    "rows",
    "description",
    "history",
    "shares",
    "grants",
    "search_text",
)


def asset_values(asset: Asset) -> tuple[Any, ...]:
    """One assets row, in ASSET_FIELDS order."""
    values: list[Any] = []
    for name in ASSET_FIELDS:
        value = getattr(asset, name)
        if name == "history":
            value = json.dumps(list(value))
        elif isinstance(value, tuple):
            value = list(value)
        values.append(value)
    return tuple(values)


def write_rows(conn: psycopg.Connection[Any], rows: CatalogRows, unreadable: list[str]) -> None:
    """Replace the index with one sweep's rows (inside the caller's transaction)."""
    lock_writers(conn)
    for table in ("access", "columns", "edges", "sources", "assets"):
        conn.execute(f"DELETE FROM {SCHEMA}.{table}")  # noqa: S608 (fixed names)
    with conn.cursor() as cur:
        columns = ", ".join(ASSET_FIELDS)
        marks = ", ".join(["%s"] * len(ASSET_FIELDS))
        cur.executemany(
            f"INSERT INTO catalog.assets ({columns}) VALUES ({marks})",  # noqa: S608 (fixed)
            [asset_values(a) for a in rows.assets],
        )
        cur.executemany(
            "INSERT INTO catalog.columns (asset_id, position, name, type, nullable, comment, "
            "domain, category, category_title, grade, confidence) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                (
                    a.id,
                    position,
                    c.name,
                    c.type,
                    c.nullable,
                    c.comment,
                    c.domain,
                    c.category,
                    c.category_title,
                    c.grade,
                    c.confidence,
                )
                for a in rows.assets
                for position, c in enumerate(a.columns)
            ],
        )
        cur.executemany(
            "INSERT INTO catalog.sources (id, tenant, resource, type, endpoint) "
            "VALUES (%s, %s, %s, %s, %s)",
            [(s.id, s.tenant, s.resource, s.type, s.endpoint) for s in rows.sources],
        )
        cur.executemany(
            "INSERT INTO catalog.edges (upstream, downstream, via) VALUES (%s, %s, %s)",
            [(e.upstream, e.downstream, e.via) for e in rows.edges],
        )
        cur.executemany(
            "INSERT INTO catalog.access (asset_id, tenant, via, resource) VALUES (%s, %s, %s, %s)",
            [(x.asset_id, x.tenant, str(x.via), x.resource) for x in rows.access],
        )
    conn.execute(
        "INSERT INTO catalog.sweeps (assets, unreadable) VALUES (%s, %s)",
        (len(rows.assets), unreadable),
    )
    conn.execute(
        "DELETE FROM catalog.sweeps WHERE id <= (SELECT max(id) - %s FROM catalog.sweeps)",
        (SWEEPS_KEPT,),
    )
