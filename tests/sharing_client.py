"""The official Delta Sharing Python client, in a virtual environment of its own as a recipient
has it: its pins (aiohttp <= 3.13.4, pandas < 3, pyarrow <= 23.0.1) conflict with ours.

Built from PyPI once per client version into ~/.cache/nidc/delta-sharing-client/<version>
(cold: 121 s on the 2-core machine at load ~20, pip's download cache warm; docs/sharing.md) and
reused by every later run; a half-built folder (no `ready` marker) is built again. Driven by
subprocess through tests/sharing_recipient.py.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLIENT_VERSION = "1.4.2"
PYTHON = "python3.11"
SCRIPT = Path(__file__).with_name("sharing_recipient.py")


def client_dir(version: str = CLIENT_VERSION) -> Path:
    root = Path(os.environ.get("NIDC_CACHE_DIR", Path.home() / ".cache" / "nidc"))
    return root / "delta-sharing-client" / version


def ensure_client(version: str = CLIENT_VERSION) -> Path:
    """The client's Python, building its environment if this version has none yet."""
    folder = client_dir(version)
    python = folder / "bin" / "python"
    if (folder / "ready").exists():
        return python
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test process may be building it
        if (folder / "ready").exists():
            return python
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run([PYTHON, "-m", "venv", str(folder)], check=True, timeout=300)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", f"delta-sharing=={version}"],
            check=True,
            timeout=900,
        )
        (folder / "ready").write_text(version + "\n")
    return python


@dataclass(frozen=True)
class Recipient:
    """One recipient: a profile file and the client's Python to read it with."""

    python: Path
    profile: Path
    ca_file: str

    def run(self, *args: str, timeout: float = 600) -> tuple[int, dict[str, Any]]:
        """Run a sharing_recipient.py command; (exit code, its JSON answer)."""
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            # The platform CA: requests (the REST calls) and aiohttp (the file downloads).
            "REQUESTS_CA_BUNDLE": self.ca_file,
            "SSL_CERT_FILE": self.ca_file,
        }
        done = subprocess.run(
            [str(self.python), str(SCRIPT), str(self.profile), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        answer = json.loads(lines[-1]) if lines else {"stderr": done.stderr[-3000:]}
        return done.returncode, answer


def write_profile(path: Path, endpoint: str, token: str, expires_at: str) -> Path:
    """A Delta Sharing profile file (shareCredentialsVersion 1), 0600: it holds the token."""
    path.write_text(
        json.dumps(
            {
                "shareCredentialsVersion": 1,
                "endpoint": endpoint,
                "bearerToken": token,
                "expirationTime": expires_at,
            }
        )
    )
    path.chmod(0o600)
    return path
