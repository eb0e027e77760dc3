"""Bronze maintenance on a schedule (issue 16; docs/decisions/0270-bronze-maintenance.md), on the
real platform and with no Spark anywhere.

A modbus DataSource (its collector has no device to read, so only the test's batches land) gets
12 landing batches, two of them with an unparseable value: the operator's native ingest commits
them one version each, twelve small bronze files and two quarantine files. The due slot of its
default hourly schedule then gets one maintenance PipelineRun, named from the slot: it compacts
each table's files into one, rows unchanged, and vacuums nothing
(the files left the table seconds ago, well inside the 24 h retention); the DataSource's status
and an event say so. Vacuum proper is then run with a zero retention (below what admission
allows a source; the library call takes any): exactly the twelve tombstoned files go, the live
one stays, the rows are the same. Admission refuses a retention under 24 h and maintenance of a
Spark-written source, naming the field.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from nidc.kube import apply, delete, get, list_objects
from tests.delta_reader import delta_rows
from tests.landing import (
    LandingWriter,
    admin_store,
    admission_refusal,
    idle_device_source,
    sample,
)
from tests.operator_process import OperatorProcess

pytestmark = pytest.mark.integration

TENANT = "steel-plant"
BUCKET = "tenant-steel-plant"
API = "nidc.io/v1alpha1"
BATCHES = 12
BAD_BATCHES = 2
POINTS = ("force", "stroke")


def device_source(name: str, **spec: Any) -> dict[str, Any]:
    return idle_device_source(name, TENANT, POINTS, **spec)


def table_options(platform_env: dict[str, Any]) -> dict[str, str]:
    s3 = platform_env["servers"]["minio"]
    return {
        "AWS_ENDPOINT_URL": s3["url"],
        "AWS_ACCESS_KEY_ID": s3["access_key"],
        "AWS_SECRET_ACCESS_KEY": Path(s3["secret_key_file"]).read_text().strip(),
        "AWS_REGION": "us-east-1",
        "AWS_FORCE_PATH_STYLE": "true",
    }


def assert_the_run_is_one_trace(env: dict[str, Any], run: dict[str, Any]) -> None:
    """The run's trace, read back from Jaeger: the reconcile that recorded it, the job and its
    maintenance spans, one trace id, the files counted on the run's span."""
    trace_id = run["spec"]["job"]["traceparent"].split("-")[1]
    wanted = {"reconcile DataSource", "job maintenance", "maintenance", "maintenance table"}
    deadline = time.monotonic() + 60
    while True:
        response = requests.get(
            f"{env['servers']['jaeger']['query_url']}/api/traces/{trace_id}",
            verify=env["ca_file"],
            timeout=10,
        )
        traces = (response.json().get("data") or []) if response.status_code == 200 else []
        spans = traces[0]["spans"] if traces else []
        if wanted <= {s["operationName"] for s in spans}:
            break
        assert time.monotonic() < deadline, f"trace {trace_id}: {spans}"
        time.sleep(1)
    assert {s["traceID"] for s in spans} == {trace_id}
    (span,) = [s for s in spans if s["operationName"] == "maintenance"]
    tags = {t["key"]: t["value"] for t in span["tags"]}
    assert (tags["nidc.engine"], tags["nidc.filesCompacted"]) == ("native", BATCHES + BAD_BATCHES)


@pytest.fixture
def name(tenants: Any) -> Iterator[str]:
    chosen = f"press-{uuid.uuid4().hex[:6]}"
    yield chosen
    delete(tenants, API, "DataSource", chosen, TENANT)


