"""The demo's pure parts: the example localized, the progress table, the summary."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from nidc.demo.factory import (
    erp_orders_csv,
    load_factory,
    localize,
    resource_name,
    service_reports_json,
)
from nidc.demo.progress import (
    FAILED,
    READY,
    WAITING,
    changed_lines,
    format_table,
    settled,
    standing_of,
)
from nidc.demo.provisions import credential_paths
from nidc.demo.summary import failure_lines, share_lines, table_lines, trace_id, trace_lines

FLOOR = {
    "opcua": "opc.tcp://127.0.0.1:4001/nidc/cnc",
    "modbus": "tcp://127.0.0.1:4002",
    "mqtt": "mqtt://127.0.0.1:4003",
    "jdbc": "jdbc:postgresql://127.0.0.1:4004/mes",
}


def condition(kind: str, status: str, reason: str = "R", message: str = "m") -> dict[str, str]:
    return {"type": kind, "status": status, "reason": reason, "message": message}


def obj(conditions: list[dict[str, str]], generation: int = 1, observed: int = 1) -> dict[str, Any]:
    return {
        "metadata": {"generation": generation},
        "status": {"observedGeneration": observed, "conditions": conditions},
    }


def test_the_example_has_every_source_type_and_each_device_source_points_at_the_floor() -> None:
    docs, changes = localize(load_factory(), FLOOR)
    sources = [d for d in docs if d["kind"] == "DataSource"]
    assert {s["spec"]["type"] for s in sources} == {"opcua", "modbus", "mqtt", "jdbc", "files"}
    for source in sources:
        kind = source["spec"]["type"]
        if kind in FLOOR:
            assert source["spec"]["endpoint"] == FLOOR[kind]
    assert {c.resource for c in changes} == {
        resource_name(s) for s in sources if s["spec"]["type"] in FLOOR
    }
    assert all(c.was != c.now for c in changes)


def test_localize_leaves_the_example_itself_unchanged() -> None:
    original = load_factory()
    localize(original, FLOOR)
    assert original == load_factory()


def test_tenants_come_before_the_resources_in_their_namespaces() -> None:
    kinds = [d["kind"] for d in load_factory()]
    assert kinds.index("Tenant") < kinds.index("DataSource")


def test_credential_paths_are_kv_paths_under_the_mount() -> None:
    paths = credential_paths(load_factory())
    assert ("jdbc", "tenants/steel-plant/mes-reader") in paths
    assert all(not p.startswith("secret/") for _, p in paths)


def test_export_files_parse_in_their_format() -> None:
    rows = list(csv.DictReader(io.StringIO(erp_orders_csv(5).decode())))
    assert len(rows) == 5 and rows[0]["order_no"] == "SO-2026-00000"
    reports = [json.loads(line) for line in service_reports_json(4).decode().splitlines()]
    assert [r["machine_model"] for r in reports] == ["VMC-850", "VMC-1160", "HMC-630", "VMC-850"]


def test_standing_follows_the_conditions() -> None:
    assert standing_of("a", None).state == WAITING
    assert standing_of("a", {"metadata": {}}).state == WAITING
    stale = obj([condition("Ready", "True")], generation=2, observed=1)
    assert standing_of("a", stale).state == WAITING
    assert standing_of("a", obj([condition("Ready", "True")])).state == READY
    progressing = obj([condition("Ready", "False"), condition("Progressing", "True")])
    assert standing_of("a", progressing).state == WAITING
    stuck = obj(
        [condition("Ready", "False", "CredentialsNotFound"), condition("Progressing", "False")]
    )
    failed = standing_of("a", stuck)
    assert failed.state == FAILED and failed.reason == "CredentialsNotFound"
    degraded = obj([condition("Ready", "True"), condition("Degraded", "True", "RunFailed")])
    assert standing_of("a", degraded).state == FAILED


def test_settled_when_nothing_waits_and_the_table_counts() -> None:
    ready = standing_of("DataSource/a/x", obj([condition("Ready", "True")]))
    waiting = standing_of("DataSource/a/y", None)
    assert settled([ready]) and not settled([ready, waiting])
    table = format_table([ready, waiting])
    assert table.splitlines()[-1] == "1 ready, 1 waiting, 0 failed"
    assert "DataSource/a/y" in table


def test_trace_id_of_a_traceparent() -> None:
    assert trace_id("00-" + "a" * 32 + "-" + "b" * 16 + "-01") == "a" * 32
    assert trace_id("") is None and trace_id(None) is None and trace_id("00-short-x-01") is None


def test_summary_lines_come_from_the_status() -> None:
    product = {
        "kind": "DataProduct",
        "metadata": {"namespace": "steel-plant", "name": "p"},
        "spec": {"targetTable": "silver.p"},
        "status": {
            "rows": 42,
            "grade": 2,
            "tableVersion": 3,
            "quality": {"score": 0.98},
            "lastRun": {"name": "p-run"},
        },
    }
    share = {
        "kind": "DataShare",
        "metadata": {"namespace": "steel-plant", "name": "s"},
        "spec": {},
        "status": {"recipients": [{"name": "maker", "profilePath": "tenants/maker/shares/x"}]},
    }
    objects = {"DataProduct/steel-plant/p": product, "DataShare/steel-plant/s": share}
    line = table_lines(objects)[1].split()
    assert line == ["steel-plant/silver.p", "42", "2", "0.98", "3"]
    assert "tenants/maker/shares/x" in share_lines(objects)[0]
    run = {"spec": {"job": {"traceparent": "00-" + "c" * 32 + "-" + "d" * 16 + "-01"}}}
    traces = trace_lines(objects, {"steel-plant/p-run": run}, "http://q")
    assert traces == ["DataProduct/steel-plant/p: http://q/trace/" + "c" * 32]


def test_a_log_gets_a_line_only_when_state_or_reason_changes() -> None:
    waiting = standing_of("DataSource/a/x", None)
    ready = standing_of("DataSource/a/x", obj([condition("Ready", "True", "Ingesting", "5 rows")]))
    more = standing_of("DataSource/a/x", obj([condition("Ready", "True", "Ingesting", "9 rows")]))
    assert changed_lines([], [waiting], 0) == ["[    0 s] DataSource/a/x: waiting NotFound"]
    assert changed_lines([waiting], [ready], 12) == ["[   12 s] DataSource/a/x: ready Ingesting"]
    assert changed_lines([ready], [more], 14) == []


def test_a_resource_not_ready_is_named_with_its_conditions_and_its_last_runs_log() -> None:
    source = {
        "metadata": {"namespace": "steel-plant", "name": "s"},
        "status": {
            "conditions": [condition("Ready", "False", "RunFailed", "the last run failed")],
            "lastRun": {"name": "s-run"},
        },
    }
    runs = {"steel-plant/s-run": {"status": {"phase": "Failed", "logLocation": "/runs/s.log"}}}
    lines = failure_lines(["DataSource/steel-plant/s"], {"DataSource/steel-plant/s": source}, runs)
    assert lines == [
        "DataSource/steel-plant/s: Ready=False RunFailed: the last run failed",
        "DataSource/steel-plant/s: last run s-run Failed, log /runs/s.log",
    ]
