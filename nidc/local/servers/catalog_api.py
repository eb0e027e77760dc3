"""The catalog server (`python -m nidc.catalog serve`): the indexer's sweep and the read-only
HTTP JSON API over TLS, authenticated by client certificates from the platform CA or bearer
tokens (TokenReview).

It reads the resources as its own identity (user `nidc:catalog`, a client certificate; the
ClusterRole of nidc/catalog/rbac.py) and the Delta logs with the object store's root login.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from nidc.catalog.rbac import build_catalog_rbac, user_subject
from nidc.kube import api_client, apply
from nidc.local.identities import Identity
from nidc.local.kubeconfig import write_kubeconfig
from nidc.local.servers.base import Context, HealthError, Server
from nidc.local.servers.catalog_postgres import DATABASE, PASSWORD_SECRET
from nidc.local.servers.minio import ROOT_USER
from nidc.local.tools.manifest import binary_path

CATALOG_IDENTITY = Identity("catalog", "nidc:catalog", ())


class CatalogApi(Server):
    """Indexer + API of the asset catalog."""

    name = "catalog-api"
    tool = ""  # our own code: nothing to build
    startup_timeout = 180.0

    @property
    def binary_name(self) -> str:
        return Path(sys.executable).name

    def ports(self) -> list[str]:
        return ["catalog-api"]

    def kubeconfig(self, ctx: Context) -> Path:
        return ctx.state.component_kubeconfig("catalog")

    def prepare(self, ctx: Context) -> None:
        ctx.server_cert()
        write_kubeconfig(
            self.kubeconfig(ctx), ctx.url("kube-apiserver"), ctx.ca, [CATALOG_IDENTITY]
        )
        with api_client(ctx.state.component_kubeconfig("bootstrap")) as api:
            for manifest in build_catalog_rbac(user_subject(CATALOG_IDENTITY.user)):
                apply(api, manifest, field_manager="nidc-local")

    def command(self, ctx: Context) -> list[str]:
        # The state folder on the command line: `nidc local down` finds the process by it.
        return [sys.executable, "-m", "nidc.catalog", "serve", f"--state={ctx.state.root}"]

    def env(self, ctx: Context) -> dict[str, str]:
        server = ctx.server_cert()
        return {
            "KUBECONFIG": str(self.kubeconfig(ctx)),
            "NIDC_CATALOG_DB_HOST": "127.0.0.1",
            "NIDC_CATALOG_DB_PORT": str(ctx.state.port("catalog-postgres")),
            "NIDC_CATALOG_DB_NAME": DATABASE,
            "NIDC_CATALOG_DB_PASSWORD_FILE": str(ctx.state.secret(PASSWORD_SECRET)),
            "NIDC_CATALOG_LISTEN_HOST": "127.0.0.1",
            "NIDC_CATALOG_LISTEN_PORT": str(ctx.state.port("catalog-api")),
            "NIDC_CATALOG_TLS_CERT": str(server.cert),
            "NIDC_CATALOG_TLS_KEY": str(server.key),
            "NIDC_CA_FILE": str(ctx.ca.ensure().cert),
            "NIDC_S3_ENDPOINT": ctx.url("minio"),
            "NIDC_S3_ACCESS_KEY": ROOT_USER,
            "NIDC_S3_SECRET_KEY_FILE": str(ctx.state.secret("s3-root-password")),
            "NIDC_CATALOG_CENTER": "local",
            # The console (nidc/console), mounted at /console of the same server.
            "NIDC_PROMETHEUS_URL": ctx.url("prometheus"),
            "NIDC_TRACE_UI_URL": ctx.url("jaeger-query"),
        } | self.chromium()

    def chromium(self) -> dict[str, str]:
        """The DCMM page's PDF is printed by Chromium from the tool cache, when it is built."""
        chromium = binary_path("chromium")
        return {"NIDC_CONSOLE_CHROMIUM": str(chromium)} if chromium.exists() else {}

    def check(self, ctx: Context) -> str:
        response = ctx.get(f"{ctx.url('catalog-api')}/healthz")
        if response.status_code != 200:
            raise HealthError(f"/healthz answered {response.status_code}: {response.text[:200]}")
        return "indexing, API answering"

    def endpoints(self, ctx: Context) -> dict[str, Any]:
        return {
            "url": ctx.url("catalog-api"),
            "api": f"{ctx.url('catalog-api')}/api/v1",
            "console": f"{ctx.url('catalog-api')}/console/",
            "authentication": "client certificate from the platform CA, or a bearer token",
        }
