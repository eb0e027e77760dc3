"""Jinja2 for the console's pages: the templates shipped in the package, autoescaped."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from jinja2 import Environment, PackageLoader, select_autoescape

from nidc.catalog.access import Identity, Scope
from nidc.catalog.api import IDENTITY, SCOPE
from nidc.console.views import PREFIX

ENVIRONMENT = Environment(
    loader=PackageLoader("nidc.console", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
NAV = (
    ("assets", "Asset map 资产地图"),
    ("search", "Search 搜索"),
    ("onemap", "One map 一张图"),
    ("alerts", "Alerts 告警"),
    ("dcmm", "DCMM 评估"),
)


def viewer(identity: Identity | None, scope: Scope | None) -> dict[str, Any] | None:
    if identity is None or scope is None:
        return None
    return {
        "user": identity.user,
        "scope": "all tenants (center operator)" if scope.everything else ", ".join(scope.tenants),
    }


def render_text(template: str, **context: Any) -> str:
    return ENVIRONMENT.get_template(template).render(prefix=PREFIX, nav=NAV, **context)


def page(
    request: web.Request, template: str, status: int = 200, active: str = "", **context: Any
) -> web.Response:
    """A page for the signed-in viewer."""
    who = viewer(request.get(IDENTITY), request.get(SCOPE))
    body = render_text(template, viewer=who, active=active, **context)
    return web.Response(
        text=body,
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers={
            # Everything the pages need is inline or on this server.
            "Content-Security-Policy": "default-src 'self'; style-src 'self'; img-src 'self' data:",
            "Cache-Control": "no-store",
        },
    )
