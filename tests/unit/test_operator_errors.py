"""How reconciler failures reach kopf: outages and refusals as quiet retries, bugs as bugs."""

from __future__ import annotations

import json

import kopf
import pytest

from nidc.kube import ApiException
from operators.reconciling.errors import (
    FORBIDDEN_RETRY_SECONDS,
    RETRY_SECONDS,
    is_not_found,
    retry_when_unavailable,
)


def failing(error: Exception) -> object:
    @retry_when_unavailable
    def handler() -> None:
        raise error

    return handler


def api_error(status: int, message: str = "") -> ApiException:
    error = ApiException(status=status, reason="Reason")
    error.body = json.dumps({"kind": "Status", "message": message}) if message else None
    return error


def test_an_unavailable_api_server_is_retried_soon() -> None:
    with pytest.raises(kopf.TemporaryError) as raised:
        failing(api_error(503))()  # type: ignore[operator]
    assert raised.value.delay == RETRY_SECONDS


def test_a_refused_request_is_retried_with_the_servers_message() -> None:
    message = 'pipelineruns.nidc.io is forbidden: User "x" cannot list resource "pipelineruns"'
    with pytest.raises(kopf.TemporaryError) as raised:
        failing(api_error(403, message))()  # type: ignore[operator]
    assert raised.value.delay == FORBIDDEN_RETRY_SECONDS
    assert message in str(raised.value)


def test_a_refusal_without_a_body_still_says_why() -> None:
    with pytest.raises(kopf.TemporaryError, match="Reason"):
        failing(api_error(403))()  # type: ignore[operator]


@pytest.mark.parametrize("error", [api_error(404), api_error(422), KeyError("spec")])
def test_other_errors_stay_errors(error: Exception) -> None:
    with pytest.raises(type(error)):
        failing(error)()  # type: ignore[operator]


def test_not_found_is_a_404_only() -> None:
    assert is_not_found(ApiException(status=404))
    assert not is_not_found(ApiException(status=409))
    assert not is_not_found(KeyError("x"))
