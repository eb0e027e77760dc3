"""A real PostgreSQL server (Debian package from the tool cache) on a free loopback port.

PostgreSQL refuses to run as root. When the tests run as root (containers), the cluster is
initialised and run as an unprivileged account (`nobody` unless NIDC_POSTGRES_OS_USER says
otherwise), in a data folder under the system temp dir that this account owns: pytest's tmp_path
is private to root and the server could not enter it. For the same reason the binaries run from
a world-readable copy of the cached tool in the temp dir (the cache sits in root's 0700 home).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from nidc.local.ports import free_port
from nidc.local.process import stop
from nidc.local.state import port_is_open
from nidc.local.tools.manifest import load_manifest, tool_dir

LOOPBACK = "127.0.0.1"
SUPERUSER = "postgres"


def os_user_for_server() -> str | None:
    """The account the server runs as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    return os.environ.get("NIDC_POSTGRES_OS_USER", "nobody")


def binaries_dir(os_user: str | None) -> Path:
    """The tool's bin/ folder, or that of a shared world-readable copy when another account runs
    the server. The copy is made once per recipe and moved into place atomically."""
    tool = load_manifest()["postgresql"]
    cached = tool_dir(tool)
    if os_user is None:
        return cached / "bin"
    copy = Path(tempfile.gettempdir()) / f"nidc-postgresql-{tool.version}-{tool.recipe_hash()}"
    if not (copy / "bin" / "postgres").exists():
        staging = Path(tempfile.mkdtemp(prefix="nidc-postgresql-staging-"))
        shutil.copytree(cached, staging / "tool", symlinks=True)
        for path in [staging / "tool", *(staging / "tool").rglob("*")]:
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o444 | (0o111 if path.is_dir() else 0))
        # Another test process may have made the copy first; theirs is identical.
        with contextlib.suppress(OSError):
            (staging / "tool").rename(copy)
        shutil.rmtree(staging, ignore_errors=True)
    return copy / "bin"


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

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "postgres.log"

    @property
    def jdbc_url(self) -> str:
        return f"jdbc:postgresql://{LOOPBACK}:{self.port}/postgres"

    def initdb(self) -> None:
        """Create the cluster once (a restarted server keeps its data)."""
        if (self.data_dir / "PG_VERSION").exists():
            return
        command = [
            str(self.bin / "initdb"),
            f"--pgdata={self.data_dir}",
            f"--username={SUPERUSER}",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        ]
        if self.password:
            pwfile = self.root / "pwfile"
            pwfile.write_text(self.password + "\n")
            pwfile.chmod(0o600)
            if self.os_user:
                account = pwd.getpwnam(self.os_user)
                os.chown(pwfile, account.pw_uid, account.pw_gid)
            command += [f"--pwfile={pwfile}", "--auth=scram-sha-256"]
        else:
            command += ["--auth=trust"]
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            cwd=self.root,
            user=self.os_user,
        )
        if self.password:
            (self.root / "pwfile").unlink()
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed ({result.returncode}): {result.stderr[-2000:]}")

    def start(self, timeout: float = 30.0) -> None:
        """Start the server and wait until it accepts TCP connections."""
        self.initdb()
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [
                    str(self.bin / "postgres"),
                    "-D",
                    str(self.data_dir),
                    "-h",
                    LOOPBACK,
                    "-p",
                    str(self.port),
                    # No Unix socket: /var/run/postgresql may not exist or be writable.
                    "-c",
                    "unix_socket_directories=",
                    "-c",
                    "fsync=off",
                ],
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
