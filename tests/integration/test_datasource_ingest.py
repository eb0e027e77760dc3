"""Each source type ingests end to end after `kubectl apply`: the operator starts the collector
(device types), records ingest runs, Spark lands the rows in bronze, and the DataSource status
counts exactly what the equipment or system emitted. The bronze table itself is then read with
delta-rs (tests/delta_reader.py), a reader independent of the job, and must hold exactly the
emitted rows: one per (point, ts) of the simulator's ground truth, or the file's and database's
own rows."""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import hvac
import pytest
import urllib3
from minio import Minio

from nidc.api.data_source import DataSource
from nidc.kube import apply, delete
from nidc.local.ports import free_port
from nidc.simulators.cnc_opcua import SIGNALS, node_address
from nidc.simulators.ground_truth import read_truth
from nidc.simulators.mes_database import READER, MesDatabase
from nidc.simulators.mosquitto_broker import MosquittoBroker
from nidc.simulators.mqtt_gateway import DEVICES, METRICS, topic
from nidc.simulators.plc_modbus import LIVE
from operators.datasource.build import collector_name
from tests.cluster import condition
from tests.delta_reader import delta_rows
from tests.integration.collector_harness import start_process, stop_process, wait_until
from tests.operator_process import OperatorProcess

pytestmark = pytest.mark.integration

TENANT = "steel-plant"
API = "nidc.io/v1alpha1"


def source(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": API,
        "kind": "DataSource",
        "metadata": {"name": name, "namespace": TENANT},
        "spec": {
            "domain": "production-operation",
            "enterprisePrefix": "88.118.8",
            "targetTable": f"bronze.{name.replace('-', '_')}",
            **spec,
        },
    }


def status_of(api: Any, name: str) -> dict[str, Any]:
    from nidc.kube import get

    found = get(api, API, "DataSource", name, TENANT) or {}
    return dict(found.get("status") or {})


def wait_for_rows(api: Any, name: str, rows: int, timeout: float = 300) -> dict[str, Any]:
    """Wait until the source's status counts `rows` and says Ready; returns the status."""
    deadline = time.monotonic() + timeout
    status: dict[str, Any] = {}
    while time.monotonic() < deadline:
        status = status_of(api, name)
        ready = condition({"status": status}, "Ready").get("status") == "True"
        if status.get("rows") == rows and ready:
            return status
        time.sleep(2)
    raise AssertionError(f"{name}: wanted {rows} rows, status is {status}")


def truth_count(truth: Path) -> int:
    samples, done = read_truth(truth)
    assert done is not None, "the simulator has not finished"
    return len({(s["point"], s["ts"]) for s in samples})


def bronze_rows(
    platform_env: dict[str, Any], name: str, columns: list[str] | None = None
) -> list[dict[str, Any]]:
    """The source's bronze table (bronze.<name> in the tenant's bucket), read with delta-rs."""
    table = name.replace("-", "_")
    return delta_rows(platform_env, f"s3://tenant-{TENANT}/bronze/{table}", columns)


def assert_bronze_matches_truth(platform_env: dict[str, Any], name: str, truth: Path) -> None:
    """Bronze holds one row per (point, ts) the device emitted: as many keys, points and rows."""
    samples, _done = read_truth(truth)
    rows = bronze_rows(platform_env, name, ["point", "ts"])
    keys = [(r["point"], r["ts"]) for r in rows]
    assert len(keys) == len(set(keys)), "a (point, ts) key twice in bronze"
    assert len(keys) == len({(s["point"], s["ts"]) for s in samples})
    assert len({r["point"] for r in rows}) == len({s["point"] for s in samples})


@pytest.fixture
def tag() -> str:
    return uuid.uuid4().hex[:6]


@pytest.fixture
def admin_s3(platform_env: dict[str, Any]) -> Minio:
    s3 = platform_env["servers"]["minio"]
    return Minio(
        s3["url"].split("://", 1)[1],
        access_key=s3["access_key"],
        secret_key=Path(s3["secret_key_file"]).read_text().strip(),
        secure=True,
        http_client=urllib3.PoolManager(ca_certs=platform_env["ca_file"]),
    )


