"""The asset catalog on the local platform (issue 15): the catalog server the platform runs
indexes real resources and Delta logs into its real PostgreSQL; its API answers over TLS to the
platform's client certificates and to service-account tokens (TokenReview).

Uses the session's shared tenant (steel-plant: a source, a product over it, its replica at the
national center) and adds to equipment-maker one source table with Chinese column names
(written with delta-rs) and a product over it with a quality rule (one Spark run by the
operator).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pyarrow as pa
import pytest
import requests

from nidc.catalog.queries import dump
from nidc.kube import apply, get, service_account_token
from tests.operator_process import OperatorProcess
from tests.shared_tenant import SharedTenant

# The first test may be the session's first to ask for the shared tenant (a Spark session, a
# product run and a copy job) before this file's own transform and quality runs.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(2400)]

API = "nidc.io/v1alpha1"
MAKER = "equipment-maker"
SUFFIX = uuid.uuid4().hex[:5]  # a platform reused from an earlier session cannot confuse it
SOURCE, PRODUCT = f"spindle-log-{SUFFIX}", f"spindle-speeds-{SUFFIX}"
BRONZE, GOLD = f"bronze.spindle_log_{SUFFIX}", f"gold.spindle_speeds_{SUFFIX}"
BRONZE_ID, GOLD_ID = f"{MAKER}/{BRONZE}", f"{MAKER}/{GOLD}"
OWNER = {"name": "Li Na", "email": "li.na@cnc.example.cn"}


class Catalog:
    """The platform's catalog API as one identity of the user kubeconfig, or a bearer token."""

    def __init__(self, env: dict[str, Any], identity: str | None, token: str | None = None):
        self.url = env["servers"]["catalog-api"]["url"]
        self.ca = env["ca_file"]
        pki = Path(env["state_dir"]) / "pki"
        self.cert = (
            (str(pki / f"client-{identity}.crt"), str(pki / f"client-{identity}.key"))
            if identity
            else None
        )
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(
            f"{self.url}/api/v1/{path}",
            params=params,
            cert=self.cert,
            verify=self.ca,
            headers=self.headers,
            timeout=30,
        )

    def asset(self, asset_id: str) -> requests.Response:
        return self.get(f"assets/{quote(asset_id, safe='/')}")

    def ids(self, path: str = "assets", **params: Any) -> set[str]:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        return {item["id"] for item in response.json()["items"]}


def write_chinese_table(env: dict[str, Any]) -> str:
    """A bronze table whose columns are named in Chinese, written with delta-rs as the native
    commit writes bronze."""
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
    table = pa.table(
        {
            "machine": [f"cnc-{n % 3}" for n in range(30)],
            "主轴转速": [1000.0 + n for n in range(30)],
            "进给速度": [float(n) for n in range(30)],
        }
    )
    path = f"s3://tenant-{MAKER}/bronze/spindle_log_{SUFFIX}"
    write_deltalake(path, table, storage_options=options)
    return path


@pytest.fixture(scope="module")
def spindle_speeds(
    platform_env: dict[str, Any], tenants: Any, operator: OperatorProcess
) -> dict[str, Any]:
    """equipment-maker's Chinese-named source table and a product over it, whose quality run
    has finished; yields the product as the API server has it."""
    write_chinese_table(platform_env)
    apply(
        tenants,
        {
            "apiVersion": API,
            "kind": "DataSource",
            "metadata": {"name": SOURCE, "namespace": MAKER},
            "spec": {
                "type": "files",
                "endpoint": f"s3://tenant-{MAKER}",
                "domain": "production-operation",
                "enterprisePrefix": "88.118.9",
                "schedule": "@hourly",
                "targetTable": BRONZE,
                "files": {"format": "parquet", "prefix": f"spindles-{SUFFIX}/"},
            },
        },
    )
    view = BRONZE.split(".")[1]
    apply(
        tenants,
        {
            "apiVersion": API,
            "kind": "DataProduct",
            "metadata": {"name": PRODUCT, "namespace": MAKER},
            "spec": {
                "inputs": [{"kind": "DataSource", "name": SOURCE}],
                "transform": {"sql": f"SELECT machine, `主轴转速` FROM {view}"},  # noqa: S608
                "qualityRules": [
                    {"name": "machine-present", "check": "notNull", "column": "machine"}
                ],
                "maxAttempts": 1,
                "owner": OWNER,
                "grade": 1,
                "targetTable": GOLD,
            },
        },
    )
    deadline = time.monotonic() + 900  # a transform and a quality run on two loaded cores
    while True:
        product = get(tenants, API, "DataProduct", PRODUCT, MAKER) or {}
        quality = (product.get("status") or {}).get("quality") or {}
        if quality.get("score") is not None:
            return product
        assert time.monotonic() < deadline, f"{PRODUCT} has no quality: {product.get('status')}"
        time.sleep(2)


