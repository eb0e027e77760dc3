"""etcd: the cluster's store, TLS with client-certificate authentication."""

from __future__ import annotations

from typing import Any

from nidc.local.servers.base import LOOPBACK, Context, HealthError, Server


class Etcd(Server):
    """A single-member etcd on loopback, data kept in <state>/data/etcd."""

    name = "etcd"
    tool = "etcd"
    startup_timeout = 120.0

    def ports(self) -> list[str]:
        return ["etcd-client", "etcd-peer"]

    def command(self, ctx: Context) -> list[str]:
        cert = ctx.server_cert()
        ca = ctx.ca.ensure().cert
        client_url = ctx.url("etcd-client")
        peer_url = f"http://{LOOPBACK}:{ctx.state.port('etcd-peer')}"
        return [
            str(ctx.binary(self.tool)),
            "--name=nidc-local",
            f"--data-dir={ctx.state.data(self.name)}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=nidc-local={peer_url}",
            f"--cert-file={cert.cert}",
            f"--key-file={cert.key}",
            f"--trusted-ca-file={ca}",
            "--client-cert-auth=true",
            "--log-level=warn",
            # Small quotas and frequent compaction keep the local store lean.
            "--quota-backend-bytes=2147483648",
            "--auto-compaction-retention=1h",
        ]

    def check(self, ctx: Context) -> str:
        response = ctx.get(f"{ctx.url('etcd-client')}/health", client_cert=ctx.admin_cert())
        if response.status_code != 200 or response.json().get("health") != "true":
            raise HealthError(f"/health answered {response.status_code}: {response.text[:200]}")
        return "healthy"

    def endpoints(self, ctx: Context) -> dict[str, Any]:
        return {"url": ctx.url("etcd-client")}
