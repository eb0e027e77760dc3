"""A real PostgreSQL server (Debian package from the tool cache) on a free loopback port.

A throw-away cluster per instance, in the temp dir; how a cluster is found, initialised and run
(and why it runs as another account under root) is nidc/local/postgres.py, which the catalog's
supervised server shares.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from nidc.local.ports import free_port
from nidc.local.postgres import (
    LOOPBACK,
    SUPERUSER,
    PostgresCluster,
    binaries_dir,
    os_user_for_server,
)
from nidc.local.process import stop
from nidc.local.state import port_is_open

__all__ = ["LOOPBACK", "SUPERUSER", "PostgresServer"]


class PostgresServer:
    """initdb + postgres on loopback; `with PostgresServer(password=...) as pg: pg.port`.

    The superuser is `postgres`; with a password, loopback TCP needs it (scram-sha-256),
    without one, loopback is trusted.
    """

    def __init__(self, password: str | None = None, port: int | None = None) -> None:
        self.password = password
        self.port = port or free_port()
        self.os_user = os_user_for_server()
        self.root = Path(tempfile.mkdtemp(prefix="nidc-postgres-"))
        self.proc: subprocess.Popen[bytes] | None = None
        self.bin = binaries_dir(self.os_user)
        if self.os_user:
            account = pwd.getpwnam(self.os_user)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self.cluster = PostgresCluster(self.root, self.os_user, self.bin)

    @property
    def data_dir(self) -> Path:
        return self.cluster.data_dir

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    @property
    def jdbc_url(self) -> str:
        return f"jdbc:postgresql://{LOOPBACK}:{self.port}/postgres"

    def initdb(self) -> None:
        """Create the cluster once (a restarted server keeps its data)."""
        self.cluster.initdb(self.password)

    def start(self, timeout: float = 30.0) -> None:
        """Start the server and wait until it accepts TCP connections."""
        self.initdb()
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.cluster.command(self.port, "fsync=off"),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.root,
                start_new_session=True,
                user=self.os_user,
            )
        deadline = time.monotonic() + timeout
        while not port_is_open(self.port):
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.proc.returncode}; see {self.log}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"postgres did not listen on {self.port}; see {self.log}")
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop the server (SIGTERM is PostgreSQL's 'smart' shutdown; SIGKILL after a grace)."""
        if self.proc is not None:
            stop(self.proc.pid)
            self.proc.wait()
            self.proc = None

    def remove(self) -> None:
        """Stop and delete the cluster's folder."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.remove()
