"""A client of the catalog API for the CLI: authenticates with one identity's client certificate
from the platform CA (the same identities as the kubeconfig's contexts)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests


class CatalogClientError(RuntimeError):
    """The API refused or could not be reached; the message says which."""


@dataclass(frozen=True)
class CatalogClient:
    """GETs against the catalog API as one identity."""

    url: str
    ca_file: Path
    cert: Path
    key: Path
    timeout: float = 30.0

    @classmethod
    def local(cls, env: dict[str, Any], identity: str) -> CatalogClient:
        """The local platform's API, as an identity of the user kubeconfig (platform-admin,
        steel-plant-analyst, ...), whose certificate the platform issued under pki/."""
        pki = Path(env["state_dir"]) / "pki"
        cert, key = pki / f"client-{identity}.crt", pki / f"client-{identity}.key"
        if not cert.exists():
            raise CatalogClientError(f"no identity {identity!r} (no {cert})")
        server = env["servers"].get("catalog-api")
        if not server:
            raise CatalogClientError("the platform has no catalog API: run `nidc local up`")
        return cls(server["url"], Path(env["ca_file"]), cert, key)

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        try:
            response = requests.get(
                f"{self.url}/api/v1/{path}",
                params={k: v for k, v in (params or {}).items() if v is not None},
                cert=(str(self.cert), str(self.key)),
                verify=str(self.ca_file),
                timeout=self.timeout,
            )
        except requests.RequestException as error:
            raise CatalogClientError(f"{self.url}: {error.__class__.__name__}") from error
        if response.status_code != 200:
            detail = response.text[:300]
            raise CatalogClientError(f"{response.status_code}: {detail}")
        return response.json()

    def assets(self, **filters: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.get("assets", filters)["items"]
        return items

    def asset(self, asset_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.get(f"assets/{quote(asset_id, safe='/')}")
        return found

    def analytics(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.get("analytics")["items"]
        return items
