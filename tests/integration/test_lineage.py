"""Lineage end to end: real jobs post OpenLineage events through openlineage-python's HTTP
transport to our receiver (aiohttp on a loopback port), which stores them in a real PostgreSQL;
the stored graph of a gold table reaches its source (landing -> bronze -> silver -> gold).

One Spark session (the session's `tenant_spark`, steel-plant's own S3 login): a files ingest, two
SQL transforms (an aggregate, then a join), a transform whose SQL fails, and a run while the
receiver is unreachable, all through spark_jobs.run.run_in_session as a run's process does.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import secrets
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import requests
from aiohttp import web
from pyspark.sql import SparkSession

from nidc.api.job_runtime import JobRuntime, LineageTarget, Storage
from nidc.api.job_specs import FilesInput, IngestJob, TransformInput, TransformJob
from nidc.lineage.graph import walk
from nidc.lineage.naming import DatasetName, object_dataset
from nidc.lineage.receiver import lineage_app
from nidc.lineage.store import LineageStore
from nidc.local.ports import free_port
from nidc.simulators.postgres_server import PostgresServer
from spark_jobs.run import run_in_session
from tests.landing import admin_store

BUCKET, NAMESPACE = "tenant-steel-plant", "steel-plant"


class Receiver:
    """lineage_app(store) served by aiohttp's runner on a free loopback port, in a thread."""

    def __init__(self, store: LineageStore) -> None:
        self.store = store
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner = web.AppRunner(lineage_app(store))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Receiver:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(30)
        return self

    async def _start(self) -> None:
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    def __exit__(self, *_: Any) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def database() -> Iterator[tuple[str, str]]:
    password = secrets.token_hex(12)
    with PostgresServer(password=password) as server:
        dsn = f"host=127.0.0.1 port={server.port} dbname=postgres user=postgres password={password}"
        yield dsn, password


@pytest.fixture(scope="module")
def receiver(database: tuple[str, str]) -> Iterator[Receiver]:
    store = LineageStore(database[0])
    # The port opens before the server takes logins ("the database system is starting up").
    deadline = time.monotonic() + 60
    while True:
        try:
            version = store.migrate()
            break
        except psycopg.OperationalError:
            assert time.monotonic() < deadline, "PostgreSQL never took a login"
            time.sleep(0.2)
    assert version == 1
    assert store.migrate() == 1  # applied once, whoever starts next
    with Receiver(store) as running:
        yield running


def runtime(run: str, url: str, platform_env: dict[str, Any]) -> JobRuntime:
    return JobRuntime(
        run=run,
        storage=Storage(endpoint=platform_env["servers"]["minio"]["url"]),
        lineage=LineageTarget(url=url),
    )


def test_receiver_validates_and_stores_each_event_once(receiver: Receiver) -> None:
    url = f"{receiver.url}/api/v1/lineage"
    event = {
        "eventType": "START",
        "eventTime": "2026-11-30T11:00:00+00:00",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "nidc/test", "name": "probe"},
        "inputs": [{"namespace": "s3://probe", "name": "in"}],
        "outputs": [{"namespace": "s3://probe", "name": "out"}],
        "producer": "tests",
        "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    }
    first = requests.post(url, json=event, timeout=10)
    assert (first.status_code, first.json()["stored"]) == (201, True)
    again = requests.post(url, json=event, timeout=10)
    assert (again.status_code, again.json()["stored"]) == (200, False)
    bad = requests.post(url, json={**event, "run": {"runId": "nope"}}, timeout=10)
    assert bad.status_code == 400 and bad.json()["error"].startswith("run.runId")
    leaky = {**event, "inputs": [{"namespace": "s3://key:secret@probe", "name": "in"}]}
    refused = requests.post(url, json=leaky, timeout=10)
    assert refused.status_code == 400 and "login" in refused.json()["error"]
    not_json = requests.post(url, data=b"\xff", timeout=10)
    assert not_json.status_code == 415
    # A started run makes no edge: only completed runs wrote anything.
    assert receiver.store.edges([DatasetName("s3://probe", "out")], "upstream") == []


