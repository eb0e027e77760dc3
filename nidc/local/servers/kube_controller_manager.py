"""kube-controller-manager: garbage collection, namespace lifecycle, quotas, tokens, Deployments."""

from __future__ import annotations

from nidc.local.servers.base import LOOPBACK, Context, HealthError, Server


class KubeControllerManager(Server):
    """The stock controllers, so workloads behave as on a real cluster."""

    name = "kube-controller-manager"
    tool = "kubernetes"

    def ports(self) -> list[str]:
        return ["kube-controller-manager"]

    def command(self, ctx: Context) -> list[str]:
        kubeconfig = ctx.state.component_kubeconfig(self.name)
        cert = ctx.server_cert()
        ca = ctx.ca.ensure()
        service_account = ctx.ca.service_account_key()
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
            # Each controller acts as its own service account, as on a production cluster.
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={service_account.key}",
            f"--root-ca-file={ca.cert}",
            f"--cluster-signing-cert-file={ca.cert}",
            f"--cluster-signing-key-file={ca.key}",
            "--controllers=*",
            "--v=1",
        ]

    def check(self, ctx: Context) -> str:
        response = ctx.get(f"{ctx.url(self.name)}/healthz")
        if response.status_code != 200:
            raise HealthError(f"/healthz answered {response.status_code}: {response.text[-300:]}")
        return "healthz ok"
