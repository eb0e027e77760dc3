"""The asset map (tenants -> domains -> tables, by grade, quality and freshness) and search
(the catalog's: names, columns, Chinese text). What the viewer may see is the catalog's
decision (queries.visible)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from markupsafe import Markup

from nidc.catalog import queries
from nidc.catalog.access import Scope
from nidc.catalog.api import POOL, SCOPE
from nidc.console.render import page, render_text
from nidc.console.views import AssetMap, asset_map, tile

# The map shows every table a viewer sees, up to this many (the API pages at 500).
MAP_LIMIT = 5000
# A search shows its first hundred tables (by tenant and name); a narrower search finds the rest.
SEARCH_LIMIT = 100


def own_tenants(request: web.Request) -> tuple[str, ...] | None:
    scope = request[SCOPE]
    return None if scope.everything else scope.tenants


@dataclass
class RenderedMaps:
    """The asset map's HTML per scope, kept while the index and the minute stay the same: the
    catalog's index changes only when a sweep writes (catalog.sweeps), and ages are shown to
    the minute. A few entries: one per scope in use."""

    entries: dict[tuple[Scope, int, int], tuple[str, AssetMap]] = field(default_factory=dict)
    size: int = 64

    def get(self, key: tuple[Scope, int, int]) -> tuple[str, AssetMap] | None:
        return self.entries.get(key)

    def put(self, key: tuple[Scope, int, int], value: tuple[str, AssetMap]) -> None:
        if self.size == 0:
            return
        if len(self.entries) >= self.size:
            self.entries.pop(next(iter(self.entries)))
        self.entries[key] = value


MAPS = web.AppKey("console_maps", RenderedMaps)


def index_version(conn: Any) -> int:
    row = conn.execute("SELECT coalesce(max(id), 0) FROM catalog.sweeps").fetchone()
    return int(row[0])


async def asset_map_page(request: web.Request) -> web.Response:
    scope = request[SCOPE]
    pool = request.config_dict[POOL]
    now = dt.datetime.now(dt.UTC)
    key = (scope, await pool.run(index_version), int(now.timestamp()) // 60)
    cache = request.config_dict[MAPS]
    found = cache.get(key)
    if found is None:
        rows = await pool.run(lambda conn: queries.list_assets(conn, scope, limit=MAP_LIMIT))
        view = asset_map(rows, now, own_tenants(request))
        found = (render_text("_map.html", map=view), view)
        cache.put(key, found)
    html, view = found
    # Markup: the fragment is our own autoescaped template output.
    map_html = Markup(html)  # noqa: S704
    return page(request, "assets.html", active="assets", map=view, map_html=map_html)


async def search_page(request: web.Request) -> web.Response:
    scope = request[SCOPE]
    text = request.query.get("q", "").strip()
    results = []
    more = False
    if text:
        rows = await request.config_dict[POOL].run(
            lambda conn: queries.search(conn, scope, text, limit=SEARCH_LIMIT + 1)
        )
        now = dt.datetime.now(dt.UTC)
        results = [tile(row, now, own_tenants(request)) for row in rows[:SEARCH_LIMIT]]
        more = len(rows) > SEARCH_LIMIT
    return page(request, "search.html", active="search", q=text, results=results, more=more)
