"""How reconcilers fail: an unreachable API server, S3 or OpenBao is temporary, not a bug.

kopf logs an unexpected exception with its traceback and retries a timer only after a minute;
a TemporaryError is logged in one line and retried after a few seconds, which is what an outage
of a dependency (a restarting kube-apiserver, say) deserves.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import kopf
import requests
import urllib3

from nidc.kube import ApiException

RETRY_SECONDS = 3
Handler = TypeVar("Handler", bound=Callable[..., Any])

UNREACHABLE = (
    urllib3.exceptions.HTTPError,
    requests.exceptions.ConnectionError,
    ConnectionError,
    TimeoutError,
)


def is_unavailable(error: BaseException) -> bool:
    """A dependency could not be reached or answered 5xx/429: worth retrying soon."""
    if isinstance(error, UNREACHABLE):
        return True
    return isinstance(error, ApiException) and (error.status or 0) in (429, 500, 502, 503, 504)


def retry_when_unavailable(handler: Handler) -> Handler:
    """Turn an outage of a dependency into a quick, quiet kopf retry."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except Exception as error:
            if is_unavailable(error):
                raise kopf.TemporaryError(
                    f"a dependency is unavailable: {type(error).__name__}", delay=RETRY_SECONDS
                ) from error
            raise

    return wrapper  # type: ignore[return-value]
