"""OpenBao administration the operators need: policies and Kubernetes auth roles (idempotent)."""

from __future__ import annotations

from typing import Any

import hvac
from hvac.exceptions import InvalidPath

from nidc.encryption.transit import Transit
from operators.clients.settings import OperatorSettings

KUBERNETES_AUTH_PATH = "kubernetes"
TRANSIT_MOUNT = "transit"


class OpenBaoAdmin:
    """A thin, typed wrapper over hvac; the token is read from its file, never logged."""

    def __init__(self, settings: OperatorSettings) -> None:
        self.token_file = settings.openbao_token_file
        self.client = hvac.Client(
            url=settings.openbao_url,
            token=self.token_file.read_text().strip(),
            verify=str(settings.ca_file),
        )

    def is_sealed(self) -> bool:
        """Whether OpenBao is sealed (sys/seal-status answers unauthenticated, sealed or not)."""
        return bool(self.client.sys.read_seal_status()["sealed"])

    def refresh_token(self) -> bool:
        """Read the token file again; True when it changed.

        A client that keeps a token OpenBao no longer honours fails forever (Vault Secrets
        Operator #840); a 403 makes callers re-read the file instead of caching the refusal.
        """
        token = self.token_file.read_text().strip()
        if token == self.client.token:
            return False
        self.client.token = token
        return True

    def write_kv_with_ttl(self, path: str, data: dict[str, Any], ttl_seconds: int) -> None:
        """Write a KV v2 secret whose versions OpenBao itself deletes after `ttl_seconds`, so a
        credential outlives neither its expiry nor an operator that stopped revoking."""
        kv = self.client.secrets.kv.v2
        kv.update_metadata(path=path, delete_version_after=f"{max(ttl_seconds, 1)}s")
        kv.create_or_update_secret(path=path, secret=data)

    def delete_kv(self, path: str) -> None:
        """Delete one KV v2 secret with every version (nothing when absent)."""
        self.client.secrets.kv.v2.delete_metadata_and_all_versions(path=path)

    def put_policy(self, name: str, hcl: str) -> None:
        """Create or replace a policy."""
        self.client.sys.create_or_update_policy(name=name, policy=hcl)

    def delete_policy(self, name: str) -> None:
        self.client.sys.delete_policy(name=name)

    def put_kubernetes_role(self, name: str, role: dict[str, Any]) -> None:
        """Create or replace a Kubernetes auth role."""
        self.client.auth.kubernetes.create_role(
            name=name,
            bound_service_account_names=role["bound_service_account_names"],
            bound_service_account_namespaces=role["bound_service_account_namespaces"],
            policies=role["token_policies"],
            ttl=role["token_ttl"],
            max_ttl=role["token_max_ttl"],
            mount_point=KUBERNETES_AUTH_PATH,
        )

    @property
    def transit(self) -> Transit:
        """The transit engine with the operator's token (create, adopt and rotate keys)."""
        return Transit(self.client, TRANSIT_MOUNT)

    def issue_job_token(self, policies: list[str], ttl: str, name: str) -> str:
        """A token for one job run with exactly `policies` (no default policy), not renewable
        past `ttl`; it dies with the operator's token too (a child)."""
        response = self.client.auth.token.create(
            policies=policies,
            no_default_policy=True,
            ttl=ttl,
            explicit_max_ttl=ttl,
            renewable=False,
            display_name=name[:60],
            meta={"run": name},
        )
        return str(response["auth"]["client_token"])

    def delete_kubernetes_role(self, name: str) -> None:
        self.client.auth.kubernetes.delete_role(name=name, mount_point=KUBERNETES_AUTH_PATH)

    def read_kv(self, path: str) -> dict[str, Any] | None:
        """A KV v2 secret's data, or None when absent."""
        try:
            response = self.client.secrets.kv.v2.read_secret_version(
                path=path, raise_on_deleted_version=True
            )
        except InvalidPath:
            return None
        data: dict[str, Any] = response["data"]["data"]
        return data

    def read_kv_version(self, path: str, version: int) -> dict[str, Any] | None:
        """One version of a KV v2 secret's data, or None when absent, deleted or destroyed."""
        try:
            response = self.client.secrets.kv.v2.read_secret_version(
                path=path, version=version, raise_on_deleted_version=True
            )
        except InvalidPath:
            return None
        data: dict[str, Any] | None = (response.get("data") or {}).get("data")
        return data

    def kv_older_versions(self, path: str) -> list[int]:
        """The versions of a KV v2 secret older than its current one and not destroyed."""
        try:
            meta = self.client.secrets.kv.v2.read_secret_metadata(path=path)["data"]
        except InvalidPath:
            return []
        current = int(meta.get("current_version") or 0)
        return sorted(
            int(number)
            for number, version in (meta.get("versions") or {}).items()
            if int(number) < current and not version.get("destroyed")
        )

    def destroy_kv_versions(self, path: str, versions: list[int]) -> None:
        """Destroy versions of a KV v2 secret for good (their data is gone, metadata stays)."""
        if versions:
            self.client.secrets.kv.v2.destroy_secret_versions(path=path, versions=versions)

    def write_kv(self, path: str, data: dict[str, Any]) -> None:
        self.client.secrets.kv.v2.create_or_update_secret(path=path, secret=data)

    def delete_kv_tree(self, prefix: str) -> None:
        """Delete every secret (all versions) under a KV prefix."""
        try:
            keys = self.client.secrets.kv.v2.list_secrets(path=prefix)["data"]["keys"]
        except InvalidPath:
            return
        for key in keys:
            child = f"{prefix}/{key.rstrip('/')}"
            if key.endswith("/"):
                self.delete_kv_tree(child)
            else:
                self.client.secrets.kv.v2.delete_metadata_and_all_versions(path=child)
