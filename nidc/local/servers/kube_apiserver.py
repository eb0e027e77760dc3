"""kube-apiserver: TLS, client-certificate identities, RBAC authorization."""

from __future__ import annotations

from typing import Any

from nidc.kube import api_client, apply
from nidc.local.identities import COMPONENT_IDENTITIES, PLATFORM_ADMINS_GROUP, user_identities
from nidc.local.kubeconfig import write_kubeconfig
from nidc.local.servers.base import LOOPBACK, Context, HealthError, Server

SERVICE_CIDR = "10.96.0.0/16"


class KubeApiserver(Server):
    """The API server every other part of the platform talks to."""

    name = "kube-apiserver"
    tool = "kubernetes"
    startup_timeout = 300.0

    def ports(self) -> list[str]:
        return ["kube-apiserver"]

    def command(self, ctx: Context) -> list[str]:
        cert = ctx.server_cert()
        etcd_client = ctx.admin_cert()
        ca = ctx.ca.ensure().cert
        service_account = ctx.ca.service_account_key()
        return [
            str(ctx.binary(self.tool, self.name)),
            f"--bind-address={LOOPBACK}",
            f"--advertise-address={LOOPBACK}",
            f"--secure-port={ctx.state.port('kube-apiserver')}",
            f"--etcd-servers={ctx.url('etcd-client')}",
            f"--etcd-cafile={ca}",
            f"--etcd-certfile={etcd_client.cert}",
            f"--etcd-keyfile={etcd_client.key}",
            f"--tls-cert-file={cert.cert}",
            f"--tls-private-key-file={cert.key}",
            f"--client-ca-file={ca}",
            "--authorization-mode=RBAC",
            "--anonymous-auth=false",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={service_account.cert}",
            f"--service-account-signing-key-file={service_account.key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            # Loopback may not be an endpoint address; nothing here routes to the
            # `kubernetes` Service anyway.
            "--endpoint-reconciler-type=none",
            "--allow-privileged=true",
            "--profiling=false",
            f"--cert-dir={ctx.state.data(self.name)}",
            "--v=1",
        ]

    def check(self, ctx: Context) -> str:
        response = ctx.get(f"{ctx.url('kube-apiserver')}/readyz", client_cert=ctx.admin_cert())
        if response.status_code != 200:
            raise HealthError(f"/readyz answered {response.status_code}: {response.text[-300:]}")
        return "readyz ok"

    def after_ready(self, ctx: Context) -> None:
        server = ctx.url("kube-apiserver")
        write_kubeconfig(ctx.state.kubeconfig, server, ctx.ca, user_identities())
        for component, identity in COMPONENT_IDENTITIES.items():
            write_kubeconfig(ctx.state.component_kubeconfig(component), server, ctx.ca, [identity])
        bind_platform_admins(ctx)

    def endpoints(self, ctx: Context) -> dict[str, Any]:
        return {"url": ctx.url("kube-apiserver"), "kubeconfig": str(ctx.state.kubeconfig)}


def bind_platform_admins(ctx: Context) -> None:
    """Bind the platform admins' group to cluster-admin (server-side apply: idempotent)."""
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {
            "name": "nidc:platform-admins",
            "labels": {"app.kubernetes.io/part-of": "nidc"},
        },
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "cluster-admin",
        },
        "subjects": [
            {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Group",
                "name": PLATFORM_ADMINS_GROUP,
            }
        ],
    }
    with api_client(ctx.state.component_kubeconfig("bootstrap")) as api:
        apply(api, binding, field_manager="nidc-local")
