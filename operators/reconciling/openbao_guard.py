"""OpenBao sealed, unreachable or refusing, as one error a reconcile step turns into a
condition (DataGrant, DataShare): every pass asks the seal status before its first OpenBao step,
and a step that meets a sealed or silent OpenBao stops there, keeping what it had."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from hvac.exceptions import Forbidden, VaultDown
from requests.exceptions import RequestException

from operators.clients.context import OperatorContext

T = TypeVar("T")


class OpenBaoNotServingError(RuntimeError):
    """OpenBao is sealed or unreachable: the pass stops before its next OpenBao step."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def require_openbao(ctx: OperatorContext) -> None:
    """Raise OpenBaoNotServingError unless OpenBao answers and is unsealed (one unauthenticated
    request)."""
    try:
        sealed = ctx.openbao.is_sealed()
    except OSError as error:  # requests' errors are OSErrors: refused, reset, timed out
        raise OpenBaoNotServingError(
            "OpenBaoUnavailable", f"OpenBao does not answer ({type(error).__name__})"
        ) from error
    if sealed:
        raise OpenBaoNotServingError(
            "OpenBaoSealed", "OpenBao is sealed: credentials are neither issued nor renewed"
        )


def openbao_guarded(ctx: OperatorContext, step: Callable[[], T]) -> T | OpenBaoNotServingError:
    """Run a step that uses OpenBao; sealed, unreachable or refusing becomes the error."""
    try:
        result = step()
    except OpenBaoNotServingError as error:
        return error
    except VaultDown:
        return OpenBaoNotServingError(
            "OpenBaoSealed", "OpenBao was sealed during the pass; it continues after unseal"
        )
    except RequestException as error:  # only hvac speaks requests here (MinIO: urllib3)
        return OpenBaoNotServingError(
            "OpenBaoUnavailable", f"OpenBao stopped answering ({type(error).__name__})"
        )
    except Forbidden:
        ctx.openbao.refresh_token()  # a stale token is not cached for good (VSO #840)
        return OpenBaoNotServingError("OpenBaoForbidden", "OpenBao refused the operator's token")
    return result
