"""Our Delta Sharing server (nidc/sharing) on loopback, TLS, with identities of its own.

Before it starts, `prepare` gives it three read-only identities, made with the platform's admin
logins (and made again at every start, so a rotated secret never lingers):
- Kubernetes: a client certificate for `nidc:sharing-server`, bound to a ClusterRole that can
  only get/list/watch DataShares;
- OpenBao: a token whose only policy reads `secret/data/sharing/tokens/*` (the token records);
- S3: a MinIO user whose only policy reads the governed copies and silver/gold tables of the
  tenant buckets, which is what the pre-signed URLs it hands out can reach.
The OpenBao and S3 policies are policies/identities/nidc-sharing-server.yaml, the document the
stacks provision on a cluster too (nidc/service_identity.py).
"""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path
from typing import Any

import requests
import urllib3
from minio.credentials.providers import StaticProvider
from minio.minioadmin import MinioAdmin

from nidc.kube import api_client, apply
from nidc.local.identities import Identity
from nidc.local.kubeconfig import write_kubeconfig
from nidc.local.servers.base import LOOPBACK, Context, HealthError, Server
from nidc.local.servers.minio import ROOT_USER
from nidc.service_identity import SHARING_SERVER, service_identity

USER = "nidc:sharing-server"
NAME = SHARING_SERVER
S3_USER = NAME
S3_SECRET = "sharing-s3-secret-key"  # noqa: S105 (file names, not secrets)
BAO_TOKEN = "sharing-openbao-token"  # noqa: S105
PREFIX = "/delta-sharing"


def build_kube_access() -> list[dict[str, Any]]:
    """The ClusterRole (read DataShares, nothing else) and its binding to the server's user."""
    return [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": USER},
            "rules": [
                {
                    "apiGroups": ["nidc.io"],
                    "resources": ["datashares"],
                    "verbs": ["get", "list", "watch"],
                }
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": USER},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": USER,
            },
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": USER}],
        },
    ]


class SharingServer(Server):
    """`python -m nidc.sharing` with its settings in the environment."""

    name = "sharing"
    tool = ""  # ours: nothing to build

    @property
    def binary_name(self) -> str:
        return Path(sys.executable).name

    def ports(self) -> list[str]:
        return ["sharing"]

    def kubeconfig(self, ctx: Context) -> Path:
        return ctx.state.component_kubeconfig("sharing-server")

    def prepare(self, ctx: Context) -> None:
        write_kubeconfig(
            self.kubeconfig(ctx), ctx.url("kube-apiserver"), ctx.ca, [Identity(NAME, USER, ())]
        )
        with api_client(ctx.state.component_kubeconfig("bootstrap")) as api:
            for manifest in build_kube_access():
                apply(api, manifest, field_manager="nidc-local")
        self._openbao_identity(ctx)
        self._s3_identity(ctx)

    def _openbao_identity(self, ctx: Context) -> None:
        root = ctx.state.read_secret("openbao-root-token")
        ca = str(ctx.ca.ensure().cert)

        def call(method: str, path: str, body: dict[str, Any]) -> requests.Response:
            response = requests.request(
                method,
                f"{ctx.url('openbao')}/v1/{path}",
                json=body,
                headers={"X-Vault-Token": root},
                verify=ca,
                timeout=30,
            )
            response.raise_for_status()
            return response

        access = service_identity(NAME).openbao
        assert access is not None
        call("PUT", f"sys/policies/acl/{NAME}", {"policy": access.policy})
        created = call(
            "POST",
            "auth/token/create-orphan",
            {
                "policies": [NAME],
                "no_default_policy": True,
                "ttl": "768h",
                "display_name": NAME,
            },
        )
        ctx.state.write_secret(BAO_TOKEN, created.json()["auth"]["client_token"])

    def _s3_identity(self, ctx: Context) -> None:
        http = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=str(ctx.ca.ensure().cert))
        admin = MinioAdmin(
            endpoint=f"{LOOPBACK}:{ctx.state.port('minio')}",
            credentials=StaticProvider(ROOT_USER, ctx.state.read_secret("s3-root-password")),
            region="us-east-1",
            secure=True,
            http_client=http,
        )
        access = service_identity(NAME).s3
        assert access is not None
        admin.policy_add(NAME, policy=access.policy)
        ctx.state.write_secret(S3_SECRET, secrets.token_urlsafe(32))
        admin.user_add(S3_USER, ctx.state.read_secret(S3_SECRET))
        admin.policy_set(NAME, user=S3_USER)

    def command(self, ctx: Context) -> list[str]:
        # The state folder on the command line: `nidc local down` finds it by that.
        return [sys.executable, "-m", "nidc.sharing", f"--state={ctx.state.root}"]

    def env(self, ctx: Context) -> dict[str, str]:
        cert = ctx.server_cert()
        return {
            "KUBECONFIG": str(self.kubeconfig(ctx)),
            "NIDC_SHARING_HOST": LOOPBACK,
            "NIDC_SHARING_PORT": str(ctx.state.port("sharing")),
            "NIDC_SHARING_PREFIX": PREFIX,
            "NIDC_SHARING_TLS_CERT": str(cert.cert),
            "NIDC_SHARING_TLS_KEY": str(cert.key),
            "NIDC_CA_FILE": str(ctx.ca.ensure().cert),
            "NIDC_OPENBAO_URL": ctx.url("openbao"),
            "NIDC_OPENBAO_TOKEN_FILE": str(ctx.state.secret(BAO_TOKEN)),
            "NIDC_S3_ENDPOINT": ctx.url("minio"),
            "NIDC_S3_ACCESS_KEY": S3_USER,
            "NIDC_S3_SECRET_KEY_FILE": str(ctx.state.secret(S3_SECRET)),
            "NIDC_S3_REGION": "us-east-1",
        }

    def check(self, ctx: Context) -> str:
        response = ctx.get(f"{ctx.url('sharing')}{PREFIX}/shares")
        try:
            code = response.json().get("errorCode")
        except json.JSONDecodeError:
            code = None
        if response.status_code != 401 or code != "UNAUTHENTICATED":
            raise HealthError(f"{PREFIX}/shares without a token answered {response.status_code}")
        return "refuses anonymous requests"

    def endpoints(self, ctx: Context) -> dict[str, Any]:
        return {"url": f"{ctx.url('sharing')}{PREFIX}"}
