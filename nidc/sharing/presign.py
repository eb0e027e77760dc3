"""Pre-signed GET URLs for the files of a shared table, from the object store, with expiry.

Signing is local (SigV4 with the server's read-only S3 login); nothing is asked of the store.
The login can read tenant buckets only, so a URL can never reach anything else even if a table
location were wrong.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import unquote

from minio import Minio

from nidc.sharing.table_store import TableLocation

DEFAULT_URL_SECONDS = 900


@dataclass(frozen=True)
class SignedUrl:
    url: str
    expires_ms: int


class Presigner:
    """Signs GETs for object keys; `seconds` is every URL's lifetime."""

    def __init__(self, client: Minio, seconds: int = DEFAULT_URL_SECONDS) -> None:
        self.client = client
        self.seconds = seconds

    def sign(self, table: TableLocation, relative_path: str, now: dt.datetime) -> SignedUrl:
        """A URL for a file the log names relative to the table (URL-encoded there), or by an
        absolute s3:// path (shallow clones); either way in the server's reach only if its S3
        login may read that bucket."""
        if "://" in relative_path:
            absolute = TableLocation.parse(unquote(relative_path))
            bucket, key = absolute.bucket, absolute.prefix
        else:
            bucket, key = table.bucket, table.key(unquote(relative_path))
        url = self.client.presigned_get_object(
            bucket,
            key,
            expires=dt.timedelta(seconds=self.seconds),
            request_date=now,
        )
        return SignedUrl(url, int(now.timestamp() * 1000) + self.seconds * 1000)
