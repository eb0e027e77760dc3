"""OpenBao's transit engine as the column encryption needs it: data keys, unwrap, rewrap, rotate.

A job reaches it with its own token (NIDC_OPENBAO_TOKEN, handed over by the runner, bound to the
tenant's key policy); the operator with its admin token creates keys and rotates them. Key
material crosses this module as bytes in memory only: nothing here logs or returns it as text.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from typing import Any

import hvac
from hvac.exceptions import Forbidden, InvalidPath

from nidc.api.job_environment import OPENBAO_TOKEN_ENV
from nidc.api.job_runtime import OpenBaoRuntime
from nidc.encryption.table_key import key_version_of

DATA_KEY_BITS = 256
# transit's key type for the tenant key: AES-256-GCM with a 96-bit nonce (wraps data keys).
TRANSIT_KEY_TYPE = "aes256-gcm96"


class KeyAccessDeniedError(PermissionError):
    """OpenBao refused the caller the tenant's transit key (its token's policies lack it)."""


@dataclass(frozen=True)
class DataKey:
    """A fresh data key: the plaintext (memory only) and its wrapped form with the key version."""

    plaintext: bytes
    wrapped: str
    key_version: int

    def __repr__(self) -> str:  # never print key material, whatever prints this object
        return f"DataKey(wrapped={self.wrapped[:16]}..., key_version={self.key_version})"


class Transit:
    """Calls to one transit mount with one token."""

    def __init__(self, client: hvac.Client, mount: str = "transit") -> None:
        self.client = client
        self.mount = mount

    @classmethod
    def from_runtime(cls, runtime: OpenBaoRuntime, token: str | None = None) -> Transit:
        """The job's view: URL and CA from the run spec, the token from the environment."""
        secret = token if token is not None else os.environ.get(OPENBAO_TOKEN_ENV, "")
        if not secret:
            raise KeyAccessDeniedError(
                f"no OpenBao token in {OPENBAO_TOKEN_ENV}: this job may not use column keys"
            )
        client = hvac.Client(
            url=runtime.url, token=secret, verify=runtime.ca_file or True, timeout=30
        )
        return cls(client, runtime.transit_mount)

    def _write(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = self.client.write_data(f"{self.mount}/{path}", data=body or {})
        except Forbidden:
            raise KeyAccessDeniedError(
                f"OpenBao denied {self.mount}/{path.split('/')[0]} on this key"
            ) from None
        return dict(response.get("data") or {}) if isinstance(response, dict) else {}

    def data_key(self, key: str) -> DataKey:
        """A new 256-bit data key wrapped by the transit key `key`."""
        data = self._write(f"datakey/plaintext/{key}", {"bits": DATA_KEY_BITS})
        wrapped = str(data["ciphertext"])
        return DataKey(
            plaintext=base64.b64decode(data["plaintext"]),
            wrapped=wrapped,
            key_version=int(data.get("key_version") or key_version_of(wrapped)),
        )

    def unwrap(self, key: str, wrapped: str) -> bytes:
        """The plaintext of a wrapped data key (needs `decrypt` on the key)."""
        data = self._write(f"decrypt/{key}", {"ciphertext": wrapped})
        return base64.b64decode(data["plaintext"])

    def rewrap(self, key: str, wrapped: str) -> tuple[str, int]:
        """The same data key wrapped by the key's newest version: (wrapped, version)."""
        data = self._write(f"rewrap/{key}", {"ciphertext": wrapped})
        rewrapped = str(data["ciphertext"])
        return rewrapped, int(data.get("key_version") or key_version_of(rewrapped))

    # --- administration (the operator's token) -----------------------------------------------

    def ensure_key(self, key: str) -> int:
        """Create the transit key or adopt it; returns its newest version."""
        existing = self.read_key(key)
        if existing is None:
            self.client.write_data(f"{self.mount}/keys/{key}", data={"type": TRANSIT_KEY_TYPE})
            existing = self.read_key(key)
        assert existing is not None
        return int(existing["latest_version"])

    def read_key(self, key: str) -> dict[str, Any] | None:
        try:
            response = self.client.read(f"{self.mount}/keys/{key}")
        except InvalidPath:
            return None
        return None if response is None else dict(response["data"])

    def rotate(self, key: str) -> int:
        """A new version of the transit key (older versions still decrypt); returns it."""
        self.client.write_data(f"{self.mount}/keys/{key}/rotate", data={})
        found = self.read_key(key)
        assert found is not None
        return int(found["latest_version"])
