"""The industrial economy one map: indicators from the gold products the viewer sees that
carry the indicator columns, read at their last good version (delta-rs)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from aiohttp import web

from nidc.catalog.api import POOL, SCOPE
from nidc.catalog.observe import ObjectStoreLogin
from nidc.console.charts import bar_chart, line_chart
from nidc.console.onemap import indicator_tables, one_map_view
from nidc.console.pages.signin import SETTINGS
from nidc.console.province_map import province_map
from nidc.console.render import page
from nidc.onemap.geometry import load_geometry
from nidc.onemap.indicators import load_indicators
from nidc.onemap.warnings import load_warning_rules

GEOMETRY = load_geometry()
INDICATORS = load_indicators()
RULES = load_warning_rules()
PROVINCE_NAMES = {p["adcode"]: p["zh"] for p in GEOMETRY["provinces"]}


def read_tables(found: list[dict[str, Any]], login: ObjectStoreLogin) -> list[Any]:
    if login.ca_file:
        os.environ["SSL_CERT_FILE"] = login.ca_file
    from deltalake import DeltaTable

    return [
        DeltaTable(t["location"], version=t["version"], storage_options=login.storage_options())
        .to_pyarrow_dataset()
        .to_table()
        for t in found
    ]


async def onemap_page(request: web.Request) -> web.Response:
    scope = request[SCOPE]
    settings = request.config_dict[SETTINGS]
    found = await request.config_dict[POOL].run(lambda conn: indicator_tables(conn, scope))
    tables = []
    problem = None
    if found and settings.object_store is not None:
        try:
            tables = await asyncio.to_thread(read_tables, found, settings.object_store)
        except Exception as error:
            problem = f"the indicator tables could not be read ({error.__class__.__name__})"
    chosen = request.query.get("indicator", INDICATORS[0].id)
    view = one_map_view(tables, INDICATORS, chosen, RULES)
    unit = view.indicator.unit
    title = f"{view.indicator.zh} {view.indicator.en} ({unit}) {view.period or ''}"
    return page(
        request,
        "onemap.html",
        active="onemap",
        view=view,
        indicators=INDICATORS,
        sources=[t["id"] for t in found],
        problem=problem,
        map_svg=province_map(GEOMETRY, view.by_province, title, view.warned_provinces),
        industry_svg=bar_chart(view.by_industry, f"{view.indicator.en} by industry"),
        national_svg=line_chart(view.national, f"{view.indicator.en}, national"),
        province_names=PROVINCE_NAMES,
    )
