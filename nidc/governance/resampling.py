"""When a classified table is sampled again (decision 0320).

A classify run samples a table version's columns. A later version whose columns are the same
names was written by appends of the same shape (a device source's batches every minute, a
product's scheduled refresh): it is sampled again once the policies' resample interval has passed
since the last classify run, not after every commit. A new or renamed column, changed policies or
a changed declared grade are classified at once, as before. Writing jobs report the digest of the
table's column names they left behind (`columnsDigest` on their run) so the operator can tell,
without reading the table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable


def columns_digest(names: Iterable[str]) -> str:
    """Digest of a table's column names (order does not count: a reordered table holds the same
    columns to classify)."""
    joined = "\n".join(sorted(names))
    return hashlib.sha256(joined.encode()).hexdigest()[:16]


def resample_at(
    classified_at: dt.datetime | None,
    classified_digest: str | None,
    written_digest: str | None,
    interval: dt.timedelta,
) -> dt.datetime | None:
    """When the newest table version may next be classified, for a version whose columns match
    the last classified ones; None when it is due now (pure).

    Due now: no interval (0), a writer or a classify run that reported no digest (older jobs: the
    safe side), or columns that differ from what was classified."""
    if (
        interval <= dt.timedelta(0)
        or classified_at is None
        or classified_digest is None
        or written_digest is None
        or classified_digest != written_digest
    ):
        return None
    return classified_at + interval
