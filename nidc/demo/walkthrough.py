"""`nidc demo`: the example factory on the embedded platform, step by step, as a user sees it.

platform up -> the `local` stack up (CRDs, the operator's identity, tenants) -> the operators
running -> the factory floor (simulated equipment and MES) -> what the tenants provide (logins in
OpenBao, export files) -> the example applied -> a live table until nothing is waiting -> the
summary. Every step reuses what a previous run left (a second run is quick); Ctrl-C stops the
waiting and leaves everything running; `nidc local down` stops it all.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from nidc.api.schema import API_VERSION
from nidc.catalog.client import CatalogClient, CatalogClientError
from nidc.demo.factory import load_factory, localize, resource_name
from nidc.demo.factory_floor import FLOOR_FILE, LISTEN_SECONDS
from nidc.demo.progress import (
    READY,
    Standing,
    changed_lines,
    format_table,
    settled,
    standing_of,
)
from nidc.demo.provisions import drop_files, provide_logins
from nidc.demo.summary import failure_lines, share_lines, table_lines, trace_lines
from nidc.kube import api_client, apply, get, list_objects
from nidc.local import process
from nidc.local.peer_center import PEER_BUCKETS, PeerObjectStore, publish_peer
from nidc.local.platform import LocalPlatform
from nidc.local.ports import free_port
from nidc.local.pulumi_workspace import StackWorkspace, local_stack

FIELD_MANAGER = "nidc-demo"
OPERATOR = "demo-operator"
FLOOR = "demo-factory-floor"
NATIONAL = "demo-national-center"
STACK = "local"


def last_lines(log: Path, count: int = 8) -> str:
    """The end of a process's log, indented, for an error that names it."""
    try:
        lines = log.read_text(errors="replace").splitlines()[-count:]
    except OSError:
        return "    (no log)"
    return "\n".join(f"    {line}" for line in lines)


class DemoError(RuntimeError):
    """A step failed; the message names what and where its log is."""


