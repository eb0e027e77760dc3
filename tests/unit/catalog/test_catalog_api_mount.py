"""The API's authentication in front of its own routes and of apps other parts mount beside
them (the lineage receiver): no identity, 401; a token the reviewer does not vouch for, 401; a
vouched identity reaches a mounted handler with its scope. The reviewer here answers for two
fixed tokens: the TokenReview itself is checked against the real API server in
tests/integration/test_catalog.py."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from nidc.catalog.access import Identity
from nidc.catalog.api import IDENTITY, SCOPE, ConnectionPool, build_app

pytestmark = pytest.mark.unit

IDENTITIES = {
    "admin-token": Identity("ops", ("nidc:platform-admins",)),
    "maker-token": Identity("robot", ("system:serviceaccounts:equipment-maker",)),
}


async def reviewer(token: str) -> Identity | None:
    return IDENTITIES.get(token)


async def receive(request: web.Request) -> web.Response:
    scope = request[SCOPE]
    return web.json_response(
        {"user": request[IDENTITY].user, "tenants": list(scope.tenants), "all": scope.everything}
    )


def run(checks: Any) -> None:
    async def main() -> None:
        lineage = web.Application()
        lineage.router.add_post("/lineage", receive)
        # No database is reached by these routes; the pool is never used.
        app = build_app(ConnectionPool("host=127.0.0.1 port=1"), reviewer, [("/api/v1", lineage)])
        async with TestClient(TestServer(app)) as client:
            await checks(client)

    # A loop of its own, never installed: asyncio.run would leave the thread with no current
    # loop, and the Pulumi mock tests that run later in the session need one.
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


def test_mounted_routes_are_behind_the_same_authentication() -> None:
    async def checks(client: TestClient[Any, Any]) -> None:
        assert (await client.post("/api/v1/lineage")).status == 401
        forged = await client.post("/api/v1/lineage", headers={"Authorization": "Bearer nope"})
        assert forged.status == 401
        robot = await client.post(
            "/api/v1/lineage", headers={"Authorization": "Bearer maker-token"}
        )
        assert robot.status == 200
        assert await robot.json() == {"user": "robot", "tenants": ["equipment-maker"], "all": False}
        me = await client.get("/api/v1/whoami", headers={"Authorization": "Bearer admin-token"})
        assert (await me.json())["everything"] is True
        # The catalog's own routes are read-only.
        posted = await client.post(
            "/api/v1/assets", headers={"Authorization": "Bearer admin-token"}
        )
        assert posted.status in (404, 405)  # nothing writes through the catalog

    run(checks)


def test_only_lineage_writers_post_events_and_only_operators_read_the_whole_graph() -> None:
    """The server's guard on the mounted receiver (nidc/catalog/server.py lineage_access)."""
    from nidc.catalog.server import lineage_access

    IDENTITIES["writer-token"] = Identity("nidc:lineage-writer", ("nidc:lineage-writers",))

    async def main() -> None:
        receiver = web.Application(middlewares=[lineage_access])
        receiver.router.add_post("", receive)
        receiver.router.add_get("/graph", receive)
        app = build_app(
            ConnectionPool("host=127.0.0.1 port=1"), reviewer, [("/api/v1/lineage", receiver)]
        )
        async with TestClient(TestServer(app)) as client:

            async def status(method: str, path: str, token: str) -> int:
                answer = await client.request(
                    method, path, headers={"Authorization": f"Bearer {token}"}
                )
                return answer.status

            assert await status("POST", "/api/v1/lineage", "writer-token") == 200
            assert await status("POST", "/api/v1/lineage", "maker-token") == 403
            assert await status("GET", "/api/v1/lineage/graph", "writer-token") == 403
            assert await status("GET", "/api/v1/lineage/graph", "maker-token") == 403
            assert await status("GET", "/api/v1/lineage/graph", "admin-token") == 200

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()


def test_the_algorithm_library_is_in_the_catalog_for_every_identity() -> None:
    """Issue 17: the analytics registry is listed by the catalog API, as `nidc analytics ls`."""
    from nidc.api.analytics import ANALYTICS

    async def checks(client: TestClient[Any, Any]) -> None:
        assert (await client.get("/api/v1/analytics")).status == 401
        for token in ("admin-token", "maker-token"):
            answer = await client.get(
                "/api/v1/analytics", headers={"Authorization": f"Bearer {token}"}
            )
            assert answer.status == 200
            items = (await answer.json())["items"]
            assert [i["ref"] for i in items] == [d.ref for d in ANALYTICS]
            window = items[0]["parameters"]["properties"]["windowSeconds"]
            assert window["minimum"] == 1

    run(checks)
