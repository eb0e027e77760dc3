"""Kubeconfig files for the local cluster: self-contained (certificates embedded), 0600."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import yaml

from nidc.local.identities import Identity
from nidc.local.pki import CertificateAuthority, write_private

CLUSTER_NAME = "nidc-local"


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def build_kubeconfig(
    server_url: str, ca: CertificateAuthority, identities: list[Identity]
) -> dict[str, Any]:
    """A kubeconfig with one context per identity; the first identity is the current context."""
    users, contexts = [], []
    for identity in identities:
        pair = ca.issue(f"client-{identity.name}", identity.user, identity.groups, client=True)
        users.append(
            {
                "name": identity.name,
                "user": {
                    "client-certificate-data": _b64(pair.cert),
                    "client-key-data": _b64(pair.key),
                },
            }
        )
        contexts.append(
            {"name": identity.name, "context": {"cluster": CLUSTER_NAME, "user": identity.name}}
        )
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": CLUSTER_NAME,
                "cluster": {
                    "server": server_url,
                    "certificate-authority-data": _b64(ca.ensure().cert),
                },
            }
        ],
        "users": users,
        "contexts": contexts,
        "current-context": identities[0].name,
    }


def write_kubeconfig(
    path: Path, server_url: str, ca: CertificateAuthority, identities: list[Identity]
) -> None:
    """Write the kubeconfig (it holds private keys, hence 0600)."""
    config = build_kubeconfig(server_url, ca, identities)
    write_private(path, yaml.safe_dump(config, sort_keys=False).encode())