class Walkthrough:
    """The steps of `nidc demo`, each idempotent."""

    def __init__(self, platform: LocalPlatform, out: TextIO = sys.stdout) -> None:
        self.platform = platform
        self.state = platform.state
        self.out = out

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def step(self, title: str, action: Callable[[], str | None]) -> None:
        started = time.monotonic()
        self.say(f"== {title}")
        detail = action()
        self.say(f"   done in {time.monotonic() - started:.0f} s{f': {detail}' if detail else ''}")

    # ---- the stack ------------------------------------------------------------------------
    def stack_up(self) -> str:
        """`pulumi up` of the `local` stack in a workspace kept in the state folder."""
        root = self.state.root / "pulumi" / "demo-local"
        env = self.platform.env()
        if (root / ".demo-initialized").exists():
            workspace = StackWorkspace(root, STACK, env)
        else:
            workspace = local_stack(self.platform, STACK, root)
            (root / ".demo-initialized").touch()
        workspace.up()
        return f"pulumi stack {STACK} in {root}"

    # ---- long-running processes -----------------------------------------------------------
    def ensure_process(
        self,
        name: str,
        command: list[str],
        ready: Callable[[], bool],
        env: dict[str, str] | None = None,
        ready_within: float = 120,
    ) -> str:
        """Start `command` detached (pid file and log in the state folder) unless it runs."""
        pidfile, log = self.state.pidfile(name), self.state.log(name)
        pid = process.read_pid(pidfile)
        started = None
        if not process.is_running(pid, command[0]):
            started = process.start_detached(command, env or {}, log, pidfile, Path.cwd())
            pid = started.pid

        def alive() -> bool:
            # Our own child: ask it (a /proc read can miss a process in the middle of an exec).
            if started is not None:
                return started.poll() is None
            return process.is_running(pid, command[0])

        deadline = time.monotonic() + ready_within
        while not ready():
            if not alive():
                raise DemoError(f"{name} exited; see its log {log}:\n{last_lines(log)}")
            if time.monotonic() > deadline:
                raise DemoError(
                    f"{name} not ready within {ready_within:.0f} s; see its log {log}:\n"
                    f"{last_lines(log)}"
                )
            time.sleep(0.5)
        return f"pid {pid}, log {log}"

    def operator_up(self) -> str:
        log = self.state.log(OPERATOR)
        mark = log.stat().st_size if log.exists() else 0
        pid = process.read_pid(self.state.pidfile(OPERATOR))
        running_before = process.is_running(pid, sys.executable)

        def ready() -> bool:
            if running_before:
                return True
            with log.open("rb") as handle:
                handle.seek(mark)
                return b"operator running" in handle.read()

        command = [sys.executable, "-m", "nidc.cli", "operator", "run"]
        # One Spark job per core at a time: more JVMs than cores all finish later.
        slots = {"NIDC_LOCAL_RUN_SLOTS": str(max(1, os.cpu_count() or 1))}
        return self.ensure_process(OPERATOR, command, ready, slots)

    def floor_up(self) -> dict[str, Any]:
        folder = self.state.root / "demo"
        floor_file = folder / FLOOR_FILE
        command = [sys.executable, "-m", "nidc.demo.factory_floor", "--dir", str(folder)]
        # Its simulators may each take up to LISTEN_SECONDS to listen on a loaded machine. A
        # port another process took between its choice and the bind ends the floor: once, it
        # is started again on new ports.
        try:
            self.ensure_process(FLOOR, command, floor_file.exists, ready_within=2 * LISTEN_SECONDS)
        except DemoError as error:
            print(f"   the factory floor did not come up, starting it again: {error}", flush=True)
            self.ensure_process(FLOOR, command, floor_file.exists, ready_within=2 * LISTEN_SECONDS)
        floor: dict[str, Any] = json.loads(floor_file.read_text())
        return floor

    def national_center_up(self) -> str:
        """The national center the example replicates to: its object store (a second real
        MinIO, kept across runs with its login in a 0600 file), its buckets, its login in
        OpenBao and the peer list, as a platform engineer publishes them."""
        env = self.platform.env()
        folder = self.state.root / "demo" / "national-center"
        (folder / "data").mkdir(parents=True, exist_ok=True)
        saved = folder / "center.json"
        if not saved.exists():
            saved.touch(mode=0o600)
            saved.write_text(
                json.dumps({"port": free_port(), "secretKey": secrets.token_urlsafe(24)})
            )
        center = json.loads(saved.read_text())
        store = PeerObjectStore(
            self.state.root, folder, str(env["ca_file"]), center["port"], center["secretKey"]
        )
        self.ensure_process(NATIONAL, store.command(), store.live, store.environment())
        with api_client(self.state.kubeconfig, context="platform-admin") as api:
            publish_peer(store, "national", env, api, sender=(STACK, STACK))
        return (
            f"object store {store.endpoint}, buckets {', '.join(PEER_BUCKETS.values())}, "
            "login at secret/centers/national/s3, peers in ConfigMap nidc-sharing/nidc-replication"
        )

    # ---- the factory ----------------------------------------------------------------------
    def apply_factory(self, docs: list[dict[str, Any]]) -> None:
        with api_client(self.state.kubeconfig, context="platform-admin") as api:
            for doc in docs:
                apply(api, doc, field_manager=FIELD_MANAGER)

    def observe(self, docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        objects = {}
        with api_client(self.state.kubeconfig, context="platform-admin") as api:
            for doc in docs:
                meta = doc["metadata"]
                found = get(
                    api, doc["apiVersion"], doc["kind"], meta["name"], meta.get("namespace")
                )
                if found is not None:
                    objects[resource_name(doc)] = found
        return objects

    def standings(
        self, docs: list[dict[str, Any]], objects: dict[str, dict[str, Any]]
    ) -> list[Standing]:
        return [standing_of(resource_name(d), objects.get(resource_name(d))) for d in docs]

    def watch(self, docs: list[dict[str, Any]], timeout: float) -> list[Standing]:
        """On a terminal, redraw the table while anything waits; in a log, print each change
        of state or reason, and the table once at the end."""
        started = time.monotonic()
        shown, lines = "", 0
        before: list[Standing] = []
        tty = self.out.isatty()
        while True:
            now = self.standings(docs, self.observe(docs))
            if tty:
                table = format_table(now)
                if table != shown:
                    if lines:
                        self.out.write(f"\x1b[{lines}F\x1b[J")
                    self.say(table)
                    shown, lines = table, table.count("\n") + 1
            else:
                for line in changed_lines(before, now, time.monotonic() - started):
                    self.say(line)
            before = now
            if settled(now) or time.monotonic() > started + timeout:
                if not tty:
                    self.say(format_table(now))
                return now
            time.sleep(2)

    def runs(self) -> dict[str, dict[str, Any]]:
        with api_client(self.state.kubeconfig, context="platform-admin") as api:
            found = list_objects(api, API_VERSION, "PipelineRun")
        return {f"{r['metadata']['namespace']}/{r['metadata']['name']}": r for r in found}


def bring_up(platform: LocalPlatform) -> str:
    platform.up()
    return f"state folder {platform.state.root}"


def run(timeout: float = 900.0, out: TextIO = sys.stdout) -> int:
    """`nidc demo`; 0 when every resource is Ready, 1 when one failed or still waits."""
    platform = LocalPlatform()
    walk = Walkthrough(platform, out)
    try:
        walk.step("the embedded platform (nidc local up)", lambda: bring_up(platform))
        env = platform.env()
        walk.step("the local stack (pulumi up -s local)", walk.stack_up)
        walk.step("the operators (nidc operator run)", walk.operator_up)
        floor: dict[str, Any] = {}

        def floor_step() -> str:
            floor.update(walk.floor_up())
            return ", ".join(
                f"{k} {v}" for k, v in floor.items() if k in ("opcua", "modbus", "mqtt", "jdbc")
            )

        walk.step("the factory floor: CNC (OPC UA), PLC (Modbus), MQTT gateway, MES", floor_step)
        walk.step(
            "the national center (a regional center's replication peer)", walk.national_center_up
        )
        docs, substitutions = localize(load_factory(), floor)
        for change in substitutions:
            walk.say(f"   {change.resource}: endpoint {change.was} -> {change.now}")
        walk.step(
            "what the tenants provide: logins in OpenBao, export files",
            lambda: "; ".join(provide_logins(env, docs, floor) + drop_files(env, docs)),
        )
        walk.step(
            f"the example factory ({len(docs)} resources, kubectl apply -f examples/demo-factory)",
            lambda: walk.apply_factory(docs),
        )
        walk.say("== waiting for Ready (kubectl get nidc -A shows the same)")
        standings = walk.watch(docs, timeout)
    except KeyboardInterrupt:
        walk.say(
            "\nstopped waiting. Everything keeps running: `nidc demo` again picks up here, "
            "`nidc local down` stops it all."
        )
        return 130
    except DemoError as error:
        walk.say(f"error: {error}")
        return 1
    objects = walk.observe(docs)
    print_summary(walk, objects, env, standings)
    return 0 if all(s.state == "ready" for s in standings) else 1


def catalog_lines(env: dict[str, Any]) -> list[str]:
    """Assets per tenant and kind as the catalog indexes them (its own view, not kubectl's)."""
    try:
        assets = CatalogClient.local(env, "platform-admin").assets()
    except CatalogClientError as error:
        return [f"the catalog did not answer: {error}"]
    counts: dict[str, int] = {}
    for asset in assets:
        key = f"{asset.get('tenant')}: {asset.get('layer') or asset.get('kind') or 'table'}"
        counts[key] = counts.get(key, 0) + 1
    return [f"{n:3d}  {key}" for key, n in sorted(counts.items())] or ["(no asset indexed yet)"]


def print_summary(
    walk: Walkthrough,
    objects: dict[str, dict[str, Any]],
    env: dict[str, Any],
    standings: list[Standing],
) -> None:
    say = walk.say
    say("\n== tables")
    for line in table_lines(objects):
        say(f"   {line}")
    say("\n== shares")
    for line in share_lines(objects) or ["(none)"]:
        say(f"   {line}")
    say("\n== catalog (bin/nidc catalog ls, as the center's operators see it)")
    for line in catalog_lines(env):
        say(f"   {line}")
    query = env["servers"]["jaeger"]["query_url"]
    say(f"\n== traces (trace backend {query})")
    for line in trace_lines(objects, walk.runs(), query) or ["(no run has a trace yet)"]:
        say(f"   {line}")
    not_ready = [s for s in standings if s.state != READY]
    if not_ready:
        say("\n== not Ready")
        for s in not_ready:
            say(f"   {s.resource}: {s.state} {s.reason}: {s.message}")
        names = [s.resource for s in not_ready]
        for line in failure_lines(names, objects, walk.runs()):
            say(f"   {line}")
        say(f"   the operator's log: {walk.state.log(OPERATOR)}")
    say("\n== next")
    say('   eval "$(bin/nidc local env)" && kubectl get nidc -A')
    say("   kubectl describe dataproduct -n steel-plant spindle-health")
    say("   bin/nidc lineage steel-plant/gold.furnace_anomalies   # upstream to the PLC")
    say("   bin/nidc catalog ls --as steel-plant-analyst   # the catalog, as a tenant sees it")
    console = (env["servers"].get("catalog-api") or {}).get("console")
    if console:
        say(f"   {console}   # the web console (docs/console.md); sign in with a token from")
        say("   kubectl create token default -n steel-plant")
    say("   bin/nidc local down      # stops the platform, the operators and the factory floor")
    if os.environ.get("NIDC_DEMO_DEBUG"):
        say(json.dumps(objects, indent=2, default=str))
