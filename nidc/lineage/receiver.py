"""The OpenLineage receiver: an aiohttp application in the HTTP transport's shape.

    POST /api/v1/lineage                  one RunEvent as JSON (openlineage-python's HttpTransport)
    GET  /api/v1/lineage/graph?dataset=D&direction=upstream|downstream|both&depth=N
    GET  /api/v1/lineage/columns?dataset=D

A POST answers 201 (stored) or 200 (the same event again: nothing changes), 400 naming the field
of an event that does not validate (validation.py), 415 for a body that is not JSON, and 503 when
the store cannot be reached (the transport retries a 503). The catalog API server mounts it:
`lineage_app(store)` as a sub-application, or `add_lineage_routes(app, store)`; who may post and
who may read is that server's authentication, in front of these routes. Store calls run in a
thread, so a slow database never blocks the event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import psycopg
from aiohttp import web

from nidc.lineage.graph import DIRECTIONS, walk
from nidc.lineage.naming import DatasetNameError, parse_dataset
from nidc.lineage.store import LineageStore
from nidc.lineage.validation import InvalidEventError, validate_event

LOG = logging.getLogger(__name__)
STORE_KEY = web.AppKey("lineage_store", LineageStore)
EVENTS_PATH = "/api/v1/lineage"
MAX_DEPTH = 100


def lineage_app(store: LineageStore) -> web.Application:
    """The receiver on its own: its routes at EVENTS_PATH (tests, a stand-alone receiver)."""
    app = web.Application()
    app.add_subapp(EVENTS_PATH, lineage_routes(store))
    return app


def lineage_routes(store: LineageStore) -> web.Application:
    """The receiver and its queries, relative to where it is mounted (EVENTS_PATH): POST ''
    takes an event, GET /graph and /columns answer queries."""
    app = web.Application(client_max_size=4 * 1024 * 1024)
    app[STORE_KEY] = store
    app.router.add_post("", receive_event)
    app.router.add_get("/graph", graph)
    app.router.add_get("/columns", columns)
    return app


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def receive_event(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(415, "body: must be a JSON OpenLineage run event")
    try:
        event = validate_event(body)
    except InvalidEventError as error:
        return _error(400, str(error))
    try:
        stored = await asyncio.to_thread(request.app[STORE_KEY].record, event)
    except psycopg.Error as error:
        LOG.warning("lineage store unavailable: %s", type(error).__name__)
        return _error(503, "lineage store unavailable")
    return web.json_response(
        {"stored": stored, "runId": str(event.run_id)}, status=201 if stored else 200
    )


def _query(request: web.Request) -> tuple[Any, str, int | None]:
    text = request.query.get("dataset", "")
    if not text:
        raise web.HTTPBadRequest(text="dataset: required")
    try:
        dataset = parse_dataset(text)
    except DatasetNameError as error:
        raise web.HTTPBadRequest(text=f"dataset: {error}") from None
    direction = request.query.get("direction", "both")
    if direction not in (*DIRECTIONS, "both"):
        raise web.HTTPBadRequest(text="direction: one of upstream, downstream, both")
    depth_text = request.query.get("depth")
    if depth_text is None:
        return dataset, direction, None
    if not depth_text.isdigit() or int(depth_text) > MAX_DEPTH:
        raise web.HTTPBadRequest(text=f"depth: a whole number from 0 to {MAX_DEPTH}")
    return dataset, direction, int(depth_text)


async def graph(request: web.Request) -> web.Response:
    dataset, direction, depth = _query(request)
    store = request.app[STORE_KEY]
    directions = DIRECTIONS if direction == "both" else (direction,)
    trees = {
        d: (await asyncio.to_thread(walk, dataset, d, store.edges, depth)).as_dict()
        for d in directions
    }
    return web.json_response({"dataset": str(dataset), **trees})


async def columns(request: web.Request) -> web.Response:
    dataset, _, _ = _query(request)
    edges = await asyncio.to_thread(request.app[STORE_KEY].column_lineage, dataset)
    return web.json_response(
        {
            "dataset": str(dataset),
            "columns": [
                {
                    "field": e.output_field,
                    "input": str(e.input),
                    "inputField": e.input_field,
                    "type": e.kind,
                    "subtype": e.subtype,
                }
                for e in edges
            ],
        }
    )
