"""Issue 14, must-show 2: a bronze table that gains a column of resident ID numbers under an
opaque name is regraded by the platform within one classify pass; status and events say so, and
a grade-1 replication of it to the national center stops with a condition naming the reason.

Real servers throughout: the operator records ingest and classify PipelineRuns, Spark runs
both (local runner), the replication reconciler reads the DataSource's computed grade. Two Spark
runs, not four, to stay within the test budget: the files source finds two files, commits them
in name order (the second adds the column: a new table version with a new schema) in one ingest
run, and one classify pass regrades the declared grade-1 table.
"""

from __future__ import annotations

import io
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import urllib3
from minio import Minio

from nidc.audit import Resource
from nidc.audit.reading import clients, read_records
from nidc.audit.store import DEFAULT_CENTER
from nidc.kube import apply, delete, get, list_objects
from tests.cluster import condition
from tests.operator_process import OperatorProcess
from tests.peer_center import PeerObjectStore

pytestmark = pytest.mark.integration

TENANT = "steel-plant"
API = "nidc.io/v1alpha1"
# GB 11643 check digit weights and characters.
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"
WIDE = 24  # measurement columns: a classify result over 3 KiB


def resident_id(n: int) -> str:
    """A resident ID number with a valid checksum (county 110101, Beijing Dongcheng)."""
    body = f"110101{1970 + n % 30}{1 + n % 12:02d}{1 + n % 28:02d}{100 + n:03d}"
    return body + CHECK[sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11]


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


def wait_for(what: str, probe: Callable[[], Any], timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(2)
    raise AssertionError(f"timed out waiting for {what}")


def put_csv(s3: Minio, key: str, text: str) -> None:
    data = text.encode()
    s3.put_object(f"tenant-{TENANT}", key, io.BytesIO(data), len(data))


def test_a_table_that_gains_resident_ids_is_regraded_and_its_replication_stops(
    tenants: Any,
    operator: OperatorProcess,
    national: PeerObjectStore,
    admin_s3: Minio,
    national_baseline: dict[str, Any],
    platform_env: dict[str, Any],
) -> None:
    tag = uuid.uuid4().hex[:6]
    name, replication = f"parts-{tag}", f"parts-{tag}-to-national"
    prefix = f"landing/parts/{tag}"
    put_csv(
        admin_s3, f"{prefix}/a.csv", "part_no,qty\n" + "".join(f"P{i},{i}\n" for i in range(20))
    )
    # The table gains a column of resident ID numbers under a name that says nothing, and
    # enough measurements that the classify result is too large for a driver's termination
    # message: its columns come back from the table's properties (classify_result.py).
    gauges = [f"gauge_{n:02d}" for n in range(WIDE)]
    put_csv(
        admin_s3,
        f"{prefix}/b.csv",
        ",".join(["part_no", "qty", "col_x7", *gauges])
        + "\n"
        + "".join(
            ",".join([f"Q{i}", str(i), resident_id(i), *(f"{i}.{n}" for n in range(WIDE))]) + "\n"
            for i in range(20)
        ),
    )
    try:
        apply(
            tenants,
            {
                "apiVersion": API,
                "kind": "DataSource",
                "metadata": {"name": name, "namespace": TENANT},
                "spec": {
                    "type": "files",
                    "endpoint": f"s3://tenant-{TENANT}",
                    "domain": "production-operation",
                    "enterprisePrefix": "88.118.8",
                    "continuous": True,
                    "grade": 1,
                    "targetTable": f"bronze.parts_{tag}",
                    "files": {"format": "csv", "prefix": f"parts/{tag}/"},
                },
            },
        )

        def status() -> dict[str, Any]:
            found = get(tenants, API, "DataSource", name, TENANT) or {}
            return dict(found.get("status") or {})

        declared = wait_for("the declared grade in status", lambda: status().get("grade"), 30)
        assert declared == 1
        regraded = wait_for(
            "the classify pass",
            lambda: status() if status().get("computedGrade") is not None else None,
            300,
        )
        classification = regraded["classification"]
        assert regraded["grade"] == regraded["computedGrade"] >= 2, regraded
        assert regraded["rows"] == 40
        assert 0 < classification["tableVersion"] <= regraded["tableVersion"]
        column = next(c for c in classification["columns"] if c["name"] == "col_x7")
        assert column["grade"] >= 2 and column["category"] == "personal-identity", column
        plain = [c for c in classification["columns"] if c["name"] in ("part_no", "qty")]
        assert [c["grade"] for c in plain] == [1, 1], plain
        named = {c["name"] for c in classification["columns"]}
        assert set(gauges) <= named, sorted(named)
        # One pass did it: the source has exactly one classify run, and it succeeded.
        found = get(tenants, API, "DataSource", name, TENANT) or {}
        runs = list_objects(
            tenants,
            API,
            "PipelineRun",
            namespace=TENANT,
            label_selector=f"nidc.io/parent-uid={found['metadata']['uid']}",
        )
        classify = [r for r in runs if r["spec"]["jobType"] == "classify"]
        assert [r["metadata"]["name"] for r in classify] == [classification["run"]]
        assert classify[0]["status"]["phase"] == "Succeeded"
        assert classify[0]["status"]["grade"] == regraded["computedGrade"]
        # The job left its columns in the table (its result was over the limit): the status's
        # columns above came from the table's properties.
        folder = Path(platform_env["state_dir"]) / "runs" / classification["run"]
        assert json.loads((folder / "result.json").read_text()).get("columnsInTable") is True
        events = [
            e
            for e in list_objects(tenants, "v1", "Event", namespace=TENANT)
            if e["involvedObject"]["name"] == name and e["reason"] == "GradeChanged"
        ]
        assert any("grade 1 -> " in e["message"] and "col_x7" in e["message"] for e in events), [
            e["message"] for e in events
        ]
        # ... and the same decision is in the audit log, with the run that made it.
        store, _ = clients(platform_env)
        changes = [
            r
            for r in read_records(store, DEFAULT_CENTER)
            if r.action == "classification.grade-changed"
            and r.resource == Resource(kind="DataSource", namespace=TENANT, name=name)
        ]
        assert [(r.decision, r.details["before"], r.details["after"]) for r in changes] == [
            ("raised", 1, regraded["computedGrade"])
        ], changes
        assert changes[0].details["classifyRun"] == classification["run"]

        # A replication of the (declared grade-1) table to the national center, no approval.
        apply(
            tenants,
            {
                "apiVersion": API,
                "kind": "DataReplication",
                "metadata": {"name": replication, "namespace": TENANT},
                "spec": {"table": {"kind": "DataSource", "name": name}, "destination": "national"},
            },
        )

        def refused() -> dict[str, Any] | None:
            found = get(tenants, API, "DataReplication", replication, TENANT) or {}
            ready = condition(found, "Ready")
            return ready if ready.get("status") == "False" and ready.get("reason") else None

        ready = wait_for("the replication's condition", refused, 60)
        assert ready["reason"] in ("ExportApprovalRequired", "PeerRefusesGrade"), ready
        assert "computed by classification; declared 1" in ready["message"], ready
        found = get(tenants, API, "DataReplication", replication, TENANT) or {}
        copies = list_objects(
            tenants,
            API,
            "PipelineRun",
            namespace=TENANT,
            label_selector=f"nidc.io/parent-uid={found['metadata']['uid']}",
        )
        assert not copies, "a copy run was recorded for a table it may not copy"
    finally:
        delete(tenants, API, "DataReplication", replication, TENANT)
        delete(tenants, API, "DataSource", name, TENANT)
