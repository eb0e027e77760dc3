"""How a driver Job posts lineage on a cluster (pure): the lineage writers' certificate mounted
from a Secret of the tenant namespace (the stack's Tenants component makes it, decisions/0260),
the job spec's lineage files pointing into that mount, and the receiver's URL, so a job on a
cluster posts its OpenLineage events exactly as a local run does with its files.
"""

from __future__ import annotations

from typing import Any

# Where the driver mounts the Secret (keys tls.crt, tls.key, ca.crt).
LINEAGE_DIR = "/etc/nidc/lineage"
LINEAGE_VOLUME = "lineage"


def build_lineage_files(secret: str) -> dict[str, str]:
    """The job spec's lineage files as the driver sees them ('' where nothing is mounted)."""
    if not secret:
        return {"caFile": "", "clientCert": "", "clientKey": ""}
    return {
        "caFile": f"{LINEAGE_DIR}/ca.crt",
        "clientCert": f"{LINEAGE_DIR}/tls.crt",
        "clientKey": f"{LINEAGE_DIR}/tls.key",
    }


def build_lineage_mount(
    secret: str, url: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """The driver's lineage environment, volume mounts and volumes (all empty without a Secret).

    The volume is optional: a namespace the stack did not make has no such Secret, and its job
    runs without lineage rather than not at all (lineage describes the work, nidc/lineage).
    """
    if not secret:
        return [], [], []
    files = build_lineage_files(secret)
    env = [
        {"name": "NIDC_LINEAGE_CLIENT_CERT", "value": files["clientCert"]},
        {"name": "NIDC_LINEAGE_CLIENT_KEY", "value": files["clientKey"]},
    ]
    if url:
        env.append({"name": "NIDC_LINEAGE_URL", "value": url})
    mount = {"name": LINEAGE_VOLUME, "mountPath": LINEAGE_DIR, "readOnly": True}
    volume = {
        "name": LINEAGE_VOLUME,
        # Readable by the spark user through the pod's fsGroup, by no other user.
        "secret": {"secretName": secret, "defaultMode": 0o440, "optional": True},
    }
    return env, [mount], [volume]
