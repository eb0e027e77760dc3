"""The console in real Chromium (issue 18, must-show 1): Debian's chromium from the tool cache,
driven by playwright, against the console the local platform serves (mounted in the catalog API).

Its data: three bronze tables written with delta-rs as the native commit writes bronze, each
named by a DataSource (no Spark): steel-plant's heat recipes (declared grade 3, a column named
in Chinese) and monthly statistics (the one map's indicator columns), and equipment-maker's
repair log (shared with no one). Screenshots go to $NIDC_CONSOLE_SCREENSHOTS (docs/img when
they are refreshed), else a temporary folder.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pyarrow as pa
import pytest
import requests

from nidc.console.masking import SAMPLE_ROWS
from nidc.kube import apply, service_account_token
from tests.chromium_browser import chromium, console_context

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

STEEL, MAKER = "steel-plant", "equipment-maker"
SUFFIX = uuid.uuid4().hex[:5]
RECIPES, STATS, REPAIRS = (f"recipes_{SUFFIX}", f"monthly_stats_{SUFFIX}", f"repairs_{SUFFIX}")
RECIPES_ID, STATS_ID = f"{STEEL}/bronze.{RECIPES}", f"{STEEL}/bronze.{STATS}"
REPAIRS_ID = f"{MAKER}/bronze.{REPAIRS}"
CARBON = [f"0.{1700 + n}" for n in range(6)]  # grade-3 values no page may show in clear


def delta_tables(env: dict[str, Any]) -> None:
    os.environ["SSL_CERT_FILE"] = env["ca_file"]
    from deltalake import write_deltalake

    s3 = env["servers"]["minio"]
    options = {
        "AWS_ENDPOINT_URL": s3["url"],
        "AWS_ACCESS_KEY_ID": s3["access_key"],
        "AWS_SECRET_ACCESS_KEY": Path(s3["secret_key_file"]).read_text().strip(),
        "AWS_REGION": "us-east-1",
        "AWS_FORCE_PATH_STYLE": "true",
    }
    recipes = {"heat_no": [f"H{n}" for n in range(6)], "c_pct": CARBON, "炉温": [1550.0] * 6}
    months = [f"2026-{m:02d}" for m in range(5, 11)]
    rows = [
        (p, prov, ind) for p in months for prov in ("320000", "130000") for ind in ("C31", "C34")
    ]
    stats = {
        "period": [r[0] for r in rows],
        "province": [r[1] for r in rows],
        "industry": [r[2] for r in rows],
        "output_value": [1000.0 + 10 * i for i in range(len(rows))],
        "energy_tce": [300.0 - i for i in range(len(rows))],
        "equipment_run_hours": [600.0] * len(rows),
        "equipment_available_hours": [720.0] * len(rows),
        "units_produced": [1000] * len(rows),
        "units_passed": [990 - (i % 3) * 30 for i in range(len(rows))],
    }
    repairs = {"machine": ["VMC-850"], "维修记录": ["主轴轴承更换"]}
    for tenant, name, data in (
        (STEEL, RECIPES, recipes),
        (STEEL, STATS, stats),
        (MAKER, REPAIRS, repairs),
    ):
        write_deltalake(
            f"s3://tenant-{tenant}/bronze/{name}", pa.table(data), storage_options=options
        )


def source(tenant: str, name: str, grade: int) -> dict[str, Any]:
    return {
        "apiVersion": "nidc.io/v1alpha1",
        "kind": "DataSource",
        "metadata": {"name": name.replace("_", "-"), "namespace": tenant},
        "spec": {
            "type": "files",
            "endpoint": f"s3://tenant-{tenant}",
            "domain": "production-operation",
            "enterprisePrefix": "88.118.8",
            "schedule": "@hourly",
            "grade": grade,
            "targetTable": f"bronze.{name}",
            "files": {"format": "parquet", "prefix": f"console-{name}/"},
        },
    }


def admin_api(env: dict[str, Any], path: str, token: str | None = None) -> requests.Response:
    pki = Path(env["state_dir"]) / "pki"
    return requests.get(
        f"{env['servers']['catalog-api']['url']}{path}",
        cert=None
        if token
        else (str(pki / "client-platform-admin.crt"), str(pki / "client-platform-admin.key")),
        headers={"Authorization": f"Bearer {token}"} if token else {},
        verify=env["ca_file"],
        timeout=30,
    )


@pytest.fixture(scope="module")
def console(platform_env: dict[str, Any], tenants: Any) -> str:
    """The console's URL once the catalog indexes the three tables."""
    delta_tables(platform_env)
    for tenant, name, grade in ((STEEL, RECIPES, 3), (STEEL, STATS, 1), (MAKER, REPAIRS, 2)):
        apply(tenants, source(tenant, name, grade))
    deadline = time.monotonic() + 120
    for asset_id in (RECIPES_ID, STATS_ID, REPAIRS_ID):
        while (
            got := admin_api(platform_env, f"/api/v1/assets/{quote(asset_id)}")
        ).status_code != 200 or got.json()["version"] is None:
            assert time.monotonic() < deadline, f"{asset_id} not indexed: {got.text[:300]}"
            time.sleep(1)
    return str(platform_env["servers"]["catalog-api"]["console"]).rstrip("/")


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with chromium(tmp_path_factory.mktemp("chromium")) as launched:
        yield launched


