"""Apply-to-Ready latency and memory: our operator against a no-op kopf peer, same cluster.

    NIDC_STATE_DIR=/tmp/nidc-bench/platform .venv/bin/python -m bench.operator [--count 1000]

(Run it as a module: as a script its folder would come first on sys.path and this file would
shadow the standard library's `operator`.) It brings the local platform up, starts our operator
with the Kubernetes runner (kwok completes the driver pods, so a run costs what the control plane
does, not Spark), applies a burst of DataProducts that must all reach Ready, then `--count` of
them while sampling the operator's memory; then the same `--count` against bench/noop_operator.py
(a kopf operator that only writes Ready), against bench/minimal_operator.py (a kopf operator
that only submits each product's ConfigMap and driver Job and writes Ready on Complete: the
design floor) and as the driver Jobs alone, and writes the table into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.api_requests import Requests, difference, parse_requests, render_writes
from bench.recording import record_section
from nidc.kube import (
    ApiClient,
    ApiException,
    api_client,
    apply,
    delete_collection,
    list_objects,
    server_metrics,
)
from nidc.local import operator_access
from nidc.local.platform import LocalPlatform
from nidc.local.root_clients import root_minio

API = "nidc.io/v1alpha1"
NAMESPACE = "bench"
INPUT = "bench-source"
REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "docs" / "benchmarks.md"
LATENCY_GOAL = 1.25  # p95 apply->Ready against the floor's (issue 13)
MEMORY_GOAL = 1.5  # peak RSS against the no-op peer's
SECTION = "## Operator core (issue 13): apply-to-Ready, memory and API writes at 1000"


@dataclass
class Measurement:
    """Latencies (s) from apply to Ready, and the operator's resident memory (MiB)."""

    label: str
    count: int
    latencies: list[float]
    wall_seconds: float
    peak_rss_mib: float
    requests: Requests  # what the API server counted meanwhile (bench/api_requests.py)
    load: tuple[float, float]  # 1-minute load average at the start and its highest meanwhile

    def percentile(self, q: int) -> float:
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[q - 1]


def bench_tenant() -> dict[str, Any]:
    """A tenant with room for a thousand driver pods."""
    return {
        "apiVersion": API,
        "kind": "Tenant",
        "metadata": {"name": NAMESPACE},
        "spec": {
            "displayName": "operator benchmark",
            "owner": {"name": "Bench", "email": "bench@nidc.example.cn"},
            "region": "east",
            "quotas": {"cpu": "4000", "memory": "20000Gi", "pods": 5000},
            "deletionPolicy": "Delete",
        },
    }


def bench_product(name: str) -> dict[str, Any]:
    """A DataProduct over the seeded input: one run each."""
    return {
        "apiVersion": API,
        "kind": "DataProduct",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "inputs": [{"kind": "DataSource", "name": INPUT}],
            "transform": {"sql": "SELECT * FROM bench_source"},
            "maxAttempts": 1,
            "owner": {"name": "Bench", "email": "bench@nidc.example.cn"},
            "grade": 1,
            "targetTable": f"silver.{name.replace('-', '_')}",
        },
    }


def seed_input(api: ApiClient, env: dict[str, Any]) -> None:
    """The DataSource the products read, with a Delta log in the tenant's bucket."""
    apply(
        api,
        {
            "apiVersion": API,
            "kind": "DataSource",
            "metadata": {"name": INPUT, "namespace": NAMESPACE},
            "spec": {
                "type": "files",
                "endpoint": f"s3://tenant-{NAMESPACE}",
                "domain": "production-operation",
                "enterprisePrefix": "88.118.8",
                "schedule": "@hourly",
                "targetTable": "bronze.bench_source",
                "files": {"format": "parquet", "prefix": "bench/"},
            },
        },
    )
    client = root_minio(env)
    commit = "\n".join(
        json.dumps(action)
        for action in (
            {"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}},
            {
                "metaData": {
                    "id": "bench",
                    "format": {"provider": "parquet", "options": {}},
                    "schemaString": json.dumps({"type": "struct", "fields": []}),
                    "partitionColumns": [],
                    "configuration": {},
                }
            },
        )
    ).encode()
    client.put_object(
        f"tenant-{NAMESPACE}",
        "bronze/bench_source/_delta_log/00000000000000000000.json",
        io.BytesIO(commit),
        len(commit),
    )


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def is_ready(obj: dict[str, Any]) -> bool:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition["type"] == "Ready":
            return bool(condition["status"] == "True")
    return False


def products_ready(api: ApiClient) -> set[str]:
    """Names of the bench namespace's DataProducts whose Ready condition is True."""
    return {
        obj["metadata"]["name"]
        for obj in list_objects(api, API, "DataProduct", namespace=NAMESPACE)
        if is_ready(obj)
    }


def measure(
    api: ApiClient,
    label: str,
    names: list[str],
    pid: int | None,
    timeout: float,
    submit: Callable[[str], None] | None = None,
    finished: Callable[[ApiClient], set[str]] = products_ready,
) -> Measurement:
    """Submit every name at once (8 clients; by default a DataProduct each), then watch until
    `finished` lists each one (by default: Ready), sampling `pid`'s memory."""
    applied: dict[str, float] = {}
    ready: dict[str, float] = {}
    peak = rss_mib(pid) if pid else 0.0
    load_at_start = load = os.getloadavg()[0]
    requests_before = parse_requests(server_metrics(api))
    started = time.monotonic()

    def submit_one(name: str) -> None:
        if submit is None:
            apply(api, bench_product(name))
        else:
            submit(name)
        applied[name] = time.monotonic()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(submit_one, names))
    wanted = set(names)
    while len(ready) < len(names):
        if time.monotonic() - started > timeout:
            raise SystemExit(f"{label}: only {len(ready)}/{len(names)} done after {timeout} s")
        now = time.monotonic()
        for name in (finished(api) & wanted) - ready.keys():
            ready[name] = now
        if pid:
            peak = max(peak, rss_mib(pid))
        load = max(load, os.getloadavg()[0])
        time.sleep(0.5)
    requests = difference(requests_before, parse_requests(server_metrics(api)))
    latencies = [ready[n] - applied[n] for n in names]
    wall = max(ready.values()) - started
    print(f"{label}: {len(names)} done in {wall:.0f} s", file=sys.stderr, flush=True)
    return Measurement(label, len(names), latencies, wall, peak, requests, (load_at_start, load))


