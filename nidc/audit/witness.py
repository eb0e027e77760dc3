"""A witness of the newest tree head, kept outside the audit bucket (OpenBao KV).

Someone able to delete the newest records *and* their checkpoints from the bucket would leave
a shorter log that verifies. The writer therefore also publishes each signed checkpoint to a
second trust domain, OpenBao's KV (`secret/nidc/audit/<center>/head`), only ever moving it
forward; `nidc audit verify` checks the log against it like any other checkpoint.
"""

from __future__ import annotations

from typing import Protocol

import hvac
from hvac.exceptions import InvalidPath

from nidc.audit.checkpoint import Checkpoint

DEFAULT_KV_MOUNT = "secret"


class Witness(Protocol):
    def publish(self, checkpoint: Checkpoint) -> None: ...

    def latest(self) -> Checkpoint | None: ...


def head_path(center: str) -> str:
    return f"nidc/audit/{center}/head"


class KvWitness:
    """The newest checkpoint of one center in OpenBao KV v2 (check-and-set: never backwards)."""

    def __init__(self, client: hvac.Client, center: str, mount: str = DEFAULT_KV_MOUNT) -> None:
        self.client = client
        self.path = head_path(center)
        self.mount = mount

    def _read(self) -> tuple[Checkpoint | None, int]:
        """(the published checkpoint or None, its KV version: 0 when none)."""
        try:
            response = self.client.secrets.kv.v2.read_secret_version(
                path=self.path, mount_point=self.mount, raise_on_deleted_version=True
            )
        except InvalidPath:
            return None, 0
        data = response["data"]
        return Checkpoint.model_validate(data["data"]), int(data["metadata"]["version"])

    def latest(self) -> Checkpoint | None:
        return self._read()[0]

    def publish(self, checkpoint: Checkpoint) -> None:
        current, version = self._read()
        if current is not None and current.tree_size >= checkpoint.tree_size:
            return  # another writer published a newer head
        # cas: a writer that read the same version and wrote first makes this one fail
        # (InvalidRequest), and the caller's retry reads the newer head.
        self.client.secrets.kv.v2.create_or_update_secret(
            path=self.path,
            secret=checkpoint.model_dump(mode="json"),
            cas=version,
            mount_point=self.mount,
        )