@pytest.mark.timeout(300)
def test_maintenance_compacts_and_vacuums_natively_on_its_slot(
    tenants: Any,
    operator: OperatorProcess,
    platform_env: dict[str, Any],
    name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from deltalake import DeltaTable

    from nidc.api.job_runtime import Storage
    from spark_jobs.ingest.native.maintenance import data_files, vacuum
    from spark_jobs.ingest.native.store import ObjectStore

    # Admission names the field.
    short = device_source(f"{name}-x", maintenance={"retentionHours": 12})
    assert "spec.maintenance.retentionHours" in admission_refusal(tenants, short)
    files = device_source(f"{name}-y", maintenance={"schedule": "@daily"})
    del files["spec"]["continuous"], files["spec"]["points"]
    files["spec"].update(
        type="files",
        endpoint=f"s3://{BUCKET}",
        schedule="@hourly",
        files={"format": "csv", "prefix": "x/"},
    )
    assert "spec.maintenance is for opcua, modbus and mqtt" in admission_refusal(tenants, files)

    # Twelve batches landed before the source exists: its first ingest run takes them all.
    writer = LandingWriter(admin_store(platform_env), BUCKET, TENANT, name, "tests")
    truth: set[tuple[str, str]] = set()
    for sequence in range(1, BATCHES + 1):
        rows = [
            sample(point, second, str(second % 40))
            for second in range((sequence - 1) * 30, sequence * 30)
            for point in POINTS
        ]
        truth |= {(r["point"], r["ts"].isoformat()) for r in rows}
        if sequence <= BAD_BATCHES:
            rows.append(sample("force", 10_000 + sequence, "n/a"))  # to quarantine
        writer.write(sequence, rows)
    started = time.monotonic()
    apply(tenants, device_source(name, maintenance={"retentionHours": 24}))

    status: dict[str, Any] = {}
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        status = dict((get(tenants, API, "DataSource", name, TENANT) or {}).get("status") or {})
        if (status.get("lastMaintenance") or {}).get("phase") in ("Succeeded", "Failed"):
            break
        time.sleep(1)
    took = time.monotonic() - started
    last = status.get("lastMaintenance") or {}
    assert last.get("phase") == "Succeeded", status
    assert (status.get("rows"), status.get("quarantinedRows")) == (len(truth), BAD_BATCHES), status
    compacted = (last["filesCompacted"], last["filesAdded"], last["filesVacuumed"])
    assert compacted == (BATCHES + BAD_BATCHES, 2, 0), last
    print(f"maintenance seen in the status {took:.1f} s after apply")

    # One run per slot, named from it (a test that crosses the hour sees the next slot's too).
    runs = [
        r
        for r in list_objects(tenants, API, "PipelineRun", namespace=TENANT)
        if r["spec"]["parent"]["name"] == name and r["spec"]["jobType"] == "maintenance"
    ]
    slots = [r["spec"]["job"]["slot"] for r in runs]
    assert len(slots) == len(set(slots)) and 1 <= len(runs) <= 2, slots
    (run,) = [r for r in runs if r["metadata"]["name"] == last["run"]]
    assert run["spec"]["job"]["retentionHours"] == 24
    assert_the_run_is_one_trace(platform_env, run)
    events = list_objects(tenants, "v1", "Event", namespace=TENANT)
    assert any(
        e.get("reason") == "Maintained" and e["involvedObject"].get("name") == name for e in events
    )

    path = f"s3://{BUCKET}/bronze/{name.replace('-', '_')}"
    options = table_options(platform_env)
    os.environ["SSL_CERT_FILE"] = platform_env["ca_file"]
    table = DeltaTable(path, storage_options=options)
    assert len(table.file_uris()) == 1
    quarantine = DeltaTable(path.replace("/bronze/", "/quarantine/"), storage_options=options)
    assert len(quarantine.file_uris()) == 1
    assert quarantine.to_pyarrow_table().num_rows == BAD_BATCHES
    keys = [(r["point"], r["ts"].isoformat()) for r in delta_rows(platform_env, path)]
    assert len(keys) == len(set(keys)) and set(keys) == truth
    # Nothing was vacuumed: a reader pinned before the compaction still reads every row.
    before = DeltaTable(path, storage_options=options, version=BATCHES - 1)
    assert before.to_pyarrow_table().num_rows == len(truth)

    # Vacuum with no retention: the twelve tombstoned files go, the live one stays.
    s3 = platform_env["servers"]["minio"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3["access_key"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", Path(s3["secret_key_file"]).read_text().strip())
    store = ObjectStore.from_storage(Storage(endpoint=s3["url"], ca_file=platform_env["ca_file"]))
    bronze = f"s3a://{BUCKET}/bronze/{name.replace('-', '_')}"
    live = {uri.rsplit("/", 1)[-1] for uri in table.file_uris()}
    assert len(data_files(store, bronze)) == BATCHES + 1
    deleted = vacuum(store, bronze, 0)
    assert len(deleted) == BATCHES
    assert not live & {d.rsplit("/", 1)[-1] for d in deleted}
    assert {f.rsplit("/", 1)[-1] for f in data_files(store, bronze)} == live
    assert {(r["point"], r["ts"].isoformat()) for r in delta_rows(platform_env, path)} == truth
    assert vacuum(store, bronze, 0) == []  # gone files are not counted again
