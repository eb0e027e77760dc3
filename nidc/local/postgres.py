"""A PostgreSQL cluster from the Debian package in the tool cache: where it lives, who runs it,
how it is initialised and the command line that serves it on loopback.

Shared by the catalog's supervised server (nidc/local/servers/catalog_postgres.py) and the MES
simulator's throw-away server (nidc/simulators/postgres_server.py).

PostgreSQL refuses to run as root. When we are root (containers), the cluster is initialised and
run as an unprivileged account (`nobody` unless NIDC_POSTGRES_OS_USER says otherwise), in a data
folder under the system temp dir that this account owns: the platform's state folder and pytest's
tmp_path are private to root and the server could not enter them. For the same reason the
binaries run from a world-readable copy of the cached tool in the temp dir (the cache sits in
root's 0700 home).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from nidc.local.pki import write_private
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
        # Another process may have made the copy first; theirs is identical.
        with contextlib.suppress(OSError):
            (staging / "tool").rename(copy)
        shutil.rmtree(staging, ignore_errors=True)
    return copy / "bin"


def cluster_root(preferred: Path, os_user: str | None) -> Path:
    """Where a long-lived cluster keeps its data: `preferred` when we run it ourselves; otherwise
    a folder in the temp dir named after `preferred` (stable across restarts), owned by the
    account that runs the server."""
    if os_user is None:
        preferred.mkdir(parents=True, exist_ok=True)
        return preferred
    digest = hashlib.sha256(str(preferred.resolve()).encode()).hexdigest()[:12]
    root = Path(tempfile.gettempdir()) / f"nidc-postgres-{digest}"
    root.mkdir(mode=0o700, exist_ok=True)
    account = pwd.getpwnam(os_user)
    os.chown(root, account.pw_uid, account.pw_gid)
    return root


@dataclass(frozen=True)
class PostgresCluster:
    """One cluster: its folder, the account that runs it and its binaries."""

    root: Path
    os_user: str | None
    bin: Path

    @classmethod
    def at(cls, preferred: Path) -> PostgresCluster:
        """The cluster kept (across restarts) for a folder of ours."""
        os_user = os_user_for_server()
        return cls(cluster_root(preferred, os_user), os_user, binaries_dir(os_user))

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def initdb(self, password: str | None) -> None:
        """Create the cluster once (a restarted server keeps its data). With a password, loopback
        TCP needs it (scram-sha-256); without one, loopback is trusted."""
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
        pwfile = self.root / "pwfile"
        if password:
            write_private(pwfile, password.encode() + b"\n")
            if self.os_user:
                account = pwd.getpwnam(self.os_user)
                os.chown(pwfile, account.pw_uid, account.pw_gid)
            command += [f"--pwfile={pwfile}", "--auth=scram-sha-256"]
        else:
            command += ["--auth=trust"]
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, cwd=self.root, user=self.os_user
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise RuntimeError(f"initdb failed ({result.returncode}): {result.stderr[-2000:]}")

    def command(self, port: int, *settings: str) -> list[str]:
        """`postgres` serving this cluster on loopback:port (extra `-c name=value` settings)."""
        command = [
            str(self.bin / "postgres"),
            "-D",
            str(self.data_dir),
            "-h",
            LOOPBACK,
            "-p",
            str(port),
            # No Unix socket: /var/run/postgresql may not exist or be writable.
            "-c",
            "unix_socket_directories=",
        ]
        for setting in settings:
            command += ["-c", setting]
        return command
