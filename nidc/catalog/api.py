"""The catalog's HTTP JSON API (aiohttp, TLS, authenticated, read-only).

    GET /healthz                     no authentication: 200 when the database answers
    GET /api/v1/whoami               the caller's identity and scope
    GET /api/v1/assets               ?tenant= &layer= &domain= &grade= &owner= &q=
    GET /api/v1/assets/{id}          one asset in full; 404 when absent or not the caller's
    GET /api/v1/search?q=TEXT        names, columns, Chinese text, domain, grade, owner

Other parts mount their own routes beside these with `mount` (the lineage receiver, say);
mounted routes get the same authentication (request[api.IDENTITY], request[api.SCOPE]).
"""

from __future__ import annotations

import asyncio
import logging
import queue
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from aiohttp import web

from nidc.api.analytics import registry_listing
from nidc.catalog import queries
from nidc.catalog.access import Identity, Scope, scope_of
from nidc.catalog.auth import TokenReviewer, bearer_token, identity_of_certificate

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
POOL_SIZE = 4
PUBLIC_PATHS = frozenset({"/healthz"})

T = TypeVar("T")


class ConnectionPool:
    """A few read-only connections, handed to one query at a time (queries run in threads)."""

    def __init__(self, dsn: str, size: int = POOL_SIZE) -> None:
        self.dsn = dsn
        self.idle: queue.LifoQueue[psycopg.Connection[Any]] = queue.LifoQueue()
        self.slots = asyncio.Semaphore(size)

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            conn = self.idle.get_nowait()
        except queue.Empty:
            conn = psycopg.connect(self.dsn, autocommit=True)
        try:
            yield conn
        except psycopg.OperationalError:
            conn.close()  # a broken connection is not put back
            raise
        if not conn.closed:
            self.idle.put(conn)

    async def run(self, query: Callable[[psycopg.Connection[Any]], T]) -> T:
        def work() -> T:
            with self.connection() as conn:
                return query(conn)

        async with self.slots:
            return await asyncio.to_thread(work)

    def close(self) -> None:
        while True:
            try:
                self.idle.get_nowait().close()
            except queue.Empty:
                return


POOL = web.AppKey("pool", ConnectionPool)
# Who asks and what they see, for the catalog's handlers and every mounted app's.
IDENTITY = web.RequestKey("identity", Identity)
SCOPE = web.RequestKey("scope", Scope)
REVIEWER: web.AppKey[TokenReviewer | None] = web.AppKey("reviewer")
# What a mounted app may add to the authentication of its own requests (the console): paths
# anyone may open (its sign-in page, its style sheet), a reader of its session cookie (the
# identity a request carries, or None), and where a browser without one is sent.
OPEN_PATHS: web.AppKey[frozenset[str]] = web.AppKey("open_paths")
SESSION_READER: web.AppKey[Callable[[web.Request], Identity | None]] = web.AppKey("session")
SIGN_IN_PAGE: web.AppKey[str] = web.AppKey("sign_in_page")


def unauthorized(message: str) -> web.HTTPUnauthorized:
    return web.HTTPUnauthorized(
        text=f'{{"error": "{message}"}}',
        content_type="application/json",
        headers={"WWW-Authenticate": 'Bearer realm="nidc-catalog"'},
    )


def matched(request: web.Request, key: web.AppKey[T]) -> T | None:
    """`key` of the app the request was routed to (the middleware runs in the root app, whose
    config_dict does not reach into mounted apps)."""
    for app in reversed(request.match_info.apps):
        if key in app:
            return app[key]
    return None


@web.middleware
async def authenticate(
    request: web.Request, handler: Callable[[web.Request], Any]
) -> web.StreamResponse:
    """Every request but /healthz names who asks: a bearer token (TokenReview) first, else the
    verified client certificate; neither is 401."""
    if request.path in PUBLIC_PATHS or request.path in (matched(request, OPEN_PATHS) or ()):
        response: web.StreamResponse = await handler(request)
        return response
    identity: Identity | None = None
    token = bearer_token(request.headers.get("Authorization"))
    if token is not None:
        reviewer = request.config_dict[REVIEWER]
        if reviewer is None:
            raise unauthorized("bearer tokens are not accepted by this server")
        identity = await reviewer(token)
        if identity is None:
            raise unauthorized("the token does not authenticate")
    else:
        session = matched(request, SESSION_READER)
        identity = session(request) if session is not None else None
        if identity is None:
            transport = request.transport
            peercert = transport.get_extra_info("peercert") if transport else None
            identity = identity_of_certificate(peercert)
    if identity is None:
        sign_in = matched(request, SIGN_IN_PAGE)
        if sign_in is not None and request.method == "GET":
            raise web.HTTPFound(sign_in)
        raise unauthorized("authenticate with a client certificate or a bearer token")
    request[IDENTITY] = identity
    request[SCOPE] = scope_of(identity)
    response = await handler(request)
    return response