class DriverJobFloor:
    """The control plane's share of a run, without any operator: the ConfigMap and driver Job
    our Kubernetes runner submits for a run (same builder, same pool), applied directly, until
    the Job controller marks the Job Complete (kwok completes its pod). No product can be Ready
    sooner than its run's Job, so this is the floor under our apply->Ready latency."""

    def __init__(self, api: ApiClient) -> None:
        from operators.clients.context import make_runner
        from operators.clients.settings import OperatorSettings
        from operators.runs.kubernetes_runner import KubernetesRunner

        runner = make_runner(OperatorSettings.from_env(), api)
        assert isinstance(runner, KubernetesRunner)
        self.api = api
        self.runner = runner
        # The namespace's driver identity is there before the clock starts, as our runner
        # applies it once per namespace (not per run): the floor is ConfigMap + Job per run.
        for manifest in self.manifests("floor-identity"):
            if manifest["kind"] not in ("ConfigMap", "Job"):
                apply(self.api, manifest)

    def manifests(self, name: str) -> list[dict[str, Any]]:
        from operators.runs.runner import RunRef

        run = RunRef(NAMESPACE, name, uid=f"floor-{name}")
        found = self.runner.manifests(run, 1, {"type": "transform"})
        for manifest in found:
            # No PipelineRun owns these: with an owner reference to a missing uid the garbage
            # collector would delete them.
            manifest["metadata"].pop("ownerReferences", None)
        return found

    def submit(self, name: str) -> None:
        for manifest in self.manifests(name):
            if manifest["kind"] in ("ConfigMap", "Job"):
                apply(self.api, manifest)

    def complete(self, api: ApiClient) -> set[str]:
        from operators.runs.kubernetes_build import RUN_LABEL

        return {
            job["metadata"]["labels"][RUN_LABEL]
            for job in list_objects(api, "batch/v1", "Job", NAMESPACE, label_selector=RUN_LABEL)
            if any(
                c["type"] == "Complete" and c["status"] == "True"
                for c in (job.get("status") or {}).get("conditions") or []
            )
        }

    def clear(self) -> None:
        from operators.runs.kubernetes_build import RUN_LABEL

        for kind, version in (("Job", "batch/v1"), ("Pod", "v1"), ("ConfigMap", "v1")):
            delete_collection(self.api, version, kind, NAMESPACE, label_selector=RUN_LABEL)


def clear(api: ApiClient) -> None:
    """Delete every product of the namespace and wait until they are gone."""
    while True:
        try:
            delete_collection(api, API, "DataProduct", NAMESPACE)
        except ApiException as error:
            # A thousand deletions can outlast the server's request timeout; they go on.
            if error.status != 504:
                raise
        if not list_objects(api, API, "DataProduct", namespace=NAMESPACE):
            return
        time.sleep(5)


def start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=60)


