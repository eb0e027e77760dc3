"""The state folder of the embedded platform: kubeconfig, endpoints.json, logs, pids and data.

Layout (default ~/.local/state/nidc/platform, or $NIDC_STATE_DIR):

    pki/              CA, server and client certificates (keys 0600)
    kubeconfig        contexts for the platform admin and each example tenant's admin/analyst
    kubeconfigs/      one kubeconfig per control-plane component
    endpoints.json    ports and URLs of every server (kept across restarts)
    logs/<server>.log one log per server
    pids/<server>.pid one pid file per running server
    data/<server>/    persistent data (etcd, MinIO, OpenBao raft)
    secrets/          OpenBao root token and unseal key, S3 root credentials (0600)
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nidc.local.pki import write_private
from nidc.local.ports import free_port


def default_state_dir() -> Path:
    """$NIDC_STATE_DIR, or ~/.local/state/nidc/platform."""
    configured = os.environ.get("NIDC_STATE_DIR")
    return (
        Path(configured) if configured else Path.home() / ".local" / "state" / "nidc" / "platform"
    )


def port_is_open(port: int, timeout: float = 0.3) -> bool:
    """True when something accepts TCP connections on 127.0.0.1:port."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class PlatformState:
    """Paths inside one platform's state folder, and its recorded ports and endpoints."""

    root: Path

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def endpoints_file(self) -> Path:
        return self.root / "endpoints.json"

    def log(self, server: str) -> Path:
        return self.root / "logs" / f"{server}.log"

    def pidfile(self, server: str) -> Path:
        return self.root / "pids" / f"{server}.pid"

    def data(self, server: str) -> Path:
        path = self.root / "data" / server
        path.mkdir(parents=True, exist_ok=True)
        return path

    def secret(self, name: str) -> Path:
        return self.root / "secrets" / name

    def component_kubeconfig(self, component: str) -> Path:
        return self.root / "kubeconfigs" / f"{component}.yaml"

    def ensure_dirs(self) -> None:
        """Create the folders; the whole state folder is private to its owner."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)
        for sub in ("pki", "logs", "pids", "data", "secrets", "kubeconfigs"):
            (self.root / sub).mkdir(exist_ok=True)

    def read_endpoints(self) -> dict[str, Any]:
        """endpoints.json as a dict ({} before the first `up`)."""
        if not self.endpoints_file.exists():
            return {}
        data: dict[str, Any] = json.loads(self.endpoints_file.read_text())
        return data

    def write_endpoints(self, data: dict[str, Any]) -> None:
        """Replace endpoints.json atomically."""
        tmp = self.endpoints_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        tmp.replace(self.endpoints_file)

    def port(self, name: str) -> int:
        """The port recorded under `name`, allocated on first use and kept afterwards.

        Ports are kept so that a server restarted by `up` comes back where the kubeconfig and
        every client already point.
        """
        data = self.read_endpoints()
        ports: dict[str, int] = data.setdefault("ports", {})
        if name not in ports:
            taken = set(ports.values())
            port = free_port()
            while port in taken:
                port = free_port()
            ports[name] = port
            self.write_endpoints(data)
        return ports[name]

    def read_secret(self, name: str) -> str:
        """A secret file's content (root token, unseal key, S3 password)."""
        return self.secret(name).read_text().strip()

    def write_secret(self, name: str, value: str) -> None:
        """Store a secret 0600 in secrets/."""
        write_private(self.secret(name), value.encode() + b"\n")
