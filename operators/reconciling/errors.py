"""How reconcilers fail: an unreachable API server, S3 or OpenBao is temporary, not a bug.

kopf logs an unexpected exception with its traceback and retries a timer only after a minute;
a TemporaryError is logged in one line and retried after a few seconds, which is what an outage
of a dependency (a restarting kube-apiserver, say) deserves.

A 403 is retried the same quiet way, more slowly: a kube-apiserver that has just restarted
refuses every request until its RBAC caches are loaded (seen in CI right after the restart
test), and a role that truly lacks a permission is better told in one line naming the request,
again and again, than in a traceback.

Expected transient states (a tenant whose S3 credentials are not in OpenBao yet, right after it
was created) are a NotReadyError: a reason for the condition or event, a message, and a delay
after which the same step is tried again, quietly.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

import kopf
import requests
import urllib3
from hvac.exceptions import VaultDown

from nidc.kube import ApiException

RETRY_SECONDS = 3
FORBIDDEN_RETRY_SECONDS = 20
NOT_READY_RETRY_SECONDS = 5
Handler = TypeVar("Handler", bound=Callable[..., Any])


class NotReadyError(RuntimeError):
    """An expected, passing state that blocks a step: retried, never a traceback.

    `reason` is CamelCase (a condition or event reason); the message names what is missing,
    never a secret.
    """

    def __init__(self, reason: str, message: str, delay: float = NOT_READY_RETRY_SECONDS):
        super().__init__(message)
        self.reason = reason
        self.delay = delay


UNREACHABLE = (
    VaultDown,  # OpenBao sealed (503): it serves again once unsealed
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


def is_not_found(error: BaseException) -> bool:
    """The API server answered 404: the object (or its kind) is not there."""
    return isinstance(error, ApiException) and error.status == 404


def forbidden_message(error: BaseException) -> str | None:
    """The API server's own words when it refused a request (403), else None."""
    if not isinstance(error, ApiException) or error.status != 403:
        return None
    try:
        message = json.loads(error.body or "{}").get("message")
    except (TypeError, ValueError):
        message = None
    return str(message or error.reason or "Forbidden")


def retry_when_unavailable(handler: Handler) -> Handler:
    """Turn an outage of a dependency into a quick, quiet kopf retry."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except NotReadyError as state:
            raise kopf.TemporaryError(f"{state.reason}: {state}", delay=state.delay) from state
        except Exception as error:
            if is_unavailable(error):
                raise kopf.TemporaryError(
                    f"a dependency is unavailable: {type(error).__name__}", delay=RETRY_SECONDS
                ) from error
            refused = forbidden_message(error)
            if refused is not None:
                raise kopf.TemporaryError(
                    f"the API server refused a request: {refused}", delay=FORBIDDEN_RETRY_SECONDS
                ) from error
            raise

    return wrapper  # type: ignore[return-value]
