"""The sharing server process: settings from the environment, the aiohttp app, TLS.

`python -m nidc.sharing` runs it. Its identities are its own and read-only: a Kubernetes
identity that can only read DataShares (KUBECONFIG, or the pod's service account), an OpenBao
token whose policy reads only `secret/data/sharing/tokens/*` (a token file, or a Kubernetes
auth login), and an S3 login that can only read tenant buckets, used to sign URLs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import urllib3
from aiohttp import web
from minio import Minio

from nidc.sharing.presign import DEFAULT_URL_SECONDS, Presigner
from nidc.sharing.registry import ShareRegistry, kube_share_reader
from nidc.sharing.routes import SharingService, build_routes, protocol_errors
from nidc.sharing.table_store import TableStore
from nidc.sharing.tokens import OpenBaoRecords, TokenAuthority

SERVICE_ACCOUNT_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


@dataclass(frozen=True)
class SharingSettings:
    """Everything the server reads from its environment (secrets only as file paths)."""

    host: str
    port: int
    prefix: str
    tls_cert: Path | None
    tls_key: Path | None
    ca_file: Path | None
    openbao_url: str
    openbao_token_file: Path | None
    openbao_role: str | None
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key_file: Path
    s3_region: str
    url_seconds: int

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> SharingSettings:
        e = dict(os.environ if env is None else env)

        def path(name: str) -> Path | None:
            return Path(e[name]) if e.get(name) else None

        return cls(
            host=e.get("NIDC_SHARING_HOST", "127.0.0.1"),
            port=int(e.get("NIDC_SHARING_PORT", "8443")),
            prefix=e.get("NIDC_SHARING_PREFIX", "/delta-sharing"),
            tls_cert=path("NIDC_SHARING_TLS_CERT"),
            tls_key=path("NIDC_SHARING_TLS_KEY"),
            ca_file=path("NIDC_CA_FILE"),
            openbao_url=e["NIDC_OPENBAO_URL"],
            openbao_token_file=path("NIDC_OPENBAO_TOKEN_FILE"),
            openbao_role=e.get("NIDC_OPENBAO_ROLE") or None,
            s3_endpoint=e["NIDC_S3_ENDPOINT"],
            s3_access_key=e["NIDC_S3_ACCESS_KEY"],
            s3_secret_key_file=Path(e["NIDC_S3_SECRET_KEY_FILE"]),
            s3_region=e.get("NIDC_S3_REGION", "us-east-1"),
            url_seconds=int(e.get("NIDC_SHARING_URL_SECONDS", str(DEFAULT_URL_SECONDS))),
        )


def s3_client(settings: SharingSettings) -> Minio:
    endpoint = settings.s3_endpoint.split("://", 1)[1]
    http = urllib3.PoolManager(
        cert_reqs="CERT_REQUIRED",
        ca_certs=str(settings.ca_file) if settings.ca_file else None,
        maxsize=32,
    )
    return Minio(
        endpoint,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key_file.read_text().strip(),
        secure=settings.s3_endpoint.startswith("https://"),
        region=settings.s3_region,
        http_client=http,
    )


class VaultToken:
    """The server's OpenBao token: read from a file, or got by a Kubernetes auth login (and
    got again when it nears its end)."""

    def __init__(self, settings: SharingSettings, session: aiohttp.ClientSession) -> None:
        self.settings = settings
        self.session = session
        self._token: str | None = None
        self._renew_at = 0.0

    async def __call__(self) -> str:
        if self.settings.openbao_token_file is not None:
            return self.settings.openbao_token_file.read_text().strip()
        now = dt.datetime.now(dt.UTC).timestamp()
        if self._token is None or now >= self._renew_at:
            jwt = SERVICE_ACCOUNT_TOKEN.read_text().strip()
            async with self.session.post(
                f"{self.settings.openbao_url}/v1/auth/kubernetes/login",
                json={"role": self.settings.openbao_role, "jwt": jwt},
            ) as response:
                response.raise_for_status()
                auth = (await response.json())["auth"]
            self._token = str(auth["client_token"])
            self._renew_at = now + max(60, int(auth.get("lease_duration", 3600)) // 2)
        return self._token


def client_ssl(settings: SharingSettings) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(settings.ca_file) if settings.ca_file else None)
    return context


def build_app(settings: SharingSettings) -> web.Application:
    """The application; its client session opens on start-up and closes on clean-up."""
    app = web.Application(middlewares=[protocol_errors])

    async def lifecycle(app: web.Application):  # type: ignore[no-untyped-def]
        from nidc.kube import in_cluster_or_kubeconfig

        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(ssl=client_ssl(settings), limit=64),
            timeout=aiohttp.ClientTimeout(total=15),
        )
        client = s3_client(settings)
        service = SharingService(
            tokens=TokenAuthority(
                OpenBaoRecords(session, settings.openbao_url, VaultToken(settings, session))
            ),
            shares=ShareRegistry(kube_share_reader(in_cluster_or_kubeconfig())),
            tables=TableStore(client),
            presigner=Presigner(client, settings.url_seconds),
            clock=lambda: dt.datetime.now(dt.UTC),
        )
        app.router.add_routes(build_routes(service, settings.prefix))
        yield
        await session.close()

    app.cleanup_ctx.append(lifecycle)
    return app


def server_ssl(settings: SharingSettings) -> ssl.SSLContext | None:
    if settings.tls_cert is None or settings.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(settings.tls_cert), str(settings.tls_key))
    return context


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m nidc.sharing")
    # Only there so that the local platform finds its process by its state folder.
    parser.add_argument("--state", help="the local platform's state folder (not read)")
    parser.parse_args(argv)
    settings = SharingSettings.from_env()
    web.run_app(
        build_app(settings),
        host=settings.host,
        port=settings.port,
        ssl_context=server_ssl(settings),
        access_log=None,
        print=lambda message: print(message, flush=True),
    )