def test_gold_reaches_its_source_through_the_real_transport(
    tenant_spark: SparkSession,
    platform_env: dict[str, Any],
    receiver: Receiver,
    database: tuple[str, str],
) -> None:
    tag = uuid.uuid4().hex[:8]
    root = f"s3a://{BUCKET}/it-lineage-{tag}"
    folder = f"it-lineage-{tag}/landing/readings/"
    rows = "".join(f"line{i % 3},{i},{20 + i * 0.5}\n" for i in range(30))
    body = ("line,seq,value\n" + rows).encode()
    admin_store(platform_env).put_object(BUCKET, folder + "a.csv", io.BytesIO(body), len(body))

    ingest = IngestJob(
        type="files",
        source=f"readings-{tag}",
        namespace=NAMESPACE,
        source_uid=str(uuid.uuid4()),
        target=f"{root}/bronze/readings",
        quarantine=f"{root}/quarantine/readings",
        files=FilesInput(prefix=f"s3a://{BUCKET}/{folder}", format="csv"),
    )
    silver = TransformJob(
        tenant=NAMESPACE,
        inputs=[TransformInput(view="readings", path=ingest.target)],
        sql="SELECT line, avg(value) AS mean_value, count(*) AS samples "
        "FROM readings WHERE value > 0 GROUP BY line",
        target=f"{root}/silver/line_means",
        txn_app_id=str(uuid.uuid4()),
        txn_version=1,
    )
    gold = TransformJob(
        tenant=NAMESPACE,
        inputs=[
            TransformInput(view="means", path=silver.target),
            TransformInput(view="readings", path=ingest.target),
        ],
        sql="SELECT m.line, m.mean_value, max(r.value) AS peak FROM means m "
        "JOIN readings r ON r.line = m.line GROUP BY m.line, m.mean_value",
        target=f"{root}/gold/line_health",
        txn_app_id=str(uuid.uuid4()),
        txn_version=1,
    )
    url = receiver.url
    assert (
        run_in_session(tenant_spark, ingest, runtime(f"ing-{tag}", url, platform_env))["rows"] == 30
    )
    run_in_session(tenant_spark, silver, runtime(f"silver-{tag}", url, platform_env))
    assert (
        run_in_session(tenant_spark, gold, runtime(f"gold-{tag}", url, platform_env))["rows"] == 3
    )

    # A run whose SQL fails: its FAIL event is stored, and its table is in nobody's lineage.
    broken = gold.model_copy(
        update={"sql": "SELECT no_such_column FROM means", "target": f"{root}/gold/broken"}
    )
    with pytest.raises(Exception, match="no_such_column"):
        run_in_session(tenant_spark, broken, runtime(f"broken-{tag}", url, platform_env))

    # The receiver unreachable: the job completes all the same (delivery counted, not raised).
    dead = f"http://127.0.0.1:{free_port()}"
    again = run_in_session(tenant_spark, silver, runtime(f"silver-dead-{tag}", dead, platform_env))
    assert again["rows"] == 3

    store = receiver.store
    gold_name, source = object_dataset(gold.target), object_dataset(ingest.files.prefix)  # type: ignore[union-attr]
    tree = walk(gold_name, "upstream", store.edges)
    bronze, silver_name = object_dataset(ingest.target), object_dataset(silver.target)
    assert {gold_name, silver_name, bronze, source} <= tree.datasets()
    assert object_dataset(ingest.quarantine) not in tree.datasets()
    # source -> bronze -> silver -> gold. Gold also reads bronze directly, so bronze is expanded
    # there (one step up) and shown again, not expanded, under silver.
    via_silver = next(c for c in tree.children if c.dataset == silver_name)
    assert [(c.dataset, c.repeated) for c in via_silver.children] == [(bronze, True)]
    direct = next(c for c in tree.children if c.dataset == bronze)
    assert not direct.repeated and [c.dataset for c in direct.children] == [source]
    assert direct.children[0].job == f"nidc/{NAMESPACE}:ingest.readings-{tag}"
    facets = store.dataset_facets(source) or {}
    assert facets["nidc_source"]["name"] == f"readings-{tag}"
    downstream = walk(source, "downstream", store.edges)
    assert gold_name in downstream.datasets()
    assert object_dataset(broken.target) not in downstream.datasets()

    columns = {
        (c.output_field, c.input.name, c.input_field, c.subtype)
        for c in store.column_lineage(gold_name)
    }
    assert ("peak", bronze.name, "value", "AGGREGATION") in columns
    assert ("mean_value", silver_name.name, "mean_value", "IDENTITY") in columns
    assert ("", bronze.name, "line", "JOIN") in columns
    silver_columns = {
        (c.output_field, c.input_field, c.subtype) for c in store.column_lineage(silver_name)
    }
    assert ("mean_value", "value", "AGGREGATION") in silver_columns
    assert ("", "value", "FILTER") in silver_columns

    events = store.raw_events()
    states = {(e["job"]["name"], e["eventType"]) for e in events}
    assert (f"transform.{gold_name.name}", "COMPLETE") in states
    assert (f"transform.{object_dataset(broken.target).name}", "FAIL") in states
    # Nothing secret travelled: not the tenant's S3 secret key, nor the store's password (the
    # access key id is the tenant's S3 user name, which is also its bucket's: not a secret).
    stored = json.dumps(events)
    for secret in (os.environ["AWS_SECRET_ACCESS_KEY"], database[1]):
        assert secret not in stored

    # The command line prints the same graph.
    shown = subprocess.run(
        [sys.executable, "-m", "nidc.cli", "lineage", gold.target, "--direction", "upstream",
         "--columns", "--database", database[0]],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    assert str(source) in shown and "peak" in shown and "<- " in shown
    as_json = json.loads(
        subprocess.run(
            [sys.executable, "-m", "nidc.cli", "lineage", gold.target, "--depth", "1", "--json",
             "--database", database[0]],
            capture_output=True, text=True, timeout=120, check=True,
        ).stdout
    )  # fmt: skip
    reached = {c["dataset"] for c in as_json["upstream"]["children"]}
    assert reached == {str(silver_name), str(bronze)}
    assert as_json["upstream"]["children"][0]["children"] == []  # depth 1
