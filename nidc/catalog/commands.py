"""What `nidc catalog ...` does (nidc/cli.py only parses the arguments)."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from nidc.catalog.client import CatalogClient, CatalogClientError
from nidc.catalog.formatting import format_asset, format_assets
from nidc.catalog.indexer import Indexer
from nidc.catalog.settings import CatalogSettings
from nidc.kube import api_client


def print_json(data: Any, out: TextIO) -> None:
    print(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False), file=out)


def list_or_search(
    client: CatalogClient,
    filters: dict[str, Any],
    text: str | None,
    as_json: bool,
    out: TextIO = sys.stdout,
) -> int:
    rows = client.assets(q=text, **filters)
    if as_json:
        print_json(rows, out)
    elif rows:
        print(format_assets(rows), file=out)
    else:
        print("no assets", file=sys.stderr)
    return 0


def resolve(client: CatalogClient, table: str) -> str:
    """TENANT/LAYER.NAME as it is; LAYER.NAME when exactly one visible asset has that name."""
    if "/" in table:
        return table
    matches: list[str] = [r["id"] for r in client.assets(q=table) if r["name"] == table]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise CatalogClientError(f"no asset named {table} visible to you")
    raise CatalogClientError(f"{table} names {len(matches)} assets: {', '.join(matches)}")


def show(client: CatalogClient, table: str, as_json: bool, out: TextIO = sys.stdout) -> int:
    asset = client.asset(resolve(client, table))
    if as_json:
        print_json(asset, out)
    else:
        print(format_asset(asset), file=out)
    return 0


def analytics(client: CatalogClient, as_json: bool, out: TextIO = sys.stdout) -> int:
    """The shared algorithm library as the catalog serves it."""
    items = client.analytics()
    if as_json:
        print_json(items, out)
        return 0
    print(f"{'ANALYTIC':<22} {'DEVICE':<14} DESCRIPTION", file=out)
    for item in items:
        device = "CPU or GPU" + (", FFT" if item["spectral"] else "")
        print(f"{item['ref']:<22} {device:<14} {item['description']}", file=out)
    return 0


def rebuild(settings: CatalogSettings, out: TextIO = sys.stdout) -> int:
    """Drop the index and make it again from the resources and Delta logs."""
    api = api_client(settings.kubeconfig) if settings.kubeconfig else None
    if api is None:
        from nidc.kube import in_cluster_or_kubeconfig

        api = in_cluster_or_kubeconfig()
    with api:
        indexer = Indexer(settings.dsn(), api, settings.object_store(), settings.center)
        rows = indexer.rebuild()
    unreadable = indexer.cache.unreadable
    print(
        f"catalog rebuilt: {len(rows.assets)} assets, {len(rows.edges)} edges, "
        f"{len(rows.access)} access rows"
        + (f"; unreadable Delta logs: {', '.join(unreadable)}" if unreadable else ""),
        file=out,
    )
    return 0
