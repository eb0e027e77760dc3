"""The asset map (tenants -> domains -> tables, by grade, quality and freshness) and search
(the catalog's: names, columns, Chinese text). What the viewer may see is the catalog's
decision (queries.visible)."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from nidc.catalog import queries
from nidc.catalog.api import POOL, SCOPE
from nidc.console.render import page
from nidc.console.views import asset_map, tile

# The map shows every table a viewer sees, up to this many (the API pages at 500).
MAP_LIMIT = 5000


def own_tenants(request: web.Request) -> tuple[str, ...] | None:
    scope = request[SCOPE]
    return None if scope.everything else scope.tenants


async def asset_map_page(request: web.Request) -> web.Response:
    scope = request[SCOPE]
    rows = await request.config_dict[POOL].run(
        lambda conn: queries.list_assets(conn, scope, limit=MAP_LIMIT)
    )
    view = asset_map(rows, dt.datetime.now(dt.UTC), own_tenants(request))
    return page(request, "assets.html", active="assets", map=view)


async def search_page(request: web.Request) -> web.Response:
    scope = request[SCOPE]
    text = request.query.get("q", "").strip()
    results = []
    if text:
        rows = await request.config_dict[POOL].run(lambda conn: queries.search(conn, scope, text))
        now = dt.datetime.now(dt.UTC)
        results = [tile(row, now, own_tenants(request)) for row in rows]
    return page(request, "search.html", active="search", q=text, results=results)
