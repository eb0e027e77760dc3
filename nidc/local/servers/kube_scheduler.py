"""kube-scheduler: binds pods to the kwok nodes, honouring GPU requests and taints."""

from __future__ import annotations

from nidc.local.servers.base import LOOPBACK, Context, HealthError, Server


class KubeScheduler(Server):
    """The stock scheduler."""

    name = "kube-scheduler"
    tool = "kubernetes"

    def ports(self) -> list[str]:
        return ["kube-scheduler"]

    def command(self, ctx: Context) -> list[str]:
        kubeconfig = ctx.state.component_kubeconfig(self.name)
        cert = ctx.server_cert()
        return [
            str(ctx.binary(self.tool, self.name)),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            f"--bind-address={LOOPBACK}",
            f"--secure-port={ctx.state.port(self.name)}",
            f"--tls-cert-file={cert.cert}",
            f"--tls-private-key-file={cert.key}",
            "--leader-elect=false",
            # Binding a burst of driver pods: the default 50 requests/s is a small cluster's.
            "--kube-api-qps=200",
            "--kube-api-burst=400",
            "--v=1",
        ]

    def check(self, ctx: Context) -> str:
        response = ctx.get(f"{ctx.url(self.name)}/healthz")
        if response.status_code != 200:
            raise HealthError(f"/healthz answered {response.status_code}: {response.text[-300:]}")
        return "healthz ok"
