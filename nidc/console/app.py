"""The console as an aiohttp application, mounted in the catalog API's (catalog/server.py):
it shares the API's TLS, its read-only PostgreSQL pool, its TokenReview and its access
decisions (request[IDENTITY], request[SCOPE] from the catalog's middleware)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiohttp import web

from nidc.catalog.api import OPEN_PATHS, SESSION_READER, SIGN_IN_PAGE
from nidc.catalog.search_text import words
from nidc.console.pages.alerts import alerts_page
from nidc.console.pages.assets import MAPS, RenderedMaps, asset_map_page, search_page
from nidc.console.pages.dcmm import dcmm_html, dcmm_page, dcmm_pdf
from nidc.console.pages.onemap import onemap_page
from nidc.console.pages.signin import (
    SETTINGS,
    SIGN_IN,
    session_reader,
    sign_in,
    sign_in_form,
    sign_out,
)
from nidc.console.pages.table import KUBE, table_page_handler
from nidc.console.settings import ConsoleSettings
from nidc.console.views import PREFIX
from nidc.kube import ApiClient

STATIC = Path(__file__).parent / "static"
STYLE = f"{PREFIX}/static/console.css"
# A static file served by the same server: bench/console.py's floor.
FLOOR = STYLE


async def home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(f"{PREFIX}/assets")


async def style(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "console.css")


async def warm_search(app: web.Application) -> None:
    """Load jieba's dictionary at start, not in the first Chinese search (about a second)."""
    await asyncio.to_thread(words, "预热")


def build_console(settings: ConsoleSettings, kube: ApiClient | None) -> web.Application:
    """The console's routes, to be mounted at PREFIX."""
    app = web.Application()
    app[SETTINGS] = settings
    if kube is not None:
        app[KUBE] = kube
    app[OPEN_PATHS] = frozenset({SIGN_IN, STYLE})
    app[SESSION_READER] = session_reader(settings)
    app[SIGN_IN_PAGE] = SIGN_IN
    app[MAPS] = RenderedMaps()
    app.on_startup.append(warm_search)
    app.router.add_get("/", home)
    app.router.add_get("/sign-in", sign_in_form)
    app.router.add_post("/sign-in", sign_in)
    app.router.add_post("/sign-out", sign_out)
    app.router.add_get("/static/console.css", style)
    app.router.add_get("/assets", asset_map_page)
    app.router.add_get("/search", search_page)
    app.router.add_get("/tables/{asset_id:.+}", table_page_handler)
    app.router.add_get("/onemap", onemap_page)
    app.router.add_get("/alerts", alerts_page)
    app.router.add_get("/dcmm", dcmm_page)
    app.router.add_get("/dcmm/report.html", dcmm_html)
    app.router.add_get("/dcmm/report.pdf", dcmm_pdf)
    return app