def context(browser: Any, env: dict[str, Any], identity: str | None) -> Any:
    return console_context(browser, env, identity)


def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = os.environ.get("NIDC_CONSOLE_SCREENSHOTS")
    return Path(folder) if folder else tmp_path_factory.mktemp("console-shots")


def test_every_page_renders_with_data_for_a_center_operator(
    console: str,
    browser: Any,
    platform_env: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    out = shots(tmp_path_factory)
    page = context(browser, platform_env, "platform-admin").new_page()

    page.goto(f"{console}/assets")
    tiles = page.locator("a.tile")
    assert page.locator(f'a.tile[title="{RECIPES_ID}"]').get_attribute("class") == "tile grade-3"
    assert page.locator(f'a.tile[title="{REPAIRS_ID}"]').count() == 1  # operators see all
    assert tiles.count() >= 3
    page.screenshot(path=str(out / "console-assets.png"), full_page=True)

    page.goto(f"{console}/search?q=炉温")
    assert RECIPES_ID.split("/")[1] in page.locator("table.results").inner_text()
    page.screenshot(path=str(out / "console-search.png"))

    page.goto(f"{console}/tables/{RECIPES_ID}")
    schema = page.locator("table.schema").inner_text()
    assert "c_pct" in schema and "炉温" in schema
    assert page.locator("svg.lineage .node.upstream").count() == 1  # its DataSource
    assert page.locator("svg.chart").count() == 1
    page.screenshot(path=str(out / "console-table.png"), full_page=True)

    page.goto(f"{console}/onemap?indicator=quality_rate")
    assert page.locator("svg.province-map path[data-code]").count() == 34
    shaded = page.locator('svg.province-map path[data-code="320000"]').get_attribute("class")
    assert shaded is not None and not shaded.startswith("shade-0")
    assert page.locator("svg.chart polyline").count() >= 1  # the national series
    assert page.locator("table.warnings tbody tr").count() >= 1
    page.screenshot(path=str(out / "console-onemap.png"), full_page=True)

    # The alerts page shows what Prometheus's API says is firing, one row each.
    api = requests.get(
        f"{platform_env['servers']['prometheus']['url']}/api/v1/alerts",
        verify=platform_env["ca_file"],
        timeout=10,
    ).json()
    firing = sorted(
        a["labels"]["alertname"] for a in api["data"]["alerts"] if a["state"] == "firing"
    )
    page.goto(f"{console}/alerts")
    shown = sorted(page.locator("tr.state-firing td.alertname").all_inner_texts())
    assert shown == firing
    page.screenshot(path=str(out / "console-alerts.png"), full_page=True)

    page.goto(f"{console}/dcmm")
    assert page.locator("table.dcmm tbody tr").count() == 28
    with page.expect_download() as download:
        page.click("a.pdf")
    assert Path(download.value.path()).read_bytes()[:5] == b"%PDF-"
    page.screenshot(path=str(out / "console-dcmm.png"))


def test_a_tenant_signs_in_with_a_token_and_sees_only_its_own_and_shared(
    console: str,
    browser: Any,
    platform_env: dict[str, Any],
    tenants: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    page = context(browser, platform_env, None).new_page()
    page.goto(f"{console}/assets")
    assert page.url.endswith("/console/sign-in")  # no certificate, no session
    page.fill("#token", "not-a-token")
    page.click("button[type=submit]")
    assert "does not authenticate" in page.locator(".error").inner_text()

    # The form as a refused token leaves it (no credential in the picture).
    page.screenshot(path=str(shots(tmp_path_factory) / "console-sign-in.png"))
    token = service_account_token(tenants, STEEL, "default", 600)
    page.fill("#token", token)
    page.click("button[type=submit]")
    cookie = next(c for c in page.context.cookies() if c["name"] == "nidc_console")
    assert cookie["httpOnly"] and cookie["secure"] and cookie["expires"] > time.time()
    assert token not in cookie["value"]
    assert page.locator(f'a.tile[title="{RECIPES_ID}"]').count() == 1
    assert page.locator(f'a.tile[title="{REPAIRS_ID}"]').count() == 0

    page.goto(f"{console}/search?q=炉温")
    assert page.locator("table.results tbody tr").count() >= 1
    page.goto(f"{console}/search?q=维修记录")
    assert page.locator("table.results tbody tr").count() == 0
    response = page.goto(f"{console}/tables/{REPAIRS_ID}")
    assert response is not None and response.status == 404
    assert admin_api(platform_env, f"/api/v1/assets/{quote(REPAIRS_ID)}", token).status_code == 404
    assert admin_api(platform_env, f"/api/v1/assets/{quote(RECIPES_ID)}", token).status_code == 200


def test_an_analyst_sees_no_clear_grade3_values(
    console: str, browser: Any, platform_env: dict[str, Any]
) -> None:
    page = context(browser, platform_env, "steel-plant-analyst").new_page()
    page.goto(f"{console}/tables/{RECIPES_ID}")
    sample = page.locator("table.sample").inner_text()
    # Every column of a grade-3 table not yet classified counts as grade 3: none in clear.
    assert sample.count("■■■ grade 3") == SAMPLE_ROWS * 3
    html = page.content()
    assert not [v for v in CARBON if v in html]
