"""The embedded local platform: real servers on loopback, started, checked and stopped together.

`up` is idempotent: a server that runs and is healthy is left alone, one that died is started
again on the port it had, so clients and the kubeconfig keep working. Each server gets one
deadline (its `startup_timeout`, sized for a loaded 2-core machine) to answer, be set up and pass
its health check, and `up` says which server it is waiting for. An `up` that fails stops every
server it started itself (those it found running are left alone), so no half-started platform
stays behind. `down` stops every process whose command line mentions the state folder and waits
until no port of ours is open.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from nidc.local import process
from nidc.local.pki import CertificateAuthority
from nidc.local.servers.base import Context, HealthError, Server
from nidc.local.servers.catalog_api import CatalogApi
from nidc.local.servers.catalog_postgres import CatalogPostgres
from nidc.local.servers.etcd import Etcd
from nidc.local.servers.jaeger import Jaeger
from nidc.local.servers.kube_apiserver import KubeApiserver
from nidc.local.servers.kube_controller_manager import KubeControllerManager
from nidc.local.servers.kube_scheduler import KubeScheduler
from nidc.local.servers.kwok import Kwok
from nidc.local.servers.minio import Minio
from nidc.local.servers.openbao import OpenBao
from nidc.local.servers.prometheus import Prometheus
from nidc.local.servers.sharing import SharingServer
from nidc.local.state import PlatformState, default_state_dir, port_is_open
from nidc.local.tools.build import ensure_tools, pulumi_home
from nidc.local.tools.manifest import load_manifest, local_spark_jvm_options, spark_jars, tool_dir

LOG_TAIL_LINES = 30
# How often a long wait says it is still waiting, and for what.
PROGRESS_EVERY_SECONDS = 15.0


def all_servers() -> list[Server]:
    """Every server, in start order (each depends only on those before it)."""
    return [
        Etcd(),
        KubeApiserver(),
        KubeControllerManager(),
        KubeScheduler(),
        Kwok(),
        Minio(),
        OpenBao(),
        Jaeger(),
        Prometheus(),
        SharingServer(),
        CatalogPostgres(),
        CatalogApi(),
    ]


class PlatformError(RuntimeError):
    """A server could not be started or checked; the message names it and its log."""


@dataclass(frozen=True)
class ServerStatus:
    """One row of `nidc local status`."""

    name: str
    pid: int | None
    running: bool
    healthy: bool
    detail: str
    log: Path


def wait_for(
    check: Callable[[], str],
    deadline: float,
    alive: Callable[[], bool],
    progress: Callable[[str], None] = lambda last: None,
    progress_every: float = PROGRESS_EVERY_SECONDS,
) -> str:
    """Poll `check` until it passes, until the monotonic `deadline`; stop early when the process
    died; call `progress` with the last answer every `progress_every` seconds."""
    started = time.monotonic()
    next_progress = started + progress_every
    last = "no answer yet"
    while True:
        try:
            return check()
        except HealthError as error:
            last = str(error)
        if not alive():
            raise HealthError(f"the process exited ({last})")
        now = time.monotonic()
        if now > deadline:
            raise HealthError(f"not healthy within {now - started:.0f}s: {last}")
        if now >= next_progress:
            progress(last)
            next_progress = now + progress_every
        time.sleep(0.3)


class LocalPlatform:
    """Start, check, describe and stop the servers of one state folder."""

    def __init__(self, state_dir: Path | None = None, out: TextIO = sys.stderr) -> None:
        self.state = PlatformState(state_dir or default_state_dir())
        self.ca = CertificateAuthority(self.state.pki)
        self.ctx = Context(self.state, self.ca)
        self.servers = all_servers()
        self.out = out
        # Processes this invocation started: polled directly, since right after fork a child's
        # /proc entry still shows our own command line.
        self._children: dict[str, subprocess.Popen[bytes]] = {}

    # ---- up -------------------------------------------------------------------------------
    def up(self) -> None:
        """Start whatever is not running and healthy; reuse what is."""
        # A server of our own code (the sharing server, the catalog API) needs no tool.
        ensure_tools(sorted({s.tool for s in self.servers if s.tool}), out=self.out)
        self.state.ensure_dirs()
        self.ca.ensure()
        for server in self.servers:
            for port in server.ports():
                self.state.port(port)
        try:
            for server in self.servers:
                started = time.monotonic()
                detail = self._ensure_running(server)
                elapsed = time.monotonic() - started
                print(f"  {server.name:<24} {detail} ({elapsed:.1f}s)", file=self.out, flush=True)
            self._record_endpoints()
        except BaseException:
            self._stop_started()
            raise

    def _stop_started(self) -> None:
        """After a failed `up`: stop, newest first, every server this invocation started."""
        started = [name for name, child in self._children.items() if child.poll() is None]
        if started:
            print(f"  up failed: stopping {', '.join(started)}", file=self.out, flush=True)
        for name, child in reversed(list(self._children.items())):
            process.stop(child.pid)
            child.wait()
            if process.read_pid(self.state.pidfile(name)) == child.pid:
                self.state.pidfile(name).unlink(missing_ok=True)
        self._children.clear()

    def _pid(self, server: Server) -> int | None:
        return process.read_pid(self.state.pidfile(server.name))

    def _alive(self, server: Server) -> bool:
        child = self._children.get(server.name)
        if child is not None and child.pid == self._pid(server):
            return child.poll() is None
        return process.is_running(self._pid(server), server.binary_name)

    def _ensure_running(self, server: Server) -> str:
        if self._alive(server):
            try:
                return "running, " + server.check(self.ctx)
            except HealthError:
                # Running but not healthy (an OpenBao that restarted sealed, say): redo setup.
                return self._settle(server)
        busy = [p for p in server.ports() if port_is_open(self.state.port(p))]
        if busy:
            ports = ", ".join(f"{p}={self.state.port(p)}" for p in busy)
            raise PlatformError(
                f"{server.name}: port(s) {ports} are taken by another process; "
                f"run `nidc local down` or free them"
            )
        server.prepare(self.ctx)
        self._children[server.name] = process.start_detached(
            server.command(self.ctx),
            server.env(self.ctx),
            self.state.log(server.name),
            self.state.pidfile(server.name),
            cwd=server.work_dir(self.ctx),
            user=server.os_user(self.ctx),
        )
        return "started, " + self._settle(server)

    def _settle(self, server: Server) -> str:
        """Wait until the server answers, run its setup, wait until it is healthy: one deadline."""
        started = time.monotonic()
        deadline = started + server.startup_timeout
        print(
            f"  {server.name:<24} waiting (up to {server.startup_timeout:.0f}s)",
            file=self.out,
            flush=True,
        )

        def progress(last: str) -> None:
            waited = time.monotonic() - started
            print(
                f"  {server.name:<24} still waiting after {waited:.0f}s: {last}",
                file=self.out,
                flush=True,
            )

        def alive() -> bool:
            return self._alive(server)

        try:
            wait_for(lambda: server.check_started(self.ctx), deadline, alive, progress)
            server.after_ready(self.ctx)
            return wait_for(lambda: server.check(self.ctx), deadline, alive, progress)
        except Exception as error:
            raise PlatformError(self._failure(server, error)) from error

    def _failure(self, server: Server, error: BaseException) -> str:
        log = self.state.log(server.name)
        tail = ""
        if log.exists():
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:])
        return (
            f"{server.name} failed: {error}\nlog: {log}\n"
            f"--- last {LOG_TAIL_LINES} lines of the log ---\n{tail}"
        )

    def _record_endpoints(self) -> None:
        data = self.state.read_endpoints()
        data["state_dir"] = str(self.state.root)
        data["ca_file"] = str(self.ca.ensure().cert)
        data["servers"] = {s.name: s.endpoints(self.ctx) for s in self.servers}
        self.state.write_endpoints(data)

    # ---- status ---------------------------------------------------------------------------
    def status(self) -> list[ServerStatus]:
        """Each server: pid, whether it runs, whether its health check passes."""
        rows = []
        for server in self.servers:
            pid = self._pid(server)
            running = self._alive(server)
            healthy, detail = False, "not running"
            if running:
                try:
                    detail, healthy = server.check(self.ctx), True
                except HealthError as error:
                    detail = f"unhealthy: {error}"
            elif pid is not None:
                detail = f"died (pid {pid} is gone)"
            rows.append(
                ServerStatus(
                    server.name, pid, running, healthy, detail, self.state.log(server.name)
                )
            )
        return rows

    # ---- down -----------------------------------------------------------------------------
    def down(self, timeout: float = 20.0) -> None:
        """Stop every server of this platform and wait until none of its ports is open."""
        # First what runs on the platform and was started from this state folder (the demo's
        # operator and factory floor), then the servers.
        servers = {server.name for server in self.servers}
        for pidfile in sorted(self.state.root.glob("pids/*.pid")):
            if pidfile.stem in servers:
                continue
            pid = process.read_pid(pidfile)
            ours = process.is_running(pid, sys.executable) or any(
                str(self.state.root) in arg for arg in process.cmdline(pid or 0)
            )
            if ours and pid is not None:
                process.stop(pid)
            pidfile.unlink(missing_ok=True)
        for server in reversed(self.servers):
            pid = self._pid(server)
            if self._alive(server) and pid is not None:
                process.stop(pid)
            self.state.pidfile(server.name).unlink(missing_ok=True)
        # Anything else still naming our state folder (a server whose pid file was lost).
        for pid in process.processes_mentioning(str(self.state.root)):
            process.stop(pid)
        ports = self.state.read_endpoints().get("ports", {})
        deadline = time.monotonic() + timeout
        while True:
            still_open = [name for name, port in ports.items() if port_is_open(port)]
            if not still_open:
                return
            if time.monotonic() > deadline:
                raise PlatformError(f"ports still open after down: {still_open}")
            time.sleep(0.2)

    # ---- env ------------------------------------------------------------------------------
    def env(self) -> dict[str, Any]:
        """Endpoints and file paths a client needs (secrets only as file paths)."""
        data = self.state.read_endpoints()
        if "servers" not in data:
            raise PlatformError(f"no platform in {self.state.root}: run `nidc local up` first")
        manifest = load_manifest()
        data["kubeconfig"] = str(self.state.kubeconfig)
        data["tool_bins"] = sorted(
            {str(tool_dir(t) / "bin") for t in manifest.values() if t.binaries}
        )
        data["pulumi_home"] = str(pulumi_home())
        data["spark_jars"] = [str(p) for p in spark_jars()]
        data["spark_jvm_options"] = local_spark_jvm_options()
        return data


def shell_exports(env: dict[str, Any]) -> str:
    """`nidc local env` as shell exports; secrets are read from their 0600 files, not printed."""
    servers = env["servers"]
    s3, bao, jaeger = servers["minio"], servers["openbao"], servers["jaeger"]
    lines = {
        "NIDC_STATE_DIR": env["state_dir"],
        "KUBECONFIG": env["kubeconfig"],
        "NIDC_CA_FILE": env["ca_file"],
        "NIDC_S3_ENDPOINT": s3["url"],
        "AWS_ACCESS_KEY_ID": s3["access_key"],
        "AWS_SECRET_ACCESS_KEY": f'$(cat "{s3["secret_key_file"]}")',
        "AWS_REGION": s3["region"],
        "AWS_CA_BUNDLE": env["ca_file"],
        "BAO_ADDR": bao["url"],
        "BAO_CACERT": env["ca_file"],
        "VAULT_ADDR": bao["url"],
        "VAULT_CACERT": env["ca_file"],
        "VAULT_TOKEN": f'$(cat "{bao["root_token_file"]}")',
        "OTEL_EXPORTER_OTLP_ENDPOINT": jaeger["otlp_grpc"],
        "OTEL_EXPORTER_OTLP_CERTIFICATE": env["ca_file"],
        "NIDC_TRACES_QUERY_URL": jaeger["query_url"],
        "NIDC_PROMETHEUS_URL": servers.get("prometheus", {}).get("url", ""),
        "NIDC_SHARING_ENDPOINT": servers.get("sharing", {}).get("url", ""),
        "NIDC_CATALOG_URL": servers.get("catalog-api", {}).get("url", ""),
        "NIDC_CONSOLE_URL": servers.get("catalog-api", {}).get("console", ""),
        "PULUMI_HOME": env["pulumi_home"],
        "PATH": ":".join(env["tool_bins"]) + ":$PATH",
    }
    return "\n".join(f'export {key}="{value}"' for key, value in lines.items())
