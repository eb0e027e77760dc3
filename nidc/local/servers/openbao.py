"""OpenBao: initialized and unsealed on persistent raft storage (not dev mode), TLS."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import requests

from nidc.kube import api_client, apply, service_account_token
from nidc.local.servers.base import LOOPBACK, Context, HealthError, Server

PLATFORM_NAMESPACE = "nidc-system"
REVIEWER = "openbao-token-reviewer"


def build_token_reviewer() -> list[dict[str, Any]]:
    """The platform namespace and the service account OpenBao reviews tokens as."""
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": PLATFORM_NAMESPACE,
                "labels": {"app.kubernetes.io/part-of": "nidc", "nidc.io/platform": "true"},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": REVIEWER, "namespace": PLATFORM_NAMESPACE},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"nidc:{REVIEWER}"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "system:auth-delegator",
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": REVIEWER, "namespace": PLATFORM_NAMESPACE}
            ],
        },
    ]


HCL_TEMPLATE = """\
storage "raft" {{
  path    = "{data}"
  node_id = "nidc-local"
}}

listener "tcp" {{
  address         = "{address}"
  cluster_address = "{cluster_address}"
  tls_cert_file   = "{cert}"
  tls_key_file    = "{key}"
}}

api_addr      = "https://{address}"
cluster_addr  = "https://{cluster_address}"
disable_mlock = true
ui            = false
log_level     = "warn"

