"""How a job's tables, folders and source tables are named as OpenLineage datasets.

The OpenLineage naming conventions: an object-store path is namespace `s3://<bucket>`, name
`<key>` (no trailing slash); a PostgreSQL table is namespace `postgres://<host>:<port>`, name
`<database>.<schema>.<table>`; a local path is namespace `file`, name the absolute path. Spark's
`s3a://` is the same object as `s3://`. Pure; a name never carries a login (a URL with user
information is refused, so no credential can reach an event through a dataset's name).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from nidc.api.addressing import table_path


class DatasetNameError(ValueError):
    """A location that cannot be named as a dataset (or would carry a login)."""


@dataclass(frozen=True, order=True)
class DatasetName:
    """An OpenLineage dataset identity."""

    namespace: str
    name: str

    def __str__(self) -> str:
        if self.namespace == "file":
            return f"file://{self.name}"
        return f"{self.namespace}/{self.name}"


def _no_login(url: str) -> None:
    if "@" in (urlsplit(url).netloc or ""):
        raise DatasetNameError("a dataset location must not carry a login (user@host)")


def object_dataset(path: str) -> DatasetName:
    """s3a://tenant-x/bronze/t (or s3://, file://) -> its dataset; a folder loses its slash."""
    _no_login(path)
    parts = urlsplit(path)
    if parts.scheme in ("s3a", "s3"):
        key = parts.path.strip("/")
        if not parts.netloc or not key:
            raise DatasetNameError(f"not an object path: {path}")
        return DatasetName(f"s3://{parts.netloc}", key)
    if parts.scheme == "file":
        return DatasetName("file", "/" + parts.path.strip("/"))
    raise DatasetNameError(f"unknown scheme {parts.scheme!r} in {path}")


def jdbc_dataset(url: str, table: str) -> DatasetName:
    """jdbc:postgresql://h:5432/mes + mes.work_orders -> postgres://h:5432, mes.mes.work_orders
    (a table without a schema is in `public`)."""
    plain = url.removeprefix("jdbc:")
    _no_login(plain)
    parts = urlsplit(plain)
    if parts.scheme != "postgresql" or not parts.hostname:
        raise DatasetNameError(f"not a PostgreSQL JDBC URL: {url}")
    database = parts.path.strip("/")
    qualified = table if "." in table else f"public.{table}"
    return DatasetName(
        f"postgres://{parts.hostname}:{parts.port or 5432}", f"{database}.{qualified}"
    )


def parse_dataset(text: str) -> DatasetName:
    """What a user types for a table: a URL (s3a://, s3://, file://) or
    `<tenant>/<layer>.<name>` (steel-plant/gold.line_health)."""
    if "://" in text:
        if text.startswith("postgres://"):
            namespace, _, name = text.partition("://")[2].partition("/")
            return DatasetName(f"postgres://{namespace}", name)
        return object_dataset(text)
    tenant, slash, table = text.partition("/")
    if not slash or "." not in table:
        raise DatasetNameError(
            f"{text!r}: give a table as <tenant>/<layer>.<name> or as its s3a:// path"
        )
    return object_dataset(table_path(tenant, table))
