"""The writer: `AuditTrail.append` adds a record and signs a checkpoint over the new tree.

When appends overlap, one signature covers them all (group commit): an append returns once a
signed checkpoint covers its record, whichever append signed it.

Crash safety: a record carries its event's identity (`record_id`, e.g. the run's uid and
transition). The writer knows every record id of the log (read once, on the first append after
start, then kept), so an append retried after a crash adopts the record the first try wrote;
it resumes at the highest sequence. Two writers (replicas during a hand-over) cannot both write
sequence N: objects are created only if absent, and the loser reads what the winner wrote and
tries N + 1.

Failure: fail closed. A store or OpenBao error is retried a few times here (briefly); then
`AuditUnavailableError` is raised, with the cause in one log line. The operator turns it into a
retried reconcile (reason AuditUnavailableError) before the transition it records is written: no
recorded transition without its audit record (docs/decisions/0140-audit-trail.md).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import hvac.exceptions
import requests
import urllib3.exceptions
from minio.error import MinioException
from pydantic import ValidationError

from nidc.audit.checkpoint import Checkpoint, Signer, sign_checkpoint
from nidc.audit.merkle import MerkleTree
from nidc.audit.record import AuditRecord, Resource
from nidc.audit.redaction import redact, redact_text
from nidc.audit.store import CHECKPOINTS, RECORDS, AuditStore, object_name
from nidc.audit.witness import Witness

LOGGER = logging.getLogger(__name__)
ATTEMPTS = 3
BACKOFF_SECONDS = 0.5
# What a store or OpenBao outage raises (minio, urllib3, requests/hvac, sockets).
TRANSIENT = (
    MinioException,
    urllib3.exceptions.HTTPError,
    requests.exceptions.RequestException,
    hvac.exceptions.VaultError,
    OSError,
)


_T = TypeVar("_T")


class AuditUnavailableError(RuntimeError):
    """The record could not be written (or signed) after retries; the message says why."""


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class AuditTrail:
    """One center's log: append records, sign checkpoints (thread-safe)."""

    def __init__(
        self,
        store: AuditStore,
        signer: Signer,
        center: str,
        clock: Callable[[], dt.datetime] = utc_now,
        attempts: int = ATTEMPTS,
        backoff_seconds: float = BACKOFF_SECONDS,
        witness: Witness | None = None,
    ) -> None:
        self.store = store
        self.witness = witness
        self.signer = signer
        self.center = center
        self.clock = clock
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self._lock = threading.Lock()  # the tree, the record ids, appends
        self._checkpoint_lock = threading.Lock()  # signing; taken before _lock, never inside it
        self._tree = MerkleTree()
        self._ids: dict[str, int] = {}
        self._loaded = False
        self._signed_size = 0

    def append(
        self,
        actor: str,
        action: str,
        resource: Resource,
        decision: str,
        reason: str = "",
        trace_id: str = "",
        details: Mapping[str, Any] | None = None,
        record_id: str | None = None,
    ) -> AuditRecord:
        """Write the record (or adopt the one with the same record_id) and sign the new head.

        Secrets in details or reason are redacted (nidc/audit/redaction.py). Raises
        AuditUnavailableError when the store or OpenBao still fail after retries.
        """
        clean, redacted = redact(dict(details or {}))
        if redacted:
            clean["redacted"] = redacted
        draft = {
            "id": record_id or f"uuid/{uuid.uuid4()}",
            "center": self.center,
            "actor": actor,
            "action": action,
            "resource": resource,
            "decision": decision,
            "reason": redact_text(reason),
            "trace_id": trace_id,
            "details": clean,
        }
        record = self._retried(draft, lambda: self._append_locked(draft))
        # Group commit: the signer covers every record appended before it took the head, so a
        # record another thread's checkpoint already covers needs no signature of its own, and
        # appends go on while one checkpoint is being signed (one signature per append
        # serialised the operator's runs behind OpenBao; docs/benchmarks.md, issue 13).
        self._retried(draft, lambda: self._sign_covering(record.sequence + 1))
        return record

    def _retried(self, draft: Mapping[str, Any], step: Callable[[], _T]) -> _T:
        """`step`, retried on a store or OpenBao error; AuditUnavailableError after the last."""
        for attempt in range(1, self.attempts + 1):
            try:
                return step()
            except TRANSIENT as error:
                LOGGER.warning(
                    "audit: %s of %s (attempt %d/%d) failed: %s: %s",
                    draft["action"],
                    draft["resource"].text,
                    attempt,
                    self.attempts,
                    type(error).__name__,
                    error,
                )
                if attempt == self.attempts:
                    raise AuditUnavailableError(
                        f"audit record {draft['id']} not written: {type(error).__name__}"
                    ) from error
                time.sleep(self.backoff_seconds * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _append_locked(self, draft: Mapping[str, Any]) -> AuditRecord:
        with self._lock:
            return self._append_once(draft)

    def _sign_covering(self, size: int) -> None:
        """Make sure a signed checkpoint covers the first `size` records."""
        with self._checkpoint_lock:
            if self._signed_size >= size:
                return  # signed by another append meanwhile
            self._checkpoint_locked()

    def checkpoint(self) -> Checkpoint | None:
        """Sign the current tree head now (None when it is already signed or empty)."""
        with self._lock:
            self._load()
        with self._checkpoint_lock:
            return self._checkpoint_locked()

    def records(self) -> list[AuditRecord]:
        """Every record of the log, in order (a reader's view; reads the store)."""
        return [AuditRecord.from_bytes(o.data) for o in self.store.read_all(self.center, RECORDS)]

    @property
    def size(self) -> int:
        return self._tree.size

    def _load(self) -> None:
        if self._loaded:
            return
        self.store.ensure_bucket()
        ensure_key = getattr(self.signer, "ensure_key", None)
        if ensure_key is not None:
            ensure_key()
        self._refresh()
        self._signed_size = 0  # the next append signs the head whatever was signed before
        self._loaded = True

    def _refresh(self) -> None:
        """Read the records other writers (or an earlier life of this one) appended."""
        while True:
            name = object_name(self.center, RECORDS, self._tree.size)
            data = self.store.get(name)
            if data is None:
                return
            try:
                record = AuditRecord.from_bytes(data)
            except ValidationError as error:
                # Not transient: someone changed the log. Appending after it would sign it.
                raise AuditUnavailableError(
                    f"{name} is not a valid record; run `nidc audit verify`"
                ) from error
            self._ids[record.id] = record.sequence
            self._tree.append(data)

    def _append_once(self, draft: Mapping[str, Any]) -> AuditRecord:
        self._load()
        while True:
            existing = self._ids.get(str(draft["id"]))
            if existing is not None:
                data = self.store.get(object_name(self.center, RECORDS, existing))
                if data is not None:
                    LOGGER.info(
                        "audit: record %s exists (sequence %d): adopted", draft["id"], existing
                    )
                    return AuditRecord.from_bytes(data)
            sequence = self._tree.size
            record = AuditRecord(sequence=sequence, time=self.clock(), **draft)
            data = record.canonical_bytes()
            if self.store.put_if_absent(object_name(self.center, RECORDS, sequence), data):
                self._ids[record.id] = sequence
                self._tree.append(data)
                return record
            self._refresh()  # another writer took this sequence: read it, try the next

    def _checkpoint_locked(self) -> Checkpoint | None:
        """Sign the head as it is now; the caller holds the checkpoint lock."""
        with self._lock:  # a consistent (size, root), then appends may go on
            size, root = self._tree.size, self._tree.root()
        if size == 0 or size <= self._signed_size:
            return None
        checkpoint = sign_checkpoint(self.signer, self.center, size, root, self.clock())
        # Absent only: a checkpoint of this size that another writer signed holds as well.
        self.store.put_if_absent(object_name(self.center, CHECKPOINTS, size), checkpoint.to_bytes())
        if self.witness is not None:  # outside the bucket: cutting both shows
            self.witness.publish(checkpoint)
        self._signed_size = size
        return checkpoint