def wait_tenant_ready(api: ApiClient, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for obj in list_objects(api, API, "Tenant"):
            if obj["metadata"]["name"] == NAMESPACE and is_ready(obj):
                return
        time.sleep(1)
    raise SystemExit("the bench tenant did not become Ready")


def render(results: list[Measurement], burst: Measurement, floor: Measurement, ran_at: str) -> str:
    ours, peer, minimal = results
    rows = [
        "| operator | DataProducts | p50 apply→Ready (s) | p95 (s) | all Ready after (s) "
        "| peak RSS (MiB) | load (start, max) |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for m in (burst, *results, floor):
        rss = f"{m.peak_rss_mib:.0f}" if m.peak_rss_mib else "-"
        rows.append(
            f"| {m.label} | {m.count} | {m.percentile(50):.1f} | {m.percentile(95):.1f} "
            f"| {m.wall_seconds:.0f} | {rss} | {m.load[0]:.1f}, {m.load[1]:.1f} |"
        )
    floor_ratio = ours.percentile(95) / max(floor.percentile(95), 1e-9)
    memory_ratio = ours.peak_rss_mib / max(peer.peak_rss_mib, 1e-9)
    latency_met = "met" if floor_ratio <= LATENCY_GOAL else "**not met**"
    memory_met = "met" if memory_ratio <= MEMORY_GOAL else "**not met**"
    minimal_ratio = minimal.percentile(95) / max(floor.percentile(95), 1e-9)
    writes = render_writes(
        {
            "ours": (ours.requests, ours.count),
            "no-op peer": (peer.requests, peer.count),
            "minimal kopf peer": (minimal.requests, minimal.count),
            "Jobs alone": (floor.requests, floor.count),
        }
    )
    return "\n".join(
        [
            SECTION,
            "",
            f"`python -m bench.operator` on {ran_at}, local platform (kwok nodes, 2 cores",
            "shared with whatever else ran; the load column is the machine's 1-minute load).",
            "Ours: `nidc operator run` with the Kubernetes runner, so each product records a",
            "PipelineRun, a driver Job runs (kwok completes its pod) and the status follows;",
            "the peer: bench/noop_operator.py, which only writes Ready; the minimal kopf peer:",
            "bench/minimal_operator.py, which creates each product's ConfigMap and driver Job and",
            "writes Ready when the Job completes, nothing else; the floor: the same ConfigMap and",
            "driver Job per product applied with no operator, timed to Job Complete.",
            "",
            *rows,
            "",
            f"p95 ours/floor: {floor_ratio:.2f} (goal ≤ {LATENCY_GOAL}: {latency_met}); "
            f"peak RSS ours/no-op peer: {memory_ratio:.2f} (goal ≤ {MEMORY_GOAL}: "
            f"{memory_met}). The minimal kopf peer's p95 is {minimal_ratio:.2f}x the floor: "
            "what a kopf operator doing only the Job costs here; ours is "
            f"{ours.percentile(95) / max(minimal.percentile(95), 1e-9):.2f}x it.",
            "",
            "API requests per product (per Job for the floor) from the first apply to the last",
            "Ready, as the API server counted them (`apiserver_request_total`, read before and",
            "after; every client's requests, the bench's own applies and readiness LISTs and the",
            "control plane's included):",
            "",
            *writes,
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--timeout", type=float, default=3600)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args(argv)

    platform = LocalPlatform()
    platform.up()
    env = platform.env()
    logs = Path(env["state_dir"]) / "logs"
    api = api_client(Path(env["kubeconfig"]), context="platform-admin")
    operator_env = {**os.environ, **operator_access.prepare(env), "NIDC_RUNNER": "kubernetes"}
    ours = start(
        [sys.executable, "-m", "nidc.cli", "operator", "run", "--standalone"],
        operator_env,
        logs / "bench-operator.log",
    )
    try:
        apply(api, bench_tenant())
        wait_tenant_ready(api)
        seed_input(api, env)
        clear(api)
        burst = measure(
            api,
            "ours (burst)",
            [f"burst-{i:04d}" for i in range(args.burst)],
            ours.pid,
            args.timeout,
        )
        clear(api)
        mine = measure(
            api, "ours", [f"ours-{i:04d}" for i in range(args.count)], ours.pid, args.timeout
        )
        clear(api)
    finally:
        stop(ours)

    def peer(module: str, label: str, prefix: str, peer_env: dict[str, str]) -> Measurement:
        """`--count` products against a peer operator (python -m `module`), then cleared."""
        process = start([sys.executable, "-m", module], peer_env, logs / f"{module}.log")
        try:
            time.sleep(3)
            names = [f"{prefix}-{i:04d}" for i in range(args.count)]
            return measure(api, label, names, process.pid, args.timeout)
        finally:
            stop(process)
            clear(api)

    noop_env = {**os.environ, "KUBECONFIG": env["kubeconfig"]}
    theirs = peer("bench.noop_operator", "no-op kopf peer", "noop", noop_env)
    least = peer(
        "bench.minimal_operator",
        "minimal kopf peer (ConfigMap + Job, Ready on Complete)",
        "min",
        operator_env,
    )
    os.environ.update(operator_env)  # the runner's settings, as our operator read them
    floor = DriverJobFloor(api)
    floor.clear()
    try:
        jobs = measure(
            api,
            "driver Jobs alone (no operator)",
            [f"floor-{i:04d}" for i in range(args.count)],
            None,
            args.timeout,
            submit=floor.submit,
            finished=floor.complete,
        )
    finally:
        floor.clear()
    text = render([mine, theirs, least], burst, jobs, dt.date.today().isoformat())
    print(text)
    if not args.no_record:
        record_section(SECTION, text, RESULTS)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
