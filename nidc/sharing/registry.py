"""What a token may see: the DataShare its record names, and that share's tables for its
recipient (`status.tables`, written by the DataShare reconciler), read from the Kubernetes API.

A share is read again after SHARE_CACHE_SECONDS, so a table taken out of a share (or a share
deleted) stops being served within that time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from nidc.api.data_share import SharedTable, ShareTokenRecord
from nidc.sharing.errors import NotFoundError

SHARE_CACHE_SECONDS = 5.0
API_VERSION = "nidc.io/v1alpha1"


@dataclass(frozen=True)
class ShareView:
    """One share as one recipient sees it."""

    name: str
    id: str | None
    tables: tuple[SharedTable, ...]

    def schemas(self) -> list[str]:
        return sorted({t.schema_name for t in self.tables})

    def tables_in(self, schema: str | None) -> list[SharedTable]:
        chosen = [t for t in self.tables if schema is None or same(t.schema_name, schema)]
        return sorted(chosen, key=lambda t: (t.schema_name, t.table))

    def table(self, schema: str, name: str) -> SharedTable:
        for table in self.tables:
            if same(table.schema_name, schema) and same(table.table, name):
                return table
        raise NotFoundError(f"table {schema}.{name} is not in share {self.name}")


def same(a: str, b: str) -> bool:
    """Share, schema and table names are case-insensitive (the protocol says so)."""
    return a.lower() == b.lower()


def build_share_view(share: dict[str, Any] | None, recipient: str) -> ShareView | None:
    """The DataShare object -> what `recipient` may see of it (pure). Entries for other
    recipients and entries that do not parse are left out."""
    if share is None:
        return None
    tables = []
    for entry in (share.get("status") or {}).get("tables") or []:
        try:
            table = SharedTable.model_validate(entry)
        except ValidationError:
            continue
        if table.recipient == recipient:
            tables.append(table)
    metadata = share.get("metadata") or {}
    return ShareView(str(metadata.get("name")), metadata.get("uid"), tuple(tables))


# (namespace, name) -> the DataShare as a dict, or None; blocking.
ShareReader = Callable[[str, str], dict[str, Any] | None]


class ShareRegistry:
    """Shares by (namespace, name), cached briefly."""

    def __init__(
        self,
        read_share: ShareReader,
        cache_seconds: float = SHARE_CACHE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.read_share = read_share
        self.cache_seconds = cache_seconds
        self.monotonic = monotonic
        self._cache: dict[tuple[str, str], tuple[float, dict[str, Any] | None]] = {}

    async def share_for(self, record: ShareTokenRecord, share_name: str | None) -> ShareView:
        """The token's share; NotFoundError when `share_name` is not it (another share's existence
        is never confirmed) or the share is gone."""
        if share_name is not None and not same(share_name, record.share):
            raise NotFoundError(f"share {share_name} does not exist")
        key = (record.namespace, record.share)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > self.monotonic():
            found = cached[1]
        else:
            found = await asyncio.to_thread(self.read_share, *key)
            self._cache[key] = (self.monotonic() + self.cache_seconds, found)
        view = build_share_view(found, record.recipient)
        if view is None:
            raise NotFoundError(f"share {record.share} does not exist")
        return view


def kube_share_reader(api: Any) -> ShareReader:
    """Reads DataShares with the server's own (read-only) Kubernetes identity."""
    from nidc.kube import get

    def read(namespace: str, name: str) -> dict[str, Any] | None:
        return get(api, API_VERSION, "DataShare", name, namespace, timeout=10)

    return read
