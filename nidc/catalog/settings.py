"""The catalog server's settings, from its environment (a pod's env, or the local platform's).

Secrets come as file paths (a mounted Secret, the state folder's 0600 files), never as values in
the environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from nidc.catalog.observe import ObjectStoreLogin

DATABASE = "postgres"
USER = "postgres"


@dataclass(frozen=True)
class CatalogSettings:
    """Where the database, the API server, the object store and the TLS files are."""

    db_host: str
    db_port: int
    db_password_file: Path
    listen_host: str
    listen_port: int
    tls_cert: Path
    tls_key: Path
    ca_file: Path
    s3_endpoint: str
    s3_access_key: str
    s3_secret_key_file: Path
    s3_region: str = "us-east-1"
    center: str = "local"
    kubeconfig: Path | None = None
    index: bool = True
    db_name: str = DATABASE
    db_user: str = USER

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> CatalogSettings:
        def path(name: str) -> Path:
            return Path(env[name])

        return cls(
            db_host=env.get("NIDC_CATALOG_DB_HOST", "127.0.0.1"),
            db_port=int(env["NIDC_CATALOG_DB_PORT"]),
            db_password_file=path("NIDC_CATALOG_DB_PASSWORD_FILE"),
            db_name=env.get("NIDC_CATALOG_DB_NAME", DATABASE),
            db_user=env.get("NIDC_CATALOG_DB_USER", USER),
            listen_host=env.get("NIDC_CATALOG_LISTEN_HOST", "127.0.0.1"),
            listen_port=int(env["NIDC_CATALOG_LISTEN_PORT"]),
            tls_cert=path("NIDC_CATALOG_TLS_CERT"),
            tls_key=path("NIDC_CATALOG_TLS_KEY"),
            ca_file=path("NIDC_CA_FILE"),
            s3_endpoint=env["NIDC_S3_ENDPOINT"],
            s3_access_key=env["NIDC_S3_ACCESS_KEY"],
            s3_secret_key_file=path("NIDC_S3_SECRET_KEY_FILE"),
            s3_region=env.get("NIDC_S3_REGION", "us-east-1"),
            center=env.get("NIDC_CATALOG_CENTER", "local"),
            kubeconfig=Path(env["KUBECONFIG"]) if env.get("KUBECONFIG") else None,
            index=env.get("NIDC_CATALOG_INDEX", "on") != "off",
        )

    def dsn(self, read_only: bool = False) -> str:
        """A libpq connection string; the password is read from its file here, never logged."""
        from psycopg.conninfo import make_conninfo

        options = "-c default_transaction_read_only=on" if read_only else None
        return make_conninfo(
            host=self.db_host,
            port=self.db_port,
            dbname=self.db_name,
            user=self.db_user,
            password=self.db_password_file.read_text().strip(),
            options=options,
            application_name="nidc-catalog",
            connect_timeout=10,
        )

    def object_store(self) -> ObjectStoreLogin:
        return ObjectStoreLogin(
            endpoint=self.s3_endpoint,
            access_key=self.s3_access_key,
            secret_key=self.s3_secret_key_file.read_text().strip(),
            region=self.s3_region,
            ca_file=str(self.ca_file),
        )
