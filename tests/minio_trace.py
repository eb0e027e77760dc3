"""Watch the requests a MinIO server receives, through its own admin trace stream.

`mc admin trace` in a few lines: a signed request to /minio/admin/v3/trace answers a stream of
JSON records, one per request the server handled (admin calls included, named like
`admin.ListUsers`). A test starts the watch, acts, and asks the server what it saw.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import urllib3
from minio.credentials.credentials import Credentials
from minio.helpers import sha256_hash
from minio.signer import sign_v4_s3
from minio.time import to_amz_date, utcnow

TRACE_QUERY = "err=false&internal=true&s3=true&threshold=0s"


class TraceWatch:
    """The function names of the requests the server traced while the watch was open."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.error: BaseException | None = None
        self._lock = threading.Lock()

    def seen(self) -> list[str]:
        with self._lock:
            return list(self.calls)

    def _add(self, call: str) -> None:
        with self._lock:
            self.calls.append(call)

    def wait_for(self, call: str, since: int = 0, timeout: float = 30) -> None:
        """Wait until the server traced `call` (after the first `since` records)."""
        deadline = time.monotonic() + timeout
        while call not in self.seen()[since:]:
            assert self.error is None, f"the trace stream ended: {self.error!r}"
            assert time.monotonic() < deadline, f"{call} not traced; seen {self.seen()[-20:]}"
            time.sleep(0.1)


def function_name(record: dict[str, Any]) -> str:
    """The traced handler's name (`admin.GetUserInfo`); MinIO versions spell the key differently."""
    for key in ("funcname", "funcName", "FuncName"):
        if key in record:
            return str(record[key])
    return ""


def _open_stream(platform_env: dict[str, Any]) -> Any:
    """The trace stream: GET, as `mc admin trace` has long used; POST where a server wants it."""
    response = _request_trace(platform_env, "GET")
    if response.status in (400, 404, 405):
        response.release_conn()
        response = _request_trace(platform_env, "POST")
    if response.status != 200:
        raise AssertionError(f"trace refused: {response.status} {response.data[:300]!r}")
    return response


def _request_trace(platform_env: dict[str, Any], method: str) -> Any:
    s3 = platform_env["servers"]["minio"]
    url = urlsplit(f"{s3['url']}/minio/admin/v3/trace?{TRACE_QUERY}")
    creds = Credentials(s3["access_key"], Path(s3["secret_key_file"]).read_text().strip())
    content_sha256 = sha256_hash(None)
    date = utcnow()
    headers = sign_v4_s3(
        method=method,
        url=url,
        region=s3["region"],
        headers={
            "Host": url.netloc,
            "x-amz-date": to_amz_date(date),
            "x-amz-content-sha256": content_sha256,
        },
        credentials=creds,
        content_sha256=content_sha256,
        date=date,
    )
    http = urllib3.PoolManager(cert_reqs="CERT_REQUIRED", ca_certs=platform_env["ca_file"])
    return http.request(
        method,
        url.geturl(),
        headers={key: str(value) for key, value in headers.items()},
        preload_content=False,
        timeout=urllib3.Timeout(connect=10, read=None),
    )


@contextmanager
def watch_requests(platform_env: dict[str, Any]) -> Iterator[TraceWatch]:
    """Trace the platform MinIO's requests while the block runs."""
    watch = TraceWatch()
    response = _open_stream(platform_env)

    def read() -> None:
        try:
            buffer = b""
            for chunk in response.stream(1024, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        watch._add(function_name(json.loads(line)))
        except Exception as error:  # the stream is closed at the end: that is how it stops
            watch.error = error

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield watch
    finally:
        response.close()  # ends the stream, and with it the reader
        reader.join(timeout=10)
