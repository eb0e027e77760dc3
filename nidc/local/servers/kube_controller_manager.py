"""kube-controller-manager: garbage collection, namespace lifecycle, quotas, tokens, Deployments,
and the platform's volume provisioner (host paths under /tmp, through the `nidc-local` class)."""

from __future__ import annotations

from typing import Any

from nidc.kube import api_client, apply
from nidc.local.servers.base import LOOPBACK, Context, HealthError, Server

STORAGE_CLASS = "nidc-local"
# The in-tree host-path provisioner of kube-controller-manager: it makes /tmp/hostpath_pv/<uid>
# for each claim and removes it when the claim goes (reclaim policy Delete). No kubelet is needed,
# so claims bind under kwok as they would on a cluster with a CSI driver.
HOSTPATH_PROVISIONER = "kubernetes.io/host-path"


def build_storage_class() -> dict[str, Any]:
    """The platform's default StorageClass: claims bind at once and their volumes go with them."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": STORAGE_CLASS,
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
            "labels": {"app.kubernetes.io/part-of": "nidc"},
        },
        "provisioner": HOSTPATH_PROVISIONER,
        "reclaimPolicy": "Delete",
        # Immediate: kwok's nodes have no topology a host path could be pinned to.
        "volumeBindingMode": "Immediate",
    }


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
            # Dynamic volumes for PersistentVolumeClaims (see build_storage_class).
            "--enable-hostpath-provisioner=true",
            # Client rate and Job workers sized for a thousand runs at once, as a cluster of that
            # size would set them: at the defaults (20 requests/s per controller, 5 Job workers)
            # the Job controller alone queues a burst of driver Jobs for minutes.
            "--kube-api-qps=200",
            "--kube-api-burst=400",
            "--concurrent-job-syncs=20",
            "--v=1",
        ]

    def after_ready(self, ctx: Context) -> None:
        with api_client(ctx.state.component_kubeconfig("bootstrap")) as api:
            apply(api, build_storage_class(), field_manager="nidc-local")

    def check(self, ctx: Context) -> str:
        response = ctx.get(f"{ctx.url(self.name)}/healthz")
        if response.status_code != 200:
            raise HealthError(f"/healthz answered {response.status_code}: {response.text[-300:]}")
        return "healthz ok"
