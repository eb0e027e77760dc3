"""Shared fixtures: one session-scoped local platform for every integration test."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nidc.local.platform import LocalPlatform
from tests.cluster import condition, tenant_ready
from tests.file_durations import PLUGIN_NAME, Budgets, FileDurations, charge_shared
from tests.markers import deselect_opt_in, mark_by_folder
from tests.operator_process import OperatorProcess
from tests.peer_center import PeerObjectStore, publish_peer
from tests.shared_tenant import SharedTenant


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
def second_platform_dir(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Path]:
    """The state folder of a second platform, one per session, for the tests that must break
    and restart a platform or whose stacks `destroy` what the session's platform serves (the
    nidc.io CRDs, the demo tenants): test_platform_lifecycle.py and test_stacks.py share it.
    Whoever needs it running brings it `up` (idempotent). At the session's end `nidc local down`
    must stop all of it: no process and no port of it left."""
    import subprocess
    import sys

    from nidc.local import process
    from nidc.local.state import port_is_open

    state_dir = tmp_path_factory.mktemp("second-platform") / "platform"
    yield state_dir
    if not state_dir.exists():
        return
    started = time.monotonic()
    down = subprocess.run(
        [sys.executable, "-m", "nidc.cli", "local", "down"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NIDC_STATE_DIR": str(state_dir)},
    )
    charge_shared(request.config, "second platform (down)", time.monotonic() - started)
    assert down.returncode == 0, down.stderr[-3000:]
    assert process.processes_mentioning(str(state_dir)) == []
    ports = LocalPlatform(state_dir).state.read_endpoints().get("ports", {})
    assert [name for name, port in ports.items() if port_is_open(port)] == []


@pytest.fixture(scope="session")
def platform_env(platform: LocalPlatform) -> dict[str, Any]:
    """endpoints.json plus client paths (`nidc local env --json`)."""
    return platform.env()


@pytest.fixture(scope="session")
def operator(platform: LocalPlatform) -> Iterator[OperatorProcess]:
    """`nidc operator run` on the session's platform, as a real process.

    Each test that uses it fails when the operator logged a traceback while it ran
    (`operator_log_is_clean`); the session's end checks only what came after the last test.
    """
    log = platform.state.log("operator-tests")
    log.write_text("")
    process = OperatorProcess(platform.state.root, log)
    process.start()
    yield process
    process.stop()
    tracebacks = process.tracebacks(since=OPERATOR_LOG_SCANNED.get("upto", 0))
    assert not tracebacks, (
        f"operator log has {len(tracebacks)} tracebacks after the last test: {log}"
    )


# How far the per-test scans have read the operator's log.
OPERATOR_LOG_SCANNED: dict[str, int] = {}


@pytest.fixture(autouse=True)
def operator_log_is_clean(request: pytest.FixtureRequest) -> Iterator[None]:
    """A traceback the operator logs during a test fails that test (a reconciler that crashed
    is a failure even when the test's own checks passed)."""
    if "operator" not in request.fixturenames:
        yield
        return
    operator: OperatorProcess = request.getfixturevalue("operator")
    # From where the last check stopped: the operator runs between tests too (and during tests
    # that do not ask for it), and what it logged then is checked here rather than never.
    since = operator.log_size()
    checked = OPERATOR_LOG_SCANNED.get("upto", since)
    yield
    OPERATOR_LOG_SCANNED["upto"] = operator.log_size()
    before = operator.tracebacks(since=checked, until=since)
    during = operator.tracebacks(since=since)
    assert not (before or during), (
        f"the operator logged {len(during)} traceback(s) during this test and {len(before)} "
        f"since the last check before it ({operator.log}); the first:\n{(before or during)[0]}"
    )


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


@pytest.fixture(scope="session")
def national(
    platform: LocalPlatform, platform_env: dict[str, Any], tenants: Any
) -> Iterator[PeerObjectStore]:
    """The national center's object store (a second real MinIO), its login in OpenBao and the
    peer list published, as a platform engineer does on a cluster (tests/peer_center.py)."""
    folder = platform.state.root / "peer-national"
    shutil.rmtree(folder, ignore_errors=True)  # a fresh center each session
    with PeerObjectStore(platform.state.root, folder, platform_env["ca_file"]) as store:
        publish_peer(store, "national", platform_env, tenants)
        yield store


@pytest.fixture(scope="session")
def shared_tenant(
    tenants: Any, operator: OperatorProcess, line_sensors: str, national: PeerObjectStore
) -> SharedTenant:
    """One tenant with a source, a product (one Spark run) and a replica at the national center,
    made once per session: a capability that needs them reuses these instead of its own JVMs.
    Tests may read them; they must not change or delete them."""
    from nidc.kube import apply, get

    namespace, product, replication = "steel-plant", "shared-line-counts", "shared-to-national"
    apply(
        tenants,
        {
            "apiVersion": "nidc.io/v1alpha1",
            "kind": "DataProduct",
            "metadata": {"name": product, "namespace": namespace},
            "spec": {
                "inputs": [{"kind": "DataSource", "name": "line-sensors"}],
                "transform": {
                    "sql": "SELECT line, count(*) AS samples FROM line_sensors GROUP BY line"
                },
                "owner": {"name": "Wang Li", "email": "wang.li@steel.example.cn"},
                "grade": 1,
                "targetTable": "silver.shared_line_counts",
            },
        },
    )
    apply(
        tenants,
        {
            "apiVersion": "nidc.io/v1alpha1",
            "kind": "DataReplication",
            "metadata": {"name": replication, "namespace": namespace},
            "spec": {"table": {"kind": "DataProduct", "name": product}, "destination": "national"},
        },
    )
    deadline = time.monotonic() + 900  # a Spark run and a copy job on two loaded cores
    while True:
        found = get(tenants, "nidc.io/v1alpha1", "DataReplication", replication, namespace)
        if found and condition(found, "Ready").get("status") == "True":
            break
        status = found and found.get("status")
        assert time.monotonic() < deadline, f"{replication} never Ready: {status}; {operator}"
        time.sleep(2)
    return SharedTenant(
        tenants, namespace, "line-sensors", line_sensors, product, replication, found
    )


NATIONAL_BASELINE = (
    Path(__file__).resolve().parents[1] / "policies/classification/national-baseline.yaml"
)


@pytest.fixture
def national_baseline(tenants: Any) -> Iterator[dict[str, Any]]:
    """The national baseline ClusterClassificationPolicy applied for one test, and removed
    again when the test put it there: while it applies, every table's owner gets classify runs."""
    import yaml

    from nidc.kube import apply, delete, get

    document: dict[str, Any] = yaml.safe_load(NATIONAL_BASELINE.read_text())
    name = document["metadata"]["name"]
    api = "nidc.io/v1alpha1"
    existed = get(tenants, api, "ClusterClassificationPolicy", name) is not None
    apply(tenants, document)
    yield document
    if not existed:
        delete(tenants, api, "ClusterClassificationPolicy", name)
