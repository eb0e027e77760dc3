"""What every local server is: how to prepare, start and check it, and what it offers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from nidc.local.pki import CertificateAuthority, CertPair
from nidc.local.state import PlatformState
from nidc.local.tools.manifest import binary_path

LOOPBACK = "127.0.0.1"


class HealthError(RuntimeError):
    """A server is not (yet) healthy; the message says what was seen."""


@dataclass(frozen=True)
class Context:
    """What a server needs to know about the platform it belongs to."""

    state: PlatformState
    ca: CertificateAuthority

    def binary(self, tool: str, name: str | None = None) -> Path:
        """A built binary from the tool cache."""
        return binary_path(tool, name)

    def server_cert(self) -> CertPair:
        """The serving certificate every server uses (127.0.0.1, localhost, kubernetes...)."""
        return self.ca.issue("server", "nidc-local-server", server=True)

    def admin_cert(self) -> CertPair:
        """The platform's own bootstrap identity (system:masters) for health checks and setup."""
        return self.ca.issue("client-bootstrap", "nidc:bootstrap", ("system:masters",), client=True)

    def url(self, port_name: str, scheme: str = "https") -> str:
        return f"{scheme}://{LOOPBACK}:{self.state.port(port_name)}"

    def get(
        self, url: str, client_cert: CertPair | None = None, timeout: float = 3.0
    ) -> requests.Response:
        """GET over TLS trusting the platform CA, optionally with a client certificate."""
        cert = (str(client_cert.cert), str(client_cert.key)) if client_cert else None
        try:
            return requests.get(url, verify=str(self.ca.ensure().cert), cert=cert, timeout=timeout)
        except requests.RequestException as error:
            raise HealthError(f"{url}: {error.__class__.__name__}") from error


class Server(ABC):
    """One real server process of the platform."""

    name: str
    tool: str
    # Seconds from start to healthy (answering, set up, checked), one deadline for all three.
    # Sized for a 2-core machine at load 15-30, where a first start takes several times what it
    # takes on an idle one (docs/local-platform.md).
    startup_timeout: float = 180.0

    @property
    def binary_name(self) -> str:
        return self.name

    def prepare(self, ctx: Context) -> None:
        """Write config files and certificates before the first start (idempotent)."""

    @abstractmethod
    def command(self, ctx: Context) -> list[str]:
        """The full command line, binary first."""

    def env(self, ctx: Context) -> dict[str, str]:
        """Extra environment for the process."""
        return {}

    def os_user(self, ctx: Context) -> str | None:
        """The account the process runs as (None: ours)."""
        return None

    def work_dir(self, ctx: Context) -> Path:
        """The process's working directory (one its account may enter)."""
        return ctx.state.root

    @abstractmethod
    def check(self, ctx: Context) -> str:
        """Raise HealthError unless the server is healthy; return a one-line summary."""

    def check_started(self, ctx: Context) -> str:
        """Raise HealthError until the process answers at all (before `after_ready`)."""
        return self.check(ctx)

    def after_ready(self, ctx: Context) -> None:
        """One-time or every-start setup once the server answers (idempotent)."""

    @abstractmethod
    def ports(self) -> list[str]:
        """Names of the ports this server listens on (recorded in endpoints.json)."""

    def endpoints(self, ctx: Context) -> dict[str, Any]:
        """What clients need to reach it, recorded in endpoints.json."""
        return {}
