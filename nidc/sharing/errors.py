"""The protocol's errors: an HTTP status and an `errorCode`, answered as `{errorCode, message}`."""

from __future__ import annotations


class SharingError(Exception):
    """A refusal the recipient is told about (never carrying a secret)."""

    status = 400
    code = "INVALID_PARAMETER_VALUE"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnauthenticatedError(SharingError):
    status = 401
    code = "UNAUTHENTICATED"


class NotFoundError(SharingError):
    status = 404
    code = "RESOURCE_DOES_NOT_EXIST"


class InvalidParameterError(SharingError):
    status = 400
    code = "INVALID_PARAMETER_VALUE"


class UnsupportedError(SharingError):
    """A feature the table does not have (change data feed on a table without it)."""

    status = 400
    code = "FEATURE_NOT_SUPPORTED"