audit "file" "file" {{
  options {{
    file_path = "{audit_log}"
  }}
}}
"""

# Secrets engines every platform has: kv (credentials), transit (data keys for column encryption
# and the audit trail's signing key; keys never leave OpenBao).
ENGINES: dict[str, dict[str, Any]] = {
    "secret": {"type": "kv", "options": {"version": "2"}},
    "transit": {"type": "transit"},
}

# (connect, read) seconds for setup calls. `sys/init` answers only after raft's first election
# and the barrier's set-up: that once took over 10 s on a loaded 2-core machine, and a client
# that gives up then cannot retry (the keys of an init it did not hear are lost).
SETUP_CALL_TIMEOUT = (5.0, 120.0)


class OpenBao(Server):
    """The secrets store: root token and unseal key live in <state>/secrets, mode 0600."""

    name = "openbao"
    tool = "openbao"
    startup_timeout = 300.0

    @property
    def binary_name(self) -> str:
        return "bao"

    def ports(self) -> list[str]:
        return ["openbao", "openbao-cluster"]

    def config_path(self, ctx: Context) -> Any:
        return ctx.state.root / "data" / "openbao.hcl"

    def prepare(self, ctx: Context) -> None:
        cert = ctx.server_cert()
        self.config_path(ctx).write_text(
            HCL_TEMPLATE.format(
                data=ctx.state.data(self.name),
                address=f"{LOOPBACK}:{ctx.state.port('openbao')}",
                cluster_address=f"{LOOPBACK}:{ctx.state.port('openbao-cluster')}",
                audit_log=self.audit_log_path(ctx),
                cert=cert.cert,
                key=cert.key,
            )
        )

    def command(self, ctx: Context) -> list[str]:
        return [str(ctx.binary(self.tool, "bao")), "server", f"-config={self.config_path(ctx)}"]

    def _call(
        self,
        ctx: Context,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        token: bool = False,
    ) -> requests.Response:
        headers = {"X-Vault-Token": ctx.state.read_secret("openbao-root-token")} if token else {}
        return requests.request(
            method,
            f"{ctx.url('openbao')}{path}",
            json=body,
            headers=headers,
            verify=str(ctx.ca.ensure().cert),
            timeout=SETUP_CALL_TIMEOUT,
        )

    def check_started(self, ctx: Context) -> str:
        # Before init/unseal the health endpoint answers 501/503: the server is up all the same.
        response = ctx.get(f"{ctx.url('openbao')}/v1/sys/health")
        return f"answering ({response.status_code})"

    def check(self, ctx: Context) -> str:
        response = ctx.get(f"{ctx.url('openbao')}/v1/sys/health")
        if response.status_code != 200:
            states = {501: "not initialized", 503: "sealed", 429: "standby"}
            raise HealthError(states.get(response.status_code, f"answered {response.status_code}"))
        return "initialized, unsealed, active"

    def after_ready(self, ctx: Context) -> None:
        if not self._call(ctx, "GET", "/v1/sys/init").json()["initialized"]:
            init = self._call(
                ctx, "PUT", "/v1/sys/init", {"secret_shares": 1, "secret_threshold": 1}
            )
            init.raise_for_status()
            keys = init.json()
            ctx.state.write_secret("openbao-unseal-key", keys["keys_base64"][0])
            ctx.state.write_secret("openbao-root-token", keys["root_token"])
        if self._call(ctx, "GET", "/v1/sys/seal-status").json()["sealed"]:
            unseal = self._call(
                ctx, "PUT", "/v1/sys/unseal", {"key": ctx.state.read_secret("openbao-unseal-key")}
            )
            unseal.raise_for_status()
        self._wait_active(ctx)
        self._configure_kubernetes_auth(ctx)
        mounts = self._call(ctx, "GET", "/v1/sys/mounts", token=True)
        mounts.raise_for_status()
        for path, engine in ENGINES.items():
            if f"{path}/" not in mounts.json()["data"]:
                self._call(
                    ctx, "POST", f"/v1/sys/mounts/{path}", engine, token=True
                ).raise_for_status()

    def audit_log_path(self, ctx: Context) -> Path:
        """OpenBao's own audit log: every request, secret values HMAC-ed by OpenBao.

        Our hash-chained trail (nidc/audit) records decisions; this one records every call to
        the secrets store. OpenBao 2 declares audit devices in its configuration only.
        """
        return ctx.state.log("openbao-audit")

    def _configure_kubernetes_auth(self, ctx: Context) -> None:
        """Let pods log in with their service-account tokens (the `kubernetes` auth method).

        OpenBao checks each login token with a TokenReview, as the `openbao-token-reviewer`
        service account (bound to system:auth-delegator) of the platform namespace.
        """
        with api_client(ctx.state.component_kubeconfig("bootstrap")) as api:
            for manifest in build_token_reviewer():
                apply(api, manifest, field_manager="nidc-local")
            reviewer_jwt = service_account_token(
                api, PLATFORM_NAMESPACE, REVIEWER, seconds=365 * 24 * 3600
            )
        auths = self._call(ctx, "GET", "/v1/sys/auth", token=True).json()["data"]
        if "kubernetes/" not in auths:
            self._call(
                ctx, "POST", "/v1/sys/auth/kubernetes", {"type": "kubernetes"}, token=True
            ).raise_for_status()
        self._call(
            ctx,
            "POST",
            "/v1/auth/kubernetes/config",
            {
                "kubernetes_host": ctx.url("kube-apiserver"),
                "kubernetes_ca_cert": ctx.ca.ensure().cert.read_text(),
                "token_reviewer_jwt": reviewer_jwt,
                "disable_local_ca_jwt": True,
            },
            token=True,
        ).raise_for_status()

    def _wait_active(self, ctx: Context) -> None:
        """Raft elects the single node leader a moment after unseal (longer under load)."""
        deadline = time.monotonic() + self.startup_timeout
        while True:
            try:
                self.check(ctx)
                return
            except HealthError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def endpoints(self, ctx: Context) -> dict[str, Any]:
        return {
            "url": ctx.url("openbao"),
            "root_token_file": str(ctx.state.secret("openbao-root-token")),
            "unseal_key_file": str(ctx.state.secret("openbao-unseal-key")),
            "kv_mount": "secret",
            "transit_mount": "transit",
            "audit_log": str(self.audit_log_path(ctx)),
        }
