"""The catalog server process: the indexer's sweep in a thread, the HTTP API on the event loop.

`python -m nidc.catalog serve` (the local platform's supervised `catalog-api`, the stack's
Deployment). Settings come from the environment (settings.py).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web

from nidc.catalog.access import Identity
from nidc.catalog.api import IDENTITY, ConnectionPool, build_app
from nidc.catalog.auth import TokenReviewer, server_tls
from nidc.catalog.indexer import Indexer
from nidc.catalog.settings import CatalogSettings
from nidc.console.app import build_console
from nidc.console.settings import ConsoleSettings
from nidc.console.views import PREFIX
from nidc.kube import ApiClient, api_client, in_cluster_or_kubeconfig, token_review
from nidc.lineage.receiver import EVENTS_PATH, lineage_routes
from nidc.lineage.store import LineageStore
from nidc.local.identities import LINEAGE_WRITERS_GROUP, PLATFORM_ADMINS_GROUP

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def kube_client(settings: CatalogSettings) -> ApiClient:
    if settings.kubeconfig is not None:
        return api_client(settings.kubeconfig)
    return in_cluster_or_kubeconfig()


def token_reviewer(api: ApiClient) -> TokenReviewer:
    """Bearer tokens are checked by the API server itself (TokenReview), off the event loop."""

    async def review(token: str) -> Identity | None:
        try:
            answer = await asyncio.to_thread(token_review, api, token)
        except Exception as error:  # the API server's refusal is not the caller's identity
            log.warning("TokenReview failed: %s", error.__class__.__name__)
            return None
        return Identity(answer[0], answer[1]) if answer else None

    return review


async def serve(
    settings: CatalogSettings, mounts: Sequence[tuple[str, web.Application]] = ()
) -> None:
    """Run until SIGTERM/SIGINT: index every few seconds, answer the API over TLS."""
    api = kube_client(settings)
    stop = threading.Event()
    indexer_thread = None
    if settings.index:
        indexer = Indexer(settings.dsn(), api, settings.object_store(), settings.center)
        indexer.sweep(force=True)  # the schema exists before the first request
        indexer_thread = threading.Thread(
            target=indexer.run_forever, args=(stop,), name="catalog-indexer", daemon=True
        )
        indexer_thread.start()
    pool = ConnectionPool(settings.dsn(read_only=True))
    app = build_app(pool, token_reviewer(api), mounts)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    tls = server_tls(settings.tls_cert, settings.tls_key, settings.ca_file)
    site = web.TCPSite(runner, settings.listen_host, settings.listen_port, ssl_context=tls)
    await site.start()
    log.info("catalog API on https://%s:%d", settings.listen_host, settings.listen_port)
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    await done.wait()
    stop.set()
    await runner.cleanup()
    if indexer_thread is not None:
        indexer_thread.join(timeout=10)


def mounted_apps(settings: CatalogSettings) -> list[tuple[str, web.Application]]:
    """Other parts' aiohttp apps served beside the catalog API, behind its authentication:
    (prefix, app) pairs. An app that writes opens its own connections with `settings.dsn()`
    (the catalog's pool is read-only)."""
    store = LineageStore(settings.dsn())
    store.migrate()
    receiver = lineage_routes(store)
    receiver.middlewares.append(lineage_access)
    console = ConsoleSettings.from_env(
        os.environ, settings.ca_file, settings.object_store(), settings.center
    )
    return [(EVENTS_PATH, receiver), (PREFIX, build_console(console, kube_client(settings)))]


@web.middleware
async def lineage_access(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Jobs post events with the lineage writers' certificate; the whole graph (every tenant's
    tables) is read by the center's operators only: tenants see lineage through the catalog's
    upstream and downstream, scoped to what they may see."""
    groups = request[IDENTITY].groups
    allowed = PLATFORM_ADMINS_GROUP in groups or (
        request.method == "POST" and LINEAGE_WRITERS_GROUP in groups
    )
    if not allowed:
        raise web.HTTPForbidden(
            text='{"error": "lineage: not for this identity"}', content_type="application/json"
        )
    return await handler(request)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = CatalogSettings.from_env(os.environ)
    asyncio.run(serve(settings, mounted_apps(settings)))
