"""Checkpoint signing with an OpenBao transit key (ed25519), created or adopted by name.

The private key never leaves OpenBao; verifiers use the public keys transit exports with the
key (`transit/keys/<name>`), through `cryptography`, so verifying needs only read access.
"""

from __future__ import annotations

import base64
from typing import Any

import hvac
from hvac.exceptions import InvalidPath

DEFAULT_KEY = "nidc-audit"
DEFAULT_MOUNT = "transit"
KEY_TYPE = "ed25519"


class TransitKeyError(RuntimeError):
    """The key exists with the wrong type, or transit answered something unexpected."""


class TransitSigner:
    """The Signer (nidc/audit/checkpoint.py) of one transit key."""

    def __init__(
        self, client: hvac.Client, key_name: str = DEFAULT_KEY, mount: str = DEFAULT_MOUNT
    ):
        self.client = client
        self.key_name = key_name
        self.mount = mount

    def _read(self) -> dict[str, Any] | None:
        try:
            response = self.client.secrets.transit.read_key(
                name=self.key_name, mount_point=self.mount
            )
        except InvalidPath:
            return None
        data: dict[str, Any] = response["data"]
        return data

    def ensure_key(self) -> None:
        """Create the key, or adopt it if it exists as an ed25519 key (idempotent)."""
        existing = self._read()
        if existing is None:
            self.client.secrets.transit.create_key(
                name=self.key_name, key_type=KEY_TYPE, mount_point=self.mount
            )
            existing = self._read()
        if existing is None or existing.get("type") != KEY_TYPE:
            found = None if existing is None else existing.get("type")
            raise TransitKeyError(
                f"transit key {self.mount}/{self.key_name}: expected type {KEY_TYPE}, found {found}"
            )

    def sign(self, message: bytes) -> tuple[int, bytes]:
        response = self.client.secrets.transit.sign_data(
            name=self.key_name,
            hash_input=base64.b64encode(message).decode(),
            mount_point=self.mount,
        )
        # vault:v<version>:<base64 signature>
        prefix, version, signature = response["data"]["signature"].split(":", 2)
        if prefix != "vault" or not version.startswith("v"):
            raise TransitKeyError(f"transit answered a signature of unknown form ({prefix})")
        return int(version[1:]), base64.b64decode(signature)

    def public_keys(self) -> dict[int, bytes]:
        key = self._read()
        if key is None:
            raise TransitKeyError(f"transit key {self.mount}/{self.key_name} does not exist")
        return {
            int(version): base64.b64decode(entry["public_key"])
            for version, entry in key["keys"].items()
        }