@pytest.fixture
def stoppers() -> Iterator[list[Callable[[], None]]]:
    """Simulators to stop when the test ends."""
    stop: list[Callable[[], None]] = []
    yield stop
    for each in stop:
        each()


@pytest.fixture
def cleanup(tenants: Any) -> Iterator[list[str]]:
    names: list[str] = []
    yield names
    for name in names:
        delete(tenants, API, "DataSource", name, TENANT)


def test_files_source(
    tenants: Any,
    operator: OperatorProcess,
    platform_env: dict[str, Any],
    admin_s3: Minio,
    tag: str,
    cleanup: list[str],
) -> None:
    body = "order_id,quantity\n" + "".join(f"{i},{i % 7}\n" for i in range(25))
    data = body.encode()
    admin_s3.put_object(
        f"tenant-{TENANT}", f"landing/erp/{tag}/orders.csv", io.BytesIO(data), len(data)
    )
    name = f"erp-orders-{tag}"
    cleanup.append(name)
    apply(
        tenants,
        source(
            name,
            {
                "type": "files",
                "endpoint": f"s3://tenant-{TENANT}",
                "continuous": True,
                "files": {"format": "csv", "prefix": f"erp/{tag}/"},
            },
        ),
    )
    status = wait_for_rows(tenants, name, 25)
    assert status["lastRun"]["phase"] == "Succeeded"
    assert status["tableVersion"] >= 0
    rows = bronze_rows(platform_env, name, ["order_id", "quantity"])
    landed = sorted((int(r["order_id"]), int(r["quantity"])) for r in rows)
    assert landed == [(i, i % 7) for i in range(25)]


def run_device(
    tmp_path: Path,
    simulator: list[str],
    name: str,
    spec: dict[str, Any],
    tenants: Any,
    cleanup: list[str],
    stoppers: list[Callable[[], None]],
    before_emitting: Callable[[], None] | None = None,
) -> Path:
    """Start the simulator, apply the source, wait for the simulator to finish; the truth."""
    truth = tmp_path / "truth.jsonl"
    args = [*simulator, "--count", "40", "--rate", "20", "--truth", str(truth)]
    cleanup.append(name)
    proc = None
    if before_emitting is None:
        proc = start_process(args, tmp_path / "sim.log")
    apply(tenants, source(name, {"continuous": True, **spec}))
    if before_emitting is not None:
        before_emitting()
        proc = start_process(args, tmp_path / "sim.log")
    assert proc is not None
    # The device stays up until the test ends: its last samples are read after it finished.
    stoppers.append(lambda: stop_process(proc))
    wait_until(lambda: read_truth(truth)[1] is not None, 120, "the simulator to finish")
    return truth


def test_opcua_source(
    tenants: Any,
    operator: OperatorProcess,
    platform_env: dict[str, Any],
    tmp_path: Path,
    tag: str,
    cleanup: list[str],
    stoppers: list[Callable[[], None]],
) -> None:
    port = free_port()
    names = {node: node.lower().replace("cnc01.", "").replace(".", "_") for node in SIGNALS}
    points = [
        {
            "name": point,
            "address": node_address(node),
            "identifier": f"88.118.8/CNC-01.{point}",
            "dataType": "bool" if "Alarm" in node else "double",
        }
        for node, point in names.items()
    ]
    truth = run_device(
        tmp_path,
        ["-m", "nidc.simulators.cnc_opcua", "--port", str(port)],
        f"cnc-{tag}",
        {
            "type": "opcua",
            "endpoint": f"opc.tcp://127.0.0.1:{port}/nidc/cnc",
            "points": points,
            # The simulator historizes every sample: history mode counts them exactly.
            "opcua": {"mode": "history"},
        },
        tenants,
        cleanup,
        stoppers,
    )
    status = wait_for_rows(tenants, f"cnc-{tag}", truth_count(truth))
    assert not status.get("quarantinedRows")
    assert status["checkpoint"]["batchSequence"] >= 1
    assert_bronze_matches_truth(platform_env, f"cnc-{tag}", truth)


