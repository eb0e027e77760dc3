"""The console's asset map and search under load: p95 with 1,000 tables and 20 concurrent
users, against the floor: a static file (the console's style sheet) from the same server, in
the same run.

    NIDC_STATE_DIR=... python -m bench.console [--users 20] [--requests 25] [--record]

Needs a running local platform: its catalog PostgreSQL (a database of the bench's own,
`bench_console`, filled with 1,000 tables of 8 columns over 10 tenants and 5 domains, some
columns named in Chinese) and its PKI (the server's TLS certificate, the platform admin's client
certificate: the admin sees all 1,000). The server is the catalog API with the console mounted,
as `catalog-api` runs it, in a process of its own; the users are aiohttp clients in this one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import ssl
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

TABLES, TENANTS, DOMAINS = 1000, 10, 5
BENCH_DB = "bench_console"
SECTION = "## Issue 18: console asset map and search under load (bench/console.py)"
SEARCHES = ("spindle", "主轴", "furnace_temperature", "质量", "line 7")
DOMAIN_NAMES = (
    "production-operation",
    "research-design",
    "business-management",
    "operations-management",
    "supply-chain",
)


def fake_assets() -> Any:
    """1,000 tables as the indexer would write them (nidc.catalog.assets)."""
    from nidc.catalog.assets import Asset, AssetKind, CatalogRows, Column
    from nidc.catalog.search_text import search_document

    assets = []
    names = ("spindle_health", "furnace_temperature", "line_counts", "质量检验", "work_orders")
    for n in range(TABLES):
        tenant = f"tenant-{n % TENANTS:02d}"
        layer = ("bronze", "silver", "gold")[n % 3]
        name = f"{layer}.{names[n % len(names)]}_{n:04d}"
        columns = tuple(
            Column(name=c, type="double", grade=1 + (n + i) % 3, category="production")
            for i, c in enumerate(
                ("line", "ts", "value", "主轴转速", "进给速度", "operator", "batch", f"x{n}")
            )
        )
        asset = Asset(
            id=f"{tenant}/{name}",
            tenant=tenant,
            layer=layer,
            name=name,
            kind=AssetKind.PRODUCT_TABLE if layer != "bronze" else AssetKind.SOURCE_TABLE,
            resource=f"DataProduct/{tenant}/p{n}",
            location=f"s3://tenant-{tenant}/{layer}/t{n}",
            owner_name="Wang Li",
            domain=DOMAIN_NAMES[n % DOMAINS],
            grade=1 + n % 3,
            quality_score=0.9 + (n % 10) / 100,
            version=n % 7,
            last_modified="2026-11-30T10:00:00+00:00",
            rows=1000 + n,
            columns=columns,
            description=f"line {n % 10} 生产数据",
        )
        assets.append(asset)
    done = [type(a)(**{**a.__dict__, "search_text": search_document(a)}) for a in assets]
    return CatalogRows(assets=tuple(done), edges=(), access=())


def dsn(state: Any, database: str) -> str:
    from psycopg.conninfo import make_conninfo

    from nidc.local.servers.catalog_postgres import PASSWORD_SECRET

    return make_conninfo(
        host="127.0.0.1",
        port=state.port("catalog-postgres"),
        dbname=database,
        user="postgres",
        password=state.read_secret(PASSWORD_SECRET),
    )


def fill(state: Any) -> str:
    """A database of the bench's own with 1,000 tables; its DSN."""
    import psycopg

    from nidc.catalog import store

    with psycopg.connect(dsn(state, "postgres"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    target = dsn(state, BENCH_DB)
    with psycopg.connect(target) as conn:
        store.migrate(conn)
        store.write_rows(conn, fake_assets(), [])
    return target


def serve(port: int, cert: str, key: str, ca: str) -> None:
    """The server: catalog API + console, TLS, no indexer (the bench's rows stay as written)."""
    from aiohttp import web

    from nidc.catalog.api import ConnectionPool, build_app
    from nidc.catalog.auth import server_tls
    from nidc.console.app import build_console
    from nidc.console.pages.assets import MAPS, RenderedMaps
    from nidc.console.settings import ConsoleSettings

    settings = ConsoleSettings(session_key=os.urandom(32), ca_file=Path(ca))
    pool = ConnectionPool(os.environ["NIDC_BENCH_DSN"])
    console = build_console(settings, None)
    if os.environ.get("NIDC_BENCH_MAP_CACHE") == "off":
        console[MAPS] = RenderedMaps(size=0)
    app = build_app(pool, None, [("/console", console)])
    web.run_app(
        app,
        host="127.0.0.1",
        port=port,
        ssl_context=server_tls(Path(cert), Path(key), Path(ca)),
        access_log=None,
        print=None,
    )


async def load(
    url: str, paths: list[str], users: int, per_user: int, tls: ssl.SSLContext
) -> list[float]:
    """`users` clients, each GETting `per_user` times (cycling through `paths`); latencies."""
    import aiohttp

    latencies: list[float] = []

    async def user(index: int) -> None:
        connector = aiohttp.TCPConnector(ssl=tls)
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            for i in range(per_user):
                path = paths[(index + i) % len(paths)]
                started = time.perf_counter()
                async with session.get(f"{url}{path}") as response:
                    await response.read()
                    assert response.status == 200, (path, response.status)
                latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(user(i) for i in range(users)))
    return latencies


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def render(
    rows: list[tuple[str, list[float], int]],
    users: int,
    per_user: int,
    load_avg: tuple[float, float],
) -> str:
    lines = [
        SECTION,
        "",
        f"`python -m bench.console --users {users} --requests {per_user}`: {TABLES} tables "
        f"({TENANTS} tenants, {DOMAINS} domains, 8 columns each) in the catalog's PostgreSQL, the "
        f"catalog API with the console mounted (one process, TLS, 4 pooled connections), "
        f"{users} concurrent users (aiohttp, platform-admin's client certificate: all tables) "
        f"x {per_user} requests per row. The floor is the console's style sheet from the same "
        "server. The asset map is cached per scope, index version (catalog.sweeps) and minute "
        "(nidc/console/pages/assets.py); the last rows are a second server with that cache "
        "off, so every map is queried and rendered. The machine is shared: load average (1 min) "
        f"{load_avg[0]:.1f} before, {load_avg[1]:.1f} after.",
        "",
        "| request | p50 ms | p95 ms | max ms | requests/s | bytes |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, latencies, size in rows:
        wall = sum(latencies) / users
        lines.append(
            f"| {name} | {statistics.median(latencies) * 1000:.0f} | "
            f"{percentile(latencies, 0.95) * 1000:.0f} | {max(latencies) * 1000:.0f} | "
            f"{len(latencies) / wall:.0f} | {size:,.0f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--requests", type=int, default=25)
    parser.add_argument("--record", action="store_true")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--tls", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve, *args.tls)
        return 0

    import requests

    from nidc.local.platform import LocalPlatform
    from nidc.local.ports import free_port

    platform = LocalPlatform()
    env = platform.env()
    pki = Path(env["state_dir"]) / "pki"
    target = fill(platform.state)
    client_cert = (str(pki / "client-platform-admin.crt"), str(pki / "client-platform-admin.key"))
    tls = ssl.create_default_context(cafile=env["ca_file"])
    tls.load_cert_chain(*client_cert)
    load_before = os.getloadavg()[0]
    rows = []
    # The same server twice: as it runs (the map cached per scope, index version and minute),
    # then with the cache off (every map rendered), each beside its floor.
    for cache, phases in (
        ("on", {
            "static file (floor)": ["/console/static/console.css"],
            "asset map (1,000 tables, cached)": ["/console/assets"],
            "search": [f"/console/search?q={q}" for q in SEARCHES],
        }),
        ("off", {
            "static file (floor), map cache off": ["/console/static/console.css"],
            "asset map (1,000 tables, rendered each time)": ["/console/assets"],
        }),
    ):  # fmt: skip
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "bench.console", "--serve", str(port), "--tls",
             str(pki / "server.crt"), str(pki / "server.key"), env["ca_file"]],
            env={**os.environ, "NIDC_BENCH_DSN": target, "NIDC_BENCH_MAP_CACHE": cache},
        )  # fmt: skip
        url = f"https://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if requests.get(f"{url}/healthz", verify=env["ca_file"], timeout=2).ok:
                        break
                except requests.ConnectionError:
                    pass
                assert time.monotonic() < deadline, "the bench's server did not start"
                time.sleep(0.5)
            for name, paths in phases.items():
                first = requests.get(
                    f"{url}{paths[0]}", cert=client_cert, verify=env["ca_file"], timeout=60
                )
                latencies = asyncio.run(load(url, paths, args.users, args.requests, tls))
                rows.append((name, latencies, len(first.content)))
        finally:
            server.terminate()
            server.wait(timeout=30)
    text = render(rows, args.users, args.requests, (load_before, os.getloadavg()[0]))
    print(text)
    if args.record:
        from bench.recording import record_section

        record_section(SECTION, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
