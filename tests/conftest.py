"""Shared fixtures: one session-scoped local platform for every integration test."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nidc.local.platform import LocalPlatform
from tests.cluster import tenant_ready
from tests.file_durations import PLUGIN_NAME, Budgets, FileDurations, charge_shared
from tests.markers import deselect_opt_in, mark_by_folder
from tests.operator_process import OperatorProcess


def pytest_configure(config: pytest.Config) -> None:
    config.pluginmanager.register(FileDurations(Budgets.load()), PLUGIN_NAME)


# tryfirst: the markers must be on the items before `-m` deselects by them.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    mark_by_folder(items)
    deselect_opt_in(config, items)


@pytest.fixture(scope="session")
def platform(request: pytest.FixtureRequest) -> Iterator[LocalPlatform]:
    """The embedded platform, started once; reused (and left running) if it already ran.

    A platform this session started is stopped at the end unless NIDC_KEEP_PLATFORM=1.
    """
    local = LocalPlatform()
    already_running = local.state.endpoints_file.exists() and all(
        row.healthy for row in local.status()
    )
    local.up()
    yield local
    if not already_running and os.environ.get("NIDC_KEEP_PLATFORM") != "1":
        started = time.monotonic()
        local.down()
        charge_shared(request.config, "session fixture platform (down)", time.monotonic() - started)


@pytest.fixture(scope="session")
def platform_env(platform: LocalPlatform) -> dict[str, Any]:
    """endpoints.json plus client paths (`nidc local env --json`)."""
    return platform.env()


@pytest.fixture(scope="session")
def operator(platform: LocalPlatform) -> Iterator[OperatorProcess]:
    """`nidc operator run` on the session's platform, as a real process.

    After the session the log is scanned for tracebacks (a reconciler that crashed is a failure
    even when the tests around it passed).
    """
    log = platform.state.log("operator-tests")
    log.write_text("")
    process = OperatorProcess(platform.state.root, log)
    process.start()
    yield process
    process.stop()
    tracebacks = process.tracebacks()
    assert not tracebacks, f"operator log has {len(tracebacks)} tracebacks: see {log}"


TENANT_EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "demo-factory"


@pytest.fixture(scope="session")
def tenants(platform_env: dict[str, Any], operator: OperatorProcess) -> Iterator[Any]:
    """The demo factory's two tenants, Ready; yields a platform-admin API client."""
    import yaml

    from nidc.kube import api_client, apply

    with api_client(Path(platform_env["kubeconfig"]), context="platform-admin") as api:
        for doc in yaml.safe_load_all((TENANT_EXAMPLES / "00-tenants.yaml").read_text()):
            apply(api, doc)
        deadline = time.monotonic() + 90
        while not all(tenant_ready(api, t) for t in ("steel-plant", "equipment-maker")):
            assert time.monotonic() < deadline, f"tenants not Ready; see {operator}"
            time.sleep(1)
        yield api


@pytest.fixture(scope="session")
def tenant_spark(
    platform: LocalPlatform, platform_env: dict[str, Any], tenants: Any
) -> Iterator[Any]:
    """A Spark session with steel-plant's own S3 credentials, as one of its jobs has."""
    import hvac

    from nidc.local.pki import TRUSTSTORE_PASSWORD
    from spark_jobs.session import ObjectStore, build_spark_conf, create_session

    bao = platform_env["servers"]["openbao"]
    vault = hvac.Client(
        url=bao["url"],
        token=Path(bao["root_token_file"]).read_text().strip(),
        verify=platform_env["ca_file"],
    )
    creds = vault.secrets.kv.v2.read_secret_version(
        path="tenants/steel-plant/s3", raise_on_deleted_version=True
    )["data"]["data"]
    mp = pytest.MonkeyPatch()
    mp.setenv("AWS_ACCESS_KEY_ID", creds["accessKey"])
    mp.setenv("AWS_SECRET_ACCESS_KEY", creds["secretKey"])
    store = ObjectStore(
        platform_env["servers"]["minio"]["url"],
        truststore=platform.ca.java_truststore(),
        truststore_password=TRUSTSTORE_PASSWORD,
    )
    session = create_session(
        build_spark_conf(store, [Path(j) for j in platform_env["spark_jars"]], "nidc-tests")
    )
    yield session
    session.stop()
    mp.undo()


@pytest.fixture(scope="session")
def line_sensors(tenants: Any, tenant_spark: Any) -> str:
    """A bronze table (steel-plant's bronze.line_sensors) and the DataSource naming it.

    Written directly with Spark, as ingestion would have; the products read it.
    """
    import datetime as dt

    from nidc.kube import apply

    start = dt.datetime(2026, 11, 25, 8, 0)
    rows = [
        (f"line{n}", start + dt.timedelta(minutes=m), float(m)) for n in range(2) for m in range(90)
    ]
    path = "s3a://tenant-steel-plant/bronze/line_sensors"
    tenant_spark.createDataFrame(rows, "line string, ts timestamp, value double").write.format(
        "delta"
    ).mode("overwrite").save(path)
    apply(
        tenants,
        {
            "apiVersion": "nidc.io/v1alpha1",
            "kind": "DataSource",
            "metadata": {"name": "line-sensors", "namespace": "steel-plant"},
            "spec": {
                "type": "files",
                "endpoint": "s3://tenant-steel-plant",
                "domain": "production-operation",
                "enterprisePrefix": "88.118.8",
                "schedule": "@hourly",
                "targetTable": "bronze.line_sensors",
                "files": {"format": "parquet", "prefix": "lines/"},
            },
        },
    )
    return path
