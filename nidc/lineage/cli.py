"""`nidc lineage TABLE`: a table's upstream and downstream, as a tree, and its column lineage.

The store is the one the receiver writes: `--database DSN`, else NIDC_LINEAGE_DATABASE, else
the catalog database the local platform publishes (`nidc local env --json`:
servers.catalog-postgres, its password in a file, never on the command line). TABLE is
`<tenant>/<layer>.<name>` or a path (s3a://, s3://, file://).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import psycopg

from nidc.lineage.graph import DIRECTIONS, mark_sources, walk
from nidc.lineage.naming import DatasetNameError, parse_dataset
from nidc.lineage.store import LineageStore
from nidc.lineage.tree import render_columns, render_tree

DATABASE_ENV = "NIDC_LINEAGE_DATABASE"


class NoLineageStoreError(RuntimeError):
    """No store was named and the platform publishes none."""


def store_dsn(explicit: str | None) -> str:
    """Where the lineage store is (see the module's docstring)."""
    if explicit:
        return explicit
    if os.environ.get(DATABASE_ENV):
        return os.environ[DATABASE_ENV]
    from nidc.local.platform import LocalPlatform

    try:
        database = (LocalPlatform().env().get("servers") or {}).get("catalog-postgres")
    except Exception:  # no platform state: say what to pass instead
        database = None
    if not isinstance(database, dict):
        raise NoLineageStoreError(
            f"no lineage store: pass --database DSN or set {DATABASE_ENV} "
            "(the local platform publishes no catalog database)"
        )
    return dsn_from_endpoint(database)


def dsn_from_endpoint(database: dict[str, Any]) -> str:
    password_file = database.get("password_file")
    password = Path(password_file).read_text().strip() if password_file else ""
    return psycopg.conninfo.make_conninfo(
        host=database.get("host", "127.0.0.1"),
        port=str(database.get("port", 5432)),
        dbname=database.get("database", "postgres"),
        user=database.get("user", "postgres"),
        **({"password": password} if password else {}),
    )


def cmd_lineage(args: argparse.Namespace) -> int:
    try:
        dataset = parse_dataset(args.table)
        store = LineageStore(store_dsn(args.database))
        directions = DIRECTIONS if args.direction == "both" else (args.direction,)
        trees = {d: walk(dataset, d, store.edges, args.depth) for d in directions}
        sources = store.sources(set().union(*(tree.datasets() for tree in trees.values())))
        for tree in trees.values():
            mark_sources(tree, sources)
        columns = store.column_lineage(dataset) if args.columns else None
    except (DatasetNameError, NoLineageStoreError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except psycopg.Error as error:
        print(f"error: lineage store unavailable ({type(error).__name__})", file=sys.stderr)
        return 1
    if args.json:
        document: dict[str, Any] = {"dataset": str(dataset)}
        document.update({d: tree.as_dict() for d, tree in trees.items()})
        if columns is not None:
            document["columns"] = [
                {
                    "field": c.output_field,
                    "input": str(c.input),
                    "inputField": c.input_field,
                    "type": c.kind,
                    "subtype": c.subtype,
                }
                for c in columns
            ]
        print(json.dumps(document, indent=2))
        return 0
    for direction, tree in trees.items():
        print("\n".join(render_tree(tree, direction)))
    if columns is not None:
        print(f"columns of {dataset}:")
        print("\n".join(render_columns(columns)))
    return 0


def add_lineage_command(sub: Any) -> None:
    """`nidc lineage TABLE [--depth N] [--direction ...] [--columns] [--json]`."""
    parser = sub.add_parser("lineage", help="a table's upstream and downstream (OpenLineage)")
    parser.add_argument("table", help="<tenant>/<layer>.<name>, or the table's s3a:// path")
    parser.add_argument("--depth", type=int, default=None, help="steps to walk (default: all)")
    parser.add_argument("--direction", choices=(*DIRECTIONS, "both"), default="both")
    parser.add_argument("--columns", action="store_true", help="also the column lineage")
    parser.add_argument("--json", action="store_true", help="as JSON")
    parser.add_argument("--database", help="the lineage store's PostgreSQL DSN")
    parser.set_defaults(func=cmd_lineage)
