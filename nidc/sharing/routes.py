"""The protocol's REST routes: shares, schemas, tables, version, metadata, query, changes.

Every request is authorised from its bearer token (tokens.py) and sees only the share its record
names and the tables of that share listed for its recipient (registry.py). Delta logs are read
and URLs signed in worker threads, so one large table does not stall the other recipients.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from nidc.api.data_share import SharedTable, ShareTokenRecord
from nidc.sharing import responses
from nidc.sharing.delta_log import Snapshot, version_at_timestamp
from nidc.sharing.errors import InvalidParameterError, NotFoundError, SharingError, UnsupportedError
from nidc.sharing.paging import (
    DEFAULT_LIST_PAGE,
    MAX_LIST_PAGE,
    decode_page_token,
    page,
    parse_page_size,
)
from nidc.sharing.presign import Presigner
from nidc.sharing.registry import ShareRegistry, ShareView
from nidc.sharing.table_store import TableLocation, TableStore
from nidc.sharing.tokens import TokenAuthority, parse_expiry

# Files in one query page when the recipient names no maxFiles: all of them (the official
# client does not page queries); the most one page may hold when it does.
MAX_FILES_PAGE = 100_000

Clock = Callable[[], dt.datetime]


@dataclass
class SharingService:
    """What the routes need: tokens, shares, tables, signing and a clock."""

    tokens: TokenAuthority
    shares: ShareRegistry
    tables: TableStore
    presigner: Presigner
    clock: Clock

    async def caller(self, request: web.Request) -> ShareTokenRecord:
        return await self.tokens.authenticate(request.headers.get("Authorization"), self.clock())

    async def share(self, request: web.Request) -> ShareView:
        record = await self.caller(request)
        return await self.shares.share_for(record, request.match_info.get("share"))

    async def table(self, request: web.Request) -> tuple[ShareView, SharedTable, TableLocation]:
        view = await self.share(request)
        table = view.table(request.match_info["schema"], request.match_info["table"])
        return view, table, TableLocation.parse(table.location)


@web.middleware
async def protocol_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Refusals as the protocol's `{errorCode, message}` bodies."""
    try:
        return await handler(request)
    except SharingError as error:
        return web.json_response(
            responses.error_body(error.code, error.message), status=error.status
        )


def list_params(request: web.Request) -> tuple[int, str | None]:
    size = parse_page_size(
        request.query.get("maxResults"), "maxResults", DEFAULT_LIST_PAGE, MAX_LIST_PAGE
    )
    return size, request.query.get("pageToken") or None


def list_response(items: list[dict[str, Any]], next_token: str | None) -> web.Response:
    body: dict[str, Any] = {"items": items}
    if next_token:
        body["nextPageToken"] = next_token
    return web.json_response(body)


def table_item(view: ShareView, table: SharedTable) -> dict[str, Any]:
    return {
        "name": table.table,
        "schema": table.schema_name,
        "share": view.name,
        "shareId": view.id,
    }


def optional_int(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError) as error:
        raise InvalidParameterError(f"{name} must be an integer") from error
    if number < 0:
        raise InvalidParameterError(f"{name} must be non-negative")
    return number


def timestamp_ms(text: str, name: str) -> int:
    try:
        return int(parse_expiry(text).timestamp() * 1000)
    except ValueError as error:
        raise InvalidParameterError(f"{name} is not an ISO 8601 timestamp") from error


def ndjson(lines: list[dict[str, Any]], headers: dict[str, str]) -> web.Response:
    return web.Response(
        body="".join(responses.line(item) for item in lines).encode(),
        headers={**headers, "Content-Type": responses.NDJSON},
    )


