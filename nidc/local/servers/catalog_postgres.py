"""The catalog's PostgreSQL 15 (Debian package from the tool cache): initialised on the first
`up` with a generated superuser password (0600 in the state folder), scram-sha-256 on loopback.

The cluster lives in <state>/data/catalog-postgres, or, when we are root, in a folder of the
temp dir owned by the account PostgreSQL runs as (nidc/local/postgres.py says why).
"""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from typing import Any

from nidc.local.postgres import LOOPBACK, SUPERUSER, PostgresCluster
from nidc.local.servers.base import Context, HealthError, Server

PASSWORD_SECRET = "catalog-postgres-password"  # noqa: S105 (the secret's file name)
DATABASE = "postgres"


class CatalogPostgres(Server):
    """The database the catalog index (and the lineage store) live in."""

    name = "catalog-postgres"
    tool = "postgresql"
    startup_timeout = 180.0

    @property
    def binary_name(self) -> str:
        return "postgres"

    def ports(self) -> list[str]:
        return ["catalog-postgres"]

    def cluster(self, ctx: Context) -> PostgresCluster:
        return PostgresCluster.at(ctx.state.root / "data" / self.name)

    def prepare(self, ctx: Context) -> None:
        if not ctx.state.secret(PASSWORD_SECRET).exists():
            # A fresh state folder. Run as another account, the cluster's data lives outside
            # it (nidc/local/postgres.py), so an earlier platform of the same path may have
            # left a cluster there with another password: start that one afresh.
            shutil.rmtree(self.cluster(ctx).data_dir, ignore_errors=True)
            ctx.state.write_secret(PASSWORD_SECRET, secrets.token_urlsafe(24))
        self.cluster(ctx).initdb(ctx.state.read_secret(PASSWORD_SECRET))

    def command(self, ctx: Context) -> list[str]:
        return self.cluster(ctx).command(ctx.state.port("catalog-postgres"))

    def os_user(self, ctx: Context) -> str | None:
        return self.cluster(ctx).os_user

    def work_dir(self, ctx: Context) -> Path:
        return self.cluster(ctx).root

    def check(self, ctx: Context) -> str:
        import psycopg

        try:
            with psycopg.connect(
                host=LOOPBACK,
                port=ctx.state.port("catalog-postgres"),
                dbname=DATABASE,
                user=SUPERUSER,
                password=ctx.state.read_secret(PASSWORD_SECRET),
                connect_timeout=3,
            ) as conn:
                row = conn.execute("SHOW server_version").fetchone()
        except psycopg.Error as error:
            raise HealthError(f"SQL: {error.__class__.__name__}: {str(error)[:200]}") from error
        return f"PostgreSQL {row[0] if row else '?'}"

    def endpoints(self, ctx: Context) -> dict[str, Any]:
        return {
            "host": LOOPBACK,
            "port": ctx.state.port("catalog-postgres"),
            "database": DATABASE,
            "user": SUPERUSER,
            "password_file": str(ctx.state.secret(PASSWORD_SECRET)),
        }
