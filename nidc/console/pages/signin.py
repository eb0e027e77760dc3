"""Sign-in: a Kubernetes bearer token (what `kubectl create token` prints), checked once by
TokenReview, becomes a signed session cookie; a platform client certificate needs no sign-in
(the catalog's middleware reads it)."""

from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import web

from nidc.catalog.access import Identity
from nidc.catalog.api import REVIEWER
from nidc.console.render import page
from nidc.console.session import COOKIE_NAME, SESSION_SECONDS, read_session, sign_session
from nidc.console.settings import ConsoleSettings
from nidc.console.views import PREFIX

SETTINGS = web.AppKey("console_settings", ConsoleSettings)
SIGN_IN = f"{PREFIX}/sign-in"


def session_reader(settings: ConsoleSettings) -> Callable[[web.Request], Identity | None]:
    """The catalog middleware's SESSION_READER: the identity in a request's session cookie.
    (It runs in the root app, before the console's handlers: hence a closure.)"""

    def identity(request: web.Request) -> Identity | None:
        value = request.cookies.get(COOKIE_NAME)
        found = read_session(settings.session_key, value, time.time())
        return found.identity if found else None

    return identity


async def sign_in_form(request: web.Request) -> web.Response:
    return page(request, "sign_in.html", error=None)


async def sign_in(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    token = str(form.get("token") or "").strip()
    reviewer = request.config_dict[REVIEWER]
    identity = await reviewer(token) if token and reviewer is not None else None
    if identity is None:
        return page(request, "sign_in.html", status=401, error="The token does not authenticate.")
    settings = request.config_dict[SETTINGS]
    response = web.HTTPFound(f"{PREFIX}/")
    response.set_cookie(
        COOKIE_NAME,
        sign_session(settings.session_key, identity, time.time()),
        max_age=SESSION_SECONDS,
        path=PREFIX,
        secure=settings.secure_cookie,
        httponly=True,
        samesite="Strict",
    )
    return response


async def sign_out(request: web.Request) -> web.StreamResponse:
    response = web.HTTPFound(SIGN_IN)
    response.del_cookie(COOKIE_NAME, path=PREFIX)
    return response
