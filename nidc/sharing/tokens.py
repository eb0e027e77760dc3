"""Recipient bearer tokens: hashed, looked up in OpenBao, never stored.

The server hashes the presented token (SHA-256, hex) and reads the record at
`share_token_path(hash)` under the KV v2 mount (the DataShare reconciler writes it; deleting it
revokes the token). A record found is kept for CACHE_SECONDS, so a deleted record stops access
within that time (the contract says 60 s); a missing one is not cached, so a new token works at
once. Expiry is checked on every request against the clock, cached or not.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import aiohttp
from pydantic import ValidationError

from nidc.api.addressing import KV_MOUNT, share_token_path
from nidc.api.data_share import ShareTokenRecord
from nidc.sharing.errors import UnauthenticatedError

CACHE_SECONDS = 15.0


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_token(header: str | None) -> str:
    """The token of an `Authorization: Bearer ...` header."""
    if not header:
        raise UnauthenticatedError("no bearer token")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthenticatedError("the Authorization header is not a bearer token")
    return token.strip()


def parse_expiry(text: str) -> dt.datetime:
    moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def check_record(record: ShareTokenRecord, now: dt.datetime) -> ShareTokenRecord:
    """The record, unless its token expired (pure)."""
    try:
        expires = parse_expiry(record.expires_at)
    except ValueError as error:
        raise UnauthenticatedError("the token's record has no valid expiry") from error
    if now >= expires:
        raise UnauthenticatedError("the bearer token expired")
    return record


# Reads the record of a hash: None when there is none.
RecordReader = Callable[[str], Awaitable[ShareTokenRecord | None]]


@dataclass
class _Cached:
    record: ShareTokenRecord
    until: float


class TokenAuthority:
    """Bearer token -> its record (namespace, share, recipient), or UnauthenticatedError."""

    def __init__(
        self,
        read_record: RecordReader,
        cache_seconds: float = CACHE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.read_record = read_record
        self.cache_seconds = cache_seconds
        self.monotonic = monotonic
        self._cache: dict[str, _Cached] = {}
        self._inflight: dict[str, asyncio.Future[ShareTokenRecord | None]] = {}

    async def authenticate(self, header: str | None, now: dt.datetime) -> ShareTokenRecord:
        digest = token_sha256(bearer_token(header))
        cached = self._cache.get(digest)
        if cached is not None and cached.until > self.monotonic():
            return check_record(cached.record, now)
        record = await self._read_once(digest)
        if record is None:
            self._cache.pop(digest, None)
            raise UnauthenticatedError("the bearer token is not valid")
        self._cache[digest] = _Cached(record, self.monotonic() + self.cache_seconds)
        return check_record(record, now)

    async def _read_once(self, digest: str) -> ShareTokenRecord | None:
        """One OpenBao read per hash at a time, however many requests wait for it."""
        pending = self._inflight.get(digest)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[ShareTokenRecord | None] = asyncio.get_running_loop().create_future()
        self._inflight[digest] = future
        try:
            record = await self.read_record(digest)
            future.set_result(record)
            return record
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: waiters re-raise it, no "never retrieved" warning
            raise
        finally:
            self._inflight.pop(digest, None)


class OpenBaoRecords:
    """Reads token records from OpenBao's KV v2 with the server's own (read-only) token."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        vault_token: Callable[[], Awaitable[str]],
        mount: str = KV_MOUNT,
    ) -> None:
        self.session = session
        self.url = url.rstrip("/")
        self.vault_token = vault_token
        self.mount = mount

    async def __call__(self, digest: str) -> ShareTokenRecord | None:
        path = f"{self.url}/v1/{self.mount}/data/{share_token_path(digest)}"
        headers = {"X-Vault-Token": await self.vault_token()}
        async with self.session.get(path, headers=headers) as response:
            if response.status == 404:
                return None
            if response.status != 200:
                # Not the recipient's fault, but no access either; the status says why.
                raise UnauthenticatedError(
                    f"the token store answered {response.status}; try again later"
                )
            body = await response.json()
        data = (body.get("data") or {}).get("data")
        if not data:
            return None  # a deleted (soft-deleted) version
        try:
            return ShareTokenRecord.model_validate(data)
        except ValidationError:
            return None
