"""The collector's pure parts: config building, batching decisions, batch encoding, decoding."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from typing import Any

import pyarrow.parquet as pq
import pytest

from nidc.collector.batch import (
    PARQUET_SCHEMA,
    batch_names,
    build_manifest,
    flush_reason,
    manifest_sequence,
    parquet_bytes,
)
from nidc.collector.config import (
    BatchPolicy,
    ConfigError,
    LandingTarget,
    build_collector_config,
)
from nidc.collector.modbus import decode_value, parse_endpoint, slot_samples
from nidc.collector.modbus_ring import (
    RingLayout,
    encode_slot,
    header_registers,
    holding_offset,
    parse_header,
    to_signed,
)
from nidc.collector.mqtt import map_topic, payload_fields, sample_from_message
from nidc.collector.sample import Sample
from nidc.simulators.ground_truth import fault_for, parse_faults

pytestmark = pytest.mark.unit
LANDING = LandingTarget(endpoint="https://127.0.0.1:9000", bucket="tenant-steel-plant")
T0 = dt.datetime(2026, 11, 25, 8, 0, tzinfo=dt.UTC)


def body(**spec: Any) -> dict[str, Any]:
    base = {
        "type": "modbus",
        "endpoint": "tcp://10.0.0.5:502",
        "domain": "production-operation",
        "enterprisePrefix": "88.118.8",
        "continuous": True,
        "targetTable": "bronze.plc",
        "points": [
            {"name": "temperature", "address": "holding:40001", "identifier": "88.118.8/P.t"}
        ],
    }
    return {
        "metadata": {"name": "plc-1", "namespace": "steel-plant", "uid": "u-1"},
        "spec": {**base, **spec},
    }


def test_config_from_a_datasource() -> None:
    config = build_collector_config(body(), LANDING, collector_id="c")
    assert config.prefix == "landing/sources/steel-plant/plc-1/"
    assert config.points[0].identifier == "88.118.8/P.t"
    assert config.source_uid == "u-1"
    assert not config.has_device_credentials
    # The file a reconciler writes carries no secret at all.
    assert "secret" not in config.to_json().lower().replace("secret_key", "")


def test_config_with_credentials_keeps_only_the_flag() -> None:
    path = "secret/data/tenants/steel-plant/plc"
    config = build_collector_config(body(credentials={"openBaoPath": path}), LANDING)
    assert config.has_device_credentials
    assert path not in config.to_json()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "jdbc"}, "spec.type"),
        ({"points": []}, "spec.points"),
        ({"enterprisePrefix": "x"}, "spec.enterprisePrefix"),
    ],
)
def test_config_errors_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        build_collector_config(body(**change), LANDING)


def test_config_needs_the_uid() -> None:
    source = body()
    del source["metadata"]["uid"]
    with pytest.raises(ConfigError, match=r"metadata\.uid"):
        build_collector_config(source, LANDING)


@pytest.mark.parametrize(
    ("rows", "size", "age", "reason"),
    [
        (0, 0, 100.0, None),  # never an empty batch
        (10, 100, 0.1, None),
        (100, 100, 0.1, "rows"),
        (10, 2048, 0.1, "bytes"),
        (10, 100, 1.0, "time"),
    ],
)
def test_flush_reason(rows: int, size: int, age: float, reason: str | None) -> None:
    policy = BatchPolicy(max_rows=100, max_bytes=2048, max_seconds=1.0)
    assert flush_reason(policy, rows, size, age) == reason


def test_parquet_and_manifest_follow_the_contract() -> None:
    samples = [
        Sample("t", "88.118.8/P.t", T0 + dt.timedelta(seconds=i), T0, str(i), None)
        for i in range(3)
    ]
    data = parquet_bytes("plc-1", samples)
    table = pq.read_table(io.BytesIO(data))
    assert table.schema.equals(PARQUET_SCHEMA, check_metadata=False)
    assert table.column("raw").to_pylist() == ["0", "1", "2"]
    manifest = build_manifest(
        source="plc-1",
        namespace="steel-plant",
        source_uid="u-1",
        sequence=7,
        samples=samples,
        parquet=data,
        collector="c/h/1",
        created_at=T0,
        position={"counter": 3},
    )
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["minTimestamp"] == "2026-11-25T08:00:00.000000Z"
    assert manifest["maxTimestamp"] == "2026-11-25T08:00:02.000000Z"
    assert manifest["rows"] == 3 and manifest["schemaVersion"] == 1
    json.dumps(manifest)


def test_batch_names_are_deterministic_and_parse_back() -> None:
    parquet, manifest = batch_names("landing/sources/ns/s/", 42)
    assert parquet == "landing/sources/ns/s/batch-000000000042.parquet"
    assert manifest_sequence(manifest) == 42
    assert manifest_sequence(parquet) is None
    assert manifest_sequence("landing/sources/ns/s/batch-42.json") is None


def test_register_decoding() -> None:
    assert to_signed(0xFFFF) == -1
    assert to_signed(0x7FFF) == 32767
    assert decode_value(0xFFF6, "double") == "-10"
    assert decode_value(5, "bool") == "1"
    assert holding_offset("holding:40001") == 0
    assert holding_offset("holding:7") == 7
    with pytest.raises(ValueError, match="coil:1"):
        holding_offset("coil:1")


def test_ring_round_trip_and_overwrite_detection() -> None:
    layout = RingLayout(base=1000, slots=4, live_base=0, live_count=2)
    parsed, counter = parse_header(1000, header_registers(layout, 70000))
    assert parsed == layout and counter == 70000
    ts_ms = int(T0.timestamp() * 1000)
    offset, slot = encode_slot(layout, 70000, ts_ms, [0xFFFF, 3])
    assert offset == 1000 + 8 + (70000 % 4) * layout.width
    points = [("a", None, 0, "int"), ("b", "88.1.1/x", 1, "int")]
    samples = slot_samples(layout, slot, 70000, points, T0)
    assert samples is not None
    assert [(s.point, s.raw, s.ts) for s in samples] == [("a", "-1", T0), ("b", "3", T0)]
    # The ring wrapped: the slot holds a later sample than the one expected.
    assert slot_samples(layout, slot, 69996, points, T0) is None
    with pytest.raises(ValueError, match="inconsistent"):
        parse_header(1000, [0, 1, 4, 99, 0, 2, 0, 0])


def test_modbus_endpoint() -> None:
    assert parse_endpoint("tcp://10.0.0.5:1502?device=3&ring=2000") == ("10.0.0.5", 1502, 3, 2000)
    with pytest.raises(ConfigError, match="tcp://"):
        parse_endpoint("modbus://x")


def test_mqtt_payloads_and_topics() -> None:
    ts, quality = payload_fields(
        b'{"ts": "2026-11-25T08:00:00.000000Z", "value": 1, "quality": "good"}'
    )
    assert ts == T0 and quality == "good"
    assert payload_fields(b'{"ts": 1795593600000}')[0] == dt.datetime(
        2026, 11, 25, 8, 0, tzinfo=dt.UTC
    )
    assert payload_fields(b'{"ts": "2026-11-25T08:00:00Z", "value": 4') == (None, None)
    config = build_collector_config(
        body(
            type="mqtt",
            endpoint="mqtt://127.0.0.1:1883",
            points=[{"name": "t", "address": "a/b", "identifier": "88.1.1/t"}],
        ),
        LANDING,
    )
    points = {p.address: p for p in config.points}
    assert map_topic("a/b", points) == ("t", "88.1.1/t")
    assert map_topic("a/c", points) == ("a/c", None)
    malformed = sample_from_message("a/b", b"{oops", points, T0)
    assert malformed.ts == T0 and malformed.raw == "{oops"


def test_simulator_faults_parse_strictly() -> None:
    faults = parse_faults("out-of-range:5,malformed:7")
    assert fault_for(35, faults) == "out-of-range"
    assert fault_for(14, faults) == "malformed"
    assert fault_for(1, faults) is None
    with pytest.raises(ValueError, match="unknown fault"):
        parse_faults("bogus:3")
    with pytest.raises(ValueError, match="interval"):
        parse_faults("malformed:1")
