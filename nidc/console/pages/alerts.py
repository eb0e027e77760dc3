"""The alerts page: what Prometheus evaluates from policies/alerts, firing now."""

from __future__ import annotations

import asyncio

from aiohttp import web

from nidc.catalog.api import SCOPE
from nidc.console.alerts import AlertView, fetch_alerts, visible_alerts
from nidc.console.pages.signin import SETTINGS
from nidc.console.render import page


async def alerts_page(request: web.Request) -> web.Response:
    settings = request.config_dict[SETTINGS]
    problem = None
    alerts: list[AlertView] = []
    if settings.prometheus_url is None:
        problem = "no metrics backend is configured (NIDC_PROMETHEUS_URL)"
    else:
        try:
            found = await asyncio.to_thread(fetch_alerts, settings.prometheus_url, settings.ca_file)
            alerts = visible_alerts(found, request[SCOPE])
        except Exception as error:  # the page says the backend did not answer
            problem = f"Prometheus did not answer ({error.__class__.__name__})"
    return page(
        request,
        "alerts.html",
        active="alerts",
        alerts=alerts,
        firing=sum(1 for a in alerts if a.state == "firing"),
        problem=problem,
        source=settings.prometheus_url,
    )
