"""Checkpoints: a signed tree head (tree size, root hash, time) of one center's log."""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field

from nidc.audit.record import canonical_json

ORIGIN = "nidc-audit"


class Signer(Protocol):
    """Signs checkpoints with a named Ed25519 key; OpenBao transit in the center, an
    in-process key in the property tests (nidc/audit/transit.py, Ed25519Signer)."""

    key_name: str

    def sign(self, message: bytes) -> tuple[int, bytes]:
        """(key version, raw 64-byte Ed25519 signature) of the message."""
        ...

    def public_keys(self) -> dict[int, bytes]:
        """Raw 32-byte public key of every version of the key."""
        ...


class Checkpoint(BaseModel):
    """A signed tree head. `signature` is base64 of Ed25519 over `signed_message()`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    center: str
    tree_size: int = Field(ge=0)
    root_hash: str  # hex
    time: dt.datetime
    key: str
    key_version: int = Field(ge=1)
    signature: str

    def signed_message(self) -> bytes:
        return signed_message(self.center, self.tree_size, bytes.fromhex(self.root_hash), self.time)

    def to_bytes(self) -> bytes:
        return canonical_json(self.model_dump(mode="json"))

    @classmethod
    def from_bytes(cls, data: bytes) -> Checkpoint:
        return cls.model_validate_json(data)


def signed_message(center: str, tree_size: int, root: bytes, time: dt.datetime) -> bytes:
    """What a checkpoint's signature covers, one field a line (a C2SP-style signed note)."""
    root_b64 = base64.b64encode(root).decode()
    return f"{ORIGIN}/{center}\n{tree_size}\n{root_b64}\n{time.isoformat()}\n".encode()


def sign_checkpoint(
    signer: Signer, center: str, tree_size: int, root: bytes, time: dt.datetime
) -> Checkpoint:
    version, signature = signer.sign(signed_message(center, tree_size, root, time))
    return Checkpoint(
        center=center,
        tree_size=tree_size,
        root_hash=root.hex(),
        time=time,
        key=signer.key_name,
        key_version=version,
        signature=base64.b64encode(signature).decode(),
    )


def signature_problem(checkpoint: Checkpoint, public_keys: Mapping[int, bytes]) -> str | None:
    """Why the signature does not hold under the trusted key's versions, or None if it does.

    The trusted key is the verifier's, never the one the checkpoint names: a checkpoint signed
    with any other key (even one of the same name elsewhere) fails here.
    """
    public = public_keys.get(checkpoint.key_version)
    if public is None:
        return f"signed with key version {checkpoint.key_version}, which the trusted key lacks"
    try:
        signature = base64.b64decode(checkpoint.signature, validate=True)
        Ed25519PublicKey.from_public_bytes(public).verify(signature, checkpoint.signed_message())
    except (InvalidSignature, ValueError):
        return f"signature does not verify with key version {checkpoint.key_version}"
    return None


class Ed25519Signer:
    """An in-process Ed25519 key (`cryptography`): fast, for tests and offline tools."""

    def __init__(self, key_name: str, private_key: Ed25519PrivateKey | None = None) -> None:
        self.key_name = key_name
        self._key = private_key or Ed25519PrivateKey.generate()

    def sign(self, message: bytes) -> tuple[int, bytes]:
        return 1, self._key.sign(message)

    def public_keys(self) -> dict[int, bytes]:
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        raw = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {1: raw}
