"""Reading equipment as it is (decision 0180), as pure functions: modes from the spec, Modbus
addresses and read plans, OPC UA monitored items, gap records and the device report."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from asyncua import ua

from nidc.api.data_source import ModbusMode, OpcUaMode
from nidc.collector.batch import parquet_bytes
from nidc.collector.config import ConfigError, LandingTarget, build_collector_config
from nidc.collector.modbus_poll import (
    ModbusPollReader,
    ReadGroup,
    describe_exception,
    parse_address,
    plan_reads,
)
from nidc.collector.opcua import OpcUaReader, monitored_item_request
from nidc.collector.report import DeviceReport, gap_sample, parse_gap, report_key

pytestmark = pytest.mark.unit

LANDING = LandingTarget(endpoint="https://s3:9000", bucket="tenant-steel-plant")
T0 = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)


def body(kind: str, points: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": "dev-1", "namespace": "steel-plant", "uid": "u-1"},
        "spec": {
            "type": kind,
            "endpoint": "tcp://10.0.0.5:502" if kind == "modbus" else "opc.tcp://cnc:4840",
            "domain": "production-operation",
            "enterprisePrefix": "88.118.8",
            "continuous": True,
            "targetTable": "bronze.dev",
            "points": points,
            **spec,
        },
    }


def point(name: str, address: str) -> dict[str, Any]:
    return {"name": name, "address": address, "identifier": f"88.118.8/D.{name}"}


def test_the_defaults_read_equipment_as_it_is() -> None:
    opcua = build_collector_config(body("opcua", [point("t", "ns=2;s=T")]), LANDING)
    assert opcua.opcua.mode == OpcUaMode.SUBSCRIPTION
    assert (opcua.opcua.sampling_interval_ms, opcua.opcua.queue_size) == (100.0, 100)
    modbus = build_collector_config(body("modbus", [point("t", "holding:40001")]), LANDING)
    assert modbus.modbus.mode == ModbusMode.POLL
    assert modbus.poll_seconds == 1.0  # pollIntervalMs 1000


def test_the_spec_sets_the_mode_and_the_rates() -> None:
    spec = {"samplingIntervalMs": 50, "queueSize": 10, "deadband": 0.5, "mode": "history"}
    config = build_collector_config(body("opcua", [point("t", "ns=2;s=T")], opcua=spec), LANDING)
    assert config.opcua.mode == OpcUaMode.HISTORY and config.opcua.deadband == 0.5
    modbus = build_collector_config(
        body("modbus", [point("t", "holding:1")], modbus={"pollIntervalMs": 250}), LANDING
    )
    assert modbus.poll_seconds == 0.25


def test_batch_seconds_sets_how_often_a_batch_lands() -> None:
    default = build_collector_config(body("mqtt", [point("t", "plant/t")]), LANDING)
    assert default.batch.max_seconds == 5.0
    slower = build_collector_config(body("mqtt", [point("t", "plant/t")], batchSeconds=60), LANDING)
    assert slower.batch.max_seconds == 60.0


def test_monitored_items_carry_sampling_queue_and_deadband() -> None:
    node = ua.NodeId.from_string("ns=2;s=T")
    plain = monitored_item_request(node, 7, 100.0, 20, 0.0)
    assert plain.RequestedParameters.SamplingInterval == 100.0
    assert plain.RequestedParameters.QueueSize == 20
    assert plain.RequestedParameters.ClientHandle == 7
    assert not isinstance(plain.RequestedParameters.Filter, ua.DataChangeFilter)
    banded = monitored_item_request(node, 8, 100.0, 20, 0.5)
    assert isinstance(banded.RequestedParameters.Filter, ua.DataChangeFilter)
    assert banded.RequestedParameters.Filter.DeadbandValue == 0.5
    assert banded.RequestedParameters.Filter.DeadbandType == 1  # absolute


@pytest.mark.parametrize(
    ("address", "parsed"),
    [
        ("holding:40001", ("holding", 0)),
        ("holding:7", ("holding", 7)),
        ("input:30002", ("input", 1)),
        ("input:12", ("input", 12)),
        ("coil:0", ("coil", 0)),
        ("coil:40001", ("coil", 40001)),
    ],
)
def test_modbus_addresses(address: str, parsed: tuple[str, int]) -> None:
    assert parse_address(address) == parsed


@pytest.mark.parametrize("address", ["discrete:1", "holding:x", "coil:70000", "40001"])
def test_bad_modbus_addresses_name_themselves(address: str) -> None:
    with pytest.raises(ConfigError, match=address):
        parse_address(address)


def test_reads_are_planned_in_few_requests_no_wider_than_modbus_allows() -> None:
    offsets = [("holding", 0), ("holding", 3), ("holding", 200), ("input", 5), ("coil", 1)]
    assert plan_reads(offsets) == [
        ReadGroup("holding", 0, 4),
        ReadGroup("holding", 200, 1),
        ReadGroup("input", 5, 1),
        ReadGroup("coil", 1, 1),
    ]


def test_a_modbus_exception_reads_in_the_devices_terms() -> None:
    class Refused:
        exception_code = 2

    text = describe_exception(ReadGroup("input", 100, 4), Refused())
    assert text == "Modbus exception 2 (ILLEGAL DATA ADDRESS) reading 4 input registers at 100"


def test_positions_resume_where_the_last_batch_left() -> None:
    config = build_collector_config(body("modbus", [point("t", "holding:40001")]), LANDING)
    reader = ModbusPollReader(config)
    assert reader.position() == {}
    reader.resume({"lastPoll": "2026-11-30T08:00:00.000000Z"})
    assert reader.last_poll == T0
    assert reader.position() == {"lastPoll": "2026-11-30T08:00:00.000000Z"}
    assert "no exact counts" in " ".join(reader.limits())


def test_a_gap_is_a_landing_row_that_says_so() -> None:
    until = T0 + dt.timedelta(seconds=3)
    gap = gap_sample("t", "88.118.8/D.t", T0, until, "the server keeps no history")
    assert gap.raw is None and gap.ts == until
    assert parse_gap(gap.quality) == (T0, until, "the server keeps no history")
    assert parse_gap("Good") is None and parse_gap(None) is None
    # Same landing format as a sample: the ingest job reads it unchanged.
    assert parquet_bytes("dev-1", [gap])[:4] == b"PAR1"


def test_a_subscription_says_what_it_cannot_give() -> None:
    config = build_collector_config(body("opcua", [point("t", "ns=2;s=T")]), LANDING)
    reader = OpcUaReader(config)
    assert "sampling 100 ms" in reader.reading()
    assert len(reader.limits()) == 1 and "changes only" in reader.limits()[0]
    reader.history_refused.add("t")
    assert "no history for t" in reader.limits()[1]
    history = OpcUaReader(
        build_collector_config(
            body("opcua", [point("t", "ns=2;s=T")], opcua={"mode": "history"}), LANDING
        )
    )
    assert history.limits() == []


def test_the_report_round_trips_under_the_landing_prefix() -> None:
    report = DeviceReport(
        time=T0.isoformat(),
        collector="c",
        connected=True,
        reading="r",
        limits=["x"],
        gaps_marked=2,
        refusal="t: BadNotReadable",
    )
    again = DeviceReport.model_validate_json(report.to_json())
    assert again == report
    assert b'"gapsMarked":2' in report.to_json()
    assert report_key("landing/sources/a/b/") == "landing/sources/a/b/collector-status.json"
