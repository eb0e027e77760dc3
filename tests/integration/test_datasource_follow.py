"""A device DataSource whose ingest runs follow its landing (spec.ingest.followSeconds, decision
0290), on the real platform through the operator, with no Spark anywhere.

A modbus source (its collector has no device to read, so only the test's batches land) gets
one batch before it exists. Its first ingest run commits it and then follows the landing: the
test lands batch 2 once batch 1 is in the table, and batch 3 once batch 2 is, and the same run
commits each, one Delta version per batch with the batch's application transaction, while the
source's plan starts no second run (its status says the run follows). The run then ends on its
own, after the follow time, Succeeded with the checkpoint of batch 3; no other ingest run was
recorded. Then batch 4 starts a second follower, and a spec change (a shorter follow time)
stops it ("superseded"): the new spec's run commits batch 5 within seconds (the stopped run gave
its writer lease back) and ends. Admission refuses spec.ingest where it makes no sense, naming
the field.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from nidc.api.data_source import MAX_FOLLOW_SECONDS
from nidc.kube import apply, delete, get, list_objects
from operators.runs.record import parse_time
from tests.landing import (
    LandingWriter,
    admin_store,
    admission_refusal,
    idle_device_source,
    sample,
    txn_commits,
)
from tests.operator_process import OperatorProcess

pytestmark = pytest.mark.integration

TENANT = "steel-plant"
BUCKET = "tenant-steel-plant"
API = "nidc.io/v1alpha1"
POINTS = ("force", "stroke")
FOLLOW_SECONDS = 20
SHORTER_FOLLOW = 6


def device_source(name: str, **spec: Any) -> dict[str, Any]:
    return idle_device_source(name, TENANT, POINTS, **spec)


def rows_of(sequence: int) -> list[dict[str, Any]]:
    return [
        sample(point, second, str(second % 40))
        for second in range((sequence - 1) * 20, sequence * 20)
        for point in POINTS
    ]


def wait_until(what: str, check: Callable[[], Any], seconds: float) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.2)


def read(api: Any, kind: str, name: str) -> dict[str, Any]:
    found = get(api, API, kind, name, TENANT)
    assert found is not None, f"{kind} {name} is gone"
    return dict(found)


@pytest.fixture
def name(tenants: Any) -> Iterator[str]:
    chosen = f"follow-{uuid.uuid4().hex[:6]}"
    yield chosen
    delete(tenants, API, "DataSource", chosen, TENANT)


@pytest.mark.timeout(240)
def test_one_run_follows_the_landing_and_ends(
    tenants: Any, operator: OperatorProcess, platform_env: dict[str, Any], name: str
) -> None:
    # Admission names the field.
    too_long = device_source(f"{name}-x", ingest={"followSeconds": MAX_FOLLOW_SECONDS + 1})
    assert "spec.ingest.followSeconds" in admission_refusal(tenants, too_long)
    slow_poll = device_source(f"{name}-x", ingest={"followSeconds": 2, "pollIntervalMs": 5000})
    assert "spec.ingest.pollIntervalMs must not exceed" in admission_refusal(tenants, slow_poll)
    files = device_source(f"{name}-y", ingest={"followSeconds": 60})
    del files["spec"]["continuous"], files["spec"]["points"], files["spec"]["batchSeconds"]
    files["spec"].update(type="files", endpoint=f"s3://{BUCKET}", schedule="@hourly")
    files["spec"]["files"] = {"format": "csv", "prefix": "x/"}
    assert "spec.ingest is for opcua, modbus and mqtt" in admission_refusal(tenants, files)

    store = admin_store(platform_env)
    writer = LandingWriter(store, BUCKET, TENANT, name, "tests")
    writer.write(1, rows_of(1))
    body = device_source(name, ingest={"followSeconds": FOLLOW_SECONDS, "pollIntervalMs": 200})
    apply(tenants, body)
    uid = read(tenants, "DataSource", name)["metadata"]["uid"]
    table = f"bronze/{name.replace('-', '_')}"

    def ingest_runs() -> list[str]:
        return [
            r["metadata"]["name"]
            for r in list_objects(tenants, API, "PipelineRun", namespace=TENANT)
            if r["spec"]["parent"]["uid"] == uid and r["spec"]["jobType"] == "ingest"
        ]

    def committed() -> dict[int, int]:
        return txn_commits(store, BUCKET, table, uid)

    def ready_message() -> str:
        conditions = read(tenants, "DataSource", name).get("status", {}).get("conditions", [])
        return next((c.get("message", "") for c in conditions if c["type"] == "Ready"), "")

    def following() -> str:
        message = ready_message()
        return message if "following the landing" in message else ""

    wait_until("batch 1 committed", lambda: 1 in committed(), 120)
    (run,) = ingest_runs()
    assert (
        read(tenants, "PipelineRun", run)["spec"]["job"]["landing"]["followSeconds"]
        == FOLLOW_SECONDS
    )
    followed = time.monotonic()
    # Landed after the run started (it committed batch 1 already): the same run commits them.
    writer.write(2, rows_of(2))
    wait_until("batch 2 committed", lambda: 2 in committed(), FOLLOW_SECONDS)
    writer.write(3, rows_of(3))
    wait_until("batch 3 committed", lambda: 3 in committed(), FOLLOW_SECONDS)
    assert ingest_runs() == [run]
    assert read(tenants, "PipelineRun", run)["status"]["phase"] == "Running"
    # The source's plan waits for the follower (its sweep sees batches beyond the checkpoint).
    message = wait_until("the status says the run follows", following, 30)
    assert run in message and f"following the landing for {FOLLOW_SECONDS} s" in message

    # The run ends on its own after the follow time: one run, one version per batch.
    def finished() -> dict[str, Any] | None:
        status = dict(read(tenants, "PipelineRun", run).get("status") or {})
        return status if status.get("phase") in ("Succeeded", "Failed", "Cancelled") else None

    status = wait_until("the run ended", finished, FOLLOW_SECONDS + 60)
    print(f"the run ended {time.monotonic() - followed:.1f} s after batch 1 was in")
    assert status["phase"] == "Succeeded", status
    began, ended = parse_time(status["startedAt"]), parse_time(status["finishedAt"])
    assert began and ended and (ended - began).total_seconds() >= FOLLOW_SECONDS, status
    assert status["checkpoint"] == {"batchSequence": 3}, status
    assert status["rows"] == 3 * 20 * len(POINTS), status
    assert committed() == {1: 1, 2: 1, 3: 1}
    assert status["tableVersion"] == 2, status  # versions 0, 1, 2: one per batch
    assert ingest_runs() == [run]

    def phase(run_name: str) -> str:
        return str((read(tenants, "PipelineRun", run_name).get("status") or {}).get("phase"))

    def checkpoint() -> int:
        found = read(tenants, "DataSource", name).get("status", {}).get("checkpoint") or {}
        return int(found.get("batchSequence") or 0)

    wait_until("the source's checkpoint moved to batch 3", lambda: checkpoint() == 3, 30)

    # A spec change stops the follower of the older spec; the new spec's run takes over at once
    # (the stopped run gave its writer lease back: no wait for its 300 s expiry).
    writer.write(4, rows_of(4))
    wait_until("batch 4 committed", lambda: 4 in committed(), 60)
    (second,) = [r for r in ingest_runs() if r != run]
    body["spec"]["ingest"]["followSeconds"] = SHORTER_FOLLOW
    apply(tenants, body)
    changed = time.monotonic()
    wait_until("the old spec's follower stopped", lambda: phase(second) == "Cancelled", 30)
    assert read(tenants, "PipelineRun", second)["status"]["reason"] == "superseded"
    writer.write(5, rows_of(5))
    wait_until("batch 5 committed", lambda: 5 in committed(), 60)
    print(f"batch 5 committed {time.monotonic() - changed:.1f} s after the spec changed")
    (third,) = [r for r in ingest_runs() if r not in (run, second)]
    recorded = read(tenants, "PipelineRun", third)
    assert recorded["spec"]["parent"]["generation"] == 2
    assert recorded["spec"]["job"]["landing"]["followSeconds"] == SHORTER_FOLLOW
    wait_until("the new spec's run ended", lambda: phase(third) == "Succeeded", 60)
    assert committed() == {1: 1, 2: 1, 3: 1, 4: 1, 5: 1}
    assert read(tenants, "PipelineRun", third)["status"]["checkpoint"] == {"batchSequence": 5}
