"""The collector against equipment that is NOT our simulators (tests/integration/plain_devices.py):
asyncua's stock server, which keeps no history, and pymodbus's stock datastore, which keeps no
sample ring. Values change on a fixed period; the server is stopped once for 3 s while they keep
changing. What lands must match what they served: at least 99% of the changes outside the
marked gaps, at the configured sampling rate, every landed value one the device served, and the
outage marked as a gap record (decision 0180). A device that refuses a read says so in the
collector's report; through the operator, a DataSource whose device refuses reads turns Degraded
(DeviceRefusesReads, the device's reason) within a minute.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nidc.collector.report import parse_gap, report_key
from nidc.kube import apply, delete, get
from nidc.local.ports import free_port
from nidc.simulators.ground_truth import read_truth
from tests.cluster import condition
from tests.integration.collector_harness import (
    CollectorRun,
    datasource,
    landing_s3,
    start_process,
    stop_process,
    truth_done,
    ts_text,
    wait_until,
)
from tests.operator_process import OperatorProcess

pytestmark = pytest.mark.integration
BUCKET = "tenant-collector-it"
SECONDS, PAUSE_AT, PAUSE_FOR = 20.0, 8.0, 3.0


@pytest.fixture(scope="module")
def s3(platform_env: dict[str, Any]) -> Any:
    return landing_s3(platform_env, BUCKET)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Start a plain device (kind and period from the test's parameters); stop it after."""
    held: dict[str, Any] = {"tmp": tmp_path}
    yield held
    if "proc" in held:
        stop_process(held["proc"])


def start_plain(held: dict[str, Any], kind: str, period: float) -> tuple[int, Path]:
    port, truth = free_port(), held["tmp"] / "truth.jsonl"
    held["proc"] = start_process(
        [
            "-m", "tests.integration.plain_devices", kind, "--port", str(port),
            "--truth", str(truth), "--seconds", str(SECONDS), "--period", str(period),
            "--pause-at", f"{PAUSE_AT}:{PAUSE_FOR}",
        ],
        held["tmp"] / "device.log",
    )  # fmt: skip
    return port, truth


def heartbeat(run: CollectorRun) -> dict[str, Any]:
    try:
        return dict(json.loads((run.workdir / "heartbeat.json").read_text()))
    except (OSError, ValueError):
        return {}


def report(run: CollectorRun) -> dict[str, Any]:
    try:
        return dict(json.loads(run.read(report_key(run.config.prefix))))
    except Exception:  # not written yet
        return {}


def finish(run: CollectorRun, truth: Path) -> list[dict[str, Any]]:
    """Wait for the device to finish and the collector to land everything; the landed rows."""
    wait_until(lambda: truth_done(truth), 120, "the device to finish")
    time.sleep(2)  # the last publish / poll after the last change
    wait_until(
        lambda: (
            heartbeat(run).get("buffered") == 0
            and heartbeat(run).get("nextSequence") == max(run.manifests(), default=0) + 1
        ),
        60,
        "the collector to land its buffer",
    )
    return run.landed_rows()


def split_gaps(
    rows: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, list[tuple[dt.datetime, dt.datetime]]]]:
    """(sample rows, gap windows per point) of the landed rows."""
    samples: list[dict[str, Any]] = []
    gaps: dict[str, list[tuple[dt.datetime, dt.datetime]]] = {}
    for row in rows:
        gap = parse_gap(row["quality"])
        if gap is None:
            samples.append(row)
        else:
            assert row["raw"] is None, row
            gaps.setdefault(row["point"], []).append((gap[0], gap[1]))
    return samples, gaps


def in_gap(ts: dt.datetime, windows: list[tuple[dt.datetime, dt.datetime]]) -> bool:
    return any(since < ts < until for since, until in windows)


def truth_rows(truth: Path, point_of: dict[str, str]) -> list[tuple[str, dt.datetime, str]]:
    samples, _done = read_truth(truth)
    return [
        (point_of[s["point"]], dt.datetime.fromisoformat(s["ts"].replace("Z", "+00:00")), s["raw"])
        for s in samples
    ]


OPCUA_POINTS = {"Line.Speed": "line_speed", "Line.Count": "line_count", "Line.Running": "running"}


def test_opcua_subscription_to_a_server_without_history(
    s3: Any, server: dict[str, Any], tmp_path: Path
) -> None:
    port, truth = start_plain(server, "opcua", 0.1)
    points = [
        {"name": name, "address": f"ns=2;s={node}", "identifier": f"88.118.8/LINE.{name}"}
        for node, name in OPCUA_POINTS.items()
    ]
    body = datasource("opcua", f"opc.tcp://127.0.0.1:{port}/plain", points)
    body["spec"]["opcua"] = {
        "samplingIntervalMs": 100,
        "queueSize": 100,
        "publishingIntervalMs": 200,
    }
    client, target, creds = s3
    run = CollectorRun(body, target, client, creds, tmp_path, poll_seconds=None)
    run.start()
    try:
        rows = finish(run, truth)
    finally:
        run.stop()
    samples, gaps = split_gaps(rows)
    served = truth_rows(truth, OPCUA_POINTS)
    served_at = {(p, ts_text(ts)): raw for p, ts, raw in served}
    # Every landed value is one the server served, at its source timestamp.
    landed = {(r["point"], ts_text(r["ts"])): r["raw"] for r in samples}
    assert all(served_at.get(key) == raw for key, raw in landed.items()), "invented values"
    # The outage is marked per point (the server keeps no history to backfill it from).
    for name in OPCUA_POINTS.values():
        longest = max(((u - s).total_seconds() for s, u in gaps.get(name, [])), default=0)
        assert longest >= PAUSE_FOR - 1, (name, gaps.get(name))
    # At least 99% of the changes the server made outside the marked gaps landed, from the
    # first one the subscription could see (a change before the collector connected is not a
    # change it can report).
    first = {p: min(r["ts"] for r in samples if r["point"] == p) for p in OPCUA_POINTS.values()}
    expected = [
        (p, ts) for p, ts, _raw in served if ts >= first[p] and not in_gap(ts, gaps.get(p, []))
    ]
    got = sum(1 for p, ts in expected if (p, ts_text(ts)) in landed)
    assert len(expected) > 100, len(expected)
    assert got >= 0.99 * len(expected), (got, len(expected))
    said = report(run)
    assert "subscription" in said["reading"] and said["gapsMarked"] >= 3
    assert any("no history" in limit for limit in said["limits"]), said["limits"]


