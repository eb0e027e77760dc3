"""A table's page: facts, schema with column classifications, quality history chart, lineage
graph, grants and shares, recent runs with trace links, a few sample rows (masked). Another
tenant's table that is not granted or shared: 404, as from the API."""

from __future__ import annotations

import logging
import os
from typing import Any

from aiohttp import web

from nidc.api.schema import GROUP
from nidc.catalog import queries
from nidc.catalog.api import IDENTITY, POOL, SCOPE
from nidc.catalog.observe import ObjectStoreLogin
from nidc.console.charts import line_chart
from nidc.console.lineage_graph import LineageNode, lineage_svg
from nidc.console.masking import SAMPLE_ROWS, is_analyst, sample
from nidc.console.pages.signin import SETTINGS
from nidc.console.render import page
from nidc.console.views import RunView, runs_of, table_page
from nidc.kube import ApiClient, list_objects

log = logging.getLogger(__name__)
KUBE = web.AppKey("console_kube", ApiClient)


def read_runs(api: ApiClient, resource: str, trace_ui: str | None) -> list[RunView]:
    namespace = resource.split("/")[1] if resource.count("/") == 2 else None
    if not namespace:
        return []
    bodies = list_objects(api, f"{GROUP}/v1alpha1", "PipelineRun", namespace)
    return runs_of(bodies, resource, trace_ui)


def read_sample(
    location: str, version: int | None, login: ObjectStoreLogin
) -> list[dict[str, Any]]:
    """The first rows of a version of a Delta table (delta-rs)."""
    if login.ca_file:
        os.environ["SSL_CERT_FILE"] = login.ca_file
    from deltalake import DeltaTable

    table = DeltaTable(location, version=version, storage_options=login.storage_options())
    rows: list[dict[str, Any]] = table.to_pyarrow_dataset().head(SAMPLE_ROWS).to_pylist()
    return rows


async def table_page_handler(request: web.Request) -> web.Response:
    scope = request[SCOPE]
    asset_id = request.match_info["asset_id"]
    found = await request.config_dict[POOL].run(lambda conn: queries.asset(conn, scope, asset_id))
    if found is None:
        # The same answer for "no such table" and "not yours", as the API gives.
        return page(request, "not_found.html", status=404, asset_id=asset_id)
    settings = request.config_dict[SETTINGS]
    api = request.config_dict.get(KUBE)
    runs: list[RunView] = []
    problems = []
    if api is not None:
        try:
            runs = await _in_thread(read_runs, api, found["resource"], settings.trace_ui_url)
        except Exception as error:  # the page still shows what the catalog knows
            problems.append(f"runs could not be read ({error.__class__.__name__})")
    rows: list[dict[str, Any]] = []
    if settings.object_store is not None and found.get("version") is not None:
        version = found.get("last_good_version")
        try:
            rows = await _in_thread(read_sample, found["location"], version, settings.object_store)
        except Exception as error:
            problems.append(f"sample rows could not be read ({error.__class__.__name__})")
    view = table_page(found, runs)
    # A column not (yet) classified counts at its table's grade (就高从严).
    grades = {c.name: c.grade if c.grade is not None else view.grade for c in view.columns}
    header, shown = sample(grades, rows, is_analyst(request[IDENTITY]))
    lineage = lineage_svg(LineageNode(view.id), view.upstream, view.downstream)
    quality = line_chart(view.quality_points, f"quality of {view.id}", low=0.0, high=1.0)
    return page(
        request,
        "table.html",
        active="assets",
        table=view,
        lineage=lineage,
        quality_chart=quality,
        sample_header=header,
        sample_rows=shown,
        problems=problems,
    )


async def _in_thread(function: Any, *args: Any) -> Any:
    import asyncio

    return await asyncio.to_thread(function, *args)
