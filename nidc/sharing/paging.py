"""Page tokens for every list (`maxResults`/`pageToken`) and for queries (`maxFiles`/`pageToken`).

A token is opaque to the recipient: base64url of JSON naming the list it belongs to (its scope),
where the next page starts and, for a query, the table version it pages through, so a second page
never mixes versions. A token is no capability: every request is authorised again from its bearer
token, so a forged token can only ask for a page of what the recipient may see anyway.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from nidc.sharing.errors import InvalidParameterError

T = TypeVar("T")

# Lists: what a page holds when the recipient names no maxResults, and the most it may hold.
DEFAULT_LIST_PAGE = 500
MAX_LIST_PAGE = 1000


@dataclass(frozen=True)
class PageToken:
    """Where the next page of one list starts."""

    scope: str
    offset: int
    version: int | None = None


def encode_page_token(token: PageToken) -> str:
    body = {"s": token.scope, "o": token.offset}
    if token.version is not None:
        body["v"] = token.version
    raw = json.dumps(body, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(text: str, scope: str) -> PageToken:
    """The token's content; refused when it is malformed or belongs to another list."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        body = json.loads(raw)
        token = PageToken(str(body["s"]), int(body["o"]), body.get("v"))
    except (binascii.Error, ValueError, KeyError, TypeError) as error:
        raise InvalidParameterError("pageToken is not a token this server issued") from error
    if token.scope != scope or token.offset < 0:
        raise InvalidParameterError("pageToken belongs to another list")
    if token.version is not None and not isinstance(token.version, int):
        raise InvalidParameterError("pageToken is not a token this server issued")
    return token


def parse_page_size(text: str | int | None, name: str, default: int, ceiling: int) -> int:
    """maxResults / maxFiles: a non-negative integer, at most `ceiling` (a larger one is served
    as `ceiling`, which the protocol allows: a page may hold fewer than asked)."""
    if text is None or text == "":
        return default
    try:
        size = int(text)
    except (TypeError, ValueError) as error:
        raise InvalidParameterError(f"{name} must be an integer") from error
    if size < 0:
        raise InvalidParameterError(f"{name} must be non-negative")
    return min(size, ceiling)


def page(
    items: Sequence[T], size: int, token: str | None, scope: str, version: int | None = None
) -> tuple[list[T], str | None]:
    """One page of `items` and the token of the next page (None on the last page)."""
    start = 0
    if token:
        decoded = decode_page_token(token, scope)
        if decoded.version != version:
            raise InvalidParameterError("pageToken was issued for another table version")
        start = decoded.offset
    end = start + size
    chunk = list(items[start:end])
    if end >= len(items):
        return chunk, None
    return chunk, encode_page_token(PageToken(scope, end, version))