MODBUS_POINTS = {
    "speed": ("holding:3", "int"),
    "count": ("input:4", "int"),
    "running": ("coil:0", "bool"),
    # An address the device does not have: it answers with a Modbus exception.
    "missing": ("holding:500", "int"),
}


def test_modbus_polling_of_a_plain_device(s3: Any, server: dict[str, Any], tmp_path: Path) -> None:
    period = 0.5  # the device's values change twice a second; the collector polls at 10 Hz
    port, truth = start_plain(server, "modbus", period)
    points = [
        {"name": n, "address": a, "identifier": f"88.118.8/PLC.{n}", "dataType": t}
        for n, (a, t) in MODBUS_POINTS.items()
    ]
    body = datasource("modbus", f"tcp://127.0.0.1:{port}", points)
    body["spec"]["modbus"] = {"mode": "poll", "pollIntervalMs": 100}
    client, target, creds = s3
    run = CollectorRun(body, target, client, creds, tmp_path, poll_seconds=None)
    run.start()
    try:
        wait_until(lambda: bool(report(run).get("refusal")), 60, "the refusal to be reported")
        refusal = report(run)["refusal"]
        assert "ILLEGAL DATA ADDRESS" in refusal and "at 500" in refusal, refusal
        rows = finish(run, truth)
    finally:
        run.stop()
    samples, gaps = split_gaps(rows)
    served = truth_rows(truth, {n: n for n in MODBUS_POINTS})
    assert not [r for r in samples if r["point"] == "missing"]
    for name in ("speed", "count", "running"):
        mine = sorted((r["ts"], r["raw"]) for r in samples if r["point"] == name)
        assert mine, name
        changes = [(ts, raw) for p, ts, raw in served if p == name]
        longest = max(((u - s).total_seconds() for s, u in gaps.get(name, [])), default=0)
        assert longest >= PAUSE_FOR - 1, (name, gaps.get(name))
        # A change is seen when a poll between it and the next change read its value.
        slack = dt.timedelta(seconds=0.2)
        expected = seen = 0
        missed: list[Any] = []
        for k, (ts, raw) in enumerate(changes):
            until = changes[k + 1][0] if k + 1 < len(changes) else ts + dt.timedelta(seconds=1)
            if (
                ts < mine[0][0]
                or in_gap(ts, gaps.get(name, []))
                or in_gap(until, gaps.get(name, []))
            ):
                continue
            expected += 1
            if any(ts <= at <= until + slack and got == raw for at, got in mine):
                seen += 1
            else:
                missed.append((name, ts, raw, [m for m in mine if ts - slack <= m[0] <= until]))
        assert expected >= 25, (name, expected)
        assert seen >= 0.99 * expected, (name, seen, expected, missed, gaps.get(name))
        # Every landed value is one the device served.
        assert {raw for _ts, raw in mine} <= {raw for _ts, raw in changes} | {"0"}, name
    assert any("no history" in limit for limit in report(run)["limits"])


TENANT = "steel-plant"
API = "nidc.io/v1alpha1"


def test_a_device_that_refuses_reads_turns_the_source_degraded(
    tenants: Any, operator: OperatorProcess, server: dict[str, Any]
) -> None:
    """The issue's case: HistoryRead against a server that keeps no history. The source must
    say so (Degraded, DeviceRefusesReads, naming the node) within a minute, not Ready."""
    port, _truth = start_plain(server, "opcua", 0.1)
    name = f"plain-{free_port()}"
    body = {
        "apiVersion": API,
        "kind": "DataSource",
        "metadata": {"name": name, "namespace": TENANT},
        "spec": {
            "type": "opcua",
            "endpoint": f"opc.tcp://127.0.0.1:{port}/plain",
            "domain": "production-operation",
            "enterprisePrefix": "88.118.8",
            "continuous": True,
            "targetTable": f"bronze.{name.replace('-', '_')}",
            "opcua": {"mode": "history"},
            "points": [
                {"name": "line_count", "address": "ns=2;s=Line.Count", "identifier": "88.1.1/L.c"}
            ],
        },
    }
    applied = time.monotonic()
    apply(tenants, body)
    try:
        status: dict[str, Any] = {}
        while time.monotonic() - applied < 60:
            status = dict((get(tenants, API, "DataSource", name, TENANT) or {}).get("status") or {})
            if condition({"status": status}, "Degraded").get("reason") == "DeviceRefusesReads":
                break
            time.sleep(1)
        degraded = condition({"status": status}, "Degraded")
        assert degraded.get("reason") == "DeviceRefusesReads", status
        assert "line_count" in degraded["message"] and "HistoryRead" in degraded["message"]
        assert condition({"status": status}, "Ready").get("status") == "False"
        assert "HistoryRead" in status["device"]["error"]
    finally:
        delete(tenants, API, "DataSource", name, TENANT)
