"""How delta-rs, in any of our processes, comes to trust the platform's CA.

delta-rs (rustls) reads its roots from the file SSL_CERT_FILE names and has no storage option for
a CA of its own. Many machines set SSL_CERT_FILE to the system bundle already; replacing it would
break every other TLS client of the process, and leaving it (setdefault) makes delta-rs refuse
the platform's MinIO (`invalid peer certificate: UnknownIssuer`). So the platform's CA is added to
a copy of whatever bundle the variable names.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

_TRUST_LOCK = threading.Lock()


def trust_platform_ca(ca_file: Path) -> None:
    """Make delta-rs trust the platform's CA as well as what it trusted before.

    delta-rs (rustls) reads its roots from the file SSL_CERT_FILE names and has no option for a
    CA of its own; where the variable already names a bundle (the system's), the platform's CA
    is added to a copy of it rather than replacing it.
    """
    with _TRUST_LOCK:
        current = os.environ.get("SSL_CERT_FILE", "")
        platform_ca = ca_file.read_text()
        if current and Path(current).is_file() and platform_ca in Path(current).read_text():
            return
        if not current or not Path(current).is_file():
            os.environ["SSL_CERT_FILE"] = str(ca_file)
            return
        handle, name = tempfile.mkstemp(prefix="nidc-ca-bundle-", suffix=".pem")
        with os.fdopen(handle, "w") as bundle:
            bundle.write(Path(current).read_text().rstrip("\n") + "\n" + platform_ca)
        os.environ["SSL_CERT_FILE"] = name