def int_or_none(value: str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError as error:
        raise web.HTTPBadRequest(
            text=f'{{"error": "{name} must be an integer"}}', content_type="application/json"
        ) from error


def filters_of(request: web.Request) -> dict[str, Any]:
    query = request.query
    return {
        "tenant": query.get("tenant") or None,
        "layer": query.get("layer") or None,
        "domain": query.get("domain") or None,
        "grade": int_or_none(query.get("grade"), "grade"),
        "owner": query.get("owner") or None,
    }


async def healthz(request: web.Request) -> web.Response:
    pool = request.app[POOL]
    try:
        await pool.run(lambda conn: conn.execute("SELECT 1").fetchone())
    except psycopg.Error as error:
        return web.json_response({"ok": False, "error": error.__class__.__name__}, status=503)
    return web.json_response({"ok": True})


async def whoami(request: web.Request) -> web.Response:
    identity = request[IDENTITY]
    scope = request[SCOPE]
    return web.json_response(
        {
            "user": identity.user,
            "groups": list(identity.groups),
            "everything": scope.everything,
            "tenants": list(scope.tenants),
        }
    )


async def list_assets(request: web.Request) -> web.Response:
    scope = request[SCOPE]
    filters = filters_of(request)
    text = request.query.get("q") or None
    rows = await request.app[POOL].run(
        lambda conn: queries.list_assets(conn, scope, text=text, **filters)
    )
    return web.json_response({"items": rows})


async def search(request: web.Request) -> web.Response:
    text = request.query.get("q", "").strip()
    if not text:
        raise web.HTTPBadRequest(
            text='{"error": "q (the search text) is required"}', content_type="application/json"
        )
    scope = request[SCOPE]
    filters = filters_of(request)
    rows = await request.app[POOL].run(lambda conn: queries.search(conn, scope, text, **filters))
    return web.json_response({"items": rows})


async def list_analytics(request: web.Request) -> web.Response:
    """The shared algorithm library (issue 17): every published analytic a product may name as
    `transform.job: name@version`, with its parameters' schema. The same for every identity:
    the library is the center's offer to all tenants."""
    return web.json_response({"items": registry_listing()})


async def get_asset(request: web.Request) -> web.Response:
    scope = request[SCOPE]
    asset_id = request.match_info["asset_id"]
    found = await request.app[POOL].run(lambda conn: queries.asset(conn, scope, asset_id))
    if found is None:
        # The same answer for "no such asset" and "not yours": existence is not disclosed.
        raise web.HTTPNotFound(
            text=f'{{"error": "no asset {asset_id} visible to you"}}',
            content_type="application/json",
        )
    return web.json_response(found)


def build_app(
    pool: ConnectionPool,
    reviewer: TokenReviewer | None,
    mounts: Sequence[tuple[str, web.Application]] = (),
) -> web.Application:
    """The catalog API; `mounts` are (prefix, sub-app) pairs mounted beside it."""
    app = web.Application(middlewares=[authenticate])
    app[POOL] = pool
    app[REVIEWER] = reviewer
    app.router.add_get("/healthz", healthz)
    app.router.add_get(f"{API_PREFIX}/whoami", whoami)
    app.router.add_get(f"{API_PREFIX}/assets", list_assets)
    app.router.add_get(f"{API_PREFIX}/assets/{{asset_id:.+}}", get_asset)
    app.router.add_get(f"{API_PREFIX}/search", search)
    app.router.add_get(f"{API_PREFIX}/analytics", list_analytics)
    for prefix, sub in mounts:
        mount(app, prefix, sub)
    app.on_cleanup.append(close_pool)
    return app


def mount(app: web.Application, prefix: str, sub: web.Application) -> None:
    """Serve another part's aiohttp app under `prefix` (before the server starts), behind the
    same authentication: its handlers find request[IDENTITY] and request[SCOPE]."""
    app.add_subapp(prefix, sub)


async def close_pool(app: web.Application) -> None:
    app[POOL].close()
