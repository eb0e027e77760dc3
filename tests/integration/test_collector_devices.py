"""The collector against real equipment simulators, a real mosquitto and the platform's S3.

For each device type: the rows landed (after dedup by point and timestamp) equal the simulator's
ground truth exactly, value for value; `kill -9` of the collector mid-stream loses nothing and
leaves gapless manifests and readable Parquet; a device disconnect loses nothing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import urllib3
from minio import Minio

from nidc.collector.config import LandingTarget
from nidc.local.ports import free_port
from nidc.simulators.cnc_opcua import SIGNALS, node_address
from nidc.simulators.mosquitto_broker import MosquittoBroker
from nidc.simulators.mqtt_gateway import DEVICES, METRICS, topic
from nidc.simulators.plc_modbus import LIVE
from tests.integration.collector_harness import (
    CollectorRun,
    datasource,
    landed_keys,
    start_process,
    stop_process,
    truth_done,
    truth_keys,
    wait_until,
)

pytestmark = pytest.mark.integration
BUCKET = "tenant-collector-it"


@pytest.fixture(scope="module")
def s3(platform_env: dict[str, Any]) -> tuple[Minio, LandingTarget, dict[str, str]]:
    server = platform_env["servers"]["minio"]
    secret = Path(server["secret_key_file"]).read_text().strip()
    client = Minio(
        server["url"].removeprefix("https://"),
        access_key=server["access_key"],
        secret_key=secret,
        secure=True,
        http_client=urllib3.PoolManager(
            cert_reqs="CERT_REQUIRED", ca_certs=platform_env["ca_file"]
        ),
    )
    if not client.bucket_exists(BUCKET):
        client.make_bucket(BUCKET)
    target = LandingTarget(endpoint=server["url"], bucket=BUCKET, ca_file=platform_env["ca_file"])
    creds = {"AWS_ACCESS_KEY_ID": server["access_key"], "AWS_SECRET_ACCESS_KEY": secret}
    return client, target, creds


@dataclass
class Device:
    """A running simulator and the DataSource that maps its points."""

    body: dict[str, Any]
    truth: Path
    point_of: dict[str, str]  # simulator's point -> landed point name
    broker: MosquittoBroker | None = None


def cnc_device(port: int) -> tuple[dict[str, Any], dict[str, str]]:
    names = {
        "CNC01.Spindle.Speed": "spindle_speed",
        "CNC01.Spindle.Temperature": "spindle_temperature",
        "CNC01.Feed.Rate": "feed_rate",
        "CNC01.Alarm.Active": "alarm_active",
    }
    assert set(names) == set(SIGNALS)
    points = [
        {"name": n, "address": node_address(node), "identifier": f"88.118.8/CNC-01.{n}"}
        for node, n in names.items()
    ]
    body = datasource("opcua", f"opc.tcp://127.0.0.1:{port}/nidc/cnc", points)
    # The simulator historizes every sample: history mode must land each one exactly.
    body["spec"]["opcua"] = {"mode": "history"}
    return body, names


def plc_device(port: int) -> tuple[dict[str, Any], dict[str, str]]:
    points = [
        {
            "name": name,
            "address": f"holding:{40001 + offset}",
            "identifier": f"88.118.8/PLC-01.{name}",
            "dataType": "bool" if name == "running" else "int",
        }
        for offset, (name, _series) in LIVE.items()
    ]
    body = datasource("modbus", f"tcp://127.0.0.1:{port}", points)
    # The simulator keeps the sample ring (decision 0021): ring mode must land each sample.
    body["spec"]["modbus"] = {"mode": "ring"}
    return body, {n: n for n, _ in LIVE.values()}


def gateway_device(port: int) -> tuple[dict[str, Any], dict[str, str]]:
    # cnc02's topics are left unmapped: they land under the topic itself, identifier null.
    mapped = {topic(d, m): f"{d}_{m}" for d in DEVICES for m in METRICS if d != "cnc02"}
    points = [
        {"name": n, "address": t, "identifier": f"88.118.8/{n.replace('_', '.')}"}
        for t, n in mapped.items()
    ]
    # One wildcard subscription brings the unmapped device's topics in.
    points.append(
        {"name": "line1_other", "address": "plant/line1/cnc02/#", "identifier": "88.118.8/L1"}
    )
    every = {topic(d, m) for d in DEVICES for m in METRICS}
    return datasource("mqtt", f"mqtt://127.0.0.1:{port}", points), {
        t: mapped.get(t, t) for t in every
    }


@pytest.fixture
def device(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Device]:
    kind, extra = request.param
    port = free_port()
    truth = tmp_path / "truth.jsonl"
    args = ["--rate", str(extra.get("rate", 20)), "--count", str(extra["count"])]
    args += ["--truth", str(truth), *extra.get("args", [])]
    broker = None
    if kind == "opcua":
        body, names = cnc_device(port)
        proc = start_process(
            ["-m", "nidc.simulators.cnc_opcua", "--port", str(port), *args], tmp_path / "sim.log"
        )
    elif kind == "modbus":
        body, names = plc_device(port)
        proc = start_process(
            ["-m", "nidc.simulators.plc_modbus", "--port", str(port), *args], tmp_path / "sim.log"
        )
    else:
        broker = MosquittoBroker(tmp_path / "broker")
        broker.start()
        body, names = gateway_device(broker.port)
        proc = None
    yield_device = Device(body, truth, names, broker)
    if kind == "mqtt":
        assert broker is not None
        # The collector's persistent session must exist before the gateway publishes: start
        # the gateway from the test once the collector subscribed (see start_gateway).
        yield_device.body["x-gateway-args"] = ["--port", str(broker.port), *args]
    try:
        yield yield_device
    finally:
        if proc is not None:
            stop_process(proc)
        gateway = yield_device.body.get("x-gateway-proc")
        if gateway is not None:
            stop_process(gateway)
        if broker is not None:
            broker.stop()


def start_gateway(device: Device, workdir: Path, run: CollectorRun) -> None:
    if "x-gateway-args" not in device.body:
        return
    # The first connection creates the persistent session and its subscriptions.
    wait_until(lambda: heartbeat(run).get("deviceConnected") is True, 30, "collector connected")
    time.sleep(0.5)
    device.body["x-gateway-proc"] = start_process(
        ["-m", "nidc.simulators.mqtt_gateway", *device.body["x-gateway-args"]],
        workdir / "gateway.log",
    )


def heartbeat(run: CollectorRun) -> dict[str, Any]:
    import json

    path = run.workdir / "heartbeat.json"
    try:
        return dict(json.loads(path.read_text()))
    except (OSError, ValueError):
        return {}


def make_run(device: Device, s3: Any, tmp_path: Path) -> CollectorRun:
    client, target, creds = s3
    body = {k: v for k, v in device.body.items() if not k.startswith("x-")}
    return CollectorRun(body, target, client, creds, tmp_path)


def assert_matches_truth(run: CollectorRun, device: Device, timeout: float = 90) -> int:
    """Wait until every emitted key landed; then landed == truth exactly. Returns the count."""
    wait_until(lambda: truth_done(device.truth), timeout, "the simulator to finish")
    want = truth_keys(device.truth, lambda p: device.point_of[p])

    def complete() -> bool:
        return set(want) <= set(landed_keys(run.landed_rows()))

    wait_until(complete, timeout, "every emitted sample to land")
    # Nothing still buffered: the collector has written every batch it started.
    wait_until(
        lambda: heartbeat(run).get("nextSequence") == max(run.manifests(), default=0) + 1,
        30,
        "the collector to flush",
    )
    got = landed_keys(run.landed_rows())
    assert set(got) == set(want), sorted(set(got) ^ set(want))[:5]
    mismatched = [k for k in want if got[k] != want[k]]
    assert not mismatched, [(k, got[k], want[k]) for k in mismatched[:5]]
    return len(want)


DEVICES_BASIC = [
    pytest.param(("opcua", {"count": 150}), id="opcua"),
    pytest.param(("modbus", {"count": 200}), id="modbus"),
    pytest.param(("mqtt", {"count": 60}), id="mqtt"),
]


@pytest.mark.parametrize("device", DEVICES_BASIC, indirect=True)
def test_landed_rows_equal_ground_truth(device: Device, s3: Any, tmp_path: Path) -> None:
    run = make_run(device, s3, tmp_path)
    run.start()
    try:
        start_gateway(device, tmp_path, run)
        count = assert_matches_truth(run, device)
        assert count > 0
        manifests = run.manifests()
        assert all(m["schemaVersion"] == 1 for m in manifests.values())
        rows = run.landed_rows()
        # Identifiers travel with mapped points; unmapped MQTT topics have none.
        for row in rows:
            assert (row["identifier"] is None) == row["point"].startswith("plant/"), row
        # The heartbeat says where the collector is.
        assert heartbeat(run)["nextSequence"] == max(manifests) + 1
    finally:
        run.stop()


def kill_loop(run: CollectorRun, device: Device, kills: int, tmp_path: Path) -> int:
    """Kill the collector `kills` times while batches are written; returns how many kills
    landed mid-stream: the device was still emitting when the collector died, and batches
    kept landing after its restart (the stream was cut and resumed, not killed when idle)."""
    run.start()
    start_gateway(device, tmp_path, run)
    kills_while_emitting: list[int] = []  # the last batch sequence before each such kill
    for _ in range(kills):
        # Kill while batches are being written: after at least one more manifest. On a loaded
        # machine the device may finish first; a kill then still must lose nothing.
        before = len(run.manifests())

        def new_batch_or_done(count: int = before) -> bool:
            return len(run.manifests()) > count or truth_done(device.truth)

        wait_until(new_batch_or_done, 60, "a new batch")
        time.sleep(0.15)  # not synchronisation: puts the kill inside the next batch's reads
        emitting = not truth_done(device.truth)
        run.kill9()
        if emitting:
            kills_while_emitting.append(max(run.manifests(), default=0))
        run.start()
    assert_matches_truth(run, device, timeout=180)
    landed = max(run.manifests(), default=0)
    return sum(1 for last in kills_while_emitting if landed > last)


CRASH_DEVICES = [
    pytest.param(("opcua", {"count": 600}), id="opcua"),
    pytest.param(("modbus", {"count": 600}), id="modbus"),
    pytest.param(("mqtt", {"count": 300, "rate": 10}), id="mqtt"),
]


@pytest.mark.parametrize("device", CRASH_DEVICES, indirect=True)
def test_kill9_collector_loses_nothing(device: Device, s3: Any, tmp_path: Path) -> None:
    run = make_run(device, s3, tmp_path)
    try:
        mid_stream = kill_loop(run, device, 5, tmp_path)
        assert mid_stream >= 1, "no kill landed while the device was still emitting"
    finally:
        run.stop()


# The full 20 kills per device run under `soak`, outside CI; CI runs the 5-kill loop above.
SOAK_CRASH = [
    pytest.param(("opcua", {"count": 900}), id="opcua"),
    pytest.param(("modbus", {"count": 900}), id="modbus"),
    pytest.param(("mqtt", {"count": 360}), id="mqtt"),
]


@pytest.mark.soak
@pytest.mark.parametrize("device", SOAK_CRASH, indirect=True)
def test_kill9_collector_20_times_loses_nothing(device: Device, s3: Any, tmp_path: Path) -> None:
    run = make_run(device, s3, tmp_path)
    try:
        mid_stream = kill_loop(run, device, 20, tmp_path)
        assert mid_stream >= 1, "no kill landed while the device was still emitting"
    finally:
        run.stop()


DISCONNECTS = [
    pytest.param(("opcua", {"count": 200, "args": ["--disconnect-at", "60:3"]}), id="opcua"),
    pytest.param(("modbus", {"count": 200, "args": ["--disconnect-at", "60:3"]}), id="modbus"),
    pytest.param(("mqtt", {"count": 100}), id="mqtt"),
]


@pytest.mark.parametrize("device", DISCONNECTS, indirect=True)
def test_device_disconnect_loses_nothing(device: Device, s3: Any, tmp_path: Path) -> None:
    run = make_run(device, s3, tmp_path)
    run.start()
    try:
        start_gateway(device, tmp_path, run)
        if device.broker is not None:
            wait_until(lambda: len(run.manifests()) >= 2, 30, "two batches")
            device.broker.restart(down_for=3)
        else:
            wait_until(lambda: heartbeat(run).get("deviceConnected") is False, 30, "the outage")
        assert_matches_truth(run, device)
        assert "reconnecting" in run.log.read_text()
    finally:
        run.stop()