def build_routes(service: SharingService, prefix: str) -> web.RouteTableDef:
    routes = web.RouteTableDef()
    base = prefix.rstrip("/")
    table_path = base + "/shares/{share}/schemas/{schema}/tables/{table}"

    @routes.get(base + "/shares")
    async def list_shares(request: web.Request) -> web.Response:
        record = await service.caller(request)
        view = await service.shares.share_for(record, None)
        size, token = list_params(request)
        items, next_token = page([{"name": view.name, "id": view.id}], size, token, "shares")
        return list_response(items, next_token)

    @routes.get(base + "/shares/{share}")
    async def get_share(request: web.Request) -> web.Response:
        view = await service.share(request)
        return web.json_response({"share": {"name": view.name, "id": view.id}})

    @routes.get(base + "/shares/{share}/schemas")
    async def list_schemas(request: web.Request) -> web.Response:
        view = await service.share(request)
        size, token = list_params(request)
        schemas = [{"name": s, "share": view.name} for s in view.schemas()]
        items, next_token = page(schemas, size, token, f"schemas:{view.name}")
        return list_response(items, next_token)

    @routes.get(base + "/shares/{share}/schemas/{schema}/tables")
    async def list_tables(request: web.Request) -> web.Response:
        view = await service.share(request)
        schema = request.match_info["schema"]
        tables = view.tables_in(schema)
        if not tables:
            raise NotFoundError(f"schema {schema} is not in share {view.name}")
        size, token = list_params(request)
        items, next_token = page(
            [table_item(view, t) for t in tables], size, token, f"tables:{view.name}.{schema}"
        )
        return list_response(items, next_token)

    @routes.get(base + "/shares/{share}/all-tables")
    async def list_all_tables(request: web.Request) -> web.Response:
        view = await service.share(request)
        size, token = list_params(request)
        items, next_token = page(
            [table_item(view, t) for t in view.tables_in(None)],
            size,
            token,
            f"all-tables:{view.name}",
        )
        return list_response(items, next_token)

    async def table_version(request: web.Request) -> web.Response:
        _, _, location = await service.table(request)
        starting = request.query.get("startingTimestamp")
        if starting:
            listing = await asyncio.to_thread(service.tables.listing, location)
            version = version_at_timestamp(
                listing, timestamp_ms(starting, "startingTimestamp"), at_or_after=True
            )
        else:
            version = (await asyncio.to_thread(service.tables.listing, location)).latest
        return web.Response(headers={responses.VERSION_HEADER: str(version)})

    routes.get(table_path + "/version")(table_version)
    routes.head(table_path)(table_version)

    async def snapshot_for(
        location: TableLocation, version: int | None, timestamp: str | None
    ) -> Snapshot:
        if version is not None and timestamp is not None:
            raise InvalidParameterError("version and timestamp are mutually exclusive")
        if timestamp is not None:
            listing = await asyncio.to_thread(service.tables.listing, location)
            version = version_at_timestamp(
                listing, timestamp_ms(timestamp, "timestamp"), at_or_after=False
            )
        return await asyncio.to_thread(service.tables.snapshot, location, version)

    @routes.get(table_path + "/metadata")
    async def table_metadata(request: web.Request) -> web.Response:
        _, _, location = await service.table(request)
        capabilities = responses.Capabilities.parse(
            request.headers.get(responses.CAPABILITIES_HEADER)
        )
        version = optional_int(request.query.get("version"), "version")
        snapshot = await snapshot_for(location, version, request.query.get("timestamp"))
        fmt = responses.choose_format(capabilities, snapshot)
        pinned = version is not None or request.query.get("timestamp") is not None
        lines = [
            responses.protocol_line(snapshot, fmt),
            responses.metadata_line(snapshot, fmt, with_version=pinned),
        ]
        return ndjson(lines, responses.response_headers(snapshot.version, fmt, False))

    @routes.post(table_path + "/query")
    async def query_table(request: web.Request) -> web.Response:
        view, table, location = await service.table(request)
        capabilities = responses.Capabilities.parse(
            request.headers.get(responses.CAPABILITIES_HEADER)
        )
        body = await request_json(request)
        scope = f"query:{view.name}.{table.schema_name}.{table.table}"
        token = body.get("pageToken") or None
        max_files = body.get("maxFiles")
        version = optional_int(body.get("version"), "version")
        timestamp = body.get("timestamp")
        if token:
            version, timestamp = decode_page_token(str(token), scope).version, None
        if body.get("startingVersion") is not None:
            return await changes(
                request,
                location,
                optional_int(body.get("startingVersion"), "startingVersion"),
                optional_int(body.get("endingVersion"), "endingVersion"),
                capabilities,
                require_cdf=False,
            )
        snapshot = await snapshot_for(location, version, timestamp)
        fmt = responses.choose_format(capabilities, snapshot)
        paged = max_files is not None or token is not None
        size = parse_page_size(max_files, "maxFiles", MAX_FILES_PAGE, MAX_FILES_PAGE)
        files, next_token = page(snapshot.active_files(), size, token, scope, snapshot.version)
        pinned = version is not None or timestamp is not None
        now = service.clock()

        def build() -> list[dict[str, Any]]:
            def sign(path: str) -> Any:
                return service.presigner.sign(location, path, now)

            lines = [
                responses.protocol_line(snapshot, fmt),
                responses.metadata_line(snapshot, fmt, with_version=pinned),
            ]
            for add in files:
                lines.append(
                    responses.file_line(
                        add,
                        sign,
                        fmt,
                        snapshot.version if pinned else None,
                        snapshot.timestamp_ms if pinned else None,
                    )
                )
            return lines

        lines = await asyncio.to_thread(build)
        end_stream = paged or capabilities.include_end_stream
        if end_stream:
            expiry = now.timestamp() * 1000 + service.presigner.seconds * 1000
            lines.append(responses.end_stream_line(next_token, int(expiry) if files else None))
        return ndjson(lines, responses.response_headers(snapshot.version, fmt, end_stream))

    async def changes(
        request: web.Request,
        location: TableLocation,
        starting: int | None,
        ending: int | None,
        capabilities: responses.Capabilities,
        require_cdf: bool,
    ) -> web.Response:
        listing = await asyncio.to_thread(service.tables.listing, location)
        latest = await asyncio.to_thread(service.tables.snapshot, location, None)
        if require_cdf and not latest.change_data_feed:
            raise UnsupportedError("the table does not have its change data feed enabled")
        if starting is None:
            raise InvalidParameterError("startingVersion or startingTimestamp is required")
        ending = latest.version if ending is None else min(ending, latest.version)
        if starting > ending:
            raise InvalidParameterError(f"startingVersion {starting} is after version {ending}")
        fmt = responses.choose_format(capabilities, latest)
        now = service.clock()

        def build() -> list[dict[str, Any]]:
            def sign(path: str) -> Any:
                return service.presigner.sign(location, path, now)

            lines = [
                responses.protocol_line(latest, fmt),
                responses.metadata_line(latest, fmt, with_version=False),
            ]
            for version in range(starting, ending + 1):
                if version not in listing.commits:
                    raise InvalidParameterError(
                        f"version {version} is no longer in the table's log"
                    )
                actions = service.tables.commit(location, version)
                lines.extend(
                    responses.change_lines(
                        version, listing.commit_times_ms.get(version, 0), actions, sign, fmt
                    )
                )
            return lines

        lines = await asyncio.to_thread(build)
        return ndjson(lines, responses.response_headers(starting, fmt, False))

    @routes.get(table_path + "/changes")
    async def table_changes(request: web.Request) -> web.Response:
        _, _, location = await service.table(request)
        capabilities = responses.Capabilities.parse(
            request.headers.get(responses.CAPABILITIES_HEADER)
        )
        query = request.query
        starting = optional_int(query.get("startingVersion"), "startingVersion")
        ending = optional_int(query.get("endingVersion"), "endingVersion")
        if starting is None or (ending is None and query.get("endingTimestamp")):
            listing = await asyncio.to_thread(service.tables.listing, location)
            if starting is None and query.get("startingTimestamp"):
                starting = version_at_timestamp(
                    listing, timestamp_ms(query["startingTimestamp"], "startingTimestamp"), True
                )
            if ending is None and query.get("endingTimestamp"):
                ending = version_at_timestamp(
                    listing, timestamp_ms(query["endingTimestamp"], "endingTimestamp"), False
                )
        return await changes(request, location, starting, ending, capabilities, require_cdf=True)

    return routes


async def request_json(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    text = await request.text()
    if not text.strip():
        return {}
    try:
        body = json.loads(text)
    except ValueError as error:
        raise InvalidParameterError("the request body is not JSON") from error
    if not isinstance(body, dict):
        raise InvalidParameterError("the request body must be a JSON object")
    return body