def test_modbus_source(
    tenants: Any,
    operator: OperatorProcess,
    platform_env: dict[str, Any],
    tmp_path: Path,
    tag: str,
    cleanup: list[str],
    stoppers: list[Callable[[], None]],
) -> None:
    port = free_port()
    points = [
        {
            "name": point,
            "address": f"holding:{40001 + offset}",
            "identifier": f"88.118.8/PLC-01.{point}",
            "dataType": "bool" if point == "running" else "int",
        }
        for offset, (point, _series) in LIVE.items()
    ]
    truth = run_device(
        tmp_path,
        ["-m", "nidc.simulators.plc_modbus", "--port", str(port)],
        f"plc-{tag}",
        {
            "type": "modbus",
            "endpoint": f"tcp://127.0.0.1:{port}",
            "points": points,
            # The simulator keeps the sample ring of decision 0021: ring mode counts exactly.
            "modbus": {"mode": "ring"},
        },
        tenants,
        cleanup,
        stoppers,
    )
    wait_for_rows(tenants, f"plc-{tag}", truth_count(truth))
    assert_bronze_matches_truth(platform_env, f"plc-{tag}", truth)


def test_mqtt_source(
    tenants: Any,
    operator: OperatorProcess,
    platform: Any,
    platform_env: dict[str, Any],
    tmp_path: Path,
    tag: str,
    cleanup: list[str],
    stoppers: list[Callable[[], None]],
) -> None:
    broker = MosquittoBroker(tmp_path / "broker")
    broker.start()
    name = f"gateway-{tag}"
    points = [
        {"name": f"{d}_{m}", "address": topic(d, m), "identifier": f"88.118.8/{d}.{m}"}
        for d in DEVICES
        for m in METRICS
    ]

    def collector_subscribed() -> None:
        # The gateway publishes once the collector's persistent session exists.
        from nidc.kube import get

        body = get(tenants, API, "DataSource", name, TENANT)
        assert body is not None
        beat = (
            Path(platform.state.root)
            / "collectors"
            / collector_name(DataSource.from_body(body))
            / "heartbeat"
        )

        def connected() -> bool:
            try:
                return bool(json.loads(beat.read_text()).get("deviceConnected"))
            except (OSError, ValueError):
                return False

        wait_until(connected, 60, "the collector to connect to the broker")

    try:
        truth = run_device(
            tmp_path,
            ["-m", "nidc.simulators.mqtt_gateway", "--port", str(broker.port)],
            name,
            {"type": "mqtt", "endpoint": f"mqtt://127.0.0.1:{broker.port}", "points": points},
            tenants,
            cleanup,
            stoppers,
            before_emitting=collector_subscribed,
        )
        wait_for_rows(tenants, name, truth_count(truth))
        assert_bronze_matches_truth(platform_env, name, truth)
    finally:
        broker.stop()


def test_jdbc_source(
    tenants: Any,
    operator: OperatorProcess,
    platform_env: dict[str, Any],
    tag: str,
    cleanup: list[str],
) -> None:
    bao = platform_env["servers"]["openbao"]
    vault = hvac.Client(
        url=bao["url"],
        token=Path(bao["root_token_file"]).read_text().strip(),
        verify=platform_env["ca_file"],
    )
    with MesDatabase() as mes:
        vault.secrets.kv.v2.create_or_update_secret(
            path=f"tenants/{TENANT}/mes-{tag}",
            secret={"username": READER, "password": mes.reader_password},
        )
        mes.insert(60)
        name = f"mes-orders-{tag}"
        cleanup.append(name)
        apply(
            tenants,
            source(
                name,
                {
                    "type": "jdbc",
                    "endpoint": mes.jdbc_url,
                    "continuous": True,
                    "credentials": {"openBaoPath": f"secret/data/tenants/{TENANT}/mes-{tag}"},
                    "table": {"name": "mes.work_orders", "watermarkColumn": "updated_at"},
                },
            ),
        )
        status = wait_for_rows(tenants, name, mes.count("work_orders"))
        assert status["checkpoint"]["watermark"]
        ids = [r["order_id"] for r in bronze_rows(platform_env, name, ["order_id"])]
        assert len(ids) == len(set(ids)) == mes.count("work_orders")