def wait_for_asset(catalog: Catalog, asset_id: str, ready: Any, timeout: float = 90) -> Any:
    """The asset once `ready(asset)` holds (the index sweeps every few seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        response = catalog.asset(asset_id)
        if response.status_code == 200 and ready(response.json()):
            return response.json()
        assert time.monotonic() < deadline, f"{asset_id}: {response.status_code} {response.text}"
        time.sleep(1)


def test_tables_are_indexed_with_owner_grade_quality_upstream_and_downstream(
    platform_env: dict[str, Any], spindle_speeds: dict[str, Any], shared_tenant: SharedTenant
) -> None:
    admin = Catalog(platform_env, "platform-admin")
    score = spindle_speeds["status"]["quality"]["score"]
    gold = wait_for_asset(admin, GOLD_ID, lambda a: a["quality_score"] == score)
    assert (gold["owner_name"], gold["owner_email"]) == (OWNER["name"], OWNER["email"])
    assert gold["grade"] == spindle_speeds["status"]["grade"] == 1
    assert gold["kind"] == "product-table" and gold["tenant"] == MAKER
    assert gold["version"] == spindle_speeds["status"]["tableVersion"]
    assert [c["name"] for c in gold["columns"]] == ["machine", "主轴转速"]
    assert gold["rows"] == 30 and gold["size_bytes"] > 0 and gold["last_modified"]
    assert [u["id"] for u in gold["upstream"]] == [BRONZE_ID]

    bronze = wait_for_asset(admin, BRONZE_ID, lambda a: a["downstream"])
    # A DataSource names no owner: its tenant's accountable person is the owner.
    assert (bronze["owner_name"], bronze["domain"]) == ("Chen Jing", "production-operation")
    assert bronze["version"] is not None and bronze["rows"] == 30
    assert [c["name"] for c in bronze["columns"]] == ["machine", "主轴转速", "进给速度"]
    assert bronze["upstream"] == [
        {
            "id": f"source:{MAKER}/{SOURCE}",
            "source": {"type": "files", "endpoint": f"s3://tenant-{MAKER}"},
            "via": f"DataSource/{MAKER}/{SOURCE}",
        }
    ]
    assert [d["id"] for d in bronze["downstream"]] == [GOLD_ID]

    # The shared tenant: source -> product -> replica at the national center.
    ns, replication = shared_tenant.namespace, shared_tenant.replicated
    product = get(shared_tenant.api, API, "DataProduct", shared_tenant.product, ns) or {}
    silver = wait_for_asset(admin, f"{ns}/silver.shared_line_counts", lambda a: a["downstream"])
    assert silver["owner_name"] == "Wang Li" and silver["grade"] == product["status"]["grade"]
    assert [u["id"] for u in silver["upstream"]] == [f"{ns}/bronze.line_sensors"]
    replica_id = f"{ns}/replica.{shared_tenant.replication}"
    assert replica_id in [d["id"] for d in silver["downstream"]]
    replica = admin.asset(replica_id).json()
    assert replica["center"] == "national" and replica["kind"] == "replica"
    assert replica["location"] == replication["status"]["destinationPath"]
    assert replica["version"] == replication["status"]["replicatedVersion"]
    sensors = admin.asset(f"{ns}/bronze.line_sensors").json()
    assert f"{ns}/silver.shared_line_counts" in [d["id"] for d in sensors["downstream"]]


def test_search_finds_a_table_by_a_chinese_column_name(
    platform_env: dict[str, Any], spindle_speeds: dict[str, Any]
) -> None:
    analyst = Catalog(platform_env, f"{MAKER}-analyst")
    wait_for_asset(analyst, GOLD_ID, lambda a: True)
    # 主轴转速 is one column; jieba cuts 转速 out of it, and the whole word finds it too.
    assert {BRONZE_ID, GOLD_ID} <= analyst.ids("search", q="转速")
    assert {BRONZE_ID, GOLD_ID} <= analyst.ids("search", q="主轴转速")
    assert BRONZE_ID in analyst.ids("search", q="进给")
    assert GOLD_ID not in analyst.ids("search", q="进给")  # the product dropped that column
    assert BRONZE_ID not in analyst.ids("search", q="转速", owner="Li Na")

    # The CLI, as the same identity, through the same API.
    shown = subprocess.run(
        [
            sys.executable,
            "-m",
            "nidc.cli",
            "catalog",
            "search",
            "转速",
            "--as",
            f"{MAKER}-analyst",
            "--tenant",
            MAKER,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NIDC_STATE_DIR": platform_env["state_dir"]},
    )
    assert shown.returncode == 0, shown.stderr
    assert BRONZE_ID in shown.stdout and GOLD_ID in shown.stdout


def test_a_tenant_is_refused_another_tenants_unshared_asset(
    platform_env: dict[str, Any], spindle_speeds: dict[str, Any], tenants: Any
) -> None:
    admin = Catalog(platform_env, "platform-admin")
    wait_for_asset(admin, BRONZE_ID, lambda a: True)
    steel = Catalog(platform_env, "steel-plant-analyst")
    refused = steel.asset(BRONZE_ID)
    assert refused.status_code == 404, refused.text  # not yours is answered as absent
    assert not any(i.startswith(f"{MAKER}/") for i in steel.ids())
    assert not any(i.startswith(f"{MAKER}/") for i in steel.ids("search", q="转速"))
    assert Catalog(platform_env, f"{MAKER}-analyst").asset(BRONZE_ID).status_code == 200

    # No credentials at all: 401. A certificate of another CA never gets past TLS.
    assert Catalog(platform_env, None).asset(BRONZE_ID).status_code == 401

    # A service account of equipment-maker, by a bearer token the API server vouches for.
    token = service_account_token(tenants, MAKER, "default", 600)
    robot = Catalog(platform_env, None, token)
    assert robot.asset(BRONZE_ID).status_code == 200
    assert robot.asset("steel-plant/bronze.line_sensors").status_code == 404
    assert Catalog(platform_env, None, token[:-4] + "AAAA").asset(BRONZE_ID).status_code == 401


def test_rebuild_from_an_empty_database_gives_the_same_rows(
    platform_env: dict[str, Any], spindle_speeds: dict[str, Any]
) -> None:
    wait_for_asset(Catalog(platform_env, "platform-admin"), GOLD_ID, lambda a: a["quality_score"])
    db = platform_env["servers"]["catalog-postgres"]
    dsn = (
        f"host={db['host']} port={db['port']} dbname={db['database']} user={db['user']} "
        f"password={Path(db['password_file']).read_text().strip()}"
    )
    with psycopg.connect(dsn) as conn:
        before = dump(conn)
    rebuilt = subprocess.run(
        [sys.executable, "-m", "nidc.cli", "catalog", "rebuild"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NIDC_STATE_DIR": platform_env["state_dir"]},
    )
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert f"{len(before['assets'])} assets" in rebuilt.stdout
    with psycopg.connect(dsn) as conn:
        after = dump(conn)
        # The schema was dropped and made again: its sweep log starts from 1.
        first = conn.execute("SELECT min(id) FROM catalog.sweeps").fetchone()
    assert first is not None and first[0] == 1
    assert after == before
