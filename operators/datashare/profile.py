"""A recipient's token, profile file and token record, and when a token is rotated (pure).

The token exists nowhere but in the recipient's profile (OpenBao KV at its profilePath); the
sharing server finds the token's record by the token's SHA-256 (nidc.api.addressing
`share_token_path`). Tokens are rotated when less than a quarter of their lifetime is left
(6 h of a 24 h token), when the share's approval ends before the token would, when the
sharing server's endpoint changed, or when the profile says an expiry beyond a token's lifetime
(it was not written by us).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from nidc.api.addressing import region_share_profile_path, share_profile_path, share_token_path
from nidc.api.data_share import (
    DeltaSharingProfile,
    Recipient,
    RecipientKind,
    ShareTokenRecord,
)
from nidc.governance.export_approval import parse_time
from operators.reconciling.conditions import rfc3339

TOKEN_BYTES = 32
ROTATE_WHEN_LEFT = 0.25  # of the token's lifetime
TTL = re.compile(r"^(\d+)([hd])$")


def parse_ttl(text: str) -> dt.timedelta:
    """tokenTTL (`12h`, `7d`; admission checked the pattern) as a duration."""
    found = TTL.match(text)
    if found is None:
        raise ValueError(f"spec.tokenTTL: {text!r} is not <n>h or <n>d")
    amount, unit = int(found.group(1)), found.group(2)
    return dt.timedelta(hours=amount) if unit == "h" else dt.timedelta(days=amount)


def profile_path(recipient: Recipient, namespace: str, share: str) -> str:
    """Where the recipient reads its profile (KV path under the `secret` mount)."""
    if recipient.kind == RecipientKind.TENANT:
        return share_profile_path(recipient.name, namespace, share)
    return region_share_profile_path(recipient.name, namespace, share)


def token_sha256(token: str) -> str:
    """What the sharing server computes from a presented bearer token."""
    return hashlib.sha256(token.encode()).hexdigest()


def record_path(token: str) -> str:
    return share_token_path(token_sha256(token))


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_expiry(now: dt.datetime, ttl: dt.timedelta, cap: dt.datetime | None) -> dt.datetime:
    """A new token's expiry: its lifetime, never past the approval it depends on (the server
    refuses it at that time even when the operator is not running)."""
    ends = (now + ttl).replace(microsecond=0)
    return min(ends, cap) if cap is not None else ends


@dataclass(frozen=True)
class HeldToken:
    """A token as read back from its profile (kept in memory only, never logged)."""

    token: str
    expires: dt.datetime
    endpoint: str

    @property
    def record_path(self) -> str:
        return record_path(self.token)


def read_profile(data: dict[str, Any] | None) -> HeldToken | None:
    """The token a stored profile holds (None: absent or not a profile we wrote)."""
    if data is None:
        return None
    try:
        profile = DeltaSharingProfile.model_validate(data)
    except ValidationError:
        return None
    expires = parse_time(profile.expiration_time)
    if expires is None:
        return None
    return HeldToken(profile.bearer_token, expires, profile.endpoint)


def build_profile(token: str, endpoint: str, expires: dt.datetime) -> dict[str, Any]:
    """The Delta Sharing profile file (shareCredentialsVersion 1) as a KV secret's data."""
    return DeltaSharingProfile(
        endpoint=endpoint, bearer_token=token, expiration_time=rfc3339(expires)
    ).model_dump(by_alias=True)


def build_record(
    namespace: str, share: str, recipient: str, expires: dt.datetime
) -> dict[str, Any]:
    """The token record the sharing server reads at share_token_path(sha256(token))."""
    return ShareTokenRecord(
        namespace=namespace, share=share, recipient=recipient, expires_at=rfc3339(expires)
    ).model_dump(by_alias=True)


def rotation_reason(
    held: HeldToken,
    now: dt.datetime,
    ttl: dt.timedelta,
    cap: dt.datetime | None,
    endpoint: str,
) -> str:
    """Why the held token is replaced now ('' to keep it)."""
    if held.endpoint != endpoint:
        return "the sharing server's endpoint changed"
    if held.expires <= now:
        return "the token expired"
    if held.expires > now + ttl:
        return "the profile's expiry is beyond the token's lifetime"
    if cap is not None and held.expires > cap:
        return "the export approval ends before the token would"
    renewed = token_expiry(now, ttl, cap)
    if held.expires - now <= ttl * ROTATE_WHEN_LEFT and renewed > held.expires:
        return "less than a quarter of its lifetime is left"
    return ""


def rotation_due(expires: dt.datetime, ttl: dt.timedelta) -> dt.datetime:
    """When a token of this expiry comes up for rotation."""
    return expires - ttl * ROTATE_WHEN_LEFT
