"""The DCMM self-assessment (nidc/dcmm) of what the viewer may assess: a center operator the
whole center, a tenant its own namespace; as a page, as the report's HTML and as its PDF.

The console reads the resources with its own identity; the audit log's verification needs the
audit signing key, which the console does not hold: the CLI's report (`nidc dcmm report`) has it,
and the page says so in the evidence."""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from aiohttp import web

from nidc.catalog.access import Scope
from nidc.catalog.api import POOL, SCOPE
from nidc.console.pages.signin import SETTINGS
from nidc.console.pages.table import KUBE
from nidc.console.render import page
from nidc.dcmm.observe import snapshot_of
from nidc.dcmm.report import assess, print_pdf, render_html
from nidc.dcmm.scoring import Score

AUDIT_NOT_READ = "the console does not hold the audit signing key; `nidc dcmm report` verifies it"


def namespace_of(scope: Scope) -> str | None:
    if scope.everything:
        return None
    if len(scope.tenants) != 1:
        raise web.HTTPForbidden(text="the DCMM assessment is of one tenant or of the center")
    return scope.tenants[0]


async def scores_for(request: web.Request) -> list[Score]:
    namespace = namespace_of(request[SCOPE])
    api = request.config_dict[KUBE]
    pool = request.config_dict[POOL]
    loop = asyncio.get_running_loop()

    def catalogued(owners: list[dict[str, Any]]) -> tuple[int | None, str]:
        wanted = [
            f"{o['metadata']['namespace']}/{(o.get('spec') or {}).get('targetTable')}"
            for o in owners
        ]

        def count(conn: Any) -> int:
            row = conn.execute(
                "SELECT count(*) FROM catalog.assets WHERE id = ANY(%s)", [wanted]
            ).fetchone()
            return int(row[0])

        return asyncio.run_coroutine_threadsafe(pool.run(count), loop).result(30), ""

    snapshot = await asyncio.to_thread(
        snapshot_of, api, namespace, None, None, AUDIT_NOT_READ, catalogued
    )
    scores, _ = assess(snapshot)
    return scores


async def dcmm_page(request: web.Request) -> web.Response:
    try:
        scores = await scores_for(request)
    except web.HTTPException:
        raise
    except Exception as error:  # the API server lacks the kinds, or did not answer
        return page(
            request,
            "dcmm.html",
            status=503,
            active="dcmm",
            scores=[],
            overall=0.0,
            pdf=False,
            problem=f"the platform's resources could not be read ({error.__class__.__name__})",
        )
    return page(
        request,
        "dcmm.html",
        active="dcmm",
        scores=scores,
        overall=sum(s.level for s in scores) / len(scores),
        pdf=request.config_dict[SETTINGS].chromium is not None,
    )


async def dcmm_html(request: web.Request) -> web.Response:
    scores = await scores_for(request)
    center = request.config_dict[SETTINGS].center
    return web.Response(
        text=render_html(scores, center, dt.datetime.now(dt.UTC)),
        content_type="text/html",
        charset="utf-8",
    )


async def dcmm_pdf(request: web.Request) -> web.Response:
    settings = request.config_dict[SETTINGS]
    if settings.chromium is None:
        raise web.HTTPServiceUnavailable(text="no Chromium to print the report with")
    scores = await scores_for(request)
    html = render_html(scores, settings.center, dt.datetime.now(dt.UTC))
    chromium = settings.chromium

    def printed() -> bytes:
        with tempfile.TemporaryDirectory(prefix="nidc-console-dcmm-") as work:
            source, target = Path(work) / "dcmm.html", Path(work) / "dcmm.pdf"
            source.write_text(html, encoding="utf-8")
            print_pdf(source, target, chromium)
            return target.read_bytes()

    body = await asyncio.to_thread(printed)
    return web.Response(
        body=body,
        content_type="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="dcmm.pdf"'},
    )
