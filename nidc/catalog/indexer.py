"""The indexer: observe -> build -> write, once (`sweep`), every few seconds (`run_forever`), or
from an empty database (`rebuild`)."""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

import psycopg

from nidc.catalog.assets import CatalogRows
from nidc.catalog.build import build_rows
from nidc.catalog.observe import FactsCache, ObjectStoreLogin, observe
from nidc.catalog.store import drop, lock_writers, migrate, write_rows
from nidc.governance.grade_bundle import grade_bundle
from nidc.kube import ApiClient

log = logging.getLogger(__name__)

SWEEP_SECONDS = 5.0


def grade_levels() -> dict[int, str]:
    """Grade -> its names in the bundle (一般 一级 general, ...), so searches find them."""
    bundle = grade_bundle()
    levels = {}
    for grade in (1, 2, 3):
        controls = bundle.controls(grade)
        levels[grade] = " ".join(str(x) for x in (controls.level, controls.miit, controls.name))
    return levels


def rows_digest(rows: CatalogRows) -> str:
    return hashlib.sha256(repr(rows).encode()).hexdigest()


@dataclass
class Indexer:
    """Keeps the catalog current from one center's resources and object store."""

    dsn: str
    api: ApiClient
    login: ObjectStoreLogin
    center: str = "local"
    cache: FactsCache = field(init=False)
    written: str | None = None

    def __post_init__(self) -> None:
        self.cache = FactsCache(self.login)

    def collect(self, force: bool = False) -> CatalogRows:
        return build_rows(observe(self.api, self.cache, self.center, force), grade_levels())

    def sweep(self, force: bool = False) -> bool:
        """Index once; write only when the rows changed since the last write. True if written."""
        rows = self.collect(force)
        digest = rows_digest(rows)
        if digest == self.written and not force:
            return False
        with psycopg.connect(self.dsn) as conn:
            migrate_locked(conn)
            write_rows(conn, rows, self.cache.unreadable)
        self.written = digest
        log.info("catalog: %d assets, %d edges indexed", len(rows.assets), len(rows.edges))
        return True

    def rebuild(self) -> CatalogRows:
        """Drop the index and make it again from the resources and Delta logs, in one
        transaction (readers see the old index until it commits)."""
        rows = self.collect(force=True)
        with psycopg.connect(self.dsn) as conn:
            lock_writers(conn)
            drop(conn)
            migrate(conn)
            write_rows(conn, rows, self.cache.unreadable)
        self.written = rows_digest(rows)
        return rows

    def run_forever(self, stop: threading.Event, every: float = SWEEP_SECONDS) -> None:
        """Sweep until `stop` is set; a failed sweep is logged and tried again next time."""
        while not stop.is_set():
            try:
                self.sweep()
            except Exception:
                log.exception("catalog sweep failed; trying again in %.0fs", every)
            stop.wait(every)


def migrate_locked(conn: psycopg.Connection[Any]) -> None:
    """Migrate under the writers' lock (two starting servers must not both create the schema)."""
    lock_writers(conn)
    migrate(conn)
