"""The console's session cookie: who signed in, until when, signed with the server's key (pure).

The value is `<payload>.<signature>`: the payload is base64url JSON {user, groups, exp}, the
signature HMAC-SHA256 over it. Nothing secret is in it (the bearer token is not kept: it was
checked once, by TokenReview, at sign-in); the signature keeps it from being forged or changed,
`exp` from living on.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass

from nidc.catalog.access import Identity

COOKIE_NAME = "nidc_console"
SESSION_SECONDS = 8 * 3600


@dataclass(frozen=True)
class Session:
    identity: Identity
    expires_at: int  # seconds since the epoch


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest())


def sign_session(key: bytes, identity: Identity, now: float, ttl: int = SESSION_SECONDS) -> str:
    """The cookie value for `identity`, valid `ttl` seconds from `now`."""
    body = {"user": identity.user, "groups": list(identity.groups), "exp": int(now) + ttl}
    payload = _b64(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
    return f"{payload}.{_signature(key, payload)}"


def read_session(key: bytes, value: str | None, now: float) -> Session | None:
    """The session in a cookie value, or None when it is absent, forged, altered or expired."""
    if not value or value.count(".") != 1:
        return None
    payload, signature = value.split(".")
    try:
        if not hmac.compare_digest(_signature(key, payload), signature):
            return None
        body = json.loads(_unb64(payload))
        user, groups, expires = body["user"], body["groups"], int(body["exp"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None
    if not isinstance(user, str) or not user or not isinstance(groups, list):
        return None
    if expires <= now:
        return None
    return Session(Identity(user, tuple(str(g) for g in groups)), expires)
